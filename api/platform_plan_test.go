package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/api"
	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/audit"
)

// Issue 14.9: a tenant-bound up or refresh leaves the platform stack alone (the engine is asked
// for the tenant stack only), even with the platform scope; a platform operator's job runs the
// platform stack and holds it, so a second platform job waits its turn.
func TestTenantBoundCallersNeverRunThePlatformStack(t *testing.T) {
	h := newHarness(t)
	for _, op := range []string{"up", "refresh", "preview"} {
		tok := h.token("globex", "runtime.deployments.write", "runtime.deployments.read", "runtime.platform.write")
		code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": op}})
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", op, code, body)
		}
		if v := h.waitJob(tok, decode[jobs.View](t, body).ID); v.Status != jobs.StatusSucceeded || len(v.AlsoLocks) != 0 {
			t.Fatalf("%s: %s %s, locks %v", op, v.Status, v.Error, v.AlsoLocks)
		}
	}
	for i, sel := range h.backend.selections() {
		if !sel.TenantsOnly {
			t.Errorf("tenant-bound call %d (%s) asked the engine for the platform stack too", i, h.backend.ranOps()[i])
		}
	}

	h.backend.hold = make(chan struct{})
	op := h.token("", "runtime.deployments.write", "runtime.tenants.all", "runtime.platform.write")
	code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: op, body: map[string]string{"operation": "up"}})
	if code != http.StatusAccepted {
		t.Fatalf("operator up: %d %s", code, body)
	}
	first := decode[jobs.View](t, body)
	if diff := cmp.Diff([]string{"platform.dev"}, first.AlsoLocks); diff != "" {
		t.Errorf("operator job locks (-want +got):\n%s", diff)
	}
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/initech/operations", token: op, body: map[string]string{"operation": "up"}})
	if code != http.StatusConflict || !strings.Contains(string(body), first.ID) {
		t.Errorf("second platform job while the first holds platform.dev: %d %s", code, body)
	}
	// A tenant-bound job of another tenant does not touch the platform stack, so it may run.
	tok := h.token("initech", "runtime.deployments.write")
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/initech/operations", token: tok, body: map[string]string{"operation": "up"}})
	if code != http.StatusAccepted {
		t.Errorf("tenant-bound job beside a platform job: %d %s", code, body)
	}
	close(h.backend.hold)
	h.waitJob(op, first.ID)
	sels := h.backend.selections()
	platformRuns := 0
	for _, s := range sels {
		if !s.TenantsOnly {
			platformRuns++
		}
	}
	if platformRuns != 1 {
		t.Errorf("%d engine calls ran the platform stack, want the operator's one", platformRuns)
	}
}

// Issue 14.13: an approved production up applies the plan its preview saved (the same plan folder
// reaches the engine, and the decision records the plan's digest); without a saved plan the up is
// refused even when the policy allows it.
func TestProductionUpIsPinnedToThePreviewedPlan(t *testing.T) {
	h := newHarness(t)
	submit := func(h *harness) jobs.View {
		tok := h.token("acme", "runtime.deployments.write", "runtime.deployments.prod")
		code, _, body := h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: tok,
			body: map[string]string{"operation": "up", "environment": "prod", "ticket": "CHG-1234"}, header: traceparent()})
		if code != http.StatusAccepted {
			t.Fatalf("submit: %d %s", code, body)
		}
		return h.waitJob(tok, decode[jobs.View](t, body).ID)
	}
	if v := submit(h); v.Status != jobs.StatusSucceeded {
		t.Fatalf("approved up: %s %s", v.Status, v.Error)
	}
	sels := h.backend.selections()
	if len(sels) != 2 || sels[0].PlanDir == "" || sels[0].PlanDir != sels[1].PlanDir {
		t.Fatalf("preview and up were not given one plan folder: %+v (%v)", sels, h.backend.ranOps())
	}
	if _, err := os.Stat(sels[0].PlanDir); !os.IsNotExist(err) {
		t.Errorf("plan folder %s left behind", sels[0].PlanDir)
	}
	recs := h.audit(audit.Filter{Type: audit.TypePolicyDecision, TraceID: trace})
	if len(recs) != 1 || !strings.HasPrefix(recs[0].Details["planDigest"], "sha256:") {
		t.Errorf("decision without the plan digest: %+v", recs)
	}

	// A policy that allows everything does not make an unpinned up possible.
	dir := t.TempDir()
	rego := "package tenantctl.authz\n\ndecision := {\"allow\": true, \"reasons\": [\"anything goes\"]}\n"
	if err := os.WriteFile(filepath.Join(dir, "allow.rego"), []byte(rego), 0o600); err != nil {
		t.Fatal(err)
	}
	permissive, err := policy.LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, func(c *api.Config) { c.Policy = permissive })
	h2.backend.noPlan.Store(true)
	v := submit(h2)
	if v.Status != jobs.StatusDenied || !strings.Contains(v.Error, "no previewed plan") {
		t.Errorf("up without a saved plan: %s %q", v.Status, v.Error)
	}
	if diff := cmp.Diff([]string{"preview acme prod"}, h2.backend.ranOps()); diff != "" {
		t.Errorf("engine calls (-want +got):\n%s", diff)
	}
}

// Issue 14.8 through the API: with a job folder, a job and its Idempotency-Key outlive the server;
// the retry after a restart replays the job instead of running up again, and the job's file holds
// no registered secret value (the secrets canary).
func TestJobsAndIdempotencyKeysSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(c *api.Config) { c.Jobs.Dir = dir })
	h.backend.fail.Store("login failed for passphrase hunter2-passphrase")
	tok := h.token("globex", "runtime.deployments.write")
	up := call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"},
		header: map[string]string{"Idempotency-Key": "deploy-42"}}
	code, _, body := h.do(up)
	if code != http.StatusAccepted {
		t.Fatalf("up: %d %s", code, body)
	}
	first := h.waitJob(tok, decode[jobs.View](t, body).ID)
	files, _ := filepath.Glob(filepath.Join(dir, "globex", "*.json"))
	if len(files) != 1 {
		t.Fatalf("job files: %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "hunter2-passphrase") || !strings.Contains(string(raw), "[REDACTED]") {
		t.Errorf("job file holds the secret, or not the masked error: %s", raw)
	}

	// The restarted server: a new store over the same folder, a fresh engine behind it, the same
	// issuer.
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: h.iss.URL, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, func(c *api.Config) { c.Jobs.Dir, c.Verifier = dir, v })
	code, hdr, body := h2.do(up)
	if code != http.StatusAccepted || hdr.Get("Idempotent-Replayed") != "true" || decode[jobs.View](t, body).ID != first.ID {
		t.Fatalf("retry after the restart: %d %v %s", code, hdr, body)
	}
	if ops := h2.backend.ranOps(); len(ops) != 0 {
		t.Errorf("the retry after the restart ran %v again", ops)
	}
	code, _, body = h2.do(call{method: "GET", path: "/v1/jobs/" + first.ID, token: up.token})
	if code != http.StatusOK || decode[jobs.View](t, body).Status != first.Status {
		t.Errorf("job after the restart: %d %s", code, body)
	}
}
