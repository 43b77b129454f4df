package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/connectsoft/tenantctl/isolation"
)

// candidateFile is the name the request's documents get in the validation copy and in errors.
const candidateFile = "request.yaml"

// candidate is what the guard needs to know of a submitted document.
type candidate struct {
	Kind string `yaml:"kind"`
	Spec struct {
		TenantID    string `yaml:"tenantId"`
		Environment string `yaml:"environment"`
	} `yaml:"spec"`
}

// validationReport is the answer of POST /v1/bindings:validate.
type validationReport struct {
	Valid  bool                        `json:"valid"`
	Commit string                      `json:"commit"`
	Dirty  bool                        `json:"dirty"`
	Errors []isolation.ValidationError `json:"errors"`
}

// validateBindings is POST /v1/bindings:validate: the submitted RuntimeTenantBinding documents
// are validated as they would be in the desired state, replacing the bindings of the same tenant
// and environment, with every cross-check (overlapping networks, quotas against capacity, ...).
// The caller must be allowed to act on every tenant the documents name.
func (s *Server) validateBindings(w http.ResponseWriter, r *http.Request, req *request) {
	body, err := DecodeValidateRequest(http.MaxBytesReader(w, r.Body, maxDocumentsBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	cands, err := readCandidates([]byte(body.Documents))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	for _, c := range cands {
		if c.Kind != isolation.KindBinding {
			writeProblem(w, r, http.StatusUnprocessableEntity, "not a binding", fmt.Sprintf("kind %q: only %s documents can be validated here", c.Kind, isolation.KindBinding))
			return
		}
		if c.Spec.TenantID != "" && !s.guardTenant(w, r, req, c.Spec.TenantID) {
			return
		}
	}
	caller := ""
	if !req.principal.CrossTenant() {
		caller = req.principal.TenantID
	}
	rep, err := validateOverlay(r.Context(), s.cfg.Backend.Dir(), []byte(body.Documents), cands, caller)
	var unprocessable *overlayError
	switch {
	case errors.As(err, &unprocessable):
		writeProblem(w, r, http.StatusUnprocessableEntity, "cannot validate", err.Error())
		return
	case err != nil:
		s.stateProblem(w, r, req, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func readCandidates(docs []byte) ([]candidate, error) {
	dec := yaml.NewDecoder(bytes.NewReader(docs))
	var out []candidate
	for {
		var c candidate
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("documents: not YAML: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("documents: no YAML document")
	}
	return out, nil
}

// overlayError is a request the overlay cannot be built for.
type overlayError struct{ msg string }

func (e *overlayError) Error() string { return e.msg }

// validateOverlay copies the desired-state folder, drops the files of the bindings the candidates
// replace, adds the candidates as request.yaml and loads the copy: the same validation the CLI
// and the engine apply.
//
// For a tenant-bound caller (caller is its tenant id) the answer depends on its own bindings and
// the environments only: the candidates are also validated with nothing but the environments and
// the caller's other bindings, and those errors are reported as they are. Any further error the
// full desired state shows — an overlap with another tenant's range, database, schema or vault —
// makes the request invalid too, reported on the caller's field with a message that names no other
// tenant, value, file or server path. Problems that existed before the request (in other tenants'
// files) are not the caller's business and are left out.
func validateOverlay(ctx context.Context, dir string, docs []byte, cands []candidate, caller string) (validationReport, error) {
	base, baseErr := isolation.Load(ctx, dir)
	if base == nil {
		return validationReport{}, baseErr
	}
	replaced := map[string]bool{}
	for _, c := range cands {
		if b := base.Binding(c.Spec.Environment, c.Spec.TenantID); b != nil {
			replaced[filepath.Clean(b.Source.File)] = true
		}
	}
	for f := range replaced {
		if n := documentsIn(base, f); n > 1 {
			return validationReport{}, &overlayError{fmt.Sprintf("the binding to replace shares its file with %d other document(s); split the file to validate it through the API", n-1)}
		}
	}
	full, err := loadOverlay(ctx, dir, docs, func(p string) bool { return !replaced[p] })
	if err != nil {
		return validationReport{}, err
	}
	rep := validationReport{Valid: len(full) == 0, Commit: base.Commit, Dirty: base.Dirty, Errors: full}
	if caller == "" {
		return rep, nil
	}
	// The caller's world: the environments' files and its own bindings' files.
	own := map[string]bool{}
	for _, e := range base.Environments {
		own[filepath.Clean(e.Source.File)] = true
	}
	for _, b := range base.Bindings {
		if b.Spec.TenantID != caller {
			delete(own, filepath.Clean(b.Source.File)) // a file shared with another tenant is not the caller's
		}
	}
	for _, b := range base.Bindings {
		if b.Spec.TenantID == caller && documentsIn(base, filepath.Clean(b.Source.File)) == 1 {
			own[filepath.Clean(b.Source.File)] = true
		}
	}
	alone, err := loadOverlay(ctx, dir, docs, func(p string) bool { return own[p] && !replaced[p] })
	if err != nil {
		return validationReport{}, err
	}
	known := map[string]bool{}
	verrs, _ := isolation.AsValidationErrors(baseErr)
	for _, e := range verrs {
		if rel, err := filepath.Rel(dir, e.File); err == nil {
			known[errorKey(filepath.ToSlash(rel), e)] = true
		}
	}
	mine := []isolation.ValidationError{}
	for _, e := range alone {
		known[errorKey(e.File, e)] = true
		if e.File == candidateFile {
			mine = append(mine, e)
		}
	}
	conflicts := map[string]bool{}
	for _, e := range full {
		if known[errorKey(e.File, e)] {
			continue
		}
		field := conflictField(e)
		if conflicts[field] {
			continue
		}
		conflicts[field] = true
		line := 0
		if e.File == candidateFile {
			line = e.Line
		}
		mine = append(mine, isolation.ValidationError{Source: isolation.Source{File: candidateFile, Line: line}, Field: field,
			Message: "conflicts with what another tenant or the platform already holds (network range, database, schema, vault or tenant id); a platform operator can see the details"})
	}
	rep.Errors, rep.Valid = mine, len(mine) == 0
	return rep, nil
}

// loadOverlay validates a copy of dir holding the files keep selects and the candidates as
// request.yaml. Errors name files relative to the copy, and server paths are taken out of their
// messages.
func loadOverlay(ctx context.Context, dir string, docs []byte, keep func(path string) bool) ([]isolation.ValidationError, error) {
	tmp, err := os.MkdirTemp("", "tenantctl-validate-")
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyDesiredState(dir, tmp, keep); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, candidateFile)); err == nil {
		return nil, &overlayError{"the desired state has its own " + candidateFile + "; rename it to validate through the API"}
	}
	if err := os.WriteFile(filepath.Join(tmp, candidateFile), docs, 0o600); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	_, err = isolation.Load(ctx, tmp)
	verrs, invalid := isolation.AsValidationErrors(err)
	if err != nil && !invalid {
		return nil, err
	}
	out := []isolation.ValidationError{}
	for _, e := range verrs {
		if rel, err := filepath.Rel(tmp, e.File); err == nil && !strings.HasPrefix(rel, "..") {
			e.File = filepath.ToSlash(rel)
		}
		e.Message = strings.ReplaceAll(e.Message, tmp+string(filepath.Separator), "")
		e.Message = strings.ReplaceAll(e.Message, dir+string(filepath.Separator), "")
		out = append(out, e)
	}
	return out, nil
}

// errorKey identifies an error across two loads of the same files (messages differ: they name
// the folder).
func errorKey(file string, e isolation.ValidationError) string {
	return fmt.Sprintf("%s:%d:%s", file, e.Line, e.Field)
}

// conflictField is the field a cross-tenant conflict concerns, without list positions (which
// would tell where in another tenant's file it sits).
func conflictField(e isolation.ValidationError) string {
	f := e.Field
	if i := strings.IndexByte(f, '['); i >= 0 {
		f = f[:i]
	}
	if f == "" {
		f = "spec"
	}
	return f
}

func documentsIn(s *isolation.DesiredState, file string) int {
	n := 0
	for _, b := range s.Bindings {
		if filepath.Clean(b.Source.File) == file {
			n++
		}
	}
	for _, e := range s.Environments {
		if filepath.Clean(e.Source.File) == file {
			n++
		}
	}
	return n
}

// copyDesiredState copies the files Load reads (regular *.yaml/*.yml outside dot-directories)
// that keep selects.
func copyDesiredState(src, dst string, keep func(path string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if p != src && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if !d.Type().IsRegular() || !isolation.IsDesiredStateFile(filepath.ToSlash(rel)) || !keep(filepath.Clean(p)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
}
