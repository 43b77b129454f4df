package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/remediate"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory/kube"
)

// namespaceVersions maps every object of ns (of the types the drift check reads) and the
// namespace itself to its resourceVersion.
func namespaceVersions(t *testing.T, ctx context.Context, dyn dynamic.Interface, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rt := range kube.DefaultTypes() {
		if !rt.Namespaced {
			continue
		}
		list, err := dyn.Resource(rt.GVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s in %s: %v", rt.GVR, ns, err)
		}
		for _, o := range list.Items {
			out[rt.Kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	nsObj, err := dyn.Resource(kube.NamespaceType.GVR).Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["Namespace/"+ns] = nsObj.GetResourceVersion()
	return out
}

type planLine struct {
	Kind   remediate.ActionKind
	Target string
	Fields []string
}

func planLines(p *remediate.Plan) []planLine {
	var out []planLine
	for _, a := range p.Actions {
		l := planLine{Kind: a.Kind, Target: a.Target.Ref()}
		for _, f := range a.Fields {
			l.Fields = append(l.Fields, f.Path+"="+string(f.Desired))
		}
		out = append(out, l)
	}
	return out
}

// policyTypesOwners lists the field managers owning spec.policyTypes of a NetworkPolicy.
func policyTypesOwners(t *testing.T, np *networkingv1.NetworkPolicy) []string {
	t.Helper()
	var owners []string
	for _, mf := range np.ManagedFields {
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			t.Fatal(err)
		}
		if set.Has(fieldpath.MakePathOrDie("spec", "policyTypes")) {
			owners = append(owners, mf.Manager)
		}
	}
	return owners
}

// TestDriftRemediateIntegration provisions examples/tenants with the real engine on the local
// cluster and injects (a) a field manager changing a managed NetworkPolicy's spec.policyTypes
// (the stack declares [Ingress, Egress]; the patch sets another value),
// (b) an unmanaged NetworkPolicy in t-globex admitting t-acme, (c) an unmanaged ConfigMap. A
// review plan lists exactly restore (a), delete (b), report (c); the plan is refused once (b)
// moved; a fresh plan, applied, restores (a) under Pulumi's field manager, deletes (b), leaves
// (c), touches nothing in t-acme and is audited; the next check (drift watch --once) reports
// only (c); a watcher with --remediate auto removes a route injected afterwards.
func TestDriftRemediateIntegration(t *testing.T) {
	bed := newEngineTestbed(t, "remediation-test")
	work, dataDir, auditLog, common := bed.work, bed.dataDir, bed.auditLog, bed.common
	cs := testenv.Client(t)
	dyn, err := dynamic.NewForConfig(testenv.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	tenantctl := func(args ...string) (int, string, string) {
		t.Helper()
		return bed.tenantctl(t, ctx, args...)
	}

	if code, _, stderr := tenantctl("up", "--all"); code != exitcode.OK {
		t.Fatalf("up exit %d:\n%s", code, stderr)
	}
	t.Cleanup(func() {
		if code, _, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform"}, common...)...); code != exitcode.OK {
			t.Errorf("destroy exit %d:\n%s", code, stderr)
		}
	})
	acmeBefore := namespaceVersions(t, ctx, dyn, "t-acme")

	// (a) another field manager changes default-deny's spec.policyTypes (to whichever value the
	// stack does not declare), taking the field
	clean, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "default-deny", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	desiredTypes := clean.Spec.PolicyTypes
	injected := `["Ingress"]`
	if len(desiredTypes) == 1 && desiredTypes[0] == networkingv1.PolicyTypeIngress {
		injected = `["Ingress","Egress"]`
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Patch(ctx, "default-deny", types.MergePatchType,
		[]byte(`{"spec":{"policyTypes":`+injected+`}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatal(err)
	}
	desiredJSON, _ := json.Marshal(desiredTypes)
	// (b) an unmanaged policy in t-globex admits t-acme
	letIn := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "let-acme-in", Namespace: "t-globex"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "t-acme"}},
			}}}},
		},
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Create(ctx, letIn, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// (c) an unmanaged ConfigMap
	if _, err := cs.CoreV1().ConfigMaps("t-globex").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: "t-globex"}, Data: map[string]string{"size": "1Gi"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	wantPlan := []planLine{
		{Kind: remediate.ActionRestore, Target: "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", Fields: []string{"spec.policyTypes=" + string(desiredJSON)}},
		{Kind: remediate.ActionDelete, Target: "networking.k8s.io/v1/NetworkPolicy t-globex/let-acme-in"},
		{Kind: remediate.ActionReport, Target: "v1/ConfigMap t-globex/cache"},
	}
	review := func(path string) *remediate.Plan {
		t.Helper()
		code, stdout, stderr := tenantctl("drift", "remediate", "--mode", "review", "--plan-out", path)
		if code != exitcode.OK {
			t.Fatalf("review exit %d:\n%s\n%s", code, stdout, stderr)
		}
		p, err := remediate.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantPlan, planLines(p)); diff != "" {
			t.Fatalf("plan (-want +got):\n%s\n%s", diff, stdout)
		}
		return p
	}
	first := review(filepath.Join(work, "plan-1.json"))
	if first.Actions[0].FieldManager == "" || !strings.HasPrefix(first.Actions[0].FieldManager, "pulumi-kubernetes") {
		t.Errorf("restore applies as %q, want Pulumi's field manager", first.Actions[0].FieldManager)
	}

	t.Run("plan refuses when live moved", func(t *testing.T) {
		if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Patch(ctx, "let-acme-in", types.MergePatchType,
			[]byte(`{"metadata":{"labels":{"edited":"after-review"}}}`), metav1.PatchOptions{FieldManager: "kubectl-label"}); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := tenantctl("drift", "remediate", "--plan", filepath.Join(work, "plan-1.json"))
		if code != exitcode.Conflict || !strings.Contains(stderr+stdout, "moved") {
			t.Fatalf("apply of a stale plan: exit %d, want %d:\n%s\n%s", code, exitcode.Conflict, stdout, stderr)
		}
		np, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "default-deny", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(np.Spec.PolicyTypes); string(got) != injected {
			t.Errorf("a refused plan changed default-deny: policyTypes %s, injected %s", got, injected)
		}
		if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "let-acme-in", metav1.GetOptions{}); err != nil {
			t.Errorf("a refused plan deleted let-acme-in: %v", err)
		}
	})

	second := filepath.Join(work, "plan-2.json")
	review(second)
	if code, stdout, stderr := tenantctl("drift", "remediate", "--plan", second, "-o", "json"); code != exitcode.OK {
		t.Fatalf("apply exit %d:\n%s\n%s", code, stdout, stderr)
	} else {
		requireEnvelope(t, stdout, kindRemediation, true)
	}

	np, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "default-deny", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(desiredTypes, np.Spec.PolicyTypes); diff != "" {
		t.Errorf("default-deny policyTypes (-want +got):\n%s", diff)
	}
	if owners := policyTypesOwners(t, np); len(owners) != 1 || !strings.HasPrefix(owners[0], "pulumi-kubernetes") {
		t.Errorf("spec.policyTypes is owned by %v, want only Pulumi's manager", owners)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "let-acme-in", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("let-acme-in still exists (err %v)", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("t-globex").Get(ctx, "cache", metav1.GetOptions{}); err != nil {
		t.Errorf("the reported ConfigMap was touched: %v", err)
	}
	if diff := cmp.Diff(acmeBefore, namespaceVersions(t, ctx, dyn, "t-acme")); diff != "" {
		t.Errorf("t-acme changed (-before +after):\n%s", diff)
	}

	recs, err := audit.QueryFile(ctx, auditLog, audit.Filter{Type: audit.TypeDriftRemediate})
	if err != nil {
		t.Fatal(err)
	}
	type auditLine struct {
		Kind, Tenant string
		Outcome      audit.Outcome
	}
	var gotAudit []auditLine
	for _, r := range recs {
		gotAudit = append(gotAudit, auditLine{r.Details["kind"], r.TenantID, r.Outcome})
	}
	wantAudit := []auditLine{
		{"restore-fields", "globex", audit.OutcomeDenied}, {"delete", "globex", audit.OutcomeDenied},
		{"delete", "globex", audit.OutcomeSucceeded}, {"restore-fields", "globex", audit.OutcomeSucceeded},
	}
	if diff := cmp.Diff(wantAudit, gotAudit); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}

	// The next check (drift watch --once, as a CronJob runs it) finds only (c).
	code, _, stderr := tenantctl("drift", "watch", "--once", "--metrics-addr", "")
	if code != exitcode.Findings {
		t.Fatalf("next check exit %d, want %d:\n%s", code, exitcode.Findings, stderr)
	}
	f, err := os.Open(filepath.Join(dataDir, "drift", "last-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := report.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range rep.Findings {
		got = append(got, string(fd.Kind)+" "+fd.Resource.Ref())
	}
	if diff := cmp.Diff([]string{string(finding.KindUnmanagedResource) + " v1/ConfigMap t-globex/cache"}, got); diff != "" {
		b, _ := json.MarshalIndent(rep.Findings, "", "  ")
		t.Errorf("next check findings (-want +got):\n%s\n%s", diff, b)
	}

	// A watcher with --remediate auto removes a new route after its check, and only the route.
	again := letIn.DeepCopy()
	again.Name = "let-acme-in-again"
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = tenantctl("drift", "watch", "--once", "--metrics-addr", "", "--remediate", "auto")
	if code != exitcode.Findings || !strings.Contains(stderr, "remediation applied") {
		t.Fatalf("watch --remediate auto exit %d, want %d:\n%s", code, exitcode.Findings, stderr)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Get(ctx, "let-acme-in-again", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the watcher left the new route (err %v)", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("t-globex").Get(ctx, "cache", metav1.GetOptions{}); err != nil {
		t.Errorf("the watcher touched the reported ConfigMap: %v", err)
	}
	if diff := cmp.Diff(acmeBefore, namespaceVersions(t, ctx, dyn, "t-acme")); diff != "" {
		t.Errorf("t-acme changed (-before +after):\n%s", diff)
	}
}
