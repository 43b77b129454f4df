package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/isolation"
)

const globexBigger = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: RuntimeTenantBinding
metadata:
  name: globex-dev
spec:
  tenantId: globex
  environment: dev
  tier: pool
  quota:
    cpu: "2"
    memory: 4Gi
    pods: 20
  data:
    schema: globex
`

type validation struct {
	Valid  bool                        `json:"valid"`
	Errors []isolation.ValidationError `json:"errors"`
}

func TestValidateBindings(t *testing.T) {
	h := newHarness(t)
	globex := h.token("globex", "runtime.bindings.read")
	tests := []struct {
		name      string
		token     string
		documents string
		status    int
		valid     bool
		errorHas  string
	}{
		{"replacing an existing binding", globex, globexBigger, http.StatusOK, true, ""},
		{"a new tenant", h.token("hooli", "runtime.bindings.read"), strings.ReplaceAll(globexBigger, "globex", "hooli"), http.StatusOK, true, ""},
		{"an invalid tier", globex, strings.Replace(globexBigger, "tier: pool", "tier: gold", 1), http.StatusOK, false, "spec.tier"},
		{"an unknown environment", globex, strings.Replace(globexBigger, "environment: dev", "environment: staging", 1), http.StatusOK, false, "staging"},
		{"another tenant's binding", h.token("acme", "runtime.bindings.read"), globexBigger, http.StatusForbidden, false, ""},
		{"an environment document", h.token("", "runtime.bindings.read", "runtime.tenants.all"), "kind: Environment\nmetadata: {name: qa}\n", http.StatusUnprocessableEntity, false, ""},
		{"not YAML", globex, "kind: [", http.StatusBadRequest, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := h.do(call{method: "POST", path: "/v1/bindings:validate", token: tc.token, body: map[string]string{"documents": tc.documents}})
			if code != tc.status {
				t.Fatalf("%d %s, want %d", code, body, tc.status)
			}
			if code != http.StatusOK {
				return
			}
			v := decode[validation](t, body)
			if v.Valid != tc.valid {
				t.Fatalf("valid = %v: %+v", v.Valid, v.Errors)
			}
			for _, e := range v.Errors {
				if e.File != "request.yaml" {
					t.Errorf("a tenant sees an error outside its documents: %v", e)
				}
			}
			if tc.errorHas != "" && !strings.Contains(validationText(v), tc.errorHas) {
				t.Errorf("errors %s do not mention %q", validationText(v), tc.errorHas)
			}
		})
	}
}

func validationText(v validation) string {
	var b strings.Builder
	for _, e := range v.Errors {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
