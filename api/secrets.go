package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/secrets/rotation"
)

// SecretsRotator rotates a tenant's pinned secret references through Git and the engine
// (secrets/rotation). The server calls it from a job whose context carries the caller as
// principal and the trace id; without one the route answers 501.
type SecretsRotator interface {
	// Pending counts the references of the tenant's binding in env that a rotation would move
	// or resume; it changes nothing. Production rotations hand it to the policy as the plan.
	Pending(ctx context.Context, req SecretsRequest) (int, error)
	// Rotate rotates them and brings up the tenant's stack.
	Rotate(ctx context.Context, req SecretsRequest) (*rotation.Result, error)
}

// SecretsRequest names the binding to rotate and where the change goes.
type SecretsRequest struct {
	TenantID    string
	Environment string
	Principal   string
	Branch      string
	InPlace     bool
}

// RotationRequest is the body of POST /v1/tenants/{tenant}/secrets:rotate.
type RotationRequest struct {
	Environment string `json:"environment,omitempty"`
	// Branch commits the change on this branch of the desired-state repository (created from
	// HEAD when missing); empty commits on the checked-out branch.
	Branch string `json:"branch,omitempty"`
	// InPlace leaves the change in the working tree.
	InPlace bool   `json:"inPlace,omitempty"`
	Ticket  string `json:"ticket,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// DecodeRotationRequest decodes a rotation request; an empty body is allowed.
func DecodeRotationRequest(r io.Reader) (RotationRequest, error) {
	var req RotationRequest
	if err := decodeStrict(r, maxBodyBytes, &req, true); err != nil {
		return req, err
	}
	switch {
	case req.InPlace && req.Branch != "":
		return req, errors.New("branch and inPlace: choose one")
	case len(req.Branch) > 200 || strings.ContainsAny(req.Branch, " ~^:?*[\\") || strings.Contains(req.Branch, "..") || !printable(req.Branch):
		return req, errors.New("branch: a Git branch name")
	}
	return req, checkCommon(req.Environment, req.Ticket, req.Reason)
}

// submitRotation is POST /v1/tenants/{tenant}/secrets:rotate.
func (s *Server) submitRotation(w http.ResponseWriter, r *http.Request, req *request) {
	if s.cfg.Secrets == nil {
		writeProblem(w, r, http.StatusNotImplemented, "secret rotation not configured", "secret rotation is not configured on this server")
		return
	}
	tenant := r.PathValue("tenant")
	body, err := DecodeRotationRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	env, ok := s.resolveEnvironment(w, r, req, tenant, body.Environment)
	if !ok {
		return
	}
	p := req.principal
	s.submit(w, r, req, submission{kind: kindSecretsRotate, operation: "rotate", tenant: tenant, env: env, body: body,
		run: func(ctx context.Context, j *jobs.Job) jobs.Outcome {
			ctx, log := s.jobContext(ctx, j)
			log.Info("job started", "kind", j.Kind, "tenant", tenant, "environment", env)
			t, err := s.loadTarget(ctx, tenant, env)
			if err != nil {
				return s.failed(log, err)
			}
			sr := SecretsRequest{TenantID: tenant, Environment: env, Principal: p.Subject, Branch: body.Branch, InPlace: body.InPlace}
			if t.env.Spec.Production {
				n, err := s.cfg.Secrets.Pending(ctx, sr)
				if err != nil {
					return s.failed(log, err)
				}
				var plan *policy.Plan
				if n > 0 {
					plan = policy.NewPlan(map[string]int{"update": n})
				}
				d := s.decide(ctx, log, j, p, t, "secret.rotate", plan, policy.Request{Ticket: body.Ticket, Reason: body.Reason}, "")
				if !d.Allowed {
					return jobs.Outcome{Status: jobs.StatusDenied, Error: "denied by policy: " + strings.Join(d.Reasons, "; ")}
				}
			}
			res, err := s.cfg.Secrets.Rotate(ctx, sr)
			return s.finishRotation(ctx, log, res, err)
		}})
}

func (s *Server) finishRotation(ctx context.Context, log *slog.Logger, res *rotation.Result, err error) jobs.Outcome {
	o := jobs.Outcome{Status: jobs.StatusSucceeded}
	if res != nil {
		o.Result = res
	}
	switch {
	case ctx.Err() != nil && err != nil:
		o.Status, o.Error = jobs.StatusCancelled, err.Error()
	case err != nil:
		o.Status, o.Error = jobs.StatusFailed, err.Error()
	case res.Failed():
		o.Status = jobs.StatusFailed
		var parts []string
		for _, r := range res.References {
			if r.Error != "" {
				parts = append(parts, fmt.Sprintf("%s %s: %s", r.Stack, r.Reference, r.Error))
			}
		}
		o.Error = "rotation incomplete; the next rotation resumes it: " + strings.Join(parts, "; ")
	}
	changed := 0
	if res != nil {
		changed = len(res.References)
	}
	log.Info("job finished", "status", string(o.Status), "references", changed, "error", o.Error)
	return o
}
