package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/api"
	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/internal/oidctest"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// TestEndToEndPreviewThenUp drives the real engine through the API on the local cluster: with a
// valid token for globex, a preview and then an up run as jobs whose Server-Sent Events are
// followed to the end; the tenant's namespace exists afterwards, its status shows the stack, and
// the engine's audit records name the API caller and carry the request's trace id.
func TestEndToEndPreviewThenUp(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	dir := testenv.TempDir(t)
	auditPath := filepath.Join(dir, "audit.jsonl")
	auditor, err := audit.NewFromConfig(audit.Config{Path: auditPath, HeadFile: true, SigningKeyFile: filepath.Join(t.TempDir(), "audit-signing.key"), SecretValues: []string{"api-e2e-passphrase"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditor.Close() })
	engine, err := automation.New(
		automation.WithToolchain(tc),
		automation.WithDataDir(dir),
		automation.WithParallel(2),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "api-e2e-passphrase"}),
		automation.WithPrincipal("local:not-the-api-caller"),
		automation.WithAuditor(automation.AuditLog{Auditor: auditor, OnError: func(err error) { t.Errorf("audit: %v", err) }}),
	)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := copyExamples(t)
	t.Cleanup(func() {
		// Leave the cluster as found: the tenant and the platform stack it brought up.
		state, err := isolation.Load(context.Background(), stateDir)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := fleet.New(engine, state, cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t))).Run(ctx, automation.OpDestroy,
			fleet.Selection{Tenants: []string{"globex"}, Env: "dev", IncludePlatform: true})
		if err != nil || out.Failed() || out.Conflicted() {
			t.Errorf("cleanup destroy: %v %+v", err, out)
		}
	})

	iss := oidctest.Start(t)
	verifier, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: iss.URL, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Default(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := api.New(api.Config{
		Verifier: verifier, Policy: pol, Auditor: auditor,
		Backend: api.EngineBackend{Engine: engine, StateDir: stateDir, Kubeconfig: cluster.Kubeconfig, Postgres: testenv.PostgresConnection(t)},
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	h := &harness{t: t, iss: iss, server: srv, http: ts, auditPath: auditPath, logs: logs}
	tok := h.token("globex", "runtime.deployments.read", "runtime.deployments.write", "runtime.tenants.read")

	run := func(op string, want jobs.Status) jobs.View {
		t.Helper()
		code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok,
			body: map[string]string{"operation": op}, header: traceparent()})
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", op, code, body)
		}
		id := decode[jobs.View](t, body).ID
		evs := h.stream(tok, id, 0)
		if len(evs) == 0 || evs[len(evs)-1].typ != "result" {
			t.Fatalf("%s: stream ended without a result: %v", op, types(evs))
		}
		progress := 0
		for _, e := range evs {
			if e.typ == "progress" {
				progress++
			}
		}
		final := decode[jobs.View](t, []byte(evs[len(evs)-1].data))
		if final.Status != want {
			t.Fatalf("%s: job %s: %s, want %s", op, final.Status, final.Error, want)
		}
		t.Logf("%s: %d progress events, %s", op, progress, final.FinishedAt.Sub(*final.StartedAt))
		if want == jobs.StatusSucceeded && progress < 2 {
			t.Errorf("%s: %d progress events, want the tenant stack's start and finish at least", op, progress)
		}
		r, _ := json.Marshal(final.Result)
		var res struct{ Platform []any }
		if err := json.Unmarshal(r, &res); err != nil || len(res.Platform) != 0 {
			t.Errorf("%s: a tenant-bound job ran the platform stack: %s", op, r)
		}
		return final
	}

	preview := run("preview", jobs.StatusSucceeded)
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), tenantplan.TenantNamespace("globex"), metav1.GetOptions{}); err == nil {
		t.Fatalf("preview created the tenant namespace")
	}
	if creates := tenantChanges(t, preview)["create"]; creates == 0 {
		t.Fatalf("preview plans no creates: %+v", preview.Result)
	}
	// The tenant cannot bring up the shared platform stack: its up is refused until a platform
	// operator has.
	if refused := run("up", jobs.StatusFailed); !strings.Contains(refused.Error, "not provisioned") {
		t.Fatalf("tenant up without a platform stack: %s", refused.Error)
	}
	state, err := isolation.Load(context.Background(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	platform := fleet.New(engine, state, cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t))).PlatformTarget(state.Environment("dev"))
	if r := engine.RunOne(context.Background(), automation.OpUp, platform); r.Err != nil {
		t.Fatalf("platform operator's up of %s: %v", platform.Stack, r.Err)
	}
	run("up", jobs.StatusSucceeded)
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), tenantplan.TenantNamespace("globex"), metav1.GetOptions{}); err != nil {
		t.Fatalf("tenant namespace after up: %v", err)
	}

	code, _, body := h.do(call{method: "GET", path: "/v1/tenants/globex", token: tok})
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	st := decode[statusBody](t, body)
	if len(st.Stacks) != 1 || !st.Stacks[0].Exists || st.Stacks[0].ResourceCount == nil || *st.Stacks[0].ResourceCount == 0 {
		t.Errorf("status after up = %s", body)
	}

	recs := h.audit(audit.Filter{TenantID: "globex", Type: audit.TypeTenantProvision})
	if len(recs) != 1 {
		t.Fatalf("%d tenant.provision records for globex, want 1", len(recs))
	}
	if r := recs[0]; r.Principal != "svc-globex" || r.TraceID != trace || r.Outcome != audit.OutcomeSucceeded {
		t.Errorf("provision record: principal %q trace %q outcome %s", r.Principal, r.TraceID, r.Outcome)
	}
	if res, err := audit.VerifyFile(context.Background(), auditPath, audit.VerifyOptions{Keys: auditor.Log().Keys()}); err != nil || !res.OK {
		t.Errorf("audit log does not verify: %v %+v", err, res)
	}
}

// tenantChanges reads the tenant stack's change counts from an operation job's result.
func tenantChanges(t *testing.T, v jobs.View) map[string]int {
	t.Helper()
	res, ok := v.Result.(map[string]any)
	if !ok {
		t.Fatalf("result is %T", v.Result)
	}
	tenants, _ := res["tenants"].([]any)
	if len(tenants) != 1 {
		t.Fatalf("result tenants = %v", res["tenants"])
	}
	out := map[string]int{}
	changes, _ := tenants[0].(map[string]any)["changes"].(map[string]any)
	for k, n := range changes {
		f, _ := n.(float64)
		out[k] = int(f)
	}
	return out
}
