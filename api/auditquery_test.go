package api_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/audit"
)

func TestAuditQuery(t *testing.T) {
	h := newHarness(t)
	// Denials against acme and globex leave records for each tenant.
	h.do(call{method: "GET", path: "/v1/tenants/acme", token: h.token("globex", "runtime.tenants.read")})
	h.do(call{method: "GET", path: "/v1/tenants/globex", token: h.token("acme", "runtime.tenants.read")})
	h.do(call{method: "GET", path: "/v1/tenants/globex", token: h.token("initech", "runtime.tenants.read")})
	tests := []struct {
		name    string
		token   string
		query   string
		status  int
		tenants []string
	}{
		// A denial belongs to the caller's tenant (issue 14.10): acme sees its own probe of
		// globex, never who probed acme.
		{"own tenant by default", h.token("acme", "runtime.audit.read"), "", http.StatusOK, []string{"acme"}},
		{"own tenant named", h.token("globex", "runtime.audit.read"), "?tenant=globex&type=authz.denied", http.StatusOK, []string{"globex"}},
		{"limit", h.token("globex", "runtime.audit.read"), "?limit=1", http.StatusOK, []string{"globex"}},
		{"another tenant", h.token("acme", "runtime.audit.read"), "?tenant=globex", http.StatusForbidden, nil},
		{"operator sees all", h.token("", "runtime.audit.read", "runtime.tenants.all"), "?type=authz.denied", http.StatusOK, []string{"acme", "acme", "globex", "initech"}}, // the refused query above is audited too
		{"bad since", h.token("acme", "runtime.audit.read"), "?since=yesterday", http.StatusBadRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := h.do(call{method: "GET", path: "/v1/audit" + tc.query, token: tc.token})
			if code != tc.status {
				t.Fatalf("%d %s, want %d", code, body, tc.status)
			}
			if code != http.StatusOK {
				return
			}
			got := []string{}
			for _, r := range decode[struct{ Records []audit.Record }](t, body).Records {
				got = append(got, r.TenantID)
			}
			sort.Strings(got)
			if tenant := tc.tenants; len(tenant) > 0 && !strings.Contains(tc.name, "operator") {
				for _, r := range decode[struct{ Records []audit.Record }](t, body).Records {
					if r.Principal != "svc-"+tenant[0] {
						t.Errorf("%s's audit shows principal %q", tenant[0], r.Principal)
					}
				}
			}
			if diff := cmp.Diff(tc.tenants, got); diff != "" {
				t.Errorf("record tenants (-want +got):\n%s", diff)
			}
		})
	}
}
