package inventory

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func sampleSnapshot() *Snapshot {
	return &Snapshot{
		CollectedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Kubernetes: []unstructured.Unstructured{
			obj("v1", "ConfigMap", "t-acme", "cache", map[string]any{"data": map[string]any{"size": "10"}}),
			obj("networking.k8s.io/v1", "NetworkPolicy", "t-acme", "default-deny", map[string]any{
				"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}},
			}),
			obj("v1", "Namespace", "", "t-acme", map[string]any{"status": map[string]any{"phase": "Active"}}),
			obj("apps/v1", "Deployment", "t-acme", "web", map[string]any{"spec": map[string]any{"replicas": int64(2), "paused": false}}),
		},
		Azure: []AzureResource{
			arm(peerID, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", map[string]any{"allowForwardedTraffic": false}),
			arm(vnetID, "Microsoft.Network/virtualNetworks", map[string]any{"addressSpace": map[string]any{"addressPrefixes": []any{"10.20.0.0/16"}}}),
		},
		Coverage: &Coverage{Types: []string{"v1/Namespace", "v1/ConfigMap", "networking.k8s.io/v1/NetworkPolicy", "apps/v1/Deployment"}, Namespaces: []string{"t-acme"}},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(*bytes.Buffer, *Snapshot) error
	}{
		{"json", func(b *bytes.Buffer, s *Snapshot) error { return Write(b, s) }},
		{"yaml", func(b *bytes.Buffer, s *Snapshot) error { return WriteYAML(b, s) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleSnapshot()
			var buf bytes.Buffer
			if err := tt.write(&buf, in); err != nil {
				t.Fatalf("write: %v", err)
			}
			got, err := Read(&buf)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, buf.String())
			}
			want := sampleSnapshot()
			want.Kubernetes = sortedObjects(want.Kubernetes)
			want.Azure[0], want.Azure[1] = want.Azure[1], want.Azure[0]
			want.Coverage.Types = []string{"apps/v1/Deployment", "networking.k8s.io/v1/NetworkPolicy", "v1/ConfigMap", "v1/Namespace"}
			if diff := cmp.Diff(want, got, ignoreRaw); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			for i := range got.Azure {
				rawEqual(t, want.Azure[i].Raw, got.Azure[i].Raw)
			}
		})
	}
}

func TestWriteIsDeterministicAndSanitized(t *testing.T) {
	a := sampleSnapshot()
	b := sampleSnapshot()
	// same content, other order
	b.Kubernetes[0], b.Kubernetes[3] = b.Kubernetes[3], b.Kubernetes[0]
	b.Azure[0], b.Azure[1] = b.Azure[1], b.Azure[0]
	secret := obj("v1", "Secret", "t-acme", "db", map[string]any{"type": "Opaque", "data": map[string]any{"password": "c2VjcmV0"}})
	a.Kubernetes = append(a.Kubernetes, secret)
	b.Kubernetes = append(b.Kubernetes, secret)
	var wa, wb bytes.Buffer
	if err := Write(&wa, a); err != nil {
		t.Fatal(err)
	}
	if err := Write(&wb, b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wa.String(), wb.String()); diff != "" {
		t.Errorf("Write depends on input order (-a +b):\n%s", diff)
	}
	if strings.Contains(wa.String(), "c2VjcmV0") {
		t.Errorf("written snapshot holds the Secret's data:\n%s", wa.String())
	}
	if _, ok := a.Kubernetes[len(a.Kubernetes)-1].Object["data"]; !ok {
		t.Errorf("Write modified its input snapshot")
	}
}

