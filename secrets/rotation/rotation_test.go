package rotation_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	git "github.com/go-git/go-git/v5"

	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/secrets/keyvault/keyvaulttest"
	"github.com/connectsoft/tenantctl/secrets/rotation"
)

// fixture: acme pins version old of kv-acme-dev/acme-db-connection, globex pins gOld of its
// shared-vault secret, initech follows the latest; each vault holds a newer version.
type fixture struct {
	dir                    string
	vaults                 *keyvaulttest.Vaults
	aOld, aNew, gOld, gNew string
	iCur                   string
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{vaults: keyvaulttest.New(t0)}
	f.aOld = f.vaults.Put("kv-acme-dev", "acme-db-connection", "value-a1")
	f.gOld = f.vaults.Put("kv-connectsoft-dev", "globex-db-connection", "value-g1")
	f.iCur = f.vaults.Put("kv-connectsoft-dev", "initech-api-key", "value-i1")
	f.dir = desiredRepo(t, func(rel string, data []byte) []byte {
		switch rel {
		case "tenants/acme.yaml":
			return pin(data, "acme-db-connection", f.aOld)
		case "tenants/globex.yaml":
			return pin(data, "globex-db-connection", f.gOld)
		}
		return data
	})
	f.aNew = f.vaults.Put("kv-acme-dev", "acme-db-connection", "value-a2")
	f.gNew = f.vaults.Put("kv-connectsoft-dev", "globex-db-connection", "value-g2")
	return f
}

func (f *fixture) rotator(t *testing.T, runner rotation.Runner, opts ...rotation.Option) *rotation.Rotator {
	t.Helper()
	j, err := rotation.OpenJournal(filepath.Join(testenv.TempDir(t), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]rotation.Option{rotation.WithRunner(runner), rotation.WithPrincipal("test:rotation"),
		rotation.WithClock(func() time.Time { return t0.Add(time.Hour) })}, opts...)
	return rotation.New(f.dir, f.vaults.Client(), j, opts...)
}

func actions(res *rotation.Result) map[string]string {
	out := map[string]string{}
	for _, o := range res.References {
		out[o.TenantID+"/"+o.Reference] = o.Action + " " + o.Old + "->" + o.New
	}
	return out
}

