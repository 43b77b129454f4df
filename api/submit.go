package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/secretclass"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// resolveEnvironment finds the environment of the tenant's binding the request targets: the one
// named, or the tenant's only one.
func (s *Server) resolveEnvironment(w http.ResponseWriter, r *http.Request, req *request, tenant, env string) (string, bool) {
	state, ok := s.stateFor(w, r, req, tenant)
	if !ok {
		return "", false
	}
	var envs []string
	for _, b := range state.Bindings {
		if b.Spec.TenantID == tenant {
			envs = append(envs, b.Spec.Environment)
		}
	}
	sort.Strings(envs)
	switch {
	case len(envs) == 0:
		writeProblem(w, r, http.StatusNotFound, "unknown tenant", "no binding for tenant "+tenant+" in the desired state")
	case env == "" && len(envs) > 1:
		writeProblem(w, r, http.StatusUnprocessableEntity, "environment required",
			"tenant "+tenant+" has bindings in "+strings.Join(envs, ", ")+": name one in environment")
	case env == "":
		return envs[0], true
	case state.Binding(env, tenant) == nil:
		writeProblem(w, r, http.StatusNotFound, "unknown binding", "tenant "+tenant+" has no binding in environment "+env)
	default:
		return env, true
	}
	return "", false
}

// submission is a job a handler asks for.
type submission struct {
	kind, operation, tenant, env string
	body                         any // the decoded request, for the idempotency hash
	run                          jobs.RunFunc
	alsoLocks                    []string // further stacks the job may change (the platform stack)
}

// submit starts the job and answers 202 with its resource and Location; 409 when another job is
// active on the stack; the first job again for a repeated Idempotency-Key.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, req *request, sub submission) {
	key := r.Header.Get("Idempotency-Key")
	if err := checkIdempotencyKey(key); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	spec := jobs.Spec{
		Kind: sub.kind, Operation: sub.operation, TenantID: sub.tenant, Environment: sub.env,
		Stack: tenantplan.TenantStackName(sub.tenant, sub.env), Principal: req.principal.Subject,
		PrincipalKey: req.principal.Key(), TraceID: req.traceID, AlsoLocks: sub.alsoLocks,
	}
	res, err := s.jobs.Submit(spec, key, requestHash(r.Method, r.URL.Path, sub.body), sub.run)
	var busy *jobs.StackBusyError
	switch {
	case errors.As(err, &busy):
		writeProblemWith(w, r, http.StatusConflict, "stack busy", busy.Error(), map[string]any{"runningJob": busy.JobID})
		return
	case errors.Is(err, jobs.ErrIdempotencyMismatch):
		writeProblem(w, r, http.StatusUnprocessableEntity, "idempotency key reused", err.Error())
		return
	case errors.Is(err, jobs.ErrDraining):
		w.Header().Set("Retry-After", "30")
		writeProblem(w, r, http.StatusServiceUnavailable, "draining", err.Error())
		return
	case errors.Is(err, jobs.ErrBusy):
		w.Header().Set("Retry-After", "10")
		writeProblem(w, r, http.StatusTooManyRequests, "too many jobs", err.Error())
		return
	case err != nil:
		writeProblem(w, r, http.StatusInternalServerError, "job not started", err.Error())
		return
	}
	j := res.Job
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.logger(req).Info("job accepted", "job_id", j.ID, "kind", spec.Kind, "operation", spec.Operation,
			"tenant", spec.TenantID, "environment", spec.Environment, "principal", spec.Principal)
	}
	s.writeScrubbed(w, http.StatusAccepted, j.View())
}

// jobContext prepares a job's context: the caller as the engine's principal, the request's trace
// id for every audit record, and the engine's progress routed to the job's event stream and log.
func (s *Server) jobContext(ctx context.Context, j *jobs.Job) (context.Context, *slog.Logger) {
	log := s.log.With("trace_id", j.TraceID, "job_id", j.ID)
	ctx = automation.WithPrincipalContext(ctx, j.Principal)
	ctx = audit.ContextWithTraceID(ctx, j.TraceID)
	ctx = automation.WithProgressContext(ctx, func(p automation.Progress) {
		j.Publish("progress", progressEvent(p))
		switch p.Phase {
		case "resource":
			log.Debug("job progress", "stack", p.Stack, "operation", string(p.Operation), "done", p.Done, "total", p.Total)
		default:
			attrs := []any{"stack", p.Stack, "operation", string(p.Operation), "phase", p.Phase}
			if p.Result != nil && p.Result.Error != "" {
				attrs = append(attrs, "error", p.Result.Error)
			}
			log.Info("job progress", attrs...)
		}
	})
	return ctx, log
}

// progressView is a progress event on the wire.
type progressView struct {
	Stack          string         `json:"stack"`
	Operation      string         `json:"operation"`
	Phase          string         `json:"phase"`
	Done           int            `json:"done"`
	Total          int            `json:"total"`
	ElapsedSeconds float64        `json:"elapsedSeconds"`
	Changes        map[string]int `json:"changes,omitempty"`
	Error          string         `json:"error,omitempty"`
	Skipped        string         `json:"skipped,omitempty"`
	Conflict       bool           `json:"conflict,omitempty"`
}

func progressEvent(p automation.Progress) progressView {
	v := progressView{Stack: p.Stack, Operation: string(p.Operation), Phase: p.Phase, Done: p.Done, Total: p.Total,
		ElapsedSeconds: p.Elapsed.Round(time.Millisecond).Seconds()}
	if r := p.Result; r != nil {
		v.Changes, v.Error, v.Skipped, v.Conflict = r.Changes, r.Error, r.Skipped, r.Conflict
	}
	return v
}

// writeScrubbed writes a response that may carry engine output (job results, errors): every
// value registered as a secret with the audit log (the state passphrase, ...) is masked.
func (s *Server) writeScrubbed(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, scrubbed{s: s, v: v})
}

type scrubbed struct {
	s *Server
	v any
}

func (sc scrubbed) MarshalJSON() ([]byte, error) {
	b, err := jsonMarshal(sc.v)
	if err != nil {
		return nil, err
	}
	return []byte(sc.s.scrub(string(b))), nil
}

func (s *Server) scrub(text string) string { return scrubber(s.cfg.Auditor)(text) }

// scrubber masks the secret values the audit log knows (WithSecretValues) and whatever the
// project's classifier recognises as a credential (connection strings, URLs with passwords,
// secret flags, tokens); it keeps JSON text valid.
func scrubber(a *audit.Auditor) func(string) string {
	return func(text string) string {
		text = secretclass.MaskText(text)
		if log := a.Log(); log != nil && log.Redactor() != nil {
			return log.Redactor().String(text)
		}
		return text
	}
}

// readScopes are the scopes that may read a job: its resource's read scope or the scope that
// could have created it.
func readScopes(kind string) []string {
	switch kind {
	case kindDriftCheck:
		return []string{auth.ScopeDriftRead, auth.ScopeDriftRemediate}
	case kindDriftRemediate:
		return []string{auth.ScopeDriftRemediate, auth.ScopeDriftRead}
	case kindSecretsRotate:
		return []string{auth.ScopeSecretsRotate}
	}
	return []string{auth.ScopeDeploymentsRead, auth.ScopeDeploymentsWrite}
}

const (
	kindOperation      = "operation"
	kindDriftCheck     = "drift-check"
	kindDriftRemediate = "drift-remediate"
	kindSecretsRotate  = "secrets-rotate"
)
