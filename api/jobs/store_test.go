package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func spec(stack, principal string) Spec {
	return Spec{Kind: "operation", Operation: "up", Stack: stack, Principal: principal, PrincipalKey: "iss " + principal}
}

func succeed(context.Context, *Job) Outcome { return Outcome{Status: StatusSucceeded, Result: "ok"} }

func wait(t *testing.T, j *Job) View {
	t.Helper()
	select {
	case <-j.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("job %s did not finish", j.ID)
	}
	return j.View()
}

func TestStoreHistoryIsBounded(t *testing.T) {
	s := NewStore(Options{History: 2})
	var ids []string
	for i := range 3 {
		sub, err := s.Submit(spec("stack", "p"), "key-"+string(rune('a'+i)), "h", succeed)
		if err != nil {
			t.Fatal(err)
		}
		wait(t, sub.Job)
		ids = append(ids, sub.Job.ID)
	}
	// Retirement happens right after the job closes Done; let it land.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := s.Get(ids[0]); !ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var kept []bool
	for _, id := range ids {
		_, ok := s.Get(id)
		kept = append(kept, ok)
	}
	if diff := cmp.Diff([]bool{false, true, true}, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	// The forgotten job's idempotency key is forgotten with it: the key starts a new job.
	sub, err := s.Submit(spec("stack", "p"), "key-a", "other", succeed)
	if err != nil || sub.Replayed {
		t.Errorf("reusing a forgotten key: %+v, %v", sub, err)
	}
}

func TestStoreConcurrencyAndQueue(t *testing.T) {
	s := NewStore(Options{Concurrency: 1, MaxActive: 2})
	release := make(chan struct{})
	blocked := func(ctx context.Context, j *Job) Outcome {
		<-release
		return Outcome{Status: StatusSucceeded}
	}
	first, err := s.Submit(spec("a", "p"), "", "", blocked)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Submit(spec("b", "p"), "", "", blocked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(spec("c", "p"), "", "", blocked); !errors.Is(err, ErrBusy) {
		t.Errorf("third job: %v, want ErrBusy", err)
	}
	statuses := func() []Status {
		got := []Status{first.Job.Status(), second.Job.Status()}
		slices.Sort(got)
		return got
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(statuses(), StatusRunning) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if diff := cmp.Diff([]Status{StatusQueued, StatusRunning}, statuses()); diff != "" {
		t.Errorf("with one slot (-want +got):\n%s", diff)
	}
	close(release)
	for _, j := range []*Job{first.Job, second.Job} {
		if v := wait(t, j); v.Status != StatusSucceeded {
			t.Errorf("job = %s", v.Status)
		}
	}
}

func TestStorePanicFailsTheJob(t *testing.T) {
	s := NewStore(Options{})
	sub, err := s.Submit(spec("a", "p"), "", "", func(context.Context, *Job) Outcome { panic("boom") })
	if err != nil {
		t.Fatal(err)
	}
	v := wait(t, sub.Job)
	if v.Status != StatusFailed || !strings.Contains(v.Error, "boom") {
		t.Errorf("job = %+v", v)
	}
}

func TestEventsAreBoundedAndOrdered(t *testing.T) {
	j := newJob("id", Spec{}, time.Now())
	for i := range maxEvents + 10 {
		j.Publish("progress", map[string]int{"n": i})
	}
	evs, _, done := j.EventsSince(0)
	if len(evs) != maxEvents || done {
		t.Fatalf("%d events (done %v), want %d", len(evs), done, maxEvents)
	}
	if evs[0].ID != 11 || evs[len(evs)-1].ID != maxEvents+10 {
		t.Errorf("ids %d..%d", evs[0].ID, evs[len(evs)-1].ID)
	}
	after, _, _ := j.EventsSince(maxEvents + 5)
	if len(after) != 5 {
		t.Errorf("%d events after %d, want 5", len(after), maxEvents+5)
	}
	_, changed, _ := j.EventsSince(0)
	j.finish(Outcome{Status: StatusSucceeded}, time.Now())
	select {
	case <-changed:
	default:
		t.Error("finishing did not wake subscribers")
	}
	last, _, done := j.EventsSince(maxEvents + 10)
	if !done || len(last) != 1 || last[0].Type != "result" {
		t.Errorf("after finish: %+v done=%v", last, done)
	}
}

// Issue 14.8: one tenant's jobs never evict another tenant's job or its idempotency key.
func TestHistoryIsPerTenant(t *testing.T) {
	s := NewStore(Options{History: 3})
	runs := 0
	count := func(context.Context, *Job) Outcome { runs++; return Outcome{Status: StatusSucceeded} }
	b := Spec{Kind: "operation", Operation: "up", TenantID: "globex", Stack: "tenant.globex.dev", Principal: "svc", PrincipalKey: "iss\x00svc\x00globex"}
	first, err := s.Submit(b, "retry-me", "h", count)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, first.Job)
	for i := range 10 {
		a := Spec{Kind: "operation", Operation: "preview", TenantID: "acme", Stack: "tenant.acme.dev", PrincipalKey: "iss\x00svc\x00acme"}
		sub, err := s.Submit(a, "", "h"+string(rune('a'+i)), succeed)
		if err != nil {
			t.Fatal(err)
		}
		wait(t, sub.Job)
	}
	waitRetired(t, s, "acme", 3)
	again, err := s.Submit(b, "retry-me", "h", count)
	if err != nil || !again.Replayed || again.Job.ID != first.Job.ID || runs != 1 {
		t.Errorf("globex's retry after acme's 10 jobs: replayed %v, same job %v, runs %d, err %v", again.Replayed, again.Job.ID == first.Job.ID, runs, err)
	}
	// The same key of the same subject for another tenant is another key.
	other := b
	other.TenantID, other.Stack, other.PrincipalKey = "initech", "tenant.initech.dev", "iss\x00svc\x00initech"
	if sub, err := s.Submit(other, "retry-me", "h", succeed); err != nil || sub.Replayed {
		t.Errorf("same key, other tenant: replayed %v err %v", sub.Replayed, err)
	}
}

func waitRetired(t *testing.T, s *Store, tenant string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		got := len(s.finished[tenant])
		s.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("tenant %s history did not settle at %d", tenant, n)
}

// Issue 14.8: jobs and idempotency keys survive a restart; a job the server stopped under comes
// back failed, and its retry does not run it again.
func TestStoreIsDurable(t *testing.T) {
	dir := t.TempDir()
	s1, err := Open(Options{Dir: dir, Scrub: func(s string) string { return strings.ReplaceAll(s, "hunter2", "[REDACTED]") }})
	if err != nil {
		t.Fatal(err)
	}
	a := Spec{Kind: "operation", Operation: "up", TenantID: "acme", Stack: "tenant.acme.dev", Principal: "svc", PrincipalKey: "k-acme"}
	done, err := s1.Submit(a, "key-1", "h1", func(context.Context, *Job) Outcome {
		return Outcome{Status: StatusSucceeded, Result: map[string]string{"namespace": "t-acme", "echo": "hunter2"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := wait(t, done.Job)
	release := make(chan struct{})
	g := Spec{Kind: "operation", Operation: "up", TenantID: "globex", Stack: "tenant.globex.dev", Principal: "svc", PrincipalKey: "k-globex"}
	running, err := s1.Submit(g, "key-2", "h2", func(ctx context.Context, _ *Job) Outcome {
		<-release
		return Outcome{Status: StatusSucceeded}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(release); wait(t, running.Job); _ = s1.Drain(context.Background(), time.Second) }()
	// "Restart": a second store reads the same folder while the first is still running its job.
	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s2.Get(done.Job.ID)
	if !ok {
		t.Fatal("finished job forgotten across the restart")
	}
	v := got.View()
	if v.Status != want.Status || v.Spec.TenantID != "acme" || !strings.Contains(fmtJSON(t, v.Result), "t-acme") || strings.Contains(fmtJSON(t, v.Result), "hunter2") {
		t.Errorf("job after restart = %+v (result %s)", v, fmtJSON(t, v.Result))
	}
	runs := 0
	replay, err := s2.Submit(a, "key-1", "h1", func(context.Context, *Job) Outcome { runs++; return Outcome{Status: StatusSucceeded} })
	if err != nil || !replay.Replayed || replay.Job.ID != done.Job.ID || runs != 0 {
		t.Errorf("retry after restart: %+v %v, runs %d", replay, err, runs)
	}
	if _, err := s2.Submit(a, "key-1", "other body", succeed); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Errorf("same key, other request after restart: %v", err)
	}
	interrupted, ok := s2.Get(running.Job.ID)
	if !ok || interrupted.Status() != StatusFailed || !strings.Contains(interrupted.View().Error, "server stopped") {
		t.Errorf("job the server stopped under: %+v", interrupted)
	}
	if replay, err := s2.Submit(g, "key-2", "h2", succeed); err != nil || !replay.Replayed {
		t.Errorf("retry of the interrupted job ran it again: %+v %v", replay, err)
	}
}

func fmtJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCountByStatus: the counts follow jobs through queued, running and their end, and every
// status is present (zero included) for the metrics built from them.
func TestCountByStatus(t *testing.T) {
	s := NewStore(Options{Concurrency: 1})
	want := func(when string, nonZero map[Status]int) {
		t.Helper()
		all := map[Status]int{}
		for _, st := range Statuses {
			all[st] = nonZero[st]
		}
		if diff := cmp.Diff(all, s.CountByStatus()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", when, diff)
		}
	}
	want("empty", nil)
	release := make(chan struct{})
	started := make(chan struct{})
	hold := func(ctx context.Context, _ *Job) Outcome {
		close(started)
		<-release
		return Outcome{Status: StatusFailed, Error: "boom"}
	}
	first, err := s.Submit(spec("a", "p"), "", "", hold)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	second, err := s.Submit(spec("b", "p"), "", "", succeed) // waits for the one slot
	if err != nil {
		t.Fatal(err)
	}
	want("one running, one queued", map[Status]int{StatusRunning: 1, StatusQueued: 1})
	close(release)
	wait(t, first.Job)
	wait(t, second.Job)
	want("both finished", map[Status]int{StatusFailed: 1, StatusSucceeded: 1})
}
