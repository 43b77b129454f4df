package identitybench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
)

// analyze runs the identity analysis of a fleet as the reachability analysis does: the scope
// from the bindings, then every identity route into a graph.
func analyze(tb testing.TB, f *Fleet) *graph.Graph {
	tb.Helper()
	sc, err := graph.NewScope(f.Env, f.Bindings)
	if err != nil {
		tb.Fatal(err)
	}
	b := graph.NewBuilder(sc)
	if _, err := identity.Analyze(context.Background(), sc, f.Snapshot, b, identity.WithAzure(azureidentity.WithTrustedIssuers(issuer))); err != nil {
		tb.Fatal(err)
	}
	return b.Graph("snapshot")
}

// check verifies the analysis found the planted routes and nothing else: every unexpected edge
// leaves a planted source, each planted pair has one, the escalator reaches every tenant and the
// platform, and nothing is undecided.
func check(tb testing.TB, f *Fleet, g *graph.Graph) {
	tb.Helper()
	found := map[[2]string]bool{}
	escalated := 0
	for _, e := range g.Edges {
		if e.Verdict == graph.VerdictUnknown {
			tb.Fatalf("unknown edge %s → %s %s: %s", e.From, e.To, e.Kind, e.Reason)
		}
		if e.Verdict != graph.VerdictUnexpected {
			continue
		}
		if e.From == f.Escalator {
			if e.Kind == graph.KindIdentityEscalation {
				escalated++
			}
			continue
		}
		if _, ok := f.Planted[e.From]; !ok {
			tb.Fatalf("edge %s → %s %s from a tenant nothing was planted for: %v", e.From, e.To, e.Kind, e.Evidence)
		}
		found[[2]string{e.From, e.To}] = true
	}
	for src, dsts := range f.Planted {
		for _, dst := range dsts {
			if !found[[2]string{src, dst}] {
				tb.Fatalf("planted route %s → %s not found", src, dst)
			}
		}
	}
	if want := len(f.Bindings); escalated != want { // every other tenant and the platform
		tb.Fatalf("escalator reaches %d parties, want %d", escalated, want)
	}
}

func benchmarkAnalyze(b *testing.B, n int) {
	f, err := Generate(n)
	if err != nil {
		b.Fatal(err)
	}
	benchkit.MeasureLoop(b, f.Objects, map[string]float64{"bindings": float64(f.RBACBindings)}, func() { check(b, f, analyze(b, f)) })
}

// BenchmarkIdentity1k and BenchmarkIdentity10k analyse generated fleets of 1,000 and 10,000
// tenants (about five bindings each): `go test -bench . -benchmem ./bench/identity/`.
func BenchmarkIdentity1k(b *testing.B)  { benchmarkAnalyze(b, 1_000) }
func BenchmarkIdentity10k(b *testing.B) { benchmarkAnalyze(b, 10_000) }

// TestGeneratedFleetIsAnalysedExactly keeps the generator and the analysis honest at a size
// every test run can afford.
func TestGeneratedFleetIsAnalysedExactly(t *testing.T) {
	f, err := Generate(2_100)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Planted) < 4 || f.RBACBindings < 4*len(f.Bindings) {
		t.Fatalf("fleet of %d tenants has %d bindings and %d planted sources", len(f.Bindings), f.RBACBindings, len(f.Planted))
	}
	check(t, f, analyze(t, f))
}

// TestScale asserts the targets when TENANTCTL_SCALE_CHECK=1: 10,000 tenants with about five
// bindings each analysed in under 2 s of CPU and 1 GiB, near-linear from 1,000 (best of three;
// CPU time, unlike wall time, does not grow when other work shares the machine).
func TestScale(t *testing.T) {
	if os.Getenv("TENANTCTL_SCALE_CHECK") != "1" {
		t.Skip("set TENANTCTL_SCALE_CHECK=1 to assert the scale targets")
	}
	best := func(n int) (time.Duration, time.Duration, uint64) {
		f, err := Generate(n)
		if err != nil {
			t.Fatal(err)
		}
		return benchkit.BestOf(3, func() { check(t, f, analyze(t, f)) })
	}
	smallCPU, smallWall, _ := best(1_000)
	largeCPU, largeWall, peak := best(10_000)
	ratio := float64(largeCPU) / float64(smallCPU)
	t.Logf("1k: %v CPU (%v wall); 10k: %v CPU (%v wall); ratio %.1f; peak in use %d MiB; load %s", smallCPU, smallWall, largeCPU, largeWall, ratio, peak>>20, benchkit.LoadAverage())
	if largeCPU > 2*time.Second {
		t.Errorf("10k tenants took %v of CPU, target 2s", largeCPU)
	}
	if peak > 1<<30 {
		t.Errorf("peak memory in use %d MiB, target 1 GiB", peak>>20)
	}
	if ratio > 15 {
		t.Errorf("10k/1k cost ratio %.1f is not near-linear", ratio)
	}
}
