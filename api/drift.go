package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/isolation"
)

// DriftRunner is the drift engine as the API uses it. The server calls it from a job whose
// context carries the caller as principal, the trace id and the job's progress stream
// (automation.WithProgressContext), so engine operations the runner starts report into the job.
// Without a DriftRunner the drift routes answer 501.
type DriftRunner interface {
	// Check compares the tenant's binding in one environment with what exists and reports the
	// findings; it changes nothing.
	Check(ctx context.Context, req DriftRequest) (DriftResult, error)
	// Remediate plans (apply false) or performs (apply true) the changes that bring the tenant
	// back to its desired state. The server plans first and asks the policy before applying in
	// production.
	Remediate(ctx context.Context, req DriftRequest, apply bool) (DriftResult, error)
}

// DriftRequest names the binding to check, in the desired state the job loaded.
type DriftRequest struct {
	State       *isolation.DesiredState
	Binding     *isolation.RuntimeTenantBinding
	Environment *isolation.Environment
}

// DriftResult is a drift job's result.
type DriftResult struct {
	// Findings counts the drift findings.
	Findings int `json:"findings"`
	// Changes counts the steps remediation would take or took, in Pulumi's vocabulary (create,
	// update, delete, replace, same).
	Changes map[string]int `json:"changes,omitempty"`
	// Report is the drift report (drift/report's JSON form). It must hold no secret values:
	// findings carry redacted values only.
	Report any `json:"report,omitempty"`
	// Conflict: a stack was locked by another process.
	Conflict bool `json:"conflict,omitempty"`
}

func (s *Server) driftConfigured(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Drift != nil {
		return true
	}
	writeProblem(w, r, http.StatusNotImplemented, "drift not configured", "drift detection is not configured on this server")
	return false
}

// submitDriftCheck is POST /v1/tenants/{tenant}/drift:check.
func (s *Server) submitDriftCheck(w http.ResponseWriter, r *http.Request, req *request) {
	if !s.driftConfigured(w, r) {
		return
	}
	tenant := r.PathValue("tenant")
	body, err := DecodeDriftCheckRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	env, ok := s.resolveEnvironment(w, r, req, tenant, body.Environment)
	if !ok {
		return
	}
	s.submit(w, r, req, submission{kind: kindDriftCheck, operation: "check", tenant: tenant, env: env, body: body,
		run: func(ctx context.Context, j *jobs.Job) jobs.Outcome {
			ctx, log := s.jobContext(ctx, j)
			log.Info("job started", "kind", j.Kind, "tenant", tenant, "environment", env)
			t, err := s.loadTarget(ctx, tenant, env)
			if err != nil {
				return s.failed(log, err)
			}
			res, err := s.cfg.Drift.Check(ctx, DriftRequest{State: t.state, Binding: t.binding, Environment: t.env})
			return s.finishDrift(ctx, log, res, err)
		}})
}

// submitRemediation is POST /v1/tenants/{tenant}/drift:remediate.
func (s *Server) submitRemediation(w http.ResponseWriter, r *http.Request, req *request) {
	if !s.driftConfigured(w, r) {
		return
	}
	tenant := r.PathValue("tenant")
	body, err := DecodeRemediationRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	env, ok := s.resolveEnvironment(w, r, req, tenant, body.Environment)
	if !ok {
		return
	}
	s.submit(w, r, req, submission{kind: kindDriftRemediate, operation: body.Mode, tenant: tenant, env: env, body: body,
		run: s.remediationJob(req.principal, tenant, env, body.Mode == "apply", policy.Request{Ticket: body.Ticket, Reason: body.Reason})})
}

func (s *Server) remediationJob(p auth.Principal, tenant, env string, apply bool, ask policy.Request) jobs.RunFunc {
	return func(ctx context.Context, j *jobs.Job) jobs.Outcome {
		ctx, log := s.jobContext(ctx, j)
		log.Info("job started", "kind", j.Kind, "operation", j.Operation, "tenant", tenant, "environment", env)
		t, err := s.loadTarget(ctx, tenant, env)
		if err != nil {
			return s.failed(log, err)
		}
		req := DriftRequest{State: t.state, Binding: t.binding, Environment: t.env}
		if apply && t.env.Spec.Production {
			var plan *policy.Plan
			if res, err := s.cfg.Drift.Remediate(ctx, req, false); err != nil {
				log.Error("remediation plan", "error", err.Error())
			} else {
				plan = policy.NewPlan(res.Changes)
			}
			d := s.decide(ctx, log, j, p, t, "drift.remediate", plan, ask, "")
			if !d.Allowed {
				return jobs.Outcome{Status: jobs.StatusDenied, Error: "denied by policy: " + strings.Join(d.Reasons, "; ")}
			}
		}
		res, err := s.cfg.Drift.Remediate(ctx, req, apply)
		return s.finishDrift(ctx, log, res, err)
	}
}

func (s *Server) finishDrift(ctx context.Context, log *slog.Logger, res DriftResult, err error) jobs.Outcome {
	o := jobs.Outcome{Status: jobs.StatusSucceeded, Result: res}
	switch {
	case ctx.Err() != nil && err != nil:
		o.Status, o.Error = jobs.StatusCancelled, err.Error()
	case res.Conflict:
		o.Status = jobs.StatusConflict
		if err != nil {
			o.Error = err.Error()
		}
	case err != nil:
		o.Status, o.Error = jobs.StatusFailed, err.Error()
	}
	log.Info("job finished", "status", string(o.Status), "findings", res.Findings, "error", o.Error)
	return o
}
