package rotation_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/secrets/rotation"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var spcGVR = schema.GroupVersionResource{Group: "secrets-store.csi.x-k8s.io", Version: "v1", Resource: "secretproviderclasses"}

// liveVersion is the objectVersion the live SecretProviderClass of a tenant names.
func liveVersion(ctx context.Context, t *testing.T, dyn dynamic.Interface, ns, tenant string) string {
	t.Helper()
	u, err := dyn.Resource(spcGVR).Namespace(ns).Get(ctx, "t-"+tenant, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objects, _, _ := unstructuredString(u.Object, "spec", "parameters", "objects")
	_, rest, ok := strings.Cut(objects, `objectVersion: "`)
	if !ok {
		t.Fatalf("class t-%s names no objectVersion: %q", tenant, objects)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, errors.New("not an object")
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

// denyClassUpdates makes the API server refuse every update of SecretProviderClasses in ns, a
// failure of the real engine the rotation must survive; the returned function lifts it.
func denyClassUpdates(ctx context.Context, t *testing.T, ns string) func() {
	t.Helper()
	cs := testenv.Client(t)
	name := "test-deny-class-updates"
	fail := admissionv1.Fail
	pol := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{spcGVR.Group}, APIVersions: []string{"v1"}, Resources: []string{spcGVR.Resource}},
			}}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: "class updates are frozen in " + ns}},
		},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, pol, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(testenv.RESTConfig(t))
	probe := []byte(`{"metadata":{"annotations":{"test/probe":"x"}}}`)
	testenv.Eventually(t, time.Minute, "class updates denied in "+ns, func() (bool, error) {
		_, err := dyn.Resource(spcGVR).Namespace(ns).Patch(ctx, "t-globex", types.MergePatchType, probe, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "frozen"), nil
	})
	return func() {
		cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
		cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
		testenv.Eventually(t, time.Minute, "class updates allowed in "+ns, func() (bool, error) {
			_, err := dyn.Resource(spcGVR).Namespace(ns).Patch(ctx, "t-globex", types.MergePatchType, probe, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil, err
		})
	}
}

