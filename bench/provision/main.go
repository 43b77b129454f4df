// Command provision benchmarks provisioning: N generated pool-tier tenants (and their environment's
// platform stack) are brought up and destroyed on a fresh local cluster with the real engine
// through automation/fleet, once per parallelism setting, and the wall times are compared.
//
//	go run ./bench/provision -n 6 -parallel 1,2
//
// It is a benchmark, not a test: it asserts only that every stack succeeded, and prints a Markdown
// table for docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func main() {
	n := flag.Int("n", 6, "number of pool tenants to provision")
	parallels := flag.String("parallel", "1,2", "comma-separated --parallel settings to compare; the first is the baseline")
	runs := flag.Int("runs", 1, "runs per setting; the table shows the median (settings alternate order between runs)")
	examples := flag.String("examples", "examples/tenants", "desired-state folder whose environments/dev.yaml the tenants join")
	flag.Parse()
	ps, err := parseParallels(*parallels)
	if err == nil && (*n < 1 || *runs < 1) {
		err = fmt.Errorf("-n and -runs must be at least 1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/provision:", err)
		os.Exit(3)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *examples, *n, ps, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/provision:", err)
		os.Exit(1)
	}
}

func parseParallels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 1 || slices.Contains(out, p) {
			return nil, fmt.Errorf("-parallel %q: want distinct positive integers separated by commas", s)
		}
		out = append(out, p)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("-parallel %q: want at least two settings to compare", s)
	}
	return out, nil
}

func run(ctx context.Context, w io.Writer, examples string, n int, parallels []int, runs int) error {
	tc := toolchain.Default()
	if err := tc.CheckEngine(); err != nil {
		return err
	}
	if err := tc.CheckCluster(); err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	loadBefore := benchkit.LoadAverage()
	byParallel := map[int][]measurement{}
	for r := 0; r < runs; r++ {
		order := slices.Clone(parallels)
		if r%2 == 1 { // alternate, so warm caches do not always favour the same setting
			slices.Reverse(order)
		}
		for _, p := range order {
			m, err := measure(ctx, tc, examples, n, p, logf)
			if err != nil {
				return fmt.Errorf("n=%d parallel=%d: %w", n, p, err)
			}
			byParallel[p] = append(byParallel[p], m)
		}
	}
	// Other work on the machine takes CPU from the engine; the load average says how much.
	fmt.Fprintf(w, "machine: %d CPUs, %s/%s, %s; load average before %s, after %s; %d run(s) per setting (median; for an even count the faster middle run)\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadBefore, benchkit.LoadAverage(), runs)
	writeTable(w, n, parallels, byParallel)
	writeRuns(w, parallels, byParallel)
	return nil
}

// writeTable prints one row per operation: the baseline setting against each other one.
func writeTable(w io.Writer, n int, parallels []int, byParallel map[int][]measurement) {
	base := parallels[0]
	for _, other := range parallels[1:] {
		fmt.Fprintf(w, "| operation | N | stacks | resources | wall p%[1]d | wall p%[2]d | ratio p%[1]d/p%[2]d | CPU p%[1]d | CPU p%[2]d | CPU/stack p%[1]d | CPU/stack p%[2]d | peak RSS p%[1]d | peak RSS p%[2]d |\n", base, other)
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, op := range []struct {
			name string
			get  func(measurement) phase
		}{
			{"up", func(m measurement) phase { return m.Up }},
			{"destroy", func(m measurement) phase { return m.Destroy }},
		} {
			a, b := median(byParallel[base], op.get), median(byParallel[other], op.get)
			fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |\n", op.name, n, a.Stacks, a.Resources,
				benchkit.Secs(a.Wall), benchkit.Secs(b.Wall), a.Wall.Seconds()/b.Wall.Seconds(), benchkit.Secs(a.CPU), benchkit.Secs(b.CPU),
				cpuPerStack(a), cpuPerStack(b), benchkit.MiB(a.PeakRSS), benchkit.MiB(b.PeakRSS))
		}
		fmt.Fprintln(w)
		if a := median(byParallel[base], func(m measurement) phase { return m.Up }); a.Busy > 0 {
			// Where p_base already keeps a.Busy cores busy (the engine and what serves it: the
			// local control plane, PostgreSQL), more workers can at best use the rest.
			fmt.Fprintf(w, "During up the machine's %d cores were %.2f busy at p%d (the engine with the control plane and PostgreSQL serving it): a CPU-bound p%d is at most %.2fx faster.\n\n",
				numCPU(), a.Busy, base, other, float64(numCPU())/a.Busy)
		}
	}
}

// numCPU is the machine's core count (a variable for the table's tests).
var numCPU = runtime.NumCPU

// cpuPerStack is the CPU an operation spent per stack (the platform stack counts as one): the
// figure the provisioning goal (at most 1.5 CPU-s per new pool-tier stack) is stated in.
func cpuPerStack(p phase) string {
	if p.Stacks == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f s", p.CPU.Seconds()/float64(p.Stacks))
}

// writeRuns lists every run, so the spread behind the medians shows.
func writeRuns(w io.Writer, parallels []int, byParallel map[int][]measurement) {
	fmt.Fprintln(w, "| parallel | run | up wall | destroy wall | up CPU | destroy CPU | up CPU/stack | cores busy during up |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, p := range parallels {
		for i, m := range byParallel[p] {
			fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s | %.2f |\n", p, i+1, benchkit.Secs(m.Up.Wall), benchkit.Secs(m.Destroy.Wall),
				benchkit.Secs(m.Up.CPU), benchkit.Secs(m.Destroy.CPU), cpuPerStack(m.Up), m.Up.Busy)
		}
	}
}

// median picks the run with the median wall time (the lower middle for an even count).
func median(ms []measurement, get func(measurement) phase) phase {
	ps := make([]phase, len(ms))
	for i, m := range ms {
		ps[i] = get(m)
	}
	slices.SortFunc(ps, func(a, b phase) int { return int(a.Wall - b.Wall) })
	return ps[(len(ps)-1)/2]
}
