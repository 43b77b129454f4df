package reachbench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/isolation/reach"
)

func benchmarkAnalyze(b *testing.B, n int) {
	f, err := Generate(n)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	benchkit.MeasureLoop(b, f.Objects, nil, func() {
		g, err := reach.Analyze(ctx, f.Env, f.Bindings, f.Snapshot)
		if err != nil {
			b.Fatal(err)
		}
		Check(b, f, g)
	})
}

// BenchmarkAnalyze1k and BenchmarkAnalyze10k analyse generated fleets of 1,000 and 10,000
// tenants (about ten network objects each): `go test -bench . ./bench/reach/ -benchmem`.
func BenchmarkAnalyze1k(b *testing.B)  { benchmarkAnalyze(b, 1_000) }
func BenchmarkAnalyze10k(b *testing.B) { benchmarkAnalyze(b, 10_000) }

// TestGeneratedFleetIsAnalysedExactly keeps the generator and the analysis honest at a size
// every test run can afford: the planted routes, and nothing else, are found.
func TestGeneratedFleetIsAnalysedExactly(t *testing.T) {
	f, err := Generate(600)
	if err != nil {
		t.Fatal(err)
	}
	if f.Planted == 0 || f.Objects < 5_000 {
		t.Fatalf("fleet of 600 tenants has %d objects and %d planted routes", f.Objects, f.Planted)
	}
	g, err := reach.Analyze(context.Background(), f.Env, f.Bindings, f.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	Check(t, f, g)
}

// TestScale asserts the targets when TENANTCTL_SCALE_CHECK=1: 10,000 tenants analysed in
// under 2 s and 1 GiB, cost near-linear from 1,000. Time is taken as the process's CPU time (best
// of three): work that needs under 2 s of CPU finishes in under 2 s of wall time on this 2-core
// machine when it is idle, and CPU time, unlike wall time, does not grow when other builds share
// the machine. Wall time is logged beside it.
func TestScale(t *testing.T) {
	if os.Getenv("TENANTCTL_SCALE_CHECK") != "1" {
		t.Skip("set TENANTCTL_SCALE_CHECK=1 to assert the scale targets")
	}
	best := func(n int) (time.Duration, time.Duration, uint64) {
		f, err := Generate(n)
		if err != nil {
			t.Fatal(err)
		}
		return benchkit.BestOf(3, func() {
			g, err := reach.Analyze(context.Background(), f.Env, f.Bindings, f.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			Check(t, f, g)
		})
	}
	smallCPU, smallWall, _ := best(1_000)
	largeCPU, largeWall, peak := best(10_000)
	ratio := float64(largeCPU) / float64(smallCPU)
	t.Logf("1k: %v CPU (%v wall); 10k: %v CPU (%v wall); ratio %.1f; peak in use %d MiB", smallCPU, smallWall, largeCPU, largeWall, ratio, peak>>20)
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
