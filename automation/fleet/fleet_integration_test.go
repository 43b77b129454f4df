package fleet_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func load(t *testing.T, dir string) *isolation.DesiredState {
	t.Helper()
	s, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return s
}

type harness struct {
	engine   *automation.Engine
	auditLog string
	keys     audit.Keyring
}

func newHarness(t *testing.T, parallel int) harness {
	t.Helper()
	tc := testenv.Toolchain(t)
	dir := testenv.TempDir(t)
	logPath := filepath.Join(dir, "audit.jsonl")
	auditor, err := audit.NewFromConfig(audit.Config{Path: logPath, HeadFile: true, SigningKeyFile: filepath.Join(t.TempDir(), "audit-signing.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditor.Close() })
	e, err := automation.New(
		automation.WithToolchain(tc),
		automation.WithDataDir(dir),
		automation.WithParallel(parallel),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "fleet-test"}),
		automation.WithPrincipal("test:fleet"),
		automation.WithAuditor(automation.AuditLog{Auditor: auditor, OnError: func(err error) { t.Errorf("audit: %v", err) }}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return harness{engine: e, auditLog: logPath, keys: auditor.Log().Keys()}
}

func changesByStack(o fleet.Outcome) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, r := range o.All() {
		c := map[string]int{}
		for op, n := range r.Changes {
			if op != "same" {
				c[op] = n
			}
		}
		out[r.Stack] = c
	}
	return out
}

func mustSucceed(t *testing.T, what string, o fleet.Outcome) {
	t.Helper()
	for _, r := range o.All() {
		if r.Err != nil {
			t.Fatalf("%s: stack %s: %v", what, r.Stack, r.Err)
		}
	}
}

// TestProvisionExamplesLifecycle walks the scenario on the local cluster with the real
// engine: provision the three example tenants in parallel, re-run is a no-op, one quota change is
// exactly one update, destroying one tenant leaves the others untouched.
func TestProvisionExamplesLifecycle(t *testing.T) {
	h := newHarness(t, 2)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := testenv.CopyDir(t, filepath.Join("..", "..", "examples", "tenants"))
	f := fleet.New(h.engine, load(t, dir), cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	all := fleet.Selection{All: true}
	t.Cleanup(func() {
		f.Run(context.Background(), automation.OpDestroy, fleet.Selection{All: true, IncludePlatform: true})
	})

	up, err := f.Run(ctx, automation.OpUp, all)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "first up", up)
	if got := len(up.Tenants); got != 3 {
		t.Fatalf("tenants provisioned = %d, want 3", got)
	}
	for _, r := range up.All() {
		if r.Changes["create"] == 0 {
			t.Errorf("first up of %s created nothing: %v", r.Stack, r.Changes)
		}
	}
	for _, ns := range []string{"t-acme", "t-globex", "shared-tenants", "platform-ingress"} {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s after up: %v", ns, err)
		}
	}

	again, err := f.Run(ctx, automation.OpUp, all)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "second up", again)
	for stack, c := range changesByStack(again) {
		if len(c) != 0 {
			t.Errorf("re-run of %s changed %v, want a no-op", stack, c)
		}
	}

	// Raise globex's pod quota: exactly one resource of one stack changes (cpu and memory would
	// also move the LimitRange's maximum).
	p := filepath.Join(dir, "tenants", "globex.yaml")
	b, _ := os.ReadFile(p)
	edited := strings.Replace(string(b), "pods: 10", "pods: 12", 1)
	if edited == string(b) {
		t.Fatal("globex fixture has no pods: 10 to edit")
	}
	os.WriteFile(p, []byte(edited), 0o644)
	f = fleet.New(h.engine, load(t, dir), cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	quota, err := f.Run(ctx, automation.OpUp, all)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "quota up", quota)
	want := map[string]map[string]int{
		"platform.dev": {}, "tenant.acme.dev": {}, "tenant.initech.dev": {},
		"tenant.globex.dev": {"update": 1},
	}
	if diff := cmp.Diff(want, changesByStack(quota)); diff != "" {
		t.Errorf("changes after quota edit (-want +got):\n%s", diff)
	}
	rq, err := cs.CoreV1().ResourceQuotas("t-globex").Get(ctx, "t-globex", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("globex quota: %v", err)
	}
	if got := rq.Spec.Hard.Pods().String(); got != "12" {
		t.Errorf("globex quota pods = %s, want 12", got)
	}

	// Destroy initech only: acme and globex stay as they are.
	before, _ := cs.CoreV1().Namespaces().Get(ctx, "t-acme", metav1.GetOptions{})
	down, err := f.Run(ctx, automation.OpDestroy, fleet.Selection{Tenants: []string{"initech"}})
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "destroy initech", down)
	if len(down.All()) != 1 || down.All()[0].Stack != "tenant.initech.dev" || down.All()[0].Changes["delete"] == 0 {
		t.Fatalf("destroy touched %+v, want only tenant.initech.dev deletes", changesByStack(down))
	}
	after, err := cs.CoreV1().Namespaces().Get(ctx, "t-acme", metav1.GetOptions{})
	if err != nil || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("t-acme changed by destroying initech: err=%v rv %s -> %s", err, before.ResourceVersion, after.ResourceVersion)
	}
	if _, err := cs.CoreV1().ServiceAccounts("shared-tenants").Get(ctx, "t-initech", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("initech service account still there: %v", err)
	}
	post, err := f.Run(ctx, automation.OpPreview, fleet.Selection{Tenants: []string{"acme", "globex"}})
	if err != nil {
		t.Fatal(err)
	}
	for stack, c := range changesByStack(post) {
		if len(c) != 0 {
			t.Errorf("after destroying initech, %s would change %v", stack, c)
		}
	}

	// Every mutation was audited, and the log verifies.
	res, err := audit.VerifyFile(ctx, h.auditLog, audit.VerifyOptions{Keys: h.keys})
	if err != nil || !res.OK {
		t.Fatalf("audit log does not verify: %v %+v", err, res)
	}
	recs, err := audit.QueryFile(ctx, h.auditLog, audit.Filter{TenantID: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	var updates int
	for _, r := range recs {
		if r.Type == audit.TypeTenantUpdate && r.Outcome == audit.OutcomeSucceeded {
			updates++
			if r.Commit != "" || r.Principal != "test:fleet" {
				t.Errorf("audit record %s: commit %q principal %q", r.EventID, r.Commit, r.Principal)
			}
		}
	}
	if updates != 1 {
		t.Errorf("globex succeeded updates in audit = %d, want 1 (the quota change)", updates)
	}
}
