package remediate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Parsing and rendering paths is internal/fieldpath's, tested there.

func deployment() map[string]any {
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"tenantctl.io/tenant": "acme"}},
		"spec": map[string]any{
			"ports": []any{map[string]any{"port": int64(80), "protocol": "TCP", "targetPort": int64(8080)}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "registry/app:1"},
				map[string]any{"name": "side", "image": "registry/side:1"},
			}}},
		},
	}
}

func TestLookup(t *testing.T) {
	obj := deployment()
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{`metadata.labels["tenantctl.io/tenant"]`, "acme", true},
		{"spec.template.spec.containers[name=side].image", "registry/side:1", true},
		{"spec.template.spec.containers[1].name", "side", true},
		{"spec.ports[port=80,protocol=TCP].targetPort", int64(8080), true},
		{"spec.template.spec.containers[name=gone].image", nil, false},
		{"spec.template.spec.containers[7]", nil, false},
		{"spec.replicas", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := parseField(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := lookup(obj, p)
			if diff := cmp.Diff([]any{tt.want, tt.ok}, []any{got, ok}); diff != "" {
				t.Errorf("lookup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssign(t *testing.T) {
	tests := []struct {
		name string
		dst  map[string]any
		path string
		val  any
		want map[string]any
	}{
		{
			name: "creates maps on the way",
			dst:  map[string]any{},
			path: "spec.policyTypes",
			val:  []any{"Ingress"},
			want: map[string]any{"spec": map[string]any{"policyTypes": []any{"Ingress"}}},
		},
		{
			name: "quoted label key next to others",
			dst:  map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "1"}}},
			path: `metadata.labels["tenantctl.io/tenant"]`,
			val:  "acme",
			want: map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "1", "tenantctl.io/tenant": "acme"}}},
		},
		{
			name: "existing keyed item",
			dst: map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "evil/app:1"}}}},
			path: "spec.containers[name=app].image",
			val:  "registry/app:1",
			want: map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "registry/app:1"}}}},
		},
		{
			name: "keyed item created with typed keys from the desired object",
			dst:  map[string]any{},
			path: "spec.ports[port=80,protocol=TCP].targetPort",
			val:  int64(8080),
			want: map[string]any{"spec": map[string]any{"ports": []any{
				map[string]any{"port": int64(80), "protocol": "TCP", "targetPort": int64(8080)}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseField(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := assign(tt.dst, p, tt.val, deployment()); err != nil {
				t.Fatalf("assign: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.dst); diff != "" {
				t.Errorf("assign (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssignRefusesPositionalAndUnknownItems(t *testing.T) {
	for _, path := range []string{"spec.ingress[0].from", "spec.template.spec.containers[name=nowhere].image"} {
		p, err := parseField(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := assign(map[string]any{}, p, "x", deployment()); err == nil {
			t.Errorf("assign(%s) succeeded, want an error", path)
		}
	}
}
