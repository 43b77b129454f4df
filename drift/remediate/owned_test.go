package remediate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestOwnedFields(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "api", "namespace": "t-acme",
			"labels":     map[string]any{"app": "api", "added-by-someone": "x"},
			"finalizers": []any{"tenantctl.io/keep", "other.io/keep"}},
		"spec": map[string]any{
			"replicas": int64(5),
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "registry/app:1", "ports": []any{
					map[string]any{"containerPort": int64(80), "protocol": "TCP", "name": "http"},
					map[string]any{"containerPort": int64(9090), "protocol": "TCP"},
				}},
				map[string]any{"name": "side", "image": "evil/side:1"},
			}}},
		},
		"status": map[string]any{"replicas": int64(5)},
	}}
	live.SetManagedFields([]metav1.ManagedFieldsEntry{
		managedEntry(pulumiManager, metav1.ManagedFieldsOperationApply, `{
			"f:metadata":{"f:labels":{".":{},"f:app":{}},"f:finalizers":{"v:\"tenantctl.io/keep\"":{}}},
			"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:image":{},
				"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{},"f:name":{}}}}}}}}}`),
		managedEntry("kubectl-scale", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:replicas":{}}}`),
	})
	cands, err := applyManagers(live, []string{"pulumi-kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 1 || cands[0].name != pulumiManager {
		t.Fatalf("applyManagers = %v, want only %s", cands, pulumiManager)
	}
	want := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "api"}, "finalizers": []any{"tenantctl.io/keep"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": "registry/app:1", "ports": []any{
				map[string]any{"containerPort": int64(80), "protocol": "TCP", "name": "http"},
			}},
		}}}},
	}
	if diff := cmp.Diff(want, ownedFields(live.Object, cands[0].set)); diff != "" {
		t.Errorf("ownedFields (-want +got):\n%s", diff)
	}
}

func TestPickManager(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "t-acme"}}}
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{
		managedEntry("pulumi-kubernetes-patch", metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:extra":{}}}}`),
		managedEntry("pulumi-kubernetes-owner", metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:tenantctl.io/tenant":{},"f:tier":{}}}}`),
		managedEntry("pulumi-kubernetes-old", metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{"f:tier":{}}}}`),
		managedEntry("kubectl-label", metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:tier":{}}}}`),
	})
	cands, err := applyManagers(obj, []string{"pulumi-kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	desired := map[string]any{"metadata": map[string]any{"name": "t-acme", "labels": map[string]any{"tenantctl.io/tenant": "acme", "tier": "silo"}}}
	tests := []struct {
		name  string
		cands []managerSet
		want  string
		ok    bool
	}{
		{"the one owning most desired fields", cands, "pulumi-kubernetes-owner", true},
		{"a single candidate", cands[:1], "pulumi-kubernetes-patch", true},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickManager(tt.cands, desired)
			if diff := cmp.Diff([]any{tt.want, tt.ok}, []any{got.name, ok}); diff != "" {
				t.Errorf("pickManager (-want +got):\n%s", diff)
			}
		})
	}
}
