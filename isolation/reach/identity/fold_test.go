package identity

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	. "github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
)

// TestFold: a grant from every tenant to every tenant is drawn as one edge per tenant to the
// platform, saying so, instead of N² edges.
func TestFold(t *testing.T) {
	defer func(n int) { foldPairs = n }(foldPairs)
	foldPairs = 10
	bs := []*isolation.RuntimeTenantBinding{Binding("a", isolation.TierPool), Binding("b", isolation.TierPool), Binding("c", isolation.TierPool)}
	objs := append(Fleet(bs...), ClusterRoleBinding("everyone-admin", "cluster-admin", nil, Group("system:authenticated")))
	sc, err := graph.NewScope(Env(), bs)
	if err != nil {
		t.Fatal(err)
	}
	b := graph.NewBuilder(sc)
	if _, err := Analyze(context.Background(), sc, &inventory.Snapshot{Kubernetes: objs}, b); err != nil {
		t.Fatal(err)
	}
	g := b.Graph("snapshot")
	var got []string
	for _, e := range g.Edges {
		got = append(got, e.From+"→"+e.To+" "+string(e.Kind))
		if !slices.ContainsFunc(e.Evidence, func(s graph.EvidenceStep) bool { return s.Kind == "fold" }) {
			t.Errorf("edge %s → %s %s: no fold step in %v", e.From, e.To, e.Kind, e.Evidence)
		}
	}
	slices.Sort(got)
	var want []string
	for _, from := range []string{"a", "b", "c"} {
		for _, k := range []string{"identity-escalation", "identity-impersonation", "identity-rbac"} {
			want = append(want, from+"→platform "+k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
}
