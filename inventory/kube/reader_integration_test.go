package kube

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestReaderLiveCluster reads a real API server: paginated lists across namespaces, the tenant
// scope filter, and Secrets without data.
func TestReaderLiveCluster(t *testing.T) {
	cs := testenv.Client(t)
	ctx := context.Background()
	tenantNS := testenv.Namespace(t, "t-inv")   // in scope by its name
	otherNS := testenv.Namespace(t, "team-inv") // out of scope
	for i := range 5 {
		createConfigMap(t, cs, tenantNS, fmt.Sprintf("cm-%d", i))
	}
	createConfigMap(t, cs, otherNS, "outside")
	if _, err := cs.CoreV1().Secrets(tenantNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "canary-7f3a"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	r, err := NewReader(testenv.RESTConfig(t), WithPageSize(2), WithTypes(testTypes(t, "configmaps", "secrets", "networkpolicies")...))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	snap, err := r.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	t.Logf("read %d objects in %s", len(snap.Kubernetes), time.Since(start))

	var inTenant []string
	for i := range snap.Kubernetes {
		u := &snap.Kubernetes[i]
		switch u.GetNamespace() {
		case tenantNS:
			inTenant = append(inTenant, u.GetKind()+"/"+u.GetName())
		case otherNS:
			t.Errorf("object %s/%s outside the tenant scopes was kept", otherNS, u.GetName())
		}
		if u.GetKind() == "Secret" {
			if _, ok := u.Object["data"]; ok {
				t.Errorf("secret %s/%s holds data", u.GetNamespace(), u.GetName())
			}
		}
	}
	for _, want := range []string{"ConfigMap/cm-0", "ConfigMap/cm-4", "Secret/db"} {
		if !slices.Contains(inTenant, want) {
			t.Errorf("%s missing from the tenant namespace's objects %v", want, inTenant)
		}
	}
	if !slices.Contains(snap.Coverage.Namespaces, tenantNS) || slices.Contains(snap.Coverage.Namespaces, otherNS) {
		t.Errorf("coverage namespaces %v: want %s, not %s", snap.Coverage.Namespaces, tenantNS, otherNS)
	}
	var namespaces []string
	for i := range snap.Kubernetes {
		if snap.Kubernetes[i].GetKind() == "Namespace" {
			namespaces = append(namespaces, snap.Kubernetes[i].GetName())
		}
	}
	if !slices.Contains(namespaces, otherNS) || !slices.Contains(namespaces, "kube-system") {
		t.Errorf("every Namespace must be kept (reachability resolves selectors against them): %v", namespaces)
	}
	var buf bytes.Buffer
	if err := inventory.Write(&buf, snap); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "canary-7f3a") || strings.Contains(buf.String(), "Y2FuYXJ5LTdmM2E") {
		t.Errorf("the written snapshot holds the secret value")
	}
}

func createConfigMap(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create config map %s/%s: %v", ns, name, err)
	}
}

// TestReaderLiveIdentity: the default types include the identity types, read cluster-wide:
// ClusterRoles (the built-in edit, aggregated), ClusterRoleBindings and the RBAC objects and
// ServiceAccounts of platform namespaces.
func TestReaderLiveIdentity(t *testing.T) {
	other := testenv.Namespace(t, "team-id") // out of the tenant scopes
	if _, err := testenv.Client(t).CoreV1().ServiceAccounts(other).Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "agent"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(testenv.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	idx := snap.Index()
	for _, k := range []inventory.Key{
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "cluster-admin"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding", Namespace: "kube-system", Name: "system::leader-locking-kube-controller-manager"},
		{Kind: "ServiceAccount", Namespace: other, Name: "agent"},
	} {
		u, ok := idx[k]
		if !ok {
			t.Errorf("%s missing from a default read", k)
			continue
		}
		if k.Kind == "ClusterRole" {
			if rules, _ := u.Object["rules"].([]any); len(rules) == 0 {
				t.Errorf("%s has no rules: aggregation did not run", k)
			}
		}
	}
}

// TestReaderLiveAddressPlans: a default read lists Nodes (their pod CIDRs) and the IPAM pools a
// cluster serves, here Calico's crd.projectcalico.org/v1 IPPools from a real CRD; the pool types
// the cluster does not serve (projectcalico.org/v3, Cilium's) are skipped and left out of the
// coverage instead of failing the read.
func TestReaderLiveAddressPlans(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.RESTConfig(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "ippools.crd.projectcalico.org"},
		"spec": map[string]any{"group": "crd.projectcalico.org", "scope": "Cluster",
			"names": map[string]any{"plural": "ippools", "singular": "ippool", "kind": "IPPool", "listKind": "IPPoolList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}},
	}}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	pools := dyn.Resource(schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"})
	pool := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
		"metadata": map[string]any{"name": testenv.UniqueName("acme")}, "spec": map[string]any{"cidr": "10.244.1.0/24", "nodeSelector": "all()"}}}
	testenv.Eventually(t, time.Minute, "the IPPool CRD is served", func() (bool, error) {
		_, err := pools.Create(ctx, pool, metav1.CreateOptions{})
		return err == nil, nil
	})
	cs := testenv.Client(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("aks-system"), Labels: map[string]string{"kubernetes.azure.com/agentpool": "system"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.7.0/24", PodCIDRs: []string{"10.244.7.0/24"}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{}) })

	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idx := snap.Index()
	if _, ok := idx[inventory.Key{Group: "crd.projectcalico.org", Kind: "IPPool", Name: pool.GetName()}]; !ok {
		t.Errorf("IPPool %s missing from a default read", pool.GetName())
	}
	n, ok := idx[inventory.Key{Kind: "Node", Name: node.Name}]
	if !ok {
		t.Fatalf("Node %s missing from a default read", node.Name)
	}
	if cidrs, _, _ := unstructured.NestedStringSlice(n.Object, "spec", "podCIDRs"); !slices.Equal(cidrs, []string{"10.244.7.0/24"}) {
		t.Errorf("node podCIDRs %v", cidrs)
	}
	for typ, want := range map[string]bool{"crd.projectcalico.org/v1/IPPool": true, "v1/Node": true, "projectcalico.org/v3/IPPool": false, "cilium.io/v2alpha1/CiliumPodIPPool": false} {
		if got := slices.Contains(snap.Coverage.Types, typ); got != want {
			t.Errorf("coverage lists %s: %v, want %v", typ, got, want)
		}
	}
}
