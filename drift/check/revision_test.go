package check

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
)

func writeDesired(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadRevisionOutsideGit(t *testing.T) {
	dir := t.TempDir()
	writeDesired(t, dir, map[string]string{"tenants/a.yaml": "a: 1\n", "README.md": "not desired state", ".hidden/x.yaml": "x: 1\n"})
	rev, err := readRevision(&isolation.DesiredState{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !rev.dirty || len(rev.commit) != len("sha256:")+16 || rev.commit[:7] != "sha256:" {
		t.Errorf("revision %+v: want a dirty sha256:<16 hex> content id", rev)
	}
	// files Load skips do not change the id; a desired-state file does
	writeDesired(t, dir, map[string]string{"README.md": "edited", ".hidden/x.yaml": "x: 2\n"})
	again, _ := readRevision(&isolation.DesiredState{Dir: dir})
	writeDesired(t, dir, map[string]string{"tenants/a.yaml": "a: 2\n"})
	edited, _ := readRevision(&isolation.DesiredState{Dir: dir})
	if again.commit != rev.commit || edited.commit == rev.commit {
		t.Errorf("content ids: first %s, after editing other files %s, after editing a binding %s", rev.commit, again.commit, edited.commit)
	}
}

func TestReadRevisionInGit(t *testing.T) {
	dir := t.TempDir()
	writeDesired(t, dir, map[string]string{"tenants/a.yaml": "a: 1\n"})
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	h, err := wt.Commit("state", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: when}})
	if err != nil {
		t.Fatal(err)
	}
	clean, err := readRevision(&isolation.DesiredState{Dir: dir, GitRoot: dir, Commit: h.String()})
	if err != nil {
		t.Fatal(err)
	}
	if clean.commit != h.String() || clean.dirty {
		t.Errorf("clean tree: %+v, want commit %s", clean, h)
	}
	dirty, err := readRevision(&isolation.DesiredState{Dir: dir, GitRoot: dir, Commit: h.String(), Dirty: true})
	if err != nil {
		t.Fatal(err)
	}
	if dirty.commit != h.String() || !dirty.dirty {
		t.Errorf("dirty tree: %+v, want commit %s marked dirty", dirty, h)
	}
}

var fleetAll = fleet.Selection{All: true}

func TestCheckerRefusesInvalidInput(t *testing.T) {
	state := &isolation.DesiredState{Dir: t.TempDir()}
	engine := &automation.Engine{}
	tests := []struct {
		name string
		c    *Checker
		mode Mode
	}{
		{"unknown mode", New(engine, state, ""), Mode("slow")},
		{"no engine", New(nil, state, ""), ModeFast},
		{"no desired state", New(engine, nil, ""), ModeFast},
		{"offline engine", New(engine, state, "", WithInventoryFile("snap.json")), ModeEngine},
		{"offline confirm", New(engine, state, "", WithInventoryFile("snap.json")), ModeConfirm},
		{"shard out of range", New(engine, state, "", WithShard(report.Shard{Index: 3, Count: 2})), ModeFast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Check(context.Background(), fleetAll, tt.mode)
			if kind := errkind.Of(err); kind != errkind.Invalid {
				t.Errorf("Check: %v (kind %v), want invalid input", err, kind)
			}
		})
	}
}
