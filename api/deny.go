package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/time/rate"

	"github.com/connectsoft/tenantctl/audit"
)

// denial is one refused request.
type denial struct {
	status int
	tenant string
	reason string // machine-readable: an auth.Reason, tenant_mismatch or missing_scope
	detail string
	scope  string
}

// deny answers the request and records an authz.denied audit event (reason, route, status and
// principal when known; never token contents).
func (s *Server) deny(w http.ResponseWriter, r *http.Request, req *request, d denial) {
	s.logger(req).Warn("request denied", "status", d.status, "reason", d.reason, "route", r.Pattern,
		"principal", req.principal.Subject, "tenant", d.tenant)
	s.denials.record(r, req, d)
	title := "unauthorized"
	switch d.status {
	case http.StatusForbidden:
		title = "forbidden"
	case http.StatusServiceUnavailable:
		title = "authentication unavailable"
	}
	writeProblemWith(w, r, d.status, title, d.detail, map[string]any{"reason": d.reason})
}

// denialAuditor writes authz.denied records. Unauthenticated denials are rate limited: anyone can
// send them, and each costs an fsync; the number suppressed is carried by the next record.
type denialAuditor struct {
	auditor *audit.Auditor
	limiter *rate.Limiter
	log     *slog.Logger

	mu         sync.Mutex
	suppressed int
}

func newDenialAuditor(a *audit.Auditor, perSecond float64, log *slog.Logger) *denialAuditor {
	return &denialAuditor{auditor: a, limiter: rate.NewLimiter(rate.Limit(perSecond), 100), log: log}
}

func (a *denialAuditor) record(r *http.Request, req *request, d denial) {
	authenticated := req.principal.Subject != ""
	details := map[string]string{
		"method": r.Method, "route": r.Pattern, "status": strconv.Itoa(d.status), "reason": d.reason,
	}
	if d.scope != "" {
		details["scope"] = d.scope
	}
	if !authenticated {
		if !a.limiter.Allow() {
			a.mu.Lock()
			a.suppressed++
			a.mu.Unlock()
			return
		}
		a.mu.Lock()
		if a.suppressed > 0 {
			details["suppressedBefore"] = strconv.Itoa(a.suppressed)
			a.suppressed = 0
		}
		a.mu.Unlock()
	}
	ev := audit.Event{
		Type: audit.TypeAuthzDenied, TenantID: d.tenant, Principal: req.principal.Subject,
		Outcome: audit.OutcomeDenied, Reason: d.detail, Details: details,
	}
	if _, err := a.auditor.Record(r.Context(), ev); err != nil {
		// The request is refused either way; the gap is logged for the operator.
		a.log.Error("audit authz.denied", "trace_id", req.traceID, "error", err.Error())
	}
}
