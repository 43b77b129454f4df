package api_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/internal/oidctest"
	"github.com/connectsoft/tenantctl/audit"
)

// TestBadTokenCorpus sends the bad-token corpus to a tenant route: each gets its 401 or 403 with
// a precise reason, each leaves an authz.denied audit record under the request's trace id, and no
// token ever reaches the audit log or the server log.
func TestBadTokenCorpus(t *testing.T) {
	h := newHarness(t)
	iss := h.iss
	good := func() map[string]any { return iss.Claims(audience, "svc-acme", "acme", "runtime.tenants.read") }
	with := func(k string, v any) map[string]any { c := good(); c[k] = v; return c }
	stranger := oidctest.NewKey(t, "key-a")
	now := time.Now()
	tests := []struct {
		name   string
		header string // Authorization header value
		status int
		reason string
	}{
		{"valid token", "Bearer " + iss.Token(t, good()), http.StatusOK, ""},
		{"no header", "", http.StatusUnauthorized, string(auth.ReasonMissingToken)},
		{"basic scheme", "Basic c3ZjOnB3", http.StatusUnauthorized, string(auth.ReasonMalformedHeader)},
		{"bearer without token", "Bearer", http.StatusUnauthorized, string(auth.ReasonMalformedHeader)},
		{"token with spaces", "Bearer abc def", http.StatusUnauthorized, string(auth.ReasonMalformedHeader)},
		{"garbage token", "Bearer not-a-jwt", http.StatusUnauthorized, string(auth.ReasonMalformedToken)},
		{"oversized token", "Bearer " + strings.Repeat("A", auth.MaxTokenBytes+10), http.StatusUnauthorized, string(auth.ReasonTokenTooLarge)},
		{"alg none", "Bearer " + oidctest.Unsigned(t, "key-a", good()), http.StatusUnauthorized, string(auth.ReasonUnsupportedAlg)},
		{"HS256 keyed with the public key", "Bearer " + oidctest.HMACWithPublicKey(t, iss.SigningKey(), good()), http.StatusUnauthorized, string(auth.ReasonUnsupportedAlg)},
		{"wrong key", "Bearer " + oidctest.Sign(t, stranger, good()), http.StatusUnauthorized, string(auth.ReasonBadSignature)},
		{"expired", "Bearer " + iss.Token(t, with("exp", now.Add(-10*time.Minute).Unix())), http.StatusUnauthorized, string(auth.ReasonExpired)},
		{"future nbf", "Bearer " + iss.Token(t, with("nbf", now.Add(time.Hour).Unix())), http.StatusUnauthorized, string(auth.ReasonNotYetValid)},
		{"wrong audience", "Bearer " + iss.Token(t, with("aud", "api://billing")), http.StatusUnauthorized, string(auth.ReasonWrongAudience)},
		{"wrong issuer", "Bearer " + iss.Token(t, with("iss", "https://login.example")), http.StatusUnauthorized, string(auth.ReasonWrongIssuer)},
		{"missing scope", "Bearer " + iss.Token(t, with("scope", "runtime.deployments.read")), http.StatusForbidden, "missing_scope"},
		{"other tenant", "Bearer " + iss.Token(t, with("tenant_id", "globex")), http.StatusForbidden, "tenant_mismatch"},
		{"no tenant and no cross-tenant scope", "Bearer " + h.token("", "runtime.tenants.read"), http.StatusForbidden, "tenant_mismatch"},
		{"ID token instead of an access token", "Bearer " + oidctest.SignTyped(t, iss.SigningKey(), "JWT", good()), http.StatusUnauthorized, string(auth.ReasonWrongTokenType)},
		{"exp ten years out", "Bearer " + iss.Token(t, with("exp", now.AddDate(10, 0, 0).Unix())), http.StatusUnauthorized, string(auth.ReasonLifetimeTooLong)},
		{"tenant_id not a string", "Bearer " + iss.Token(t, with("tenant_id", []any{"acme"})), http.StatusUnauthorized, string(auth.ReasonInvalidClaim)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trace := fmt.Sprintf("%032x", 0xabc000+i)
			hdr := map[string]string{"traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}
			if tc.header != "" {
				hdr["Authorization"] = tc.header
			}
			code, respHdr, body := h.do(call{method: "GET", path: "/v1/tenants/acme", header: hdr})
			if code != tc.status {
				t.Fatalf("status = %d, want %d: %s", code, tc.status, body)
			}
			if !strings.Contains(respHdr.Get("traceresponse"), trace) {
				t.Errorf("traceresponse %q does not carry the trace id", respHdr.Get("traceresponse"))
			}
			recs := h.audit(audit.Filter{TraceID: trace, Type: audit.TypeAuthzDenied})
			if tc.reason == "" {
				if len(recs) != 0 {
					t.Fatalf("an allowed request left denial records: %+v", recs)
				}
				return
			}
			p := decode[map[string]any](t, body)
			if p["reason"] != tc.reason {
				t.Errorf("response reason = %v, want %s", p["reason"], tc.reason)
			}
			if code == http.StatusUnauthorized && !strings.Contains(respHdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", respHdr.Get("WWW-Authenticate"))
			}
			if len(recs) != 1 {
				t.Fatalf("%d authz.denied records for trace %s, want 1", len(recs), trace)
			}
			r := recs[0]
			// A denial is filed under the caller's tenant, naming the target (issue 14.10).
			wantTenant := "acme"
			if tc.name == "other tenant" {
				wantTenant = "globex"
				if r.Details["targetTenant"] != "acme" {
					t.Errorf("cross-tenant denial does not name its target: %+v", r.Details)
				}
			}
			if r.Outcome != audit.OutcomeDenied || r.Details["reason"] != tc.reason || r.Details["status"] != fmt.Sprint(tc.status) ||
				r.TenantID != wantTenant || r.Details["route"] != "GET /v1/tenants/{tenant}" {
				t.Errorf("audit record = %+v", r)
			}
			if code == http.StatusForbidden && r.Principal == "" {
				t.Errorf("a 403 record names no principal: %+v", r)
			}
		})
	}
	raw, err := os.ReadFile(h.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	for _, tc := range tests {
		tok := strings.TrimPrefix(tc.header, "Bearer ")
		if len(tok) < 40 {
			continue
		}
		// A JWT's signature part is unique to the token: it must appear nowhere.
		sig := tok[strings.LastIndex(tok, ".")+1:]
		if len(sig) > 20 && (strings.Contains(string(raw), sig) || strings.Contains(logs, sig)) {
			t.Errorf("%s: token material reached the audit log or the server log", tc.name)
		}
	}
}

// TestRouteScopes: every protected route refuses a token without its scope (403, audited) and
// accepts one with it.
func TestRouteScopes(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name         string
		method, path string
		body         any
		scope        string
		okStatus     int
	}{
		{"validate bindings", "POST", "/v1/bindings:validate", map[string]string{"documents": "kind: RuntimeTenantBinding\nspec: {tenantId: acme}\n"}, "runtime.bindings.read", http.StatusOK},
		{"list tenants", "GET", "/v1/tenants", nil, "runtime.tenants.read", http.StatusOK},
		{"tenant status", "GET", "/v1/tenants/acme", nil, "runtime.tenants.read", http.StatusOK},
		{"preview", "POST", "/v1/tenants/acme/operations", map[string]string{"operation": "preview", "environment": "dev"}, "runtime.deployments.read", http.StatusAccepted},
		{"up", "POST", "/v1/tenants/globex/operations", map[string]string{"operation": "up"}, "runtime.deployments.write", http.StatusAccepted},
		{"drift check", "POST", "/v1/tenants/acme/drift:check", nil, "runtime.drift.read", http.StatusNotImplemented},
		{"drift remediate", "POST", "/v1/tenants/acme/drift:remediate", map[string]string{"mode": "plan"}, "runtime.drift.remediate", http.StatusNotImplemented},
		{"secrets rotate", "POST", "/v1/tenants/acme/secrets:rotate", map[string]string{"environment": "dev"}, "runtime.secrets.rotate", http.StatusNotImplemented},
		{"audit", "GET", "/v1/audit", nil, "runtime.audit.read", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tenant := "acme"
			if strings.Contains(tc.path, "globex") {
				tenant = "globex"
			}
			others := []string{"runtime.bindings.read", "runtime.tenants.read", "runtime.deployments.read", "runtime.deployments.write",
				"runtime.drift.read", "runtime.drift.remediate", "runtime.secrets.rotate", "runtime.audit.read"}
			var without []string
			for _, s := range others {
				if s != tc.scope {
					without = append(without, s)
				}
			}
			code, hdr, body := h.do(call{method: tc.method, path: tc.path, token: h.token(tenant, without...), body: tc.body})
			if code != http.StatusForbidden || !strings.Contains(hdr.Get("WWW-Authenticate"), tc.scope) {
				t.Fatalf("without %s: %d %s (WWW-Authenticate %q)", tc.scope, code, body, hdr.Get("WWW-Authenticate"))
			}
			code, _, body = h.do(call{method: tc.method, path: tc.path, token: h.token(tenant, tc.scope), body: tc.body})
			if code != tc.okStatus {
				t.Fatalf("with %s: %d %s, want %d", tc.scope, code, body, tc.okStatus)
			}
		})
	}
	denied := h.audit(audit.Filter{Type: audit.TypeAuthzDenied})
	if len(denied) != len(tests) {
		t.Errorf("%d authz.denied records, want %d", len(denied), len(tests))
	}
}

func TestPublicRoutes(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		code, _, body := h.do(call{method: "GET", path: path})
		if code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	code, _, _ := h.do(call{method: "GET", path: "/v2/nothing"})
	if code != http.StatusNotFound {
		t.Errorf("unknown route = %d", code)
	}
	// A wrong method on a known path is 405 with Allow, not 404, and says nothing about tenants.
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/v1/tenants/globex", "GET, HEAD"},
		{"GET", "/v1/tenants/acme/operations", "POST"},
	} {
		code, hdr, body := h.do(call{method: tc.method, path: tc.path})
		if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q (%s)", tc.method, tc.path, code, hdr.Get("Allow"), tc.allow, body)
		}
	}
}