// TestRotateCommitsAndIsIdempotent: pinned references move in one commit that changes exactly
// their currentVersion lines, only their stacks are brought up (with the changed bindings), the
// unpinned one is recorded as observed, and the same rotation again changes and records nothing.
func TestRotateCommitsAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	auditor, logPath := auditLog(t)
	runner := &fakeRunner{}
	r := f.rotator(t, runner, rotation.WithAuditor(auditor))
	acmeFile := filepath.Join(f.dir, "tenants", "acme.yaml")
	before, headBefore := fileBytes(t, acmeFile), head(t, f.dir)

	res, err := r.Rotate(context.Background(), rotation.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"acme/db-connection":   "rotated " + f.aOld + "->" + f.aNew,
		"globex/db-connection": "rotated " + f.gOld + "->" + f.gNew,
		"initech/api-key":      "observed ->" + f.iCur,
	}
	if d := cmp.Diff(want, actions(res)); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if res.Failed() || res.Commit == "" || res.Commit != head(t, f.dir) || res.Commit == headBefore || res.Branch != "master" {
		t.Errorf("result commit %q branch %q failed %v; HEAD %s", res.Commit, res.Branch, res.Failed(), head(t, f.dir))
	}
	if d := cmp.Diff([]string{"acme.dev", "globex.dev"}, runner.take()); d != "" {
		t.Errorf("ups (-want +got):\n%s", d)
	}
	if runner.seen["acme"]["db-connection"] != f.aNew || runner.seen["globex"]["db-connection"] != f.gNew {
		t.Errorf("the engine got the old bindings: %v", runner.seen)
	}
	if d := cmp.Diff([]string{"      currentVersion: " + f.aOld + " =>       currentVersion: " + f.aNew}, lineDiff(before, fileBytes(t, acmeFile))); d != "" {
		t.Errorf("acme.yaml changed beyond its pin (-want +got):\n%s", d)
	}
	if st := load(t, f.dir); st.Dirty || st.Commit != res.Commit {
		t.Errorf("desired state after the commit: dirty %v commit %s", st.Dirty, st.Commit)
	}
	if d := cmp.Diff([]rotation.Released{{Vault: "kv-acme-dev", Secret: "acme-db-connection", Version: f.aOld},
		{Vault: "kv-connectsoft-dev", Secret: "globex-db-connection", Version: f.gOld}}, res.Released); d != "" {
		t.Errorf("released (-want +got):\n%s", d)
	}
	recs := rotateRecords(t, logPath)
	phases := map[string]int{}
	for _, rec := range recs {
		phases[rec.Details["phase"]]++
		if rec.TraceID != recs[0].TraceID || rec.Principal != "test:rotation" {
			t.Errorf("record %s: trace %s principal %s; one trace and principal for the run", rec.EventID, rec.TraceID, rec.Principal)
		}
	}
	if d := cmp.Diff(map[string]int{"started": 2, "applied": 2, "observed": 1, "released": 2}, phases); d != "" {
		t.Errorf("secret.rotate records by phase (-want +got):\n%s", d)
	}
	for _, rec := range recs {
		if rec.Details["phase"] == "applied" && rec.TenantID == "acme" {
			wantDetails := map[string]string{"oldVersion": f.aOld, "newVersion": f.aNew, "vault": "kv-acme-dev", "secretName": "acme-db-connection", "reference": "db-connection"}
			for k, v := range wantDetails {
				if rec.Details[k] != v {
					t.Errorf("applied record %s = %q, want %q", k, rec.Details[k], v)
				}
			}
			if rec.Commit != res.Commit {
				t.Errorf("applied record names commit %s, want %s", rec.Commit, res.Commit)
			}
		}
	}

	again, err := r.Rotate(context.Background(), rotation.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() || len(runner.take()) != 0 || head(t, f.dir) != res.Commit || len(rotateRecords(t, logPath)) != len(recs) {
		t.Errorf("second identical run: changed %v, HEAD %s, %d records (was %d): want a no-op", again.Changed(), head(t, f.dir), len(rotateRecords(t, logPath)), len(recs))
	}
	if n := f.vaults.ValueReads(); n != 0 {
		t.Errorf("rotation read %d secret values", n)
	}

	// A new version of the unpinned secret is observed once.
	iNew := f.vaults.Put("kv-connectsoft-dev", "initech-api-key", "value-i2")
	third, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"initech"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"initech/api-key": "observed " + f.iCur + "->" + iNew}, actions(third)); d != "" || third.Commit != "" {
		t.Errorf("unpinned rotation (-want +got):\n%s commit %q", d, third.Commit)
	}
}

