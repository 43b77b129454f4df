package identitybench

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	reachbench "github.com/connectsoft/tenantctl/bench/reach"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
)

// combined is one fleet seen by both planes: the network benchmark's fleet (namespaces,
// policies, pods, silo VNets, the hub) and this benchmark's identity objects for the same tenants
// (ServiceAccounts, Roles, about five bindings per tenant, silo identities, federated
// credentials, role assignments), in one snapshot, as a live read or an export holds them.
type combined struct {
	network  *reachbench.Fleet
	identity *Fleet
	// networkOnly is the network fleet's own snapshot, for the side-by-side run.
	networkOnly, both *inventory.Snapshot
}

func generateCombined(tb testing.TB, n int) *combined {
	tb.Helper()
	nf, err := reachbench.Generate(n)
	if err != nil {
		tb.Fatal(err)
	}
	idf, err := For(nf.Env, nf.Bindings)
	if err != nil {
		tb.Fatal(err)
	}
	type key struct{ apiVersion, kind, ns, name string }
	keyOf := func(u *unstructured.Unstructured) key {
		return key{u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName()}
	}
	have := make(map[key]bool, len(nf.Snapshot.Kubernetes))
	for i := range nf.Snapshot.Kubernetes {
		have[keyOf(&nf.Snapshot.Kubernetes[i])] = true
	}
	both := &inventory.Snapshot{Kubernetes: append([]unstructured.Unstructured(nil), nf.Snapshot.Kubernetes...),
		Azure: append(append([]inventory.AzureResource(nil), nf.Snapshot.Azure...), idf.Snapshot.Azure...)}
	for i := range idf.Snapshot.Kubernetes {
		if u := &idf.Snapshot.Kubernetes[i]; !have[keyOf(u)] { // namespaces are in both
			both.Kubernetes = append(both.Kubernetes, *u)
		}
	}
	return &combined{network: nf, identity: idf, networkOnly: nf.Snapshot, both: both}
}

// split returns the graph's network edges and its identity edges as graphs of their own.
func split(g *graph.Graph) (network, ids *graph.Graph) {
	n, i := *g, *g
	n.Edges, i.Edges = nil, nil
	for _, e := range g.Edges {
		if e.Kind.Identity() {
			i.Edges = append(i.Edges, e)
		} else {
			n.Edges = append(n.Edges, e)
		}
	}
	return &n, &i
}

func (c *combined) analyze(tb testing.TB, snap *inventory.Snapshot) *graph.Graph {
	tb.Helper()
	g, err := reach.Analyze(context.Background(), c.network.Env, c.network.Bindings, snap,
		reach.WithIdentity(identity.WithAzure(azureidentity.WithTrustedIssuers(issuer))))
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// checkBoth verifies one pass found both benchmarks' planted routes and nothing else.
func (c *combined) checkBoth(tb testing.TB, g *graph.Graph) {
	tb.Helper()
	network, ids := split(g)
	reachbench.Check(tb, c.network, network)
	check(tb, c.identity, ids)
}

func benchmarkPass(b *testing.B, n int, withIdentity bool) {
	c := generateCombined(b, n)
	snap, objects := c.networkOnly, c.network.Objects
	if withIdentity {
		snap, objects = c.both, c.network.Objects+c.identity.Objects
	}
	// the other snapshot is not measured: drop it so the fleet's memory is this run's
	c.networkOnly, c.both = nil, nil
	runtime.GC()
	benchkit.MeasureLoop(b, objects, nil, func() {
		g := c.analyze(b, snap)
		if withIdentity {
			c.checkBoth(b, g)
		} else {
			reachbench.Check(b, c.network, g)
		}
	})
}

// BenchmarkPass{Network,Combined}{1k,10k} run one reach.Analyze over the same generated fleet,
// without and with its identity objects, side by side:
// `go test -run '^$' -bench Pass -benchmem ./bench/identity/`.
func BenchmarkPassNetwork1k(b *testing.B)   { benchmarkPass(b, 1_000, false) }
func BenchmarkPassCombined1k(b *testing.B)  { benchmarkPass(b, 1_000, true) }
func BenchmarkPassNetwork10k(b *testing.B)  { benchmarkPass(b, 10_000, false) }
func BenchmarkPassCombined10k(b *testing.B) { benchmarkPass(b, 10_000, true) }

// TestCombinedPassIsExact: one pass over both planes finds each plane's planted routes, at a
// size every test run can afford.
func TestCombinedPassIsExact(t *testing.T) {
	c := generateCombined(t, 1_200)
	c.checkBoth(t, c.analyze(t, c.both))
}

// TestCombinedScale measures, when TENANTCTL_SCALE_CHECK=1, the network-only pass and the
// combined pass over the same 10,000-tenant fleet (best of three each, alternating), and asserts
// the identity plane's share of the combined pass: under 2 s of CPU and 1 GiB more memory in use.
func TestCombinedScale(t *testing.T) {
	if os.Getenv("TENANTCTL_SCALE_CHECK") != "1" {
		t.Skip("set TENANTCTL_SCALE_CHECK=1 to assert the scale targets")
	}
	c := generateCombined(t, 10_000)
	netCPU, netWall, netPeak := benchkit.BestOf(3, func() { reachbench.Check(t, c.network, c.analyze(t, c.networkOnly)) })
	allCPU, allWall, allPeak := benchkit.BestOf(3, func() { c.checkBoth(t, c.analyze(t, c.both)) })
	t.Logf("10k tenants, %d + %d objects: network only %v CPU (%v wall), peak %d MiB; network + identity %v CPU (%v wall), peak %d MiB; "+
		"ratio %.2f CPU, %.2f peak; load %s", c.network.Objects, c.identity.Objects, netCPU, netWall, netPeak>>20, allCPU, allWall, allPeak>>20,
		float64(allCPU)/float64(netCPU), float64(allPeak)/float64(netPeak), benchkit.LoadAverage())
	if extra := allCPU - netCPU; extra > 2*time.Second {
		t.Errorf("the identity plane adds %v of CPU to the pass, target 2s", extra)
	}
	if allPeak > netPeak && allPeak-netPeak > 1<<30 {
		t.Errorf("the identity plane adds %d MiB in use, target 1 GiB", (allPeak-netPeak)>>20)
	}
}
