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
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

func TestStaleState(t *testing.T) {
	changed := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		lastUpdate string
		changed    time.Time
		want       bool
	}{
		{"updated after the commit", "2026-03-02T10:05:00.000Z", changed, false},
		{"updated before the commit", "2026-03-02T09:59:59.000Z", changed, true},
		{"time zone offsets compare as instants", "2026-03-02T11:30:00.000+01:00", changed, false},
		{"never updated (or an update is running)", "", changed, true},
		{"unreadable time", "yesterday", changed, true},
		{"no desired-state time: the rule is off", "", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staleState(tt.lastUpdate, tt.changed); got != tt.want {
				t.Errorf("staleState(%q, %s) = %v, want %v", tt.lastUpdate, tt.changed, got, tt.want)
			}
		})
	}
}

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
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "tenants/a.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	rev, err := readRevision(&isolation.DesiredState{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !rev.dirty || len(rev.commit) != len("sha256:")+16 || rev.commit[:7] != "sha256:" {
		t.Errorf("revision %+v: want a dirty sha256:<16 hex> content id", rev)
	}
	if !rev.changed.Equal(old) {
		t.Errorf("changed = %s, want the desired-state file's time %s (other files do not count)", rev.changed, old)
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
	if clean.commit != h.String() || clean.dirty || !clean.changed.Equal(when) {
		t.Errorf("clean tree: %+v, want commit %s at %s", clean, h, when)
	}
	// uncommitted edits are newer than the commit: the desired state changed when they were made
	dirty, err := readRevision(&isolation.DesiredState{Dir: dir, GitRoot: dir, Commit: h.String(), Dirty: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dirty.dirty || !dirty.changed.After(when) {
		t.Errorf("dirty tree: %+v, want the files' time after %s", dirty, when)
	}
	if _, err := readRevision(&isolation.DesiredState{Dir: dir, GitRoot: dir, Commit: "0123456789012345678901234567890123456789"}); err == nil {
		t.Error("unknown commit: no error")
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
			if code := exitcode.Code(err); code != exitcode.Invalid {
				t.Errorf("Check: %v (exit %d), want invalid input", err, code)
			}
		})
	}
}
