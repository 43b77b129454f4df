package reach_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
)

// crossTenant is the examples' dev environment plus a policy pair opening acme → globex and a
// policy in initech's slice of the shared namespace admitting every namespace.
func crossTenant(t *testing.T) (*isolation.DesiredState, *inventory.Snapshot) {
	t.Helper()
	st := loadExamples(t)
	snap, err := reach.PlannedSnapshot(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	tenant := func(id string) map[string]any { return f.Sel(f.Labels(f.TenantLabel + "=" + id)) }
	snap.Kubernetes = append(snap.Kubernetes,
		f.Policy("t-globex", "from-acme", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": tenant("acme")}}}}}),
		f.Policy("t-acme", "to-globex", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"namespaceSelector": tenant("globex")}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(5432)}}}}}),
		f.Policy("shared-tenants", "t-initech-from-anywhere", map[string]any{"podSelector": tenant("initech"), "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": map[string]any{}}}}}}),
	)
	return st, snap
}

// TestSnapshotFileRoundTrip writes the snapshot in the inventory file format and analyses what
// reads back: the same graph, Azure ARM JSON included.
func TestSnapshotFileRoundTrip(t *testing.T) {
	st, snap := crossTenant(t)
	n := f.HubSpoke(map[string]string{"acme": "10.20.0.0/16"})
	n.Endpoint("acme", "endpoints", "pe-shared-vault", "10.20.8.9",
		"/subscriptions/"+f.Subscription+"/resourceGroups/rg-platform/providers/Microsoft.KeyVault/vaults/kv-connectsoft-dev", "Approved")
	snap.Azure = n.Resources()
	env := st.Environment("dev")
	direct, err := reach.Analyze(context.Background(), env, st.BindingsIn("dev"), snap)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := inventory.Write(&buf, snap); err != nil {
		t.Fatal(err)
	}
	back, err := inventory.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	read, err := reach.Analyze(context.Background(), env, st.BindingsIn("dev"), back)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(direct, read); diff != "" {
		t.Errorf("graph changed through the snapshot file (-direct +read):\n%s", diff)
	}
	var pe bool
	for _, e := range direct.Edges {
		pe = pe || (e.Kind == reach.KindPrivateEndpoint && e.From == "acme" && e.To == isolation.Platform && e.Verdict == reach.VerdictAllowed)
	}
	if !pe {
		t.Errorf("the private endpoint to the shared vault is not an allowed platform edge: %+v", direct.Edges)
	}
}
