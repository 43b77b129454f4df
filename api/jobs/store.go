package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/connectsoft/tenantctl/audit"
)

// Outcome is how a job's work ended.
type Outcome struct {
	Status Status
	Result any
	Error  string
}

// RunFunc does a job's work. ctx is cancelled when the server gives up draining; the function
// publishes progress on j and returns its outcome.
type RunFunc func(ctx context.Context, j *Job) Outcome

// Errors of Submit.
var (
	// ErrDraining: the server is shutting down and accepts no new jobs.
	ErrDraining = errors.New("the server is shutting down and accepts no new jobs")
	// ErrBusy: too many jobs are queued or running.
	ErrBusy = errors.New("too many jobs are queued or running")
	// ErrIdempotencyMismatch: the idempotency key was used before with a different request.
	ErrIdempotencyMismatch = errors.New("the Idempotency-Key was already used for a different request")
)

// StackBusyError: another job is queued or running on the same stack.
type StackBusyError struct {
	Stack string
	JobID string
}

func (e *StackBusyError) Error() string {
	return fmt.Sprintf("job %s is already active on stack %s", e.JobID, e.Stack)
}

// Options bound a Store.
type Options struct {
	// Concurrency is how many jobs run at once (default 2); the others wait queued.
	Concurrency int
	// MaxActive bounds queued plus running jobs (default 64).
	MaxActive int
	// History is how many finished jobs are kept per tenant (default 1000); older ones are
	// forgotten with their idempotency keys. Per tenant, so one tenant's jobs never evict
	// another's.
	History int
	// Dir, when set, makes jobs and idempotency keys durable: each job is a JSON file under
	// Dir/<tenant>/, written when it is accepted and when it ends, and read back by Open. A job
	// that was queued or running when the server stopped comes back failed.
	Dir string
	// Scrub masks secrets in a job's file before it is written (the API passes the audit log's
	// redactor: registered secret values never reach the disk).
	Scrub func(string) string
}

// Store holds the jobs.
type Store struct {
	opts Options
	ctx  context.Context // cancelled when a drain gives up waiting
	stop context.CancelFunc
	sem  chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	jobs     map[string]*Job
	finished map[string][]string // tenant -> finished job ids, oldest first
	active   map[string]string   // stack -> job id
	idem     map[string]idemEntry
	draining bool
}

type idemEntry struct {
	hash  string
	jobID string
}

// NewStore returns an empty in-memory store (Options.Dir is ignored; see Open).
func NewStore(opts Options) *Store {
	opts.Dir = ""
	return newStore(opts)
}

// Open returns a store persisted in opts.Dir (in memory when it is empty), with the jobs and
// idempotency keys it holds.
func Open(opts Options) (*Store, error) {
	s := newStore(opts)
	if opts.Dir == "" {
		return s, nil
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("job store %s: %w", opts.Dir, err)
	}
	return s, nil
}

