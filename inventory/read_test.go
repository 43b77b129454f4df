package inventory

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// obj builds an unstructured object the way the API decoder would (int64 numbers).
func obj(apiVersion, kind, ns, name string, fields map[string]any) unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range fields {
		o[k] = v
	}
	return unstructured.Unstructured{Object: o}
}

func arm(id, typ string, props map[string]any) AzureResource {
	name := id[strings.LastIndex(id, "/")+1:]
	raw, _ := json.Marshal(map[string]any{"id": id, "name": name, "type": typ, "properties": props})
	return AzureResource{ID: id, Name: name, Type: typ, Properties: props, Raw: raw}
}

// ignoreRaw compares Azure resources by envelope; Raw is checked semantically by rawEqual.
var ignoreRaw = cmpopts.IgnoreFields(AzureResource{}, "Raw")

const vnetID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-acme"
const peerID = vnetID + "/virtualNetworkPeerings/to-hub"

func TestRead(t *testing.T) {
	deny := obj("networking.k8s.io/v1", "NetworkPolicy", "t-acme", "default-deny", map[string]any{
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}},
	})
	cm := obj("v1", "ConfigMap", "t-acme", "cache", map[string]any{"data": map[string]any{"size": "10"}})
	secretMeta := obj("v1", "Secret", "t-acme", "db", map[string]any{"type": "Opaque"})
	deploy := obj("apps/v1", "Deployment", "t-acme", "web", map[string]any{"spec": map[string]any{"replicas": int64(2)}})
	vnet := arm(vnetID, "Microsoft.Network/virtualNetworks", map[string]any{"addressSpace": map[string]any{"addressPrefixes": []any{"10.20.0.0/16"}}})
	peer := arm(peerID, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", map[string]any{"allowForwardedTraffic": false})

	tests := []struct {
		name string
		in   string
		want *Snapshot
	}{
		{"kubectl List YAML; Secret data stripped", `
apiVersion: v1
kind: List
metadata: {}
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: default-deny, namespace: t-acme}
  spec: {podSelector: {}, policyTypes: [Ingress]}
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: t-acme
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"c2VjcmV0"}}'
  type: Opaque
  data: {password: c2VjcmV0}
  stringData: {token: plain}
`, &Snapshot{Kubernetes: []unstructured.Unstructured{deny, secretMeta}}},
		{"typed list JSON, items without kind", `{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"resourceVersion":"7"},
  "items":[{"metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}}]}`,
			&Snapshot{Kubernetes: []unstructured.Unstructured{cm}}},
		{"multi-document YAML of objects and lists", `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t-acme}
spec: {replicas: 2}
---
# only a comment
---
apiVersion: v1
kind: ConfigMapList
items:
- metadata: {name: cache, namespace: t-acme}
  data: {size: "10"}
`, &Snapshot{Kubernetes: []unstructured.Unstructured{deploy, cm}}},
		{"ARM pages as a JSON stream", `{"value":[` + string(vnet.Raw) + `],"nextLink":"https://management.azure.com/next"}
{"value":[` + string(peer.Raw) + `]}`, &Snapshot{Azure: []AzureResource{vnet, peer}}},
		{"plain array of ARM resources", `[` + string(vnet.Raw) + `,` + string(peer.Raw) + `]`,
			&Snapshot{Azure: []AzureResource{vnet, peer}}},
		{"array mixing objects and resources", `[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}},` + string(vnet.Raw) + `]`,
			&Snapshot{Kubernetes: []unstructured.Unstructured{cm}, Azure: []AzureResource{vnet}}},
		{"combined snapshot", `{"apiVersion":"inventory.tenantctl.io/v1","kind":"Snapshot",
  "coverage":{"types":["v1/ConfigMap"],"namespaces":["t-acme"]},
  "kubernetes":{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}}]},
  "azure":{"value":[` + string(vnet.Raw) + `]}}`,
			&Snapshot{Kubernetes: []unstructured.Unstructured{cm}, Azure: []AzureResource{vnet},
				Coverage: &Coverage{Types: []string{"v1/ConfigMap"}, Namespaces: []string{"t-acme"}}}},
		{"ARM resources with a kind are not Kubernetes objects", `[{"id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st","name":"st","type":"Microsoft.Storage/storageAccounts","kind":"StorageV2"}]`,
			&Snapshot{Azure: []AzureResource{{ID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st", Name: "st", Type: "Microsoft.Storage/storageAccounts",
				Raw: []byte(`{"id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st","name":"st","type":"Microsoft.Storage/storageAccounts","kind":"StorageV2"}`)}}}},
		{"single ARM resource with a kind", `{"id":"/subscriptions/s1/providers/Microsoft.Web/sites/app","name":"app","type":"Microsoft.Web/sites","kind":"app"}`,
			&Snapshot{Azure: []AzureResource{{ID: "/subscriptions/s1/providers/Microsoft.Web/sites/app", Name: "app", Type: "Microsoft.Web/sites",
				Raw: []byte(`{"id":"/subscriptions/s1/providers/Microsoft.Web/sites/app","name":"app","type":"Microsoft.Web/sites","kind":"app"}`)}}}},
		{"duplicates: the later object wins", `[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"1"}},
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},"data":{"size":"10"}}]`,
			&Snapshot{Kubernetes: []unstructured.Unstructured{cm}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreRaw); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			for i := range got.Azure {
				rawEqual(t, tt.want.Azure[i].Raw, got.Azure[i].Raw)
			}
		})
	}
}

func rawEqual(t *testing.T, want, got json.RawMessage) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want raw: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got raw: %v", err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("raw JSON (-want +got):\n%s", diff)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  \n", "input is empty"},
		{"only comments", "# nothing\n---\n", "no document found"},
		{"unknown document", `{"foo":"bar"}`, "document 1: neither a tenantctl snapshot"},
		{"object without name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n", "metadata.name is required"},
		{"List item without kind", `{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"x"}}]}`, "List item 0"},
		{"ARM resource without type", `[{"id":"/subscriptions/s/x"}]`, "item 0: ARM resource \"/subscriptions/s/x\": type is empty"},
		{"ARM page item without id", `{"value":[{"type":"Microsoft.Network/virtualNetworks"}]}`, "ARM page value 0"},
		{"second document broken", "{\"value\":[]}\n{\"value\":", "document 2: JSON"},
		{"snapshot with unknown field", `{"apiVersion":"inventory.tenantctl.io/v1","kind":"Snapshot","kubernets":{}}`, `unknown field "kubernets"`},
		{"snapshot with wrong kind", `{"apiVersion":"inventory.tenantctl.io/v1","kind":"Inventory"}`, `kind "Inventory"`},
		{"snapshot azure holding objects", `{"apiVersion":"inventory.tenantctl.io/v1","kind":"Snapshot","azure":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}]}`, "azure: holds Kubernetes objects"},
		{"YAML syntax", "apiVersion: v1\nkind: [\n", "document 1: YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
