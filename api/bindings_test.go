package api_test

import (
	"net/http"
	"os"
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

// hooliTakesAcme is a silo binding that claims acme's address range, database and Key Vault.
const hooliTakesAcme = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: RuntimeTenantBinding
metadata:
  name: hooli-dev
spec:
  tenantId: hooli
  environment: dev
  tier: silo
  network:
    addressSpace:
      - 10.20.0.0/16
    subnets:
      - name: nodes
        addressPrefix: 10.20.0.0/22
        purpose: nodes
  quota:
    cpu: "1"
    memory: 2Gi
    pods: 10
    nodePool:
      min: 1
      max: 1
      vmSize: Standard_D4s_v5
  data:
    database: acme
  secrets:
    - name: db-connection
      keyVaultRef: kv-acme-dev
      secretName: hooli-db-connection
`

// Issue 14.5 and 14.6: a binding that takes another tenant's range, database and vault is
// invalid for the tenant that submits it, and the answer names no other tenant, range, file or
// server path; an operator sees the details.
func TestValidateBindingsCrossTenantConflicts(t *testing.T) {
	h := newHarness(t)
	hooli := h.token("hooli", "runtime.bindings.read")
	code, _, body := h.do(call{method: "POST", path: "/v1/bindings:validate", token: hooli, body: map[string]string{"documents": hooliTakesAcme}})
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	v := decode[validation](t, body)
	if v.Valid || len(v.Errors) == 0 {
		t.Fatalf("a binding taking acme's range, database and vault is valid for its tenant: %s", body)
	}
	for _, leak := range []string{"acme", "10.20", "tenants/", "tenantctl-validate", os.TempDir(), h.backend.dir} {
		if strings.Contains(string(body), leak) {
			t.Errorf("the tenant's answer reveals %q: %s", leak, body)
		}
	}
	fields := map[string]bool{}
	for _, e := range v.Errors {
		if e.File != "request.yaml" {
			t.Errorf("error outside the request: %v", e)
		}
		fields[e.Field] = true
	}
	for _, f := range []string{"spec.network.addressSpace", "spec.data.database"} {
		if !fields[f] {
			t.Errorf("no conflict reported on %s: %s", f, body)
		}
	}
	// The operator sees which tenant it collides with, without server paths.
	code, _, body = h.do(call{method: "POST", path: "/v1/bindings:validate", token: h.token("", "runtime.bindings.read", "runtime.tenants.all"),
		body: map[string]string{"documents": hooliTakesAcme}})
	if code != http.StatusOK || !strings.Contains(string(body), "acme") || strings.Contains(string(body), "tenantctl-validate") {
		t.Errorf("operator view: %d %s", code, body)
	}
	// A tenant's own mistakes are still reported as they are.
	code, _, body = h.do(call{method: "POST", path: "/v1/bindings:validate", token: hooli,
		body: map[string]string{"documents": strings.Replace(hooliTakesAcme, "tier: silo", "tier: gold", 1)}})
	if v := decode[validation](t, body); code != http.StatusOK || v.Valid || !strings.Contains(validationText(v), "spec.tier") {
		t.Errorf("own error: %d %s", code, body)
	}
}

// TestBadRequestCorpus: requests a tenant could send to learn about another tenant (issue 14,
// items 5–10). Each gets its status, and no answer carries anything of the other tenant: its id,
// range, vault, principal, job, or the server's paths.
func TestBadRequestCorpus(t *testing.T) {
	h := newHarness(t)
	acme := h.token("acme", "runtime.deployments.read", "runtime.audit.read")
	code, _, body := h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: acme,
		body: map[string]string{"operation": "preview", "environment": "dev"}, header: map[string]string{"Idempotency-Key": "shared-key"}})
	if code != http.StatusAccepted {
		t.Fatalf("acme's job: %d %s", code, body)
	}
	acmeJob := h.waitJob(acme, decode[struct{ ID string }](t, body).ID).ID
	h.do(call{method: "GET", path: "/v1/tenants/globex", token: acme}) // acme's own denial record

	globex := h.token("globex", "runtime.bindings.read", "runtime.tenants.read", "runtime.deployments.read", "runtime.audit.read")
	takes := strings.ReplaceAll(hooliTakesAcme, "hooli", "globex")
	secrets := []string{"acme", "10.20.", "kv-acme", "svc-acme", acmeJob, h.backend.dir, "tenantctl-validate"}
	tests := []struct {
		name   string
		c      call
		status int
		echoes string // a value the request itself named, which the answer may repeat
	}{
		{"validate a binding taking acme's range, database and vault", call{method: "POST", path: "/v1/bindings:validate",
			body: map[string]string{"documents": takes}}, http.StatusOK, ""},
		{"read acme's job", call{method: "GET", path: "/v1/jobs/" + acmeJob}, http.StatusNotFound, acmeJob},
		{"stream acme's job", call{method: "GET", path: "/v1/jobs/" + acmeJob + "/events"}, http.StatusNotFound, acmeJob},
		{"list tenants", call{method: "GET", path: "/v1/tenants"}, http.StatusOK, ""},
		{"own audit (its probes of the job id above are recorded as for an unknown id)", call{method: "GET", path: "/v1/audit"}, http.StatusOK, acmeJob},
		{"acme's audit", call{method: "GET", path: "/v1/audit?tenant=acme"}, http.StatusForbidden, "acme"},
		{"acme's status", call{method: "GET", path: "/v1/tenants/acme"}, http.StatusForbidden, "acme"},
		{"acme's Idempotency-Key", call{method: "POST", path: "/v1/tenants/globex/operations",
			body: map[string]string{"operation": "preview"}, header: map[string]string{"Idempotency-Key": "shared-key"}}, http.StatusAccepted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.token = globex
			code, hdr, body := h.do(tc.c)
			if code != tc.status {
				t.Fatalf("%d %s, want %d", code, body, tc.status)
			}
			if hdr.Get("Idempotent-Replayed") != "" {
				t.Errorf("replayed another tenant's job: %s", body)
			}
			text := string(body)
			if tc.echoes != "" {
				text = strings.ReplaceAll(text, tc.echoes, "")
			}
			for _, s := range append(secrets, "tenant_mismatch\",\"route\":\"GET /v1/jobs") {
				if strings.Contains(text, s) {
					t.Errorf("answer reveals %q: %s", s, body)
				}
			}
		})
	}
}
