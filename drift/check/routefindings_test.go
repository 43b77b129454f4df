package check

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// crossTenant is the examples' dev environment as planned, plus a policy pair opening acme →
// globex and a policy in initech's slice of the shared namespace admitting every namespace.
func crossTenant(t *testing.T) (*isolation.DesiredState, *inventory.Snapshot) {
	t.Helper()
	st, err := isolation.Load(context.Background(), "../../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := reach.PlannedSnapshot(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	tenant := func(id string) map[string]any {
		return map[string]any{"matchLabels": map[string]any{tenantplan.LabelTenant: id}}
	}
	policy := func(ns, name string, spec map[string]any) unstructured.Unstructured {
		return unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec}}
	}
	snap.Kubernetes = append(snap.Kubernetes,
		policy("t-globex", "from-acme", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": tenant("acme")}}}}}),
		policy("t-acme", "to-globex", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"namespaceSelector": tenant("globex")}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(5432)}}}}}),
		policy("shared-tenants", "t-initech-from-anywhere", map[string]any{"podSelector": tenant("initech"), "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": map[string]any{}}}}}}),
	)
	return st, snap
}

func TestRouteFindings(t *testing.T) {
	st, snap := crossTenant(t)
	g, err := reach.Analyze(context.Background(), st.Environment("dev"), st.BindingsIn("dev"), snap)
	if err != nil {
		t.Fatal(err)
	}
	locate := func(id string) isolation.Source {
		if b := st.Binding("dev", id); b != nil {
			return b.Source
		}
		return isolation.Source{}
	}
	fs := routeFindings(g, locate)
	var got []string
	for _, fd := range fs {
		if err := fd.Validate(); err != nil {
			t.Errorf("invalid finding: %v", err)
		}
		if fd.Kind != finding.KindCrossTenantRoute || fd.Severity != finding.SeverityCritical {
			t.Errorf("finding %s is %s/%s, want cross-tenant-route/critical", fd.Title(), fd.Kind, fd.Severity)
		}
		if len(fd.Evidence) == 0 || fd.Location.File == "" {
			t.Errorf("finding %s lacks evidence or location: %+v", fd.Title(), fd)
		}
		got = append(got, fmt.Sprintf("%s %s→%s %s", fd.Resource.ID, fd.TenantID, fd.PeerTenant, fd.Remediation))
	}
	slices.Sort(got)
	want := []string{
		// The edge acme → globex names both policies that open it; each is reported in the
		// scope it lives in.
		"shared-tenants/t-initech-from-anywhere initech→acme delete",
		"shared-tenants/t-initech-from-anywhere initech→globex delete",
		// kube-system has no policies, so its pods' egress is open: the empty namespaceSelector
		// lets the platform's non-ingress pods in too.
		"shared-tenants/t-initech-from-anywhere initech→platform delete",
		"t-acme/to-globex acme→globex delete",
		"t-globex/from-acme globex→acme delete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestAllowedRoutesYieldNoFinding(t *testing.T) {
	st, snap := crossTenant(t)
	env := *st.Environment("dev")
	env.Spec.AllowedRoutes = []isolation.AllowedRoute{
		{From: "acme", To: "globex", Reason: "reporting replica"},
		{From: "acme", To: "initech", Reason: "shared api"},
		{From: "globex", To: "initech", Reason: "shared api"},
		{From: isolation.Platform, To: "initech", Reason: "cluster add-ons call the shared api"},
	}
	g, err := reach.Analyze(context.Background(), &env, st.BindingsIn("dev"), snap)
	if err != nil {
		t.Fatal(err)
	}
	if fs := routeFindings(g, nil); len(fs) != 0 {
		t.Errorf("declared routes produced findings: %+v", fs)
	}
	if g.Failing() {
		t.Errorf("declared routes fail verify: %+v", g.Edges)
	}
}
