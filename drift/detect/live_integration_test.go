package detect

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory/kube"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestObservedDriftOnLiveCluster reproduces the observed case on a real API server: a
// NetworkPolicy applied server-side by the provider's field manager, its spec.policyTypes then
// merge-patched by kubectl, which Pulumi's refresh reports as "same". The live detector must
// report a field conflict naming kubectl-patch, and the hand-made ConfigMap as unmanaged, while
// the objects Kubernetes creates in every namespace stay quiet.
func TestObservedDriftOnLiveCluster(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.RESTConfig(t)
	cs := testenv.Client(t)
	ns := testenv.Namespace(t, "t-drift")
	tenant := strings.TrimPrefix(ns, "t-")
	stack := "tenant." + tenant + ".dev"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	npGVR := schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
	inputs := strings.ReplaceAll(strings.ReplaceAll(denyInputs, "t-acme", ns), `"acme"`, `"`+tenant+`"`)
	applied := object(t, inputs)
	if _, err := dyn.Resource(npGVR).Namespace(ns).Apply(ctx, "default-deny", &applied,
		metav1.ApplyOptions{FieldManager: pulumiManager, Force: true}); err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	if _, err := dyn.Resource(npGVR).Namespace(ns).Patch(ctx, "default-deny", types.MergePatchType,
		[]byte(`{"spec":{"policyTypes":["Ingress","Egress"]}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cache"},
		Data: map[string]string{"size": "10"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What kube-controller-manager puts in every namespace; created here when it has not (yet),
	// so the skip list is exercised on real objects whether or not the controllers run.
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"},
		Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	nsInputs := `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + ns + `"}}`
	d := desiredOf(t, stack,
		stateResource(t, stack, "kubernetes:core/v1:Namespace", ns, ns, nsInputs),
		stateResource(t, stack, "kubernetes:networking.k8s.io/v1:NetworkPolicy", ns+"/default-deny", ns+"/default-deny", inputs))
	types, err := kube.ParseTypes([]string{"networkpolicies", "configmaps", "serviceaccounts", "secrets"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := kube.NewReader(cfg, kube.WithTypes(types...))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := New(testEnv(), d, WithChecks(CheckManaged, CheckUnmanaged)).Check(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	var mine []finding.Finding
	for _, f := range fs {
		if f.TenantID == tenant {
			mine = append(mine, f)
		}
	}
	want := []brief{
		{Kind: finding.KindFieldConflict, Tenant: tenant, Resource: "networking.k8s.io/v1/NetworkPolicy " + ns + "/default-deny", Field: "spec.policyTypes",
			Desired: `["Ingress"]`, Live: `["Ingress","Egress"]`, Manager: "kubectl-patch", Severity: finding.SeverityHigh},
		{Kind: finding.KindUnmanagedResource, Tenant: tenant, Resource: "v1/ConfigMap " + ns + "/cache", Severity: finding.SeverityLow},
	}
	if diff := cmp.Diff(want, briefs(t, mine)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// the policy as read back really carries the merge patch's ownership
	var live *unstructured.Unstructured
	for i := range snap.Kubernetes {
		if u := &snap.Kubernetes[i]; u.GetKind() == "NetworkPolicy" && u.GetNamespace() == ns {
			live = u
		}
	}
	if live == nil {
		t.Fatal("policy missing from the snapshot")
	}
	var managers []string
	for _, mf := range live.GetManagedFields() {
		managers = append(managers, mf.Manager+"/"+string(mf.Operation))
	}
	if diff := cmp.Diff([]string{pulumiManager + "/Apply", "kubectl-patch/Update"}, managers); diff != "" {
		t.Errorf("managedFields managers (-want +got):\n%s", diff)
	}
}
