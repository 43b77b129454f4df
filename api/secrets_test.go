package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/connectsoft/tenantctl/api"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault/keyvaulttest"
	"github.com/connectsoft/tenantctl/secrets/rotation"
)

// testRotator is the API's SecretsRotator over the real rotation package: Git, journal, audit
// log and the SDK's fake vault; stacks are brought up through the harness's backend.
type testRotator struct {
	dir     string
	vaults  *keyvaulttest.Vaults
	journal *rotation.Journal
	auditor *audit.Auditor
	backend *fakeBackend
}

type backendRunner struct{ b *fakeBackend }

func (r backendRunner) Up(ctx context.Context, st *isolation.DesiredState, env, tenant string) error {
	out, err := r.b.Run(ctx, st, automation.OpUp, fleet.Selection{Tenants: []string{tenant}, Env: env, TenantsOnly: true})
	if err != nil {
		return err
	}
	for _, res := range out.All() {
		if res.Err != nil {
			return res.Err
		}
	}
	return nil
}

func (t *testRotator) rotator(req api.SecretsRequest) (*rotation.Rotator, rotation.Selection) {
	return rotation.New(t.dir, t.vaults.Client(), t.journal, rotation.WithRunner(backendRunner{t.backend}), rotation.WithAuditor(t.auditor),
			rotation.WithPrincipal(req.Principal), rotation.WithGit(rotation.GitMode{Branch: req.Branch, InPlace: req.InPlace})),
		rotation.Selection{Tenants: []string{req.TenantID}, Env: req.Environment}
}

func (t *testRotator) Pending(ctx context.Context, req api.SecretsRequest) (int, error) {
	r, sel := t.rotator(req)
	rows, _, err := r.Status(ctx, sel, 0)
	return rotation.WouldMove(rows), err
}

func (t *testRotator) Rotate(ctx context.Context, req api.SecretsRequest) (*rotation.Result, error) {
	r, sel := t.rotator(req)
	return r.Rotate(ctx, sel)
}

// commitDir makes the harness's desired-state copy a Git repository.
func commitDir(t *testing.T, dir string) {
	t.Helper()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("desired state", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsRotateRoute: a tenant rotates its own references as a job behind
// runtime.secrets.rotate: the tenant guard refuses another tenant's caller, the job commits the
// new pin and brings up the tenant's stack only, its secret.rotate records carry the caller and
// the request's trace, an Idempotency-Key replays the job, and another tenant cannot read it.
func TestSecretsRotateRoute(t *testing.T) {
	var rot *testRotator
	h := newHarness(t, func(c *api.Config) {
		rot = &testRotator{auditor: c.Auditor}
		c.Secrets = rot
	})
	rot.dir, rot.backend = h.backend.dir, h.backend
	const pinnedID = "3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c" // acme's dev binding
	rot.vaults = keyvaulttest.New(time.Now().Add(-time.Hour))
	rot.vaults.Put("kv-acme-dev", "acme-db-connection", "value-1", keyvaulttest.ID(pinnedID))
	newID := rot.vaults.Put("kv-acme-dev", "acme-db-connection", "value-2")
	j, err := rotation.OpenJournal(filepath.Join(testenv.TempDir(t), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	rot.journal = j
	commitDir(t, rot.dir)

	path := "/v1/tenants/acme/secrets:rotate"
	code, _, body := h.do(call{method: "POST", path: path, token: h.token("globex", "runtime.secrets.rotate"), body: map[string]string{"environment": "dev"}})
	if code != http.StatusForbidden || !strings.Contains(string(body), "tenant_mismatch") {
		t.Fatalf("globex rotating acme: %d %s", code, body)
	}
	code, _, body = h.do(call{method: "POST", path: path, token: h.token("acme", "runtime.secrets.rotate"), body: map[string]any{"environment": "dev", "inPlace": true, "branch": "x"}})
	if code != http.StatusBadRequest {
		t.Fatalf("branch and inPlace: %d %s", code, body)
	}

	token := h.token("acme", "runtime.secrets.rotate")
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	hdr := map[string]string{"Idempotency-Key": "rotate-1", "traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}
	code, _, body = h.do(call{method: "POST", path: path, token: token, body: map[string]string{"environment": "dev"}, header: hdr})
	if code != http.StatusAccepted {
		t.Fatalf("rotate: %d %s", code, body)
	}
	job := decode[jobs.View](t, body)
	done := h.waitJob(token, job.ID)
	if done.Status != jobs.StatusSucceeded || done.Kind != "secrets-rotate" {
		t.Fatalf("job %s %s: %s", done.Kind, done.Status, done.Error)
	}
	b, _ := os.ReadFile(filepath.Join(rot.dir, "tenants", "acme.yaml"))
	if !strings.Contains(string(b), "currentVersion: "+newID) {
		t.Errorf("acme's binding does not pin the new version:\n%s", b)
	}
	if ops := h.backend.ranOps(); len(ops) != 1 || ops[0] != "up acme dev" || !h.backend.selections()[0].TenantsOnly {
		t.Errorf("engine runs %v (%+v), want one up of acme's stack only", ops, h.backend.selections())
	}
	recs := h.audit(audit.Filter{Type: audit.TypeSecretRotate})
	if len(recs) != 3 { // started, applied, released
		t.Fatalf("%d secret.rotate records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.TraceID != trace || r.Principal != "svc-acme" || r.TenantID != "acme" {
			t.Errorf("record %s: trace %s principal %s tenant %s", r.Details["phase"], r.TraceID, r.Principal, r.TenantID)
		}
	}

	code, rh, body := h.do(call{method: "POST", path: path, token: token, body: map[string]string{"environment": "dev"}, header: hdr})
	if code != http.StatusAccepted || rh.Get("Idempotent-Replayed") != "true" || decode[jobs.View](t, body).ID != job.ID {
		t.Errorf("replay: %d %s %s", code, rh.Get("Idempotent-Replayed"), body)
	}
	code, _, _ = h.do(call{method: "GET", path: "/v1/jobs/" + job.ID, token: h.token("globex", "runtime.secrets.rotate")})
	if code != http.StatusNotFound {
		t.Errorf("globex reading acme's rotation job: %d, want 404", code)
	}
	code, _, _ = h.do(call{method: "GET", path: "/v1/jobs/" + job.ID, token: h.token("acme", "runtime.deployments.read")})
	if code != http.StatusForbidden {
		t.Errorf("reading a rotation job without runtime.secrets.rotate: %d, want 403", code)
	}
	// Nothing new: a second rotation (another key) is a job that changes nothing.
	code, _, body = h.do(call{method: "POST", path: path, token: token, body: map[string]string{"environment": "dev"}})
	if code != http.StatusAccepted {
		t.Fatalf("second rotate: %d %s", code, body)
	}
	second := h.waitJob(token, decode[jobs.View](t, body).ID)
	if second.Status != jobs.StatusSucceeded || len(h.backend.ranOps()) != 1 || len(h.audit(audit.Filter{Type: audit.TypeSecretRotate})) != 3 {
		t.Errorf("second rotation: %s, %d engine runs, want a no-op", second.Status, len(h.backend.ranOps()))
	}
	if rot.vaults.ValueReads() != 0 {
		t.Error("the rotation read a secret value")
	}
}
