package isolation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// gitRepo creates a repository in a temp dir holding files under desired-state/ and outside it,
// and commits everything when commit is true.
func gitRepo(t *testing.T, commit bool) (root, head string) {
	t.Helper()
	root = writeTree(t, map[string]string{
		"desired-state/environments/dev.yaml": devEnv,
		"desired-state/tenants/t.yaml":        header + poolBody,
		"desired-state/README.md":             "notes\n",
		"src/main.go":                         "package main\n",
	})
	repo, err := git.PlainInit(root, false)
	if err != nil {
		t.Fatal(err)
	}
	if !commit {
		return root, ""
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("desired state", &git.CommitOptions{Author: &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return root, h.String()
}

func TestGitRevision(t *testing.T) {
	write := func(t *testing.T, root, rel, body string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		dirty  bool
	}{
		{"clean", func(*testing.T, string) {}, false},
		{"modified binding", func(t *testing.T, root string) {
			write(t, root, "desired-state/tenants/t.yaml", header+sub(t, poolBody, "pods: 5", "pods: 6"))
		}, true},
		{"untracked binding", func(t *testing.T, root string) {
			write(t, root, "desired-state/tenants/u.yaml", binding("u-dev", sub(t, poolBody, "tenantId: t", "tenantId: u", "schema: t", "schema: u", "t-db", "u-db")))
		}, true},
		{"deleted binding", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "desired-state", "tenants", "t.yaml")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"change outside the folder", func(t *testing.T, root string) { write(t, root, "src/main.go", "package main // changed\n") }, false},
		{"change to files Load skips", func(t *testing.T, root string) {
			write(t, root, "desired-state/README.md", "changed\n")
			write(t, root, "desired-state/.tenantctl-driftignore", "# new\n")
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, head := gitRepo(t, true)
			tc.change(t, root)
			s, err := Load(context.Background(), filepath.Join(root, "desired-state"))
			if err != nil {
				t.Fatal(err)
			}
			if s.Commit != head || s.Dirty != tc.dirty {
				t.Errorf("commit, dirty = %s, %v; want %s, %v", s.Commit, s.Dirty, head, tc.dirty)
			}
			wantRoot, _ := filepath.EvalSymlinks(root)
			if gotRoot, _ := filepath.EvalSymlinks(s.GitRoot); gotRoot != wantRoot {
				t.Errorf("GitRoot = %s, want %s", s.GitRoot, root)
			}
		})
	}
}

func TestGitRevisionFromSubfolderAndRoot(t *testing.T) {
	root, head := gitRepo(t, true)
	// Loading the tenants folder alone: the environment is missing, but the revision is known.
	s, err := Load(context.Background(), filepath.Join(root, "desired-state", "tenants"))
	if _, ok := AsValidationErrors(err); !ok {
		t.Fatalf("want validation errors (no environment), got %v", err)
	}
	if s.Commit != head || s.Dirty {
		t.Errorf("tenants folder: commit, dirty = %s, %v; want %s, false", s.Commit, s.Dirty, head)
	}
	if got, want := s.Revision(), head; got != want {
		t.Errorf("Revision() = %q, want %q", got, want)
	}
}

func TestGitNotARepository(t *testing.T) {
	dir := writeTree(t, map[string]string{"environments/dev.yaml": devEnv})
	s, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.GitRoot != "" || s.Commit != "" || s.Dirty {
		t.Errorf("outside git: root %q commit %q dirty %v", s.GitRoot, s.Commit, s.Dirty)
	}
	if got := s.Revision(); got != "not a git work tree" {
		t.Errorf("Revision() = %q", got)
	}
}

func TestGitNoCommitYet(t *testing.T) {
	root, _ := gitRepo(t, false)
	s, err := Load(context.Background(), filepath.Join(root, "desired-state"))
	if err != nil {
		t.Fatal(err)
	}
	if s.GitRoot == "" || s.Commit != "" || !s.Dirty {
		t.Errorf("fresh repository: root %q commit %q dirty %v", s.GitRoot, s.Commit, s.Dirty)
	}
	if got := s.Revision(); got != "no commit yet (dirty)" {
		t.Errorf("Revision() = %q", got)
	}
}

func TestGitFolderAddedAfterCommit(t *testing.T) {
	root, head := gitRepo(t, true)
	newDir := filepath.Join(root, "next-state")
	if err := os.MkdirAll(filepath.Join(newDir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, "environments", "dev.yaml"), []byte(devEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(context.Background(), newDir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != head || !s.Dirty {
		t.Errorf("uncommitted folder: commit, dirty = %s, %v; want %s, true", s.Commit, s.Dirty, head)
	}
}

func TestLoadFolderProblems(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		dir  string
		kind error // nil: a plain failure
	}{
		{"missing folder", context.Background(), filepath.Join(t.TempDir(), "missing"), errkind.Invalid},
		{"a file, not a folder", context.Background(), filepath.Join(writeTree(t, map[string]string{"f.yaml": devEnv}), "f.yaml"), errkind.Invalid},
		{"cancelled", cancelled, writeTree(t, map[string]string{"f.yaml": devEnv}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(tc.ctx, tc.dir)
			if err == nil || s != nil {
				t.Fatalf("Load = %v, %v; want nil state and an error", s, err)
			}
			if got := errkind.Of(err); got != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", got, tc.kind, err)
			}
		})
	}
	if _, err := Load(cancelled, writeTree(t, map[string]string{"f.yaml": devEnv})); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Load: %v, want context.Canceled", err)
	}
}
