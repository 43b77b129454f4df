package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/connectsoft/tenantctl/api/policy"
)

// persistedJob is a job's file: what GET /v1/jobs/{id} shows and what idempotency needs. Event
// streams are not kept: a job read back replays only its final result.
type persistedJob struct {
	View
	PrincipalKey string         `json:"principalKey"`
	Idempotency  *persistedIdem `json:"idempotency,omitempty"`
}

type persistedIdem struct {
	Key       string `json:"key"`
	Principal string `json:"principal"`
	Hash      string `json:"hash"`
}

// safeName keeps tenant ids and job ids usable as path elements.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (s *Store) jobPath(j *Job) (string, error) {
	tenant := j.TenantID
	if tenant == "" {
		tenant = "_platform"
	}
	if !safeName.MatchString(tenant) || !safeName.MatchString(j.ID) {
		return "", fmt.Errorf("job %q of tenant %q: not a safe file name", j.ID, j.TenantID)
	}
	return filepath.Join(s.opts.Dir, tenant, j.ID+".json"), nil
}

// persist writes the job's file atomically; the caller holds the store's mutex (or owns j).
func (s *Store) persist(j *Job) error {
	if s.opts.Dir == "" {
		return nil
	}
	path, err := s.jobPath(j)
	if err != nil {
		return err
	}
	rec := persistedJob{View: j.View(), PrincipalKey: j.PrincipalKey, Idempotency: j.idem}
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	if s.opts.Scrub != nil {
		raw = []byte(s.opts.Scrub(string(raw)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".job-*")
	if err != nil {
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("persist job %s: %w", j.ID, err)
	}
	return nil
}

// forget removes a retired job's file.
func (s *Store) forget(j *Job) {
	if s.opts.Dir == "" {
		return
	}
	if path, err := s.jobPath(j); err == nil {
		_ = os.Remove(path)
	}
}

// interruptedError is the error of a job the server stopped under.
const interruptedError = "the server stopped before the job finished; the stack may have been changed partway: check it with a preview"

// load reads the persisted jobs: finished ones with their idempotency keys, and those the server
// stopped under, which are recorded as failed.
func (s *Store) load() error {
	tenants, err := os.ReadDir(s.opts.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(s.opts.Dir, 0o700)
	}
	if err != nil {
		return err
	}
	var all []*Job
	for _, t := range tenants {
		if !t.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(s.opts.Dir, t.Name(), "*.json"))
		if err != nil {
			return err
		}
		for _, f := range files {
			j, err := readJob(f)
			if err != nil {
				return err
			}
			all = append(all, j)
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].finished.Before(all[b].finished) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range all {
		if j.status == StatusQueued || j.status == StatusRunning {
			j.status, j.err, j.finished = StatusFailed, interruptedError, time.Now().UTC()
			if err := s.persist(j); err != nil {
				return err
			}
		}
		j.appendLocked("result", mustJSON(j.viewLocked()))
		close(j.terminated)
		s.jobs[j.ID] = j
		if j.idem != nil {
			s.idem[idemKey(j.Spec, j.idem.Key)] = idemEntry{hash: j.idem.Hash, jobID: j.ID}
		}
		s.retireLocked(j)
	}
	return nil
}

func readJob(path string) (*Job, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec struct {
		persistedJob
		Result json.RawMessage  `json:"result,omitempty"`
		Policy *policy.Decision `json:"policy,omitempty"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("job file %s: %w", path, err)
	}
	v := rec.View
	j := newJob(v.ID, v.Spec, v.CreatedAt)
	j.PrincipalKey = rec.PrincipalKey
	j.status, j.err, j.decision, j.idem = v.Status, v.Error, rec.Policy, rec.Idempotency
	if len(rec.Result) > 0 {
		j.result = rec.Result
	}
	if v.StartedAt != nil {
		j.started = *v.StartedAt
	}
	if v.FinishedAt != nil {
		j.finished = *v.FinishedAt
	}
	return j, nil
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"error": "not encodable: " + err.Error()})
	}
	return raw
}