// TestRotateAwayFromDisabledAndExpired: a pin on a disabled or expired version moves to the
// current one; a vault without a usable version changes nothing and says so.
func TestRotateAwayFromDisabledAndExpired(t *testing.T) {
	f := newFixture(t)
	f.vaults.SetEnabled("kv-acme-dev", "acme-db-connection", f.aNew, false) // the newest is disabled: aOld stays current
	f.vaults.SetEnabled("kv-acme-dev", "acme-db-connection", f.aOld, false) // and the pinned one too
	aThird := f.vaults.Put("kv-acme-dev", "acme-db-connection", "value-a3")
	f.vaults.SetExpires("kv-connectsoft-dev", "globex-db-connection", f.gOld, t0)
	f.vaults.SetEnabled("kv-connectsoft-dev", "initech-api-key", f.iCur, false)
	runner := &fakeRunner{}
	res, err := f.rotator(t, runner).Rotate(context.Background(), rotation.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res)
	want := map[string]string{
		"acme/db-connection":   "rotated " + f.aOld + "->" + aThird,
		"globex/db-connection": "rotated " + f.gOld + "->" + f.gNew,
		"initech/api-key":      "unavailable ->",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if !res.Failed() {
		t.Error("a reference without a usable version must fail the run")
	}
	if pinned(t, f.dir, "dev", "acme", "db-connection") != aThird {
		t.Error("acme's pin did not move")
	}
}

// TestFailureBetweenStacksIsResumed: the second stack's up fails after the first applied; Git
// holds both moves, the journal the unfinished one, and the old version stays unreleased. The
// next run resumes only that stack without a new commit; the run after it does nothing.
func TestFailureBetweenStacksIsResumed(t *testing.T) {
	f := newFixture(t)
	auditor, logPath := auditLog(t)
	runner := &fakeRunner{fail: map[string]error{"globex": errors.New("admission denied the SecretProviderClass update")}}
	r := f.rotator(t, runner, rotation.WithAuditor(auditor))
	res, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme", "globex"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() || actions(res)["globex/db-connection"] != "failed "+f.gOld+"->"+f.gNew || actions(res)["acme/db-connection"] != "rotated "+f.aOld+"->"+f.aNew {
		t.Fatalf("outcomes %v", actions(res))
	}
	if d := cmp.Diff([]rotation.Released{{Vault: "kv-acme-dev", Secret: "acme-db-connection", Version: f.aOld}}, res.Released); d != "" {
		t.Errorf("released (-want +got):\n%s", d)
	}
	commit := res.Commit
	rows, _, err := r.Status(context.Background(), rotation.Selection{Tenants: []string{"globex"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Pending == nil || rows[0].Pending.Old != f.gOld || rows[0].Pending.New != f.gNew || rows[0].Pending.Attempts != 1 || rows[0].Pending.Commit != commit {
		t.Fatalf("globex status after the failure: %+v", rows)
	}
	runner.take()
	delete(runner.fail, "globex")

	resumed, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme", "globex"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"globex/db-connection": "resumed " + f.gOld + "->" + f.gNew}, actions(resumed)); d != "" {
		t.Errorf("resumed run (-want +got):\n%s", d)
	}
	if resumed.Commit != "" || head(t, f.dir) != commit || resumed.Failed() {
		t.Errorf("resumed run made commit %q (HEAD %s, rotation commit %s), failed %v", resumed.Commit, head(t, f.dir), commit, resumed.Failed())
	}
	if d := cmp.Diff([]string{"globex.dev"}, runner.take()); d != "" {
		t.Errorf("ups of the resumed run (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]rotation.Released{{Vault: "kv-connectsoft-dev", Secret: "globex-db-connection", Version: f.gOld}}, resumed.Released); d != "" {
		t.Errorf("released after resuming (-want +got):\n%s", d)
	}
	records := len(rotateRecords(t, logPath))
	last, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme", "globex"}})
	if err != nil {
		t.Fatal(err)
	}
	if last.Changed() || len(runner.take()) != 0 || len(rotateRecords(t, logPath)) != records {
		t.Errorf("third run is not a no-op: %v", actions(last))
	}
	var failed, applied int
	for _, rec := range rotateRecords(t, logPath) {
		if rec.TenantID == "globex" && rec.Details["phase"] == "failed" && strings.Contains(rec.Error, "admission denied") {
			failed++
		}
		if rec.TenantID == "globex" && rec.Details["phase"] == "applied" {
			applied++
		}
	}
	if failed != 1 || applied != 1 {
		t.Errorf("globex records: %d failed, %d applied; want one each", failed, applied)
	}
}

// TestRotateInPlaceAndOnABranch: --in-place leaves the change in the working tree for a pipeline
// to commit; --branch commits on a new branch, which stays checked out.
func TestRotateInPlaceAndOnABranch(t *testing.T) {
	f := newFixture(t)
	base := head(t, f.dir)
	res, err := f.rotator(t, &fakeRunner{}, rotation.WithGit(rotation.GitMode{InPlace: true})).Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if st := load(t, f.dir); res.Commit != "" || head(t, f.dir) != base || !st.Dirty || pinned(t, f.dir, "dev", "acme", "db-connection") != f.aNew {
		t.Errorf("in place: commit %q, HEAD moved %v, dirty %v", res.Commit, head(t, f.dir) != base, st.Dirty)
	}

	g := newFixture(t)
	res, err = g.rotator(t, &fakeRunner{}, rotation.WithGit(rotation.GitMode{Branch: "rotate/db"})).Rotate(context.Background(), rotation.Selection{Tenants: []string{"globex"}})
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := git.PlainOpen(g.dir)
	h, _ := repo.Head()
	if res.Branch != "rotate/db" || h.Name().Short() != "rotate/db" || h.Hash().String() != res.Commit {
		t.Errorf("branch: result %q, HEAD %s at %s, commit %s", res.Branch, h.Name(), h.Hash(), res.Commit)
	}
	master, _ := repo.Reference("refs/heads/master", true)
	if master.Hash().String() == res.Commit {
		t.Error("the rotation commit landed on master")
	}
}

// TestRotateRefusesWhatItCannotCommitCleanly: staged changes would ride along in the commit, a
// folder outside Git cannot be committed, and an unknown tenant is invalid input; each changes
// nothing.
func TestRotateRefusesWhatItCannotCommitCleanly(t *testing.T) {
	f := newFixture(t)
	other := filepath.Join(f.dir, "notes.txt")
	os.WriteFile(other, []byte("unrelated"), 0o644)
	repo, _ := git.PlainOpen(f.dir)
	wt, _ := repo.Worktree()
	wt.Add("notes.txt")
	runner := &fakeRunner{}
	base := head(t, f.dir)
	_, err := f.rotator(t, runner).Rotate(context.Background(), rotation.Selection{All: true})
	if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("staged change: %v, want invalid naming notes.txt", err)
	}
	if head(t, f.dir) != base || pinned(t, f.dir, "dev", "acme", "db-connection") != f.aOld || len(runner.take()) != 0 {
		t.Error("the refused rotation changed something")
	}
	_, err = f.rotator(t, runner).Rotate(context.Background(), rotation.Selection{Tenants: []string{"nobody"}})
	if errkind.Of(err) != errkind.Invalid {
		t.Errorf("unknown tenant: %v", err)
	}
	plain := testenv.CopyDir(t, filepath.Join("..", "..", "examples", "tenants"))
	_, err = rotation.New(plain, f.vaults.Client(), mustJournal(t), rotation.WithRunner(runner)).Rotate(context.Background(), rotation.Selection{All: true})
	if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "--in-place") {
		t.Errorf("outside Git: %v", err)
	}
}

// TestSupersededRotation: a newer version arriving while a rotation waits for its stack replaces
// it; the stack goes from the version it runs straight to the newest.
func TestSupersededRotation(t *testing.T) {
	f := newFixture(t)
	runner := &fakeRunner{fail: map[string]error{"acme": errors.New("stack locked")}}
	r := f.rotator(t, runner)
	if _, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme"}}); err != nil {
		t.Fatal(err)
	}
	aNewest := f.vaults.Put("kv-acme-dev", "acme-db-connection", "value-a3")
	delete(runner.fail, "acme")
	res, err := r.Rotate(context.Background(), rotation.Selection{Tenants: []string{"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"acme/db-connection": "rotated " + f.aOld + "->" + aNewest}, actions(res)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func mustJournal(t *testing.T) *rotation.Journal {
	t.Helper()
	j, err := rotation.OpenJournal(filepath.Join(testenv.TempDir(t), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestWatchRotatesUntilStopped: watch rotates at once, then on every interval, hands each run to
// the report function, and stops when its context ends; a failing run does not stop it.
func TestWatchRotatesUntilStopped(t *testing.T) {
	f := newFixture(t)
	runner := &fakeRunner{fail: map[string]error{"acme": errors.New("stack locked")}}
	r := f.rotator(t, runner)
	ctx, cancel := context.WithCancel(context.Background())
	var runs []*rotation.Result
	err := r.Watch(ctx, rotation.Selection{Tenants: []string{"acme"}}, 10*time.Millisecond, func(res *rotation.Result, err error) {
		if err != nil {
			t.Errorf("run %d: %v", len(runs), err)
		}
		runs = append(runs, res)
		delete(runner.fail, "acme") // the stack is free from the second run on
		if len(runs) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{actions(runs[0])["acme/db-connection"], actions(runs[1])["acme/db-connection"], actions(runs[2])["acme/db-connection"]}
	want := []string{"failed " + f.aOld + "->" + f.aNew, "resumed " + f.aOld + "->" + f.aNew, ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("watch runs (-want +got):\n%s", d)
	}
	if err := r.Watch(context.Background(), rotation.Selection{All: true}, 0, nil); err == nil {
		t.Error("a zero interval was accepted")
	}
}
