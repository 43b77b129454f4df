package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

const audience = "api://tenantctl"

// acmeProd gives the harness a production binding (the examples have dev ones only).
const acmeProd = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: RuntimeTenantBinding
metadata:
  name: acme-prod
spec:
  tenantId: acme
  environment: prod
  tier: pool
  quota:
    cpu: "1"
    memory: 2Gi
    pods: 10
  data:
    schema: acme
  secrets:
    - name: db-connection
      keyVaultRef: kv-connectsoft-prod
      secretName: acme-db-connection
`

// copyExamples copies examples/tenants and adds acme's production binding.
func copyExamples(t testing.TB) string {
	t.Helper()
	dst := testenv.CopyDir(t, filepath.Join("..", "examples", "tenants"))
	if err := os.WriteFile(filepath.Join(dst, "tenants", "acme-prod.yaml"), []byte(acmeProd), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fakeBackend stands in for the engine: it records the operations asked of it, reports progress
// through the job's context like the engine does, and can hold an operation until released.
type fakeBackend struct {
	dir        string
	stackCalls atomic.Int64
	// hold, when set, makes Run wait for a value (or the context) before answering.
	hold chan struct{}
	// fail makes Run report this error on the tenant stack.
	fail atomic.Value // string
	// conflict makes Run report the tenant stack locked by another process.
	conflict atomic.Bool
	// noPlan makes a preview save no plan file (as when the CLI cannot write one).
	noPlan atomic.Bool

	mu   sync.Mutex
	runs []string // "op tenant env"
	sels []fleet.Selection
}

func (f *fakeBackend) DesiredState(ctx context.Context) (*isolation.DesiredState, error) {
	return isolation.Load(ctx, f.dir)
}

func (f *fakeBackend) Dir() string { return f.dir }

func (f *fakeBackend) Run(ctx context.Context, state *isolation.DesiredState, op automation.Operation, sel fleet.Selection) (fleet.Outcome, error) {
	f.mu.Lock()
	f.runs = append(f.runs, string(op)+" "+sel.Tenants[0]+" "+sel.Env)
	f.sels = append(f.sels, sel)
	f.mu.Unlock()
	stack := tenantplan.TenantStackName(sel.Tenants[0], sel.Env)
	// Like the engine: a preview with a plan folder saves the plan, an up with one needs it.
	if plan := filepath.Join(sel.PlanDir, stack+".plan"); sel.PlanDir != "" {
		switch {
		case op == automation.OpPreview && !f.noPlan.Load():
			if err := os.WriteFile(plan, []byte(`{"resourcePlans":{}}`), 0o600); err != nil {
				return fleet.Outcome{}, err
			}
		case op == automation.OpUp:
			if _, err := os.Stat(plan); err != nil {
				r := automation.Result{Stack: stack, TenantID: sel.Tenants[0], Environment: sel.Env, Operation: op, Err: err, Error: "no previewed plan: " + err.Error()}
				return fleet.Outcome{Operation: op, Commit: state.Commit, Tenants: []automation.Result{r}}, nil
			}
		}
	}
	automation.ReportProgress(ctx, automation.Progress{Stack: stack, Operation: op, Phase: "started"})
	automation.ReportProgress(ctx, automation.Progress{Stack: stack, Operation: op, Phase: "resource", Done: 1, Total: 3})
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			r := automation.Result{Stack: stack, TenantID: sel.Tenants[0], Environment: sel.Env, Operation: op, Err: ctx.Err(), Error: "interrupted"}
			return fleet.Outcome{Operation: op, Commit: state.Commit, Tenants: []automation.Result{r}}, nil
		}
	}
	r := automation.Result{Stack: stack, TenantID: sel.Tenants[0], Environment: sel.Env, Operation: op,
		Changes: map[string]int{"create": 3}, Outputs: map[string]any{"namespace": "tenant-" + sel.Tenants[0], "token": "[secret]"}}
	if msg, _ := f.fail.Load().(string); msg != "" {
		r.Err, r.Error = errors.New(msg), msg
	}
	if f.conflict.Load() {
		r.Err, r.Error, r.Conflict = automation.ErrConflict, "locked", true
	}
	automation.ReportProgress(ctx, automation.Progress{Stack: stack, Operation: op, Phase: "finished", Done: 3, Total: 3, Result: &r})
	return fleet.Outcome{Operation: op, Commit: state.Commit, Tenants: []automation.Result{r}}, nil
}

func (f *fakeBackend) Stacks(context.Context) ([]api.StackSummary, error) {
	f.stackCalls.Add(1)
	n := 7
	return []api.StackSummary{{Name: "tenant.acme.dev", LastUpdate: "2025-03-01T12:00:00Z", ResourceCount: &n}}, nil
}

func (f *fakeBackend) Locks(string) ([]automation.LockInfo, error) { return nil, nil }

func (f *fakeBackend) selections() []fleet.Selection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fleet.Selection(nil), f.sels...)
}

func (f *fakeBackend) ranOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.runs...)
}

type harness struct {
	t         testing.TB
	iss       *oidctest.Issuer
	server    *api.Server
	http      *httptest.Server
	backend   *fakeBackend
	auditPath string
	logs      *syncBuffer
}

type harnessOption func(*api.Config)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	iss := oidctest.Start(t)
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: iss.URL, Audience: audience, MinKeyRefresh: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Default(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	auditor, err := audit.NewFromConfig(audit.Config{Path: auditPath, NoFsync: true, HeadFile: true, SigningKeyFile: filepath.Join(t.TempDir(), "audit-signing.key"), SecretValues: []string{"hunter2-passphrase"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditor.Close() })
	logs := &syncBuffer{}
	fb := &fakeBackend{dir: copyExamples(t)}
	cfg := api.Config{
		Verifier: v, Backend: fb, Policy: pol, Auditor: auditor,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Jobs:   jobs.Options{Concurrency: 4},
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &harness{t: t, iss: iss, server: srv, http: ts, backend: fb, auditPath: auditPath, logs: logs}
}

// token mints a valid token for tenant (empty for an operator) with scopes.
func (h *harness) token(tenant string, scopes ...string) string {
	return h.iss.Token(h.t, h.iss.Claims(audience, "svc-"+tenantOr(tenant), tenant, scopes...))
}

func tenantOr(t string) string {
	if t == "" {
		return "operator"
	}
	return t
}

type call struct {
	method, path, token string
	body                any
	header              map[string]string
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(c call) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(c.method, h.http.URL+c.path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func (h *harness) audit(f audit.Filter) []audit.Record {
	h.t.Helper()
	recs, err := audit.QueryFile(context.Background(), h.auditPath, f)
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

// waitJob polls a job until it finishes.
func (h *harness) waitJob(token, id string) jobs.View {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, _, body := h.do(call{method: "GET", path: "/v1/jobs/" + id, token: token})
		if code != http.StatusOK {
			h.t.Fatalf("GET job %s: %d %s", id, code, body)
		}
		v := decode[jobs.View](h.t, body)
		if v.Status.Terminal() {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("job %s did not finish", id)
	return jobs.View{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