func TestAzureMarshalKeepsRawFields(t *testing.T) {
	r, err := decodeARM([]byte(`{"id":"/s/x","name":"x","type":"T","sku":{"name":"Standard"},"tags":{"a":"1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Tags = nil // cleared on purpose
	r.Location = "westeurope"
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	rawEqual(t, []byte(`{"id":"/s/x","name":"x","type":"T","sku":{"name":"Standard"},"location":"westeurope"}`), b)
}

func TestKeyVaultSecretValueDropped(t *testing.T) {
	s, err := Read(strings.NewReader(`[{"id":"/s/kv/secrets/db","name":"db","type":"Microsoft.KeyVault/vaults/secrets","properties":{"value":"hunter2","contentType":"text"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s.Azure[0].Raw), "hunter2") || s.Azure[0].Properties["value"] != nil {
		t.Errorf("secret value kept: %s", s.Azure[0].Raw)
	}
	if s.Azure[0].Properties["contentType"] != "text" {
		t.Errorf("other properties lost: %v", s.Azure[0].Properties)
	}
}

func TestCovers(t *testing.T) {
	np := schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}
	cm := schema.GroupKind{Kind: "ConfigMap"}
	sa := schema.GroupKind{Kind: "ServiceAccount"}
	ns := schema.GroupKind{Kind: "Namespace"}
	live := sampleSnapshot()
	// the live reader keeps every Namespace object, in scope or not
	live.Kubernetes = append(live.Kubernetes, obj("v1", "Namespace", "", "kube-system", nil))
	inferred := sampleSnapshot()
	inferred.Coverage = nil
	all := sampleSnapshot()
	all.Coverage.AllNamespaces = true
	tests := []struct {
		name string
		snap *Snapshot
		gk   schema.GroupKind
		ns   string
		want bool
	}{
		{"listed type in scope namespace", live, np, "t-acme", true},
		{"listed type outside scope", live, np, "kube-system", false},
		{"type not listed", live, sa, "t-acme", false},
		{"namespace that does not exist", live, cm, "t-gone", true},
		{"cluster-scoped", live, ns, "", true},
		{"all namespaces", all, np, "kube-system", true},
		{"no coverage: kind present", inferred, cm, "anywhere", true},
		{"no coverage: kind absent", inferred, sa, "t-acme", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.snap.Covers(tt.gk, tt.ns); got != tt.want {
				t.Errorf("Covers(%v, %q) = %v, want %v", tt.gk, tt.ns, got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	t1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	cm := obj("v1", "ConfigMap", "t-acme", "cache", nil)
	np := obj("networking.k8s.io/v1", "NetworkPolicy", "t-acme", "deny", nil)
	vnet := arm(vnetID, "Microsoft.Network/virtualNetworks", nil)
	vnetUpper := arm(strings.ToUpper(vnetID), "Microsoft.Network/virtualNetworks", map[string]any{"x": "y"})
	tests := []struct {
		name  string
		parts []*Snapshot
		want  *Snapshot
	}{
		{"coverage union, earliest time, case-insensitive azure ids", []*Snapshot{
			{CollectedAt: t2, Kubernetes: []unstructured.Unstructured{cm}, Azure: []AzureResource{vnet}, Coverage: &Coverage{Types: []string{"v1/ConfigMap"}, Namespaces: []string{"t-acme"}}},
			{CollectedAt: t1, Kubernetes: []unstructured.Unstructured{np}, Azure: []AzureResource{vnetUpper}, Coverage: &Coverage{Types: []string{"networking.k8s.io/v1/NetworkPolicy"}, AllNamespaces: true}},
		}, &Snapshot{CollectedAt: t1, Kubernetes: []unstructured.Unstructured{cm, np}, Azure: []AzureResource{vnetUpper},
			Coverage: &Coverage{Types: []string{"v1/ConfigMap", "networking.k8s.io/v1/NetworkPolicy"}, Namespaces: []string{"t-acme"}}}},
		{"a part without coverage makes it unknown", []*Snapshot{
			{Kubernetes: []unstructured.Unstructured{cm}, Coverage: &Coverage{Types: []string{"v1/ConfigMap"}, AllNamespaces: true}},
			{Kubernetes: []unstructured.Unstructured{np}},
		}, &Snapshot{Kubernetes: []unstructured.Unstructured{cm, np}}},
		{"azure-only part keeps kubernetes coverage", []*Snapshot{
			{Kubernetes: []unstructured.Unstructured{cm}, Coverage: &Coverage{Types: []string{"v1/ConfigMap"}, AllNamespaces: true}},
			{Azure: []AzureResource{vnet}},
		}, &Snapshot{Kubernetes: []unstructured.Unstructured{cm}, Azure: []AzureResource{vnet}, Coverage: &Coverage{Types: []string{"v1/ConfigMap"}, AllNamespaces: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Merge(tt.parts...), ignoreRaw); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
		})
	}
}
