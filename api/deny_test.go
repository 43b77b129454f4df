package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/connectsoft/tenantctl/audit"
)

// Issue 14.4: 500 denials of one authenticated principal write a bounded number of records, do
// not crowd out another principal's denial, and are all counted once flushed.
func TestDenialsAreRateLimitedPerPrincipal(t *testing.T) {
	h := newHarness(t)
	noScope := h.token("acme")
	const n = 500
	for i := 0; i < n; i++ {
		if code, _, _ := h.do(call{method: "GET", path: "/v1/tenants/acme", token: noScope}); code != http.StatusForbidden {
			t.Fatalf("request %d: %d, want 403", i, code)
		}
	}
	// Another principal's denial still gets its own record at once.
	h.do(call{method: "GET", path: "/v1/tenants/globex", token: h.token("globex")})
	if recs := h.audit(audit.Filter{TenantID: "globex", Type: audit.TypeAuthzDenied}); len(recs) != 1 || recs[0].Principal != "svc-globex" {
		t.Fatalf("globex's denial: %+v", recs)
	}
	before := h.audit(audit.Filter{TenantID: "acme", Type: audit.TypeAuthzDenied})
	if len(before) > 12 {
		t.Errorf("%d authz.denied records for %d denials of one principal, want at most the burst (10) and a refill or two", len(before), n)
	}
	h.server.FlushDenials(context.Background())
	total := 0
	for _, r := range h.audit(audit.Filter{TenantID: "acme", Type: audit.TypeAuthzDenied}) {
		if r.Principal != "svc-acme" {
			t.Errorf("record of principal %q under acme", r.Principal)
		}
		switch {
		case r.Details["aggregate"] == "true":
			k, _ := strconv.Atoi(r.Details["suppressed"])
			total += k
			if r.Details["reason.missing_scope"] != r.Details["suppressed"] {
				t.Errorf("aggregate record does not count its reasons: %v", r.Details)
			}
		default:
			k, _ := strconv.Atoi(r.Details["suppressedBefore"])
			total += 1 + k
		}
	}
	if total != n {
		t.Errorf("records account for %d denials, want %d", total, n)
	}
}
