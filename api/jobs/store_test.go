package jobs

import (
	"context"
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
