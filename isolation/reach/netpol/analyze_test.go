package netpol_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
)

func bindings() []*isolation.RuntimeTenantBinding {
	return []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierPool, ""),
		f.Binding("hooli", isolation.TierPool, ""),
		f.Binding("initech", isolation.TierShared, ""),
		f.Binding("umbrella", isolation.TierShared, ""),
	}
}

// baseline is what the programs create for the test tenants.
func baseline(t *testing.T, env *isolation.Environment) []unstructured.Unstructured {
	t.Helper()
	snap, err := reach.PlannedSnapshot(env, bindings())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Kubernetes
}

// edges summarises every edge that is not allowed: "from→to verdict kind ports".
func edges(g *reach.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		if e.Verdict != reach.VerdictAllowed {
			out = append(out, fmt.Sprintf("%s→%s %s %s %s", e.From, e.To, e.Verdict, e.Kind, e.Ports))
		}
	}
	return out
}

// exposures summarises one-sided openings: "tenant↔peer ns/name".
func exposures(g *reach.Graph) []string {
	var out []string
	for _, x := range g.Exposures {
		out = append(out, fmt.Sprintf("%s↔%s %s", x.Tenant, x.Peer, x.Resource.ID))
	}
	return out
}

func egressTo(peers []any, ports ...any) map[string]any {
	rule := map[string]any{"to": peers}
	if len(ports) > 0 {
		rule["ports"] = ports
	}
	return map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"}, "egress": []any{rule}}
}

func ingressFrom(peers []any, ports ...any) map[string]any {
	rule := map[string]any{"from": peers}
	if len(ports) > 0 {
		rule["ports"] = ports
	}
	return map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}, "ingress": []any{rule}}
}

func nsPeer(sel map[string]any) any { return map[string]any{"namespaceSelector": sel} }

func tcp(port int, end ...int) any {
	p := map[string]any{"protocol": "TCP", "port": int64(port)}
	if len(end) > 0 {
		p["endPort"] = int64(end[0])
	}
	return p
}

var allowAll = map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"}, "egress": []any{map[string]any{}}}

