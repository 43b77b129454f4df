package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

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
	extra  map[string]string // more details for the record (never anything the caller may not see)
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

// maxTrackedPrincipals bounds the per-principal limiters; beyond it, idle ones are dropped.
const maxTrackedPrincipals = 10000

// denialAuditor writes authz.denied records. Every record costs an fsync, so denials are rate
// limited: unauthenticated ones together (anyone can send them), authenticated ones per principal
// (issuer, subject, tenant), so one misconfigured or hostile client cannot flood the log nor
// crowd out another's records. Suppressed denials are not lost: their count is carried by the
// principal's next record, or by an aggregate record written by Flush.
type denialAuditor struct {
	auditor   *audit.Auditor
	anonymous *rate.Limiter
	perSecond rate.Limit
	burst     int
	log       *slog.Logger

	// counted, when set, is told every denial's reason (the API's metrics), rate limited or not.
	counted func(reason string)

	mu         sync.Mutex
	suppressed int // unauthenticated
	principals map[string]*principalDenials
}

type principalDenials struct {
	limiter    *rate.Limiter
	suppressed int
	lastSeen   time.Time
	// what the aggregate record names
	subject, tenant string
	reasons         map[string]int
}

func newDenialAuditor(a *audit.Auditor, anonPerSecond, principalPerSecond float64, principalBurst int, log *slog.Logger) *denialAuditor {
	return &denialAuditor{auditor: a, anonymous: rate.NewLimiter(rate.Limit(anonPerSecond), 100), log: log,
		perSecond: rate.Limit(principalPerSecond), burst: principalBurst, principals: map[string]*principalDenials{}}
}

func (a *denialAuditor) record(r *http.Request, req *request, d denial) {
	if a.counted != nil {
		a.counted(d.reason)
	}
	details := map[string]string{
		"method": r.Method, "route": r.Pattern, "status": strconv.Itoa(d.status), "reason": d.reason,
	}
	if d.scope != "" {
		details["scope"] = d.scope
	}
	for k, v := range d.extra {
		details[k] = v
	}
	// The record belongs to the caller's tenant: another tenant querying its audit log must not
	// learn who probed it, nor this caller's principal.
	tenant := d.tenant
	if p := req.principal; p.Subject != "" && p.TenantID != "" && !p.CrossTenant() {
		tenant = p.TenantID
		if d.tenant != "" && d.tenant != p.TenantID {
			details["targetTenant"] = d.tenant
		}
	}
	if n, ok := a.admit(req, tenant, d.reason); !ok {
		return
	} else if n > 0 {
		details["suppressedBefore"] = strconv.Itoa(n)
	}
	ev := audit.Event{
		Type: audit.TypeAuthzDenied, TenantID: tenant, Principal: req.principal.Subject,
		Outcome: audit.OutcomeDenied, Reason: d.detail, Details: details,
	}
	if _, err := a.auditor.Record(r.Context(), ev); err != nil {
		// The request is refused either way; the gap is logged for the operator.
		a.log.Error("audit authz.denied", "trace_id", req.traceID, "error", err.Error())
	}
}

// admit applies the rate limit of the request's principal (or of unauthenticated requests) and
// returns how many denials were suppressed since its last record.
func (a *denialAuditor) admit(req *request, tenant, reason string) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.principal.Subject == "" {
		if !a.anonymous.Allow() {
			a.suppressed++
			return 0, false
		}
		n := a.suppressed
		a.suppressed = 0
		return n, true
	}
	key := req.principal.Key()
	pd, ok := a.principals[key]
	if !ok {
		a.evictIdle()
		pd = &principalDenials{limiter: rate.NewLimiter(a.perSecond, a.burst), subject: req.principal.Subject, tenant: tenant,
			reasons: map[string]int{}}
		a.principals[key] = pd
	}
	pd.lastSeen = time.Now()
	if !pd.limiter.Allow() {
		pd.suppressed++
		pd.reasons[reason]++
		return 0, false
	}
	n := pd.suppressed
	pd.suppressed, pd.reasons = 0, map[string]int{}
	return n, true
}

// evictIdle keeps the principal table bounded; the caller holds the mutex. Entries with
// suppressed denials are flushed first so their count is not lost.
func (a *denialAuditor) evictIdle() {
	if len(a.principals) < maxTrackedPrincipals {
		return
	}
	for k, pd := range a.principals {
		if pd.suppressed == 0 && time.Since(pd.lastSeen) > time.Minute {
			delete(a.principals, k)
		}
	}
}

// Flush writes one aggregate authz.denied record per principal with suppressed denials (and one
// for suppressed unauthenticated ones), so counts are recorded even when no later denial comes.
func (a *denialAuditor) Flush(ctx context.Context) {
	a.mu.Lock()
	type pending struct {
		subject, tenant string
		n               int
		reasons         map[string]int
	}
	var out []pending
	for _, pd := range a.principals {
		if pd.suppressed > 0 {
			out = append(out, pending{pd.subject, pd.tenant, pd.suppressed, pd.reasons})
			pd.suppressed, pd.reasons = 0, map[string]int{}
		}
	}
	if a.suppressed > 0 {
		out = append(out, pending{n: a.suppressed})
		a.suppressed = 0
	}
	a.mu.Unlock()
	for _, p := range out {
		details := map[string]string{"suppressed": strconv.Itoa(p.n), "aggregate": "true"}
		for reason, n := range p.reasons {
			details["reason."+reason] = strconv.Itoa(n)
		}
		ev := audit.Event{Type: audit.TypeAuthzDenied, TenantID: p.tenant, Principal: p.subject, Outcome: audit.OutcomeDenied,
			Reason: strconv.Itoa(p.n) + " denials were not recorded one by one (rate limit)", Details: details}
		if _, err := a.auditor.Record(ctx, ev); err != nil {
			a.log.Error("audit authz.denied aggregate", "error", err.Error())
		}
	}
}
