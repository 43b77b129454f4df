package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// submitOperation is POST /v1/tenants/{tenant}/operations. The scope depends on the operation:
// preview needs runtime.deployments.read, mutations runtime.deployments.write.
func (s *Server) submitOperation(w http.ResponseWriter, r *http.Request, req *request) {
	tenant := r.PathValue("tenant")
	// Some deployments scope is needed to say anything about the body; which one depends on it.
	if !req.principal.Has(auth.ScopeDeploymentsRead) && !req.principal.Has(auth.ScopeDeploymentsWrite) &&
		!s.requireScope(w, r, req, tenant, auth.ScopeDeploymentsRead) {
		return
	}
	body, err := DecodeOperationRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	op := automation.Operation(body.Operation)
	scope := auth.ScopeDeploymentsWrite
	if !op.Mutating() {
		scope = auth.ScopeDeploymentsRead
	}
	if !s.requireScope(w, r, req, tenant, scope) {
		return
	}
	env, ok := s.resolveEnvironment(w, r, req, tenant, body.Environment)
	if !ok {
		return
	}
	sub := submission{
		kind: kindOperation, operation: body.Operation, tenant: tenant, env: env, body: body,
		run: s.operationJob(req.principal, tenant, env, op, policy.Request{Ticket: body.Ticket, Reason: body.Reason}),
	}
	if req.principal.MayChangePlatform() {
		// The job runs the environment's platform stack too: no other job may run on it meanwhile.
		sub.alsoLocks = []string{tenantplan.PlatformStackName(env)}
	}
	s.submit(w, r, req, sub)
}

// target is a job's tenant binding, resolved again when the job starts.
type target struct {
	state   *isolation.DesiredState
	binding *isolation.RuntimeTenantBinding
	env     *isolation.Environment
}

func (s *Server) loadTarget(ctx context.Context, tenant, env string) (target, error) {
	state, err := s.cfg.Backend.DesiredState(ctx)
	if verrs, invalid := isolation.AsValidationErrors(err); invalid {
		// Job results are read by the tenant: the errors may concern other tenants' bindings.
		return target{}, fmt.Errorf("the desired state has %d validation error(s); nothing runs until they are fixed (see `tenantctl validate`)", len(verrs))
	}
	if err != nil {
		return target{}, fmt.Errorf("desired state: %w", err)
	}
	b, e := state.Binding(env, tenant), state.Environment(env)
	if b == nil || e == nil {
		return target{}, fmt.Errorf("tenant %s has no binding in environment %s any more (desired state %s)", tenant, env, state.Revision())
	}
	return target{state: state, binding: b, env: e}, nil
}

func (s *Server) operationJob(p auth.Principal, tenant, env string, op automation.Operation, ask policy.Request) jobs.RunFunc {
	return func(ctx context.Context, j *jobs.Job) jobs.Outcome {
		ctx, log := s.jobContext(ctx, j)
		log.Info("job started", "kind", j.Kind, "operation", j.Operation, "tenant", tenant, "environment", env)
		t, err := s.loadTarget(ctx, tenant, env)
		if err != nil {
			return s.failed(log, err)
		}
		// Tenant-bound callers never run the shared platform stack: their tenant stack reads its
		// recorded outputs.
		sel := fleet.Selection{Tenants: []string{tenant}, Env: env, TenantsOnly: !p.MayChangePlatform()}
		if op.Mutating() && t.env.Spec.Production {
			if op == automation.OpUp {
				// The approved up applies exactly what was previewed (Pulumi update plans), or fails.
				dir, err := os.MkdirTemp("", "tenantctl-plan-")
				if err != nil {
					return s.failed(log, fmt.Errorf("plan folder: %w", err))
				}
				defer os.RemoveAll(dir)
				sel.PlanDir = dir
			}
			plan := s.planOperation(ctx, log, t, op, sel)
			digest := ""
			if sel.PlanDir != "" && plan != nil {
				var err error
				if digest, err = planDigest(sel.PlanDir); err != nil {
					log.Error("plan files", "error", err.Error())
					plan = nil
				}
			}
			d := s.decide(ctx, log, j, p, t, "tenant."+string(op), plan, ask, digest)
			if !d.Allowed {
				return jobs.Outcome{Status: jobs.StatusDenied, Error: "denied by policy: " + strings.Join(d.Reasons, "; ")}
			}
			if sel.PlanDir != "" && digest == "" {
				return jobs.Outcome{Status: jobs.StatusDenied, Error: "refused: no previewed plan to pin the update to"}
			}
		}
		out, err := s.cfg.Backend.Run(ctx, t.state, op, sel)
		return s.finishOperation(ctx, log, out, err)
	}
}

