// Package jobs runs the API's long operations asynchronously: an in-memory store with bounded
// history, at most one active job per stack, idempotency keys scoped per principal, a bounded
// number of jobs running at once, per-job event streams for Server-Sent Events, and a drain for
// graceful shutdown.
package jobs

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/connectsoft/tenantctl/api/policy"
)

// Status is where a job is in its life.
type Status string

const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	// StatusConflict: another process held the stack's lock (the engine's ErrConflict).
	StatusConflict Status = "conflict"
	// StatusDenied: the policy refused the mutation; nothing was changed.
	StatusDenied Status = "denied"
	// StatusCancelled: the server shut down before the job finished.
	StatusCancelled Status = "cancelled"
)

// Terminal reports whether the job has finished.
func (s Status) Terminal() bool {
	return s != StatusQueued && s != StatusRunning
}

// Spec says what a job does; it is fixed when the job is submitted.
type Spec struct {
	// Kind is "operation", "drift-check" or "drift-remediate".
	Kind string `json:"kind"`
	// Operation is preview|up|destroy|refresh for operations, plan|apply for remediation.
	Operation   string `json:"operation"`
	TenantID    string `json:"tenantId"`
	Environment string `json:"environment"`
	// Stack is the tenant stack the job targets; at most one active job per stack.
	Stack string `json:"stack"`
	// AlsoLocks are further stacks the job may change (an environment's platform stack): no
	// other job runs on them meanwhile.
	AlsoLocks []string `json:"alsoLocks,omitempty"`
	// Principal is the caller's subject; PrincipalKey scopes idempotency keys.
	Principal    string `json:"principal"`
	PrincipalKey string `json:"-"`
	TraceID      string `json:"traceId"`
}

// Event is one entry of a job's stream.
type Event struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"` // status | progress | result
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// maxEvents bounds the events a job keeps; a client resuming from an older id gets what is left.
const maxEvents = 1000

// Job is one submitted operation.
type Job struct {
	ID string
	Spec

	mu         sync.Mutex
	status     Status
	created    time.Time
	started    time.Time
	finished   time.Time
	result     any
	err        string
	decision   *policy.Decision
	events     []Event
	nextEvent  int64
	changed    chan struct{} // closed and replaced on every change
	terminated chan struct{}
	idem       *persistedIdem
}

// stacks are all the stacks a job holds.
func (s Spec) stacks() []string { return append([]string{s.Stack}, s.AlsoLocks...) }

func newJob(id string, spec Spec, now time.Time) *Job {
	return &Job{ID: id, Spec: spec, status: StatusQueued, created: now, nextEvent: 1,
		changed: make(chan struct{}), terminated: make(chan struct{})}
}

// View is a job's JSON resource.
type View struct {
	ID string `json:"id"`
	Spec
	Status     Status           `json:"status"`
	CreatedAt  time.Time        `json:"createdAt"`
	StartedAt  *time.Time       `json:"startedAt,omitempty"`
	FinishedAt *time.Time       `json:"finishedAt,omitempty"`
	Policy     *policy.Decision `json:"policy,omitempty"`
	Result     any              `json:"result,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// View snapshots the job.
func (j *Job) View() View {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.viewLocked()
}

func (j *Job) viewLocked() View {
	v := View{ID: j.ID, Spec: j.Spec, Status: j.status, CreatedAt: j.created, Policy: j.decision, Result: j.result, Error: j.err}
	if !j.started.IsZero() {
		t := j.started
		v.StartedAt = &t
	}
	if !j.finished.IsZero() {
		t := j.finished
		v.FinishedAt = &t
	}
	return v
}

// Status is the job's current status.
func (j *Job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

// Done is closed when the job has finished.
func (j *Job) Done() <-chan struct{} { return j.terminated }

// Publish appends an event of type typ; data must encode as JSON.
func (j *Job) Publish(typ string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"error": "event not encodable: " + err.Error()})
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.appendLocked(typ, raw)
}

func (j *Job) appendLocked(typ string, raw json.RawMessage) {
	j.events = append(j.events, Event{ID: j.nextEvent, Type: typ, Time: time.Now().UTC(), Data: raw})
	j.nextEvent++
	if len(j.events) > maxEvents {
		j.events = append([]Event(nil), j.events[len(j.events)-maxEvents:]...)
	}
	close(j.changed)
	j.changed = make(chan struct{})
}

// SetDecision records the policy decision taken for the job.
func (j *Job) SetDecision(d policy.Decision) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.decision = &d
}

// EventsSince returns the events after id, a channel closed at the next change, and whether the
// job has finished (no event will follow those returned).
func (j *Job) EventsSince(id int64) ([]Event, <-chan struct{}, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Event
	for _, e := range j.events {
		if e.ID > id {
			out = append(out, e)
		}
	}
	return out, j.changed, j.status.Terminal()
}

func (j *Job) setStatus(s Status, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status = s
	if s == StatusRunning {
		j.started = now
	}
	raw, _ := json.Marshal(map[string]Status{"status": s})
	j.appendLocked("status", raw)
}

// finish records the outcome and the final "result" event (the job resource itself).
func (j *Job) finish(o Outcome, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status, j.result, j.err, j.finished = o.Status, o.Result, o.Error, now
	if j.started.IsZero() {
		j.started = now
	}
	raw, err := json.Marshal(j.viewLocked())
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"error": "result not encodable: " + err.Error()})
	}
	j.appendLocked("result", raw)
	close(j.terminated)
}
