package detect

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

func TestUnmanaged(t *testing.T) {
	env := testEnv()
	state := []apitypeResource{
		stateResource(t, acmeStack, "kubernetes:core/v1:Namespace", "t-acme", "t-acme", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t-acme"}}`),
		stateResource(t, acmeStack, "kubernetes:apps/v1:Deployment", "t-acme/web", "t-acme/web", webInputs),
		stateResource(t, acmeStack, "kubernetes:apps/v1:StatefulSet", "t-acme/db", "t-acme/db",
			`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"t-acme"},
			  "spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"}}]}}`),
	}
	platform := []apitypeResource{
		stateResource(t, "platform.dev", "kubernetes:core/v1:Namespace", "shared-tenants", "shared-tenants", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shared-tenants"}}`),
	}
	controller := true
	owned := func(u unstructured.Unstructured, apiVersion, kind, name, uid string) unstructured.Unstructured {
		u.Object["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{
			"apiVersion": apiVersion, "kind": kind, "name": name, "uid": uid, "controller": controller}}
		return u
	}
	live := []unstructured.Unstructured{
		object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t-acme","labels":{"tenantctl.io/tenant":"acme"}}}`),
		object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t-rogue"}}`),
		object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shared-tenants"}}`),
		object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system"}}`),
		object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"legacy-acme","labels":{"tenantctl.io/tenant":"acme"}}}`),
		// the observed unmanaged policy and an unmanaged ConfigMap
		object(t, `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-globex","namespace":"t-acme"},"spec":{"podSelector":{}}}`),
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}}`),
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"old","namespace":"legacy-acme"}}`),
		// what Kubernetes creates itself
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kube-root-ca.crt","namespace":"t-acme"}}`),
		object(t, `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"t-acme"}}`),
		object(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"build-token","namespace":"t-acme","annotations":{"kubernetes.io/service-account.name":"build"}}}`),
		object(t, `{"apiVersion":"v1","kind":"Event","metadata":{"name":"web.1","namespace":"t-acme"}}`),
		object(t, `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-abc","namespace":"t-acme"}}`),
		// the managed Deployment's ReplicaSet and Pod, and the managed StatefulSet's claim
		object(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"t-acme","uid":"u-web"}}`),
		owned(object(t, `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-5d8f","namespace":"t-acme","uid":"u-rs"}}`), "apps/v1", "Deployment", "web", "u-web"),
		owned(object(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-5d8f-x1","namespace":"t-acme"}}`), "apps/v1", "ReplicaSet", "web-5d8f", "u-rs"),
		object(t, `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-db-0","namespace":"t-acme"}}`),
		object(t, `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"scratch-0","namespace":"t-acme"}}`),
		// a Pod whose ReplicaSet is gone
		owned(object(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"orphan","namespace":"t-acme"}}`), "apps/v1", "ReplicaSet", "gone", "u-gone"),
		// ownerReferences anyone can write do not hide an object: a policy "owned" by the managed
		// Deployment, a ConfigMap owned by an unknown custom resource, a Pod naming a real
		// ReplicaSet with another uid
		owned(object(t, `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"hidden","namespace":"t-acme"}}`), "apps/v1", "Deployment", "web", "u-web"),
		owned(object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"by-ghost","namespace":"t-acme"}}`), "evil.example.com/v1", "Ghost", "g", "u-ghost"),
		owned(object(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"forged","namespace":"t-acme"}}`), "apps/v1", "ReplicaSet", "web-5d8f", "u-other"),
		// a custom resource's child is its operator's business once the resource itself is known
		object(t, `{"apiVersion":"cache.example.com/v1","kind":"Redis","metadata":{"name":"r","namespace":"t-acme","uid":"u-redis"}}`),
		owned(object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"r-config","namespace":"t-acme"}}`), "cache.example.com/v1", "Redis", "r", "u-redis"),
		// an unmanaged namespace named like a tenant's, with an object in it
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"t-rogue"}}`),
		// the shared namespace: a shared tenant's object and an unlabelled one
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t-globex-extra","namespace":"shared-tenants","labels":{"tenantctl.io/tenant":"globex"}}}`),
		object(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"shared-tenants"}}`),
		// cluster-scoped, labelled with a tenant
		object(t, `{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"tenantctl-shared-globex","labels":{"tenantctl.io/tenant":"globex"}}}`),
		// out of every tenant scope
		object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"coredns","namespace":"kube-system"}}`),
		object(t, `{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"system-node-critical"}}`),
	}
	d := NewManaged()
	if err := d.AddStack(acmeStack, state); err != nil {
		t.Fatal(err)
	}
	if err := d.AddStack("platform.dev", platform); err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "cache.example.com/v1/Redis t-acme/r", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/allow-globex", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/hidden", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/ConfigMap legacy-acme/old", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/ConfigMap t-acme/by-ghost", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/ConfigMap t-acme/cache", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/Namespace legacy-acme", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/PersistentVolumeClaim t-acme/scratch-0", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/Pod t-acme/forged", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/Pod t-acme/orphan", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "globex", Resource: "scheduling.k8s.io/v1/PriorityClass tenantctl-shared-globex", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "globex", Resource: "v1/ConfigMap shared-tenants/t-globex-extra", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "platform", Resource: "v1/Pod shared-tenants/debug", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "rogue", Resource: "v1/ConfigMap t-rogue/x", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "rogue", Resource: "v1/Namespace t-rogue", Severity: finding.SeverityLow},
	}
	// ReplicaSets are listed, so the orphan's owner type is covered
	snap := &inventory.Snapshot{Kubernetes: live}
	fs, err := New(env, d, WithChecks(CheckUnmanaged)).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, briefs(t, fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// Without ReplicaSets in the snapshot the orphan's owner cannot be judged: no finding for it.
	var noRS []unstructured.Unstructured
	for _, u := range live {
		if u.GetKind() != "ReplicaSet" {
			noRS = append(noRS, u)
		}
	}
	fs, err = New(env, d, WithChecks(CheckUnmanaged)).Check(context.Background(), &inventory.Snapshot{Kubernetes: noRS})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Resource.Type == "v1/Pod" && f.Resource.Namespace == "t-acme" {
			t.Errorf("pod %s reported although its owner's type was not listed", f.Resource.Name)
		}
	}
}

func TestUnmanagedFindingNamesTheScope(t *testing.T) {
	snap := snapshot(object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}}`))
	fs, err := New(testEnv(), NewManaged(), WithChecks(CheckUnmanaged), WithBindings(testBinding("acme", "tenants/acme.yaml", 3))).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	want := []finding.Finding{{
		Kind: finding.KindUnmanagedResource, Severity: finding.SeverityLow, TenantID: "acme", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "t-acme", Name: "cache", ID: "t-acme/cache"},
		Evidence: []string{"in namespace t-acme", "no stack's state holds ConfigMap t-acme/cache"},
		Message:  "ConfigMap t-acme/cache is in the scope of tenant acme but no stack manages it",
		Detector: finding.DetectorFastPath, Remediation: finding.RemediationReport,
		Location: finding.Location{File: "tenants/acme.yaml", Line: 3},
	}}
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