// planDigest is the SHA-256 of the saved plan files (names and contents, in name order): what the
// policy decision approved, recorded with it.
func planDigest(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.plan"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", errors.New("the preview saved no plan")
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// planOperation summarises what a production mutation would change, for the policy: a preview
// for up, a refresh preview for refresh, the stack's resources for destroy. nil when no plan
// could be made (the default policy then denies).
func (s *Server) planOperation(ctx context.Context, log *slog.Logger, t target, op automation.Operation, sel fleet.Selection) *policy.Plan {
	switch op {
	case automation.OpDestroy:
		ss, err := s.cfg.Backend.Stacks(ctx)
		if err != nil {
			log.Error("plan destroy: list stacks", "error", err.Error())
			return nil
		}
		name := tenantplan.TenantStackName(t.binding.Spec.TenantID, t.binding.Spec.Environment)
		n := 0
		for _, st := range ss {
			if st.Name == name && st.ResourceCount != nil {
				n = *st.ResourceCount
			}
		}
		return policy.NewPlan(map[string]int{"delete": n})
	case automation.OpRefresh:
		return s.planWith(ctx, log, t, automation.OpRefreshPreview, sel)
	default:
		return s.planWith(ctx, log, t, automation.OpPreview, sel)
	}
}

func (s *Server) planWith(ctx context.Context, log *slog.Logger, t target, op automation.Operation, sel fleet.Selection) *policy.Plan {
	out, err := s.cfg.Backend.Run(ctx, t.state, op, sel)
	if err != nil {
		log.Error("plan", "operation", string(op), "error", err.Error())
		return nil
	}
	changes := map[string]int{}
	for _, r := range out.All() {
		if r.Err != nil {
			log.Error("plan", "operation", string(op), "stack", r.Stack, "error", r.Error)
			return nil
		}
		for k, n := range r.Changes {
			changes[k] += n
		}
	}
	return policy.NewPlan(changes)
}

// decide evaluates the policy, records the decision on the job and in the audit log, and
// returns it. A decision that cannot be recorded is a denial.
func (s *Server) decide(ctx context.Context, log *slog.Logger, j *jobs.Job, p auth.Principal, t target, action string, plan *policy.Plan, ask policy.Request, planDigest string) policy.Decision {
	in := policy.Input{
		Principal:   policy.Principal{Subject: p.Subject, Issuer: p.Issuer, TenantID: p.TenantID, ClientID: p.ClientID, Scopes: p.Scopes},
		Tenant:      policy.Tenant{ID: t.binding.Spec.TenantID, Tier: string(t.binding.Spec.Tier)},
		Environment: policy.Environment{Name: t.env.Name(), Production: t.env.Spec.Production},
		Operation:   strings.TrimPrefix(action, "tenant."),
		Plan:        plan,
		Request:     ask,
	}
	d := s.cfg.Policy.Decide(ctx, in)
	details := map[string]string{"policy": d.Policy, "jobId": j.ID, "stack": j.Stack}
	if ask.Ticket != "" {
		details["ticket"] = ask.Ticket
	}
	if plan != nil {
		details["plan"] = fmt.Sprintf("create=%d update=%d delete=%d replace=%d", plan.Creates, plan.Updates, plan.Deletes, plan.Replaces)
	}
	if planDigest != "" {
		details["planDigest"] = planDigest
	}
	ev := audit.PolicyDecision(t.binding.Spec.TenantID, p.Subject, action, d.Allowed, strings.Join(d.Reasons, "; "), details)
	ev.Environment, ev.Commit = t.env.Name(), t.state.Commit
	if _, err := s.cfg.Auditor.Record(ctx, ev); err != nil {
		log.Error("audit policy decision", "error", err.Error())
		d.Allowed = false
		d.Reasons = append(d.Reasons, "the decision could not be recorded in the audit log")
	}
	j.SetDecision(d)
	j.Publish("policy", d)
	log.Info("policy decision", "action", action, "allowed", d.Allowed, "reasons", strings.Join(d.Reasons, "; "), "policy", d.Policy)
	return d
}

func (s *Server) failed(log *slog.Logger, err error) jobs.Outcome {
	log.Error("job failed", "error", err.Error())
	return jobs.Outcome{Status: jobs.StatusFailed, Error: err.Error()}
}

// operationResult is an operation job's result: the fleet outcome, without what must not leave
// the engine (step details stay in the engine; secret outputs were masked by it).
type operationResult struct {
	Operation automation.Operation `json:"operation"`
	Commit    string               `json:"commit"`
	Dirty     bool                 `json:"dirty"`
	Platform  []stackResult        `json:"platform"`
	Tenants   []stackResult        `json:"tenants"`
}

type stackResult struct {
	automation.Result
	DurationSeconds float64 `json:"durationSeconds"`
}

func resultsOf(rs []automation.Result) []stackResult {
	out := make([]stackResult, len(rs))
	for i, r := range rs {
		out[i] = stackResult{Result: r, DurationSeconds: r.Duration.Seconds()}
	}
	return out
}

// finishOperation maps the fleet outcome to the job's status: conflict when another process held
// a stack, failed when a stack failed, cancelled when the server gave up waiting.
func (s *Server) finishOperation(ctx context.Context, log *slog.Logger, out fleet.Outcome, err error) jobs.Outcome {
	if err != nil {
		return s.failed(log, err)
	}
	res := operationResult{Operation: out.Operation, Commit: out.Commit, Dirty: out.Dirty,
		Platform: resultsOf(out.Platform), Tenants: resultsOf(out.Tenants)}
	o := jobs.Outcome{Status: jobs.StatusSucceeded, Result: res}
	var failed []string
	anyFailed, anyConflict := false, false
	for _, r := range out.All() {
		if r.Err == nil {
			continue
		}
		failed = append(failed, r.Stack+": "+r.Error)
		if r.Conflict {
			anyConflict = true
		} else {
			anyFailed = true
		}
	}
	switch {
	case anyFailed:
		o.Status = jobs.StatusFailed
	case anyConflict:
		o.Status = jobs.StatusConflict
	}
	if ctx.Err() != nil && o.Status != jobs.StatusSucceeded {
		o.Status = jobs.StatusCancelled
	}
	if len(failed) > 0 {
		o.Error = strings.Join(failed, "; ")
	}
	log.Info("job finished", "status", string(o.Status), "error", o.Error)
	return o
}

// jsonMarshal encodes without HTML escaping, so scrubbing finds secret values verbatim.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
