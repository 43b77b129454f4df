package isolation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// DesiredState is the content of a desired-state folder and the Git revision it was read at, so
// every report can say which desired state it compared against.
type DesiredState struct {
	// Dir is the folder as given to Load; Sources name files below it.
	Dir string `json:"dir"`
	// GitRoot is the root of the Git work tree holding Dir, "" when Dir is in none.
	GitRoot string `json:"gitRoot,omitempty"`
	// Commit is the id of the work tree's HEAD commit; "" outside a Git work tree or before the
	// first commit.
	Commit string `json:"commit"`
	// Dirty reports that the documents Load read differ from Commit: a desired-state file was
	// changed, added (untracked or ignored) or removed since that commit. Files Load skips
	// (dotfiles, non-YAML) do not count.
	Dirty bool `json:"dirty"`

	Environments map[string]*Environment `json:"environments"`
	// Bindings are sorted by environment, then tenant id.
	Bindings []*RuntimeTenantBinding `json:"bindings"`

	fields map[any]fieldIndex // per document: field path -> line
}

// Load reads every *.yaml/*.yml document below dir (recursively; dotfiles and dot-directories
// such as .git are skipped), decodes it strictly and validates it, in one pass: the error lists
// every problem found, as ValidationErrors marked errkind.Invalid. With validation errors
// Load still returns what it could read (and the Git revision) for reporting; callers must not
// act on such a state. Other failures (an unreadable file, a broken repository) return a nil
// state and an error without a kind.
func Load(ctx context.Context, dir string) (*DesiredState, error) {
	info, err := os.Stat(dir)
	if err != nil {
		err = fmt.Errorf("load desired state: %w", err)
		if errors.Is(err, fs.ErrNotExist) {
			err = errkind.Mark(errkind.Invalid, err) // the user named a folder that is not there
		}
		return nil, err // else the folder exists but cannot be read
	}
	if !info.IsDir() {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("load desired state: %s is not a directory", dir))
	}
	files, errs, err := readFolder(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("load desired state %s: %w", dir, err)
	}
	// The revision is read first so decode can fill a state that already carries it; decoding
	// does not depend on it.
	repo, err := readGit(dir, files)
	if err != nil {
		return nil, fmt.Errorf("load desired state %s: %w", dir, err)
	}
	s := &DesiredState{Dir: dir, GitRoot: repo.root, Commit: repo.commit, Dirty: repo.dirty}
	return s.decode(documents(files), errs)
}

// documents is files as decode takes them, each named by its path as walked.
func documents(files []sourceFile) []Document {
	docs := make([]Document, len(files))
	for i, f := range files {
		docs[i] = Document{Name: f.path, Data: f.data}
	}
	return docs
}

// sourceFile is a desired-state file read by Load.
type sourceFile struct {
	path string // as walked: dir joined with rel
	rel  string // slash-separated, relative to dir
	data []byte
}

// IsDesiredStateFile reports whether Load reads the file at the slash-separated path rel
// (relative to the desired-state folder): a .yaml or .yml file outside dot-directories.
func IsDesiredStateFile(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	ext := strings.ToLower(filepath.Ext(rel))
	return ext == ".yaml" || ext == ".yml"
}

func readFolder(ctx context.Context, dir string) ([]sourceFile, ValidationErrors, error) {
	var files []sourceFile
	var errs errorList
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 {
			// Following links could read files outside the reviewed folder, and what Git
			// records for a link is its target, not the content Load would read.
			if t, err := os.Stat(path); (err == nil && t.IsDir()) || IsDesiredStateFile(rel) {
				errs.add(Source{File: path}, "", "symbolic links are not followed; desired state must be regular files and folders")
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !IsDesiredStateFile(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFileSize {
			errs.add(Source{File: path}, "", "file is larger than %d bytes", maxFileSize)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, sourceFile{path: path, rel: rel, data: data})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read folder: %w", err)
	}
	return files, errs.errs, nil
}

// Environment returns the environment called name, or nil.
func (s *DesiredState) Environment(name string) *Environment { return s.Environments[name] }

// EnvironmentOf returns the environment a binding lands in, or nil.
func (s *DesiredState) EnvironmentOf(b *RuntimeTenantBinding) *Environment {
	return s.Environments[b.Spec.Environment]
}

// Binding returns the binding of tenantID in env, or nil.
func (s *DesiredState) Binding(env, tenantID string) *RuntimeTenantBinding {
	i, found := slices.BinarySearchFunc(s.Bindings, [2]string{env, tenantID}, func(b *RuntimeTenantBinding, k [2]string) int {
		return cmp.Or(cmp.Compare(b.Spec.Environment, k[0]), cmp.Compare(b.Spec.TenantID, k[1]))
	})
	if !found {
		return nil
	}
	return s.Bindings[i]
}

// BindingsIn returns the bindings of one environment, sorted by tenant id.
func (s *DesiredState) BindingsIn(env string) []*RuntimeTenantBinding {
	var out []*RuntimeTenantBinding
	for _, b := range s.Bindings {
		if b.Spec.Environment == env {
			out = append(out, b)
		}
	}
	return out
}

// FieldSource locates a field of a loaded binding or environment, e.g.
// FieldSource(b, "spec.quota.cpu"), so a drift report can point at the line to edit. An absent
// field resolves to its nearest present parent, ultimately the document's first line.
func (s *DesiredState) FieldSource(obj any, field string) Source {
	var src Source
	switch o := obj.(type) {
	case *RuntimeTenantBinding:
		src = o.Source
	case *Environment:
		src = o.Source
	default:
		return Source{}
	}
	if f, ok := s.fields[obj]; ok {
		src.Line = f.line(field, src.Line)
	}
	return src
}

// Revision describes the desired state's Git revision for reports: "<commit>", "<commit>
// (dirty)", "no commit yet (dirty)" or "not a git work tree".
func (s *DesiredState) Revision() string {
	switch {
	case s.GitRoot == "":
		return "not a git work tree"
	case s.Commit == "" && s.Dirty:
		return "no commit yet (dirty)"
	case s.Commit == "":
		return "no commit yet"
	case s.Dirty:
		return s.Commit + " (dirty)"
	}
	return s.Commit
}

// AsValidationErrors extracts the validation errors from an error returned by Load.
func AsValidationErrors(err error) (ValidationErrors, bool) {
	var v ValidationErrors
	ok := errors.As(err, &v)
	return v, ok
}