// TestRotationWithTheRealEngine provisions the example tenants on the local cluster, then
// rotates them against vaults served by the Azure SDK's fake: acme's pinned version is disabled,
// globex's expired, initech follows the latest. The API server refuses globex's class update the
// first time, so the run fails between two stacks; the resumed run finishes it without a second
// commit, and a third run does nothing. The live SecretProviderClasses name the versions Git
// holds at every step.
func TestRotationWithTheRealEngine(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	dyn := dynamic.NewForConfigOrDie(testenv.RESTConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	f := newFixture(t)
	auditor, logPath := auditLog(t)
	engine, err := automation.New(
		automation.WithToolchain(tc),
		automation.WithDataDir(testenv.TempDir(t)),
		automation.WithParallel(2),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "rotation-integration"}),
		automation.WithPrincipal("test:rotation"),
		automation.WithAuditor(automation.AuditLog{Auditor: auditor}),
	)
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.New(engine, load(t, f.dir), cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	t.Cleanup(func() {
		fleet.New(engine, load(t, f.dir), cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t))).Run(context.Background(), automation.OpDestroy, fleet.Selection{All: true, IncludePlatform: true})
	})
	up, err := fl.Run(ctx, automation.OpUp, fleet.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range up.All() {
		if r.Err != nil {
			t.Fatalf("up %s: %v", r.Stack, r.Err)
		}
	}
	if v := liveVersion(ctx, t, dyn, "t-acme", "acme"); v != f.aOld {
		t.Fatalf("acme's class names %s before the rotation, want %s", v, f.aOld)
	}
	// acme's pinned version is disabled, globex's has expired.
	f.vaults.SetEnabled("kv-acme-dev", "acme-db-connection", f.aOld, false)
	f.vaults.SetExpires("kv-connectsoft-dev", "globex-db-connection", f.gOld, t0)

	journal := mustJournal(t)
	r := rotation.New(f.dir, f.vaults.Client(), journal, rotation.WithRunner(rotation.FleetRunner{Engine: engine, Kubeconfig: cluster.Kubeconfig, Postgres: testenv.PostgresConnection(t)}),
		rotation.WithAuditor(auditor), rotation.WithPrincipal("test:rotation"), rotation.WithClock(func() time.Time { return t0.Add(time.Hour) }))
	rows, _, err := r.Status(ctx, rotation.Selection{All: true}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]secretversions.State{}
	for _, row := range rows {
		states[row.TenantID] = row.State
	}
	if d := cmp.Diff(map[string]secretversions.State{"acme": secretversions.StateDisabled, "globex": secretversions.StateExpired, "initech": secretversions.StateLatest}, states); d != "" {
		t.Errorf("status before the rotation (-want +got):\n%s", d)
	}

	lift := denyClassUpdates(ctx, t, "t-globex")
	res, err := r.Rotate(ctx, rotation.Selection{All: true})
	lift()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"acme/db-connection":   "rotated " + f.aOld + "->" + f.aNew,
		"globex/db-connection": "failed " + f.gOld + "->" + f.gNew,
		"initech/api-key":      "observed ->" + f.iCur,
	}
	if d := cmp.Diff(want, actions(res)); d != "" {
		t.Errorf("first run (-want +got):\n%s", d)
	}
	if !res.Failed() || res.Commit == "" {
		t.Fatalf("first run: failed %v, commit %q", res.Failed(), res.Commit)
	}
	if e := stackError(res, "tenant.globex.dev"); !strings.Contains(e, "SecretProviderClass t-globex/t-globex **updating failed**") {
		t.Errorf("globex's up failed for another reason: %q", e)
	}
	// Git holds both moves; only acme's stack applied its.
	if pinned(t, f.dir, "dev", "globex", "db-connection") != f.gNew {
		t.Error("globex's move is not in Git")
	}
	if v := liveVersion(ctx, t, dyn, "t-acme", "acme"); v != f.aNew {
		t.Errorf("acme's class names %s, want the new %s", v, f.aNew)
	}
	if v := liveVersion(ctx, t, dyn, "t-globex", "globex"); v != f.gOld {
		t.Errorf("globex's class names %s, want the old %s until its stack applies the new one", v, f.gOld)
	}
	commit := res.Commit

	resumed, err := r.Rotate(ctx, rotation.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"globex/db-connection": "resumed " + f.gOld + "->" + f.gNew}, actions(resumed)); d != "" || resumed.Failed() || resumed.Commit != "" {
		t.Errorf("resumed run (-want +got):\n%s\nfailed %v commit %q", d, resumed.Failed(), resumed.Commit)
	}
	if v := liveVersion(ctx, t, dyn, "t-globex", "globex"); v != f.gNew {
		t.Errorf("globex's class names %s after the resumed run, want %s", v, f.gNew)
	}
	records := len(rotateRecords(t, logPath))
	last, err := r.Rotate(ctx, rotation.Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if last.Changed() || head(t, f.dir) != commit || len(rotateRecords(t, logPath)) != records {
		t.Errorf("third run is not a no-op: %v, HEAD %s, %d records (was %d)", actions(last), head(t, f.dir), len(rotateRecords(t, logPath)), records)
	}
	// The engine's own records of the rotation's ups carry the rotation's trace.
	traces := map[string]bool{}
	for _, rec := range rotateRecords(t, logPath) {
		if rec.Details["phase"] == "applied" {
			traces[rec.TraceID] = true
		}
	}
	if len(traces) != 2 {
		t.Errorf("applied records carry %d traces, want one per run (2)", len(traces))
	}
	if n := f.vaults.ValueReads(); n != 0 {
		t.Errorf("%d secret values read", n)
	}
}

func stackError(res *rotation.Result, stack string) string {
	for _, s := range res.Stacks {
		if s.Stack == stack {
			return s.Error
		}
	}
	return ""
}