func newStore(opts Options) *Store {
	if opts.Concurrency < 1 {
		opts.Concurrency = 2
	}
	if opts.MaxActive < 1 {
		opts.MaxActive = 64
	}
	if opts.History < 1 {
		opts.History = 1000
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Store{opts: opts, ctx: ctx, stop: stop, sem: make(chan struct{}, opts.Concurrency),
		jobs: map[string]*Job{}, finished: map[string][]string{}, active: map[string]string{}, idem: map[string]idemEntry{}}
}

// idemKey scopes an idempotency key by tenant and principal (issuer, subject, tenant).
func idemKey(spec Spec, key string) string {
	return spec.TenantID + "\x00" + spec.PrincipalKey + "\x00" + key
}

// Submission is what Submit did.
type Submission struct {
	Job *Job
	// Replayed: the idempotency key matched an earlier identical request; Job is that request's
	// job and nothing new was started.
	Replayed bool
}

// Submit starts a job for spec unless an identical request with the same idempotency key (per
// principal) was submitted before, in which case that job is returned. requestHash identifies the
// request's content; the same key with another hash is ErrIdempotencyMismatch.
func (s *Store) Submit(spec Spec, idemKeyValue, requestHash string, run RunFunc) (Submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ik := ""
	if idemKeyValue != "" {
		ik = idemKey(spec, idemKeyValue)
		if e, ok := s.idem[ik]; ok {
			if e.hash != requestHash {
				return Submission{}, ErrIdempotencyMismatch
			}
			if j, ok := s.jobs[e.jobID]; ok {
				return Submission{Job: j, Replayed: true}, nil
			}
		}
	}
	if s.draining {
		return Submission{}, ErrDraining
	}
	for _, stack := range spec.stacks() {
		if id, ok := s.active[stack]; ok {
			return Submission{}, &StackBusyError{Stack: stack, JobID: id}
		}
	}
	if s.activeJobs() >= s.opts.MaxActive {
		return Submission{}, ErrBusy
	}
	j := newJob(audit.NewEventID(), spec, time.Now().UTC())
	if ik != "" {
		j.idem = &persistedIdem{Key: idemKeyValue, Principal: spec.PrincipalKey, Hash: requestHash}
	}
	if err := s.persist(j); err != nil {
		return Submission{}, err
	}
	s.jobs[j.ID] = j
	for _, stack := range spec.stacks() {
		s.active[stack] = j.ID
	}
	if ik != "" {
		s.idem[ik] = idemEntry{hash: requestHash, jobID: j.ID}
	}
	s.wg.Add(1)
	go s.execute(j, run)
	return Submission{Job: j}, nil
}

func (s *Store) execute(j *Job, run RunFunc) {
	defer s.wg.Done()
	var o Outcome
	select {
	case s.sem <- struct{}{}:
		j.setStatus(StatusRunning, time.Now().UTC())
		o = s.runSafely(j, run)
		<-s.sem
	case <-s.ctx.Done():
		o = Outcome{Status: StatusCancelled, Error: "cancelled before it started: the server shut down"}
	}
	// Free the stack before the job reports its end, so a caller who saw it finish can start the
	// next job on the stack at once.
	s.release(j)
	j.finish(o, time.Now().UTC())
	s.mu.Lock()
	if err := s.persist(j); err != nil {
		// The job ran; only its record is missing on disk. It is kept in memory as usual.
		j.Publish("warning", map[string]string{"error": err.Error()})
	}
	s.mu.Unlock()
	s.retire(j)
}

// activeJobs counts queued and running jobs; the caller holds the mutex.
func (s *Store) activeJobs() int {
	ids := map[string]bool{}
	for _, id := range s.active {
		ids[id] = true
	}
	return len(ids)
}

func (s *Store) release(j *Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, stack := range j.stacks() {
		if s.active[stack] == j.ID {
			delete(s.active, stack)
		}
	}
}

// runSafely turns a panic in a job into a failed job instead of a crashed server.
func (s *Store) runSafely(j *Job, run RunFunc) (o Outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = Outcome{Status: StatusFailed, Error: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	o = run(s.ctx, j)
	if !o.Status.Terminal() {
		o.Status = StatusFailed
	}
	return o
}

// retire adds a finished job to its tenant's history and forgets the tenant's oldest jobs beyond
// the bound, with their idempotency keys and files.
func (s *Store) retire(j *Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retireLocked(j)
}

func (s *Store) retireLocked(j *Job) {
	t := j.TenantID
	s.finished[t] = append(s.finished[t], j.ID)
	for len(s.finished[t]) > s.opts.History {
		old := s.finished[t][0]
		s.finished[t] = s.finished[t][1:]
		if oj, ok := s.jobs[old]; ok {
			if oj.idem != nil {
				delete(s.idem, idemKey(oj.Spec, oj.idem.Key))
			}
			s.forget(oj)
		}
		delete(s.jobs, old)
	}
}

// Get returns a job by id.
func (s *Store) Get(id string) (*Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	return j, ok
}

// Statuses lists every status a job can have, in the order of a job's life.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusConflict, StatusDenied, StatusCancelled}

// CountByStatus counts the jobs the store holds by status: the queued and running ones, and the
// finished ones still kept (at most Options.History per tenant). Every status is present, zero
// included, so a metric built from it never loses a series.
func (s *Store) CountByStatus() map[Status]int {
	s.mu.Lock()
	all := make([]*Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		all = append(all, j)
	}
	s.mu.Unlock()
	// A job's status is read under its own lock, not the store's: the store's lock is not held
	// while a job changes, and holding both here would order the locks for no gain.
	out := make(map[Status]int, len(Statuses))
	for _, st := range Statuses {
		out[st] = 0
	}
	for _, j := range all {
		out[j.Status()]++
	}
	return out
}

// ActiveOn returns the id of the job queued or running on stack, if any.
func (s *Store) ActiveOn(stack string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.active[stack]
	return id, ok
}

// Draining reports whether Drain was called.
func (s *Store) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Drain stops accepting jobs and waits for the queued and running ones until ctx is done; then it
// cancels them (the engine interrupts its CLI processes) and waits up to grace for them to stop.
// It returns an error when jobs were cancelled or are still running.
func (s *Store) Drain(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.stop()
	select {
	case <-done:
		return errors.New("drain: running jobs were cancelled when the shutdown timeout passed")
	case <-time.After(grace):
		return errors.New("drain: jobs still running after cancellation")
	}
}