func TestNetworkPolicySemantics(t *testing.T) {
	env := f.Env("kubernetes")
	tenantIs := func(id string) map[string]any { return f.Sel(f.Labels(f.TenantLabel + "=" + id)) }
	tests := []struct {
		name      string
		edit      func([]unstructured.Unstructured) []unstructured.Unstructured
		allowed   []isolation.AllowedRoute
		edges     []string
		exposures []string
	}{
		{name: "programs alone open nothing between tenants"},
		{
			name: "ingress admitting another tenant is only an exposure while its egress is closed",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o, f.Policy("t-globex", "from-acme", ingressFrom([]any{nsPeer(tenantIs("acme"))})))
			},
			exposures: []string{"globex↔acme t-globex/from-acme"},
		},
		{
			name: "egress and ingress both admitting make an edge on the common ports",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "from-acme", ingressFrom([]any{nsPeer(tenantIs("acme"))})),
					f.Policy("t-acme", "to-globex", egressTo([]any{nsPeer(tenantIs("globex"))}, tcp(8080))))
			},
			edges: []string{"acme→globex unexpected networkpolicy TCP/8080"},
		},
		{
			name: "disjoint ports close the route",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "from-acme", ingressFrom([]any{nsPeer(tenantIs("acme"))}, tcp(443))),
					f.Policy("t-acme", "to-globex", egressTo([]any{nsPeer(tenantIs("globex"))}, tcp(8080))))
			},
			exposures: []string{"acme↔globex t-acme/to-globex", "globex↔acme t-globex/from-acme"},
		},
		{
			name: "endPort ranges intersect with single ports",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "from-acme", ingressFrom([]any{nsPeer(tenantIs("acme"))}, tcp(8085), tcp(9000))),
					f.Policy("t-acme", "to-globex", egressTo([]any{nsPeer(tenantIs("globex"))}, tcp(8080, 8090))))
			},
			edges: []string{"acme→globex unexpected networkpolicy TCP/8085"},
		},
		{
			name: "a declared route is allowed",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "from-acme", ingressFrom([]any{nsPeer(tenantIs("acme"))})),
					f.Policy("t-acme", "to-globex", egressTo([]any{nsPeer(tenantIs("globex"))})))
			},
			allowed: []isolation.AllowedRoute{{From: "acme", To: "globex", Reason: "billing export"}},
		},
		{
			name: "an empty namespaceSelector admits every namespace",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "from-anywhere", ingressFrom([]any{nsPeer(map[string]any{})})),
					f.Policy("t-acme", "egress-all", allowAll))
			},
			edges: []string{
				"acme→globex unexpected networkpolicy *",
				"acme→platform unexpected networkpolicy *",
				"platform→globex unexpected networkpolicy *",
			},
			exposures: []string{
				"acme↔* t-acme/egress-all",
				"globex↔hooli t-globex/from-anywhere",
				"globex↔initech t-globex/from-anywhere",
				"globex↔umbrella t-globex/from-anywhere",
			},
		},
		{
			name: "matchExpressions NotIn and Exists select other tenants' namespaces",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o,
					f.Policy("t-globex", "not-silo", ingressFrom([]any{nsPeer(f.Sel(nil, "tenantctl.io/tier NotIn silo,shared", f.TenantLabel+" Exists"))})),
					f.Policy("t-hooli", "to-tenants", egressTo([]any{nsPeer(f.Sel(nil, f.TenantLabel+" Exists"))})))
			},
			edges: []string{"hooli→globex unexpected networkpolicy *"},
			exposures: []string{
				"hooli↔acme t-hooli/to-tenants",
			},
		},
		{
			name: "DoesNotExist matches only namespaces without the label",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return append(o, f.Policy("t-globex", "from-unlabelled", ingressFrom([]any{nsPeer(f.Sel(nil, f.TenantLabel+" DoesNotExist"))})))
			},
			// Only platform namespaces lack the tenant label; kube-system's open egress makes it
			// a route, the ingress namespace's route is the platform ingress contract.
			edges:     []string{"platform→globex unexpected networkpolicy *"},
			exposures: []string{"globex↔initech t-globex/from-unlabelled", "globex↔umbrella t-globex/from-unlabelled"},
		},
		{
			name: "namespace and pod selector in one peer must both match a pod the source can run",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				and := map[string]any{"namespaceSelector": tenantIs("acme"), "podSelector": f.Sel(f.Labels("role=client"))}
				egress := egressTo([]any{nsPeer(tenantIs("globex"))})
				egress["podSelector"] = f.Sel(f.Labels("role=server"))
				return append(o,
					f.Policy("t-globex", "from-acme-clients", ingressFrom([]any{and})),
					f.Policy("t-acme", "servers-to-globex", egress))
			},
			// role=client and role=server cannot both hold: no pod of acme is let out by its
			// policy and admitted by globex's.
			exposures: []string{"acme↔globex t-acme/servers-to-globex", "globex↔acme t-globex/from-acme-clients"},
		},
		{
			name: "separate peers are alternatives",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				or := []any{nsPeer(tenantIs("acme")), map[string]any{"podSelector": f.Sel(f.Labels("role=client"))}}
				egress := egressTo([]any{nsPeer(tenantIs("globex"))})
				egress["podSelector"] = f.Sel(f.Labels("role=server"))
				return append(o,
					f.Policy("t-globex", "from-acme-or-clients", ingressFrom(or)),
					f.Policy("t-acme", "servers-to-globex", egress))
			},
			edges: []string{"acme→globex unexpected networkpolicy *"},
		},
		{
			name: "a namespace without any policy is open both ways",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				return f.Without(o, "NetworkPolicy t-hooli/default-deny", "NetworkPolicy t-hooli/allow-same-namespace",
					"NetworkPolicy t-hooli/allow-dns", "NetworkPolicy t-hooli/allow-from-ingress")
			},
			edges: []string{"hooli→platform unexpected networkpolicy *", "platform→hooli unexpected networkpolicy *"},
		},
		{
			name: "a tenant relabelling its namespace into another tenant's selector opens a route",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				o = f.Relabel(o, "t-acme", f.TenantLabel, "globex")
				return append(o,
					f.Policy("t-globex", "from-own-namespaces", ingressFrom([]any{nsPeer(tenantIs("globex"))})),
					f.Policy("t-acme", "egress-all", allowAll))
			},
			edges:     []string{"acme→globex unexpected networkpolicy *", "acme→platform unexpected networkpolicy *"},
			exposures: []string{"acme↔* t-acme/egress-all"},
		},
		{
			name: "a policy in the shared namespace selecting every pod joins shared tenants",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				same := map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"},
					"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": map[string]any{}}}}},
					"egress":  []any{map[string]any{"to": []any{map[string]any{"podSelector": map[string]any{}}}}}}
				return append(o, f.Policy("shared-tenants", "allow-same-namespace", same))
			},
			edges: []string{"initech→umbrella unexpected networkpolicy *", "umbrella→initech unexpected networkpolicy *"},
		},
		{
			name: "ipBlock except carves a silo's range out",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				block := map[string]any{"ipBlock": map[string]any{"cidr": "10.20.0.0/16", "except": []any{"10.20.0.0/17", "10.20.128.0/17"}}}
				return append(o, f.Policy("t-globex", "to-acme-range", egressTo([]any{block})))
			},
		},
		{
			name: "ipBlock covering a silo's address space reaches it",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				block := map[string]any{"ipBlock": map[string]any{"cidr": "10.20.0.0/16", "except": []any{"10.20.128.0/17"}}}
				return append(o, f.Policy("t-globex", "to-acme-range", egressTo([]any{block})))
			},
			edges: []string{"globex→acme unexpected networkpolicy *"},
		},
		{
			name: "ipBlock over part of the pod range is undecided without a live pod in it",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				block := map[string]any{"ipBlock": map[string]any{"cidr": "10.244.1.0/24"}}
				return append(o,
					f.Policy("t-globex", "to-pods", egressTo([]any{block})),
					f.Policy("t-hooli", "from-anything", ingressFrom([]any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}}})))
			},
			// 0.0.0.0/0 also admits acme's silo range and the platform's pods; the partial
			// block over the pod range leaves globex's routes to pods undecided.
			edges: []string{
				"acme→hooli unexpected networkpolicy *", "platform→hooli unexpected networkpolicy *",
				"globex→hooli unknown networkpolicy *", "globex→platform unknown networkpolicy *",
			},
			exposures: []string{
				"globex↔acme t-globex/to-pods", "globex↔initech t-globex/to-pods", "globex↔umbrella t-globex/to-pods",
				"hooli↔initech t-hooli/from-anything", "hooli↔umbrella t-hooli/from-anything",
			},
		},
		{
			name: "a live pod inside the ipBlock decides it",
			edit: func(o []unstructured.Unstructured) []unstructured.Unstructured {
				block := map[string]any{"ipBlock": map[string]any{"cidr": "10.244.1.0/24"}}
				return append(o,
					f.Pod("t-hooli", "api-0", f.Labels("app=api"), "10.244.1.7"),
					f.Policy("t-globex", "to-pods", egressTo([]any{block})),
					f.Policy("t-hooli", "from-anything", ingressFrom([]any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}}})))
			},
			edges: []string{
				"acme→hooli unexpected networkpolicy *", "globex→hooli unexpected networkpolicy *", "platform→hooli unexpected networkpolicy *",
				"globex→platform unknown networkpolicy *",
			},
			exposures: []string{
				"globex↔acme t-globex/to-pods", "globex↔initech t-globex/to-pods", "globex↔umbrella t-globex/to-pods",
				"hooli↔initech t-hooli/from-anything", "hooli↔umbrella t-hooli/from-anything",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := *env
			e.Spec.AllowedRoutes = tc.allowed
			objs := baseline(t, &e)
			if tc.edit != nil {
				objs = tc.edit(objs)
			}
			g, err := reach.Analyze(context.Background(), &e, bindings(), f.Snapshot(objs))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.edges, edges(g)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.exposures, exposures(g)); diff != "" {
				t.Errorf("exposures (-want +got):\n%s", diff)
			}
			for _, ed := range g.Edges {
				if ed.Verdict != reach.VerdictAllowed && !slices.ContainsFunc(ed.Evidence, func(s reach.EvidenceStep) bool { return s.Kind == "networkpolicy" }) {
					t.Errorf("edge %s→%s has no policy in its evidence: %v", ed.From, ed.To, ed.Evidence)
				}
			}
		})
	}
}

func TestRelabelledNamespaceEvidence(t *testing.T) {
	env := f.Env("kubernetes")
	objs := f.Relabel(baseline(t, env), "t-acme", f.TenantLabel, "globex")
	objs = append(objs,
		f.Policy("t-globex", "from-own-namespaces", ingressFrom([]any{nsPeer(f.Sel(f.Labels(f.TenantLabel + "=globex")))})),
		f.Policy("t-acme", "egress-all", allowAll))
	g, err := reach.Analyze(context.Background(), env, bindings(), f.Snapshot(objs))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Edges {
		if e.From != "acme" || e.To != "globex" {
			continue
		}
		var text []string
		for _, s := range e.Evidence {
			text = append(text, s.Resource+": "+s.Detail)
		}
		joined := strings.Join(text, "\n")
		for _, want := range []string{"relabelled: carries tenantctl.io/tenant=globex", "t-globex/from-own-namespaces", "t-acme/egress-all"} {
			if !strings.Contains(joined, want) {
				t.Errorf("evidence lacks %q:\n%s", want, joined)
			}
		}
		return
	}
	t.Fatalf("no edge acme→globex in %v", edges(g))
}
