package rotation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Every rotation is a change to the desired state in Git: the binding's currentVersion moves to
// the new version id, in place, so comments and layout stay as people wrote them. The change is
// committed on the checked-out branch (or on a branch it creates, for a pull request), or left in
// the working tree with --in-place for a pipeline that commits itself.

// GitMode says where the binding change goes.
type GitMode struct {
	// InPlace edits the working tree and commits nothing.
	InPlace bool
	// Branch commits on this branch, checked out first (created from HEAD when it does not
	// exist); empty commits on the branch already checked out.
	Branch string
	// Author signs the commit; empty takes the repository's user.name and user.email from the
	// Git configuration, else "tenantctl".
	Author *object.Signature
}

// edit is one pinned version to move in a binding file.
type edit struct {
	File     string
	Line     int
	Old, New string
}

// applyEdits rewrites each file, replacing exactly the old version on its line; anything else
// on the line (indentation, quotes, a comment) stays. A line that does not hold the old version
// once means the file changed since it was loaded, and nothing is written.
func applyEdits(edits []edit) ([]string, error) {
	byFile := map[string][]edit{}
	for _, e := range edits {
		byFile[e.File] = append(byFile[e.File], e)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("rotate: %w", err)
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		for _, e := range byFile[f] {
			if e.Line < 1 || e.Line > len(lines) {
				return nil, fmt.Errorf("rotate: %s:%d: no such line; the file changed since it was read", e.File, e.Line)
			}
			line := string(lines[e.Line-1])
			lower := strings.ToLower(line)
			if strings.Count(lower, strings.ToLower(e.Old)) != 1 || !strings.Contains(lower, "currentversion") {
				return nil, fmt.Errorf("rotate: %s:%d: currentVersion %s not found on the line; the file changed since it was read", e.File, e.Line, e.Old)
			}
			i := strings.Index(lower, strings.ToLower(e.Old))
			lines[e.Line-1] = []byte(line[:i] + e.New + line[i+len(e.Old):])
		}
		out[f] = bytes.Join(lines, nil)
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("rotate: %w", err)
		}
		if err := writeFileAtomic(f, out[f], info.Mode().Perm()); err != nil {
			return nil, fmt.Errorf("rotate: %w", err)
		}
	}
	return files, nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// repo is the desired state's Git work tree.
type repo struct {
	r    *git.Repository
	wt   *git.Worktree
	root string
}

func openRepo(root string) (*repo, error) {
	r, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("rotate: open Git repository %s: %w", root, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("rotate: Git work tree: %w", err)
	}
	return &repo{r: r, wt: wt, root: wt.Filesystem.Root()}, nil
}

// branch is the checked-out branch's short name ("" on a detached HEAD).
func (g *repo) branch() (string, error) {
	head, err := g.r.Head()
	if err != nil {
		return "", fmt.Errorf("rotate: Git HEAD: %w", err)
	}
	if !head.Name().IsBranch() {
		return "", nil
	}
	return head.Name().Short(), nil
}

// checkout switches to branch, creating it at HEAD when it does not exist. The caller has made
// sure the desired state is clean, so nothing is lost.
func (g *repo) checkout(branch string) error {
	cur, err := g.branch()
	if err != nil || cur == branch {
		return err
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("rotate: --branch %q: %w", branch, err)
	}
	_, err = g.r.Reference(ref, true)
	create := errors.Is(err, plumbing.ErrReferenceNotFound)
	if err != nil && !create {
		return fmt.Errorf("rotate: branch %s: %w", branch, err)
	}
	if err := g.wt.Checkout(&git.CheckoutOptions{Branch: ref, Create: create, Keep: true}); err != nil {
		return fmt.Errorf("rotate: check out branch %s: %w", branch, err)
	}
	return nil
}

// staged lists files the index holds changes of: a commit would take them along.
func (g *repo) staged() ([]string, error) {
	st, err := g.wt.Status()
	if err != nil {
		return nil, fmt.Errorf("rotate: Git status: %w", err)
	}
	var out []string
	for path, s := range st {
		if s.Staging != git.Unmodified && s.Staging != git.Untracked {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out, nil
}

// commit stages files (paths as read) and commits them on the checked-out branch.
func (g *repo) commit(files []string, msg string, author *object.Signature) (string, error) {
	for _, f := range files {
		rel, err := g.relative(f)
		if err != nil {
			return "", err
		}
		if _, err := g.wt.Add(rel); err != nil {
			return "", fmt.Errorf("rotate: git add %s: %w", rel, err)
		}
	}
	if author == nil {
		author = g.author()
	}
	sig := *author
	sig.When = time.Now()
	h, err := g.wt.Commit(msg, &git.CommitOptions{Author: &sig})
	if err != nil {
		return "", fmt.Errorf("rotate: git commit: %w", err)
	}
	return h.String(), nil
}

func (g *repo) relative(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	root := g.root
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("rotate: %s is outside the Git work tree %s", file, g.root)
	}
	return filepath.ToSlash(rel), nil
}

// author is who Git's configuration names, else tenantctl.
func (g *repo) author() *object.Signature {
	sig := &object.Signature{Name: "tenantctl", Email: "tenantctl@localhost"}
	for _, scope := range []config.Scope{config.LocalScope, config.GlobalScope} {
		cfg, err := g.r.ConfigScoped(scope)
		if err != nil {
			continue
		}
		if cfg.User.Name != "" && cfg.User.Email != "" {
			sig.Name, sig.Email = cfg.User.Name, cfg.User.Email
			break
		}
	}
	return sig
}
