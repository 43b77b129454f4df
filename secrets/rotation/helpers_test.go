package rotation_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// desiredRepo copies the example desired state into a new Git repository, with edit applied to
// each file's content first, commits it and returns the folder.
func desiredRepo(t *testing.T, edit func(rel string, data []byte) []byte) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "tenants")
	dir := testenv.TempDir(t)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if edit != nil {
			data = edit(filepath.ToSlash(rel), data)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("desired state", &git.CommitOptions{Author: &object.Signature{Name: "test", Email: "test@example.com", When: t0}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pin sets a binding's currentVersion in the example file data (adding the line when the
// reference has none).
func pin(data []byte, secretName, version string) []byte {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "secretName: "+secretName {
			indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
			if i+1 < len(lines) && strings.Contains(lines[i+1], "currentVersion:") {
				lines[i+1] = indent + "currentVersion: " + version
			} else {
				lines = append(lines[:i+1], append([]string{indent + "currentVersion: " + version}, lines[i+1:]...)...)
			}
			return []byte(strings.Join(lines, "\n"))
		}
	}
	panic("no secretName " + secretName)
}

func head(t *testing.T, dir string) string {
	t.Helper()
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h.Hash().String()
}

func load(t *testing.T, dir string) *isolation.DesiredState {
	t.Helper()
	st, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func pinned(t *testing.T, dir, env, tenant, ref string) string {
	t.Helper()
	for _, s := range load(t, dir).Binding(env, tenant).Spec.Secrets {
		if s.Name == ref {
			return s.CurrentVersion
		}
	}
	t.Fatalf("%s has no reference %s", tenant, ref)
	return ""
}

// fakeRunner records ups and fails those of the tenants in fail.
type fakeRunner struct {
	mu   sync.Mutex
	ups  []string
	fail map[string]error
	// seen records, per up, the version each reference of the tenant pins in the desired state
	// the runner got: the engine must be handed the changed bindings.
	seen map[string]map[string]string
}

func (f *fakeRunner) Up(_ context.Context, st *isolation.DesiredState, env, tenant string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ups = append(f.ups, tenant+"."+env)
	if f.seen == nil {
		f.seen = map[string]map[string]string{}
	}
	f.seen[tenant] = map[string]string{}
	for _, s := range st.Binding(env, tenant).Spec.Secrets {
		f.seen[tenant][s.Name] = s.CurrentVersion
	}
	return f.fail[tenant]
}

func (f *fakeRunner) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.ups
	f.ups = nil
	return out
}

// auditLog opens a real audit log in a temp dir.
func auditLog(t *testing.T) (*audit.Auditor, string) {
	t.Helper()
	path := filepath.Join(testenv.TempDir(t), "audit.jsonl")
	a, err := audit.NewFromConfig(audit.Config{Path: path, Unsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, path
}

func rotateRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	recs, err := audit.QueryFile(context.Background(), path, audit.Filter{Type: audit.TypeSecretRotate})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func fileBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineDiff lists the lines of a that b changes.
func lineDiff(a, b []byte) []string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	var out []string
	for i := range max(len(la), len(lb)) {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			out = append(out, string(x)+" => "+string(y))
		}
	}
	return out
}
