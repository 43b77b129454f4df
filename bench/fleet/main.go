// Command fleet benchmarks drift detection over a fleet of N pool-tier tenants on the local
// cluster, three ways, and checks that they agree:
//
//	(a) baseline: a shell loop of `pulumi preview --refresh --expect-no-changes`, one stack at a
//	    time, with the same pulumi CLI, provider plugin and state, running the project's own
//	    program (Pulumi.yaml main, prebuilt) — what a user writes without tenantctl;
//	(b) `tenantctl drift check --engine-only --parallel P` (a preview --refresh per stack);
//	(c) `tenantctl drift check` (the fast path: stack exports, one LIST per type, engine only
//	    where something was found).
//
// The fleet is provisioned once with the engine and grows from one size to the next (50, then
// 150 more, then 800 more); the work folder keeps it, with a detached local cluster, so a second
// run with -keep reuses both. Four kinds of drift are injected into the first two tenants (a
// managed field patched, a cross-tenant NetworkPolicy, an unmanaged ConfigMap, an untrusted image)
// so the modes have something to agree on.
//
//	make bench-fleet                        # N = 50, 200, 1000
//	go run ./bench/fleet -n 50,200 -keep    # smaller, and leave the fleet running for a re-run
//
// It is a benchmark, not a test: it fails when a mode errors or when (b) and (c) disagree, and
// prints a Markdown table (also written to -out).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	sizes          []int
	work           string
	examples       string
	tenantctl      string
	program        string
	langHost       string
	parallel       int
	baselineSample int
	engineSample   int
	modes          string
	out            string
	keep           bool
	provisionOnly  bool
}

func main() {
	var o options
	sizes := flag.String("n", "50,200,1000", "fleet sizes (pool tenants), ascending; the fleet grows from one to the next")
	flag.StringVar(&o.work, "work", "bin/bench-fleet-work", "work folder: local cluster, state, workspaces, reports (kept for reuse with -keep)")
	flag.StringVar(&o.examples, "examples", "examples/tenants", "desired-state folder whose environments/dev.yaml the tenants join")
	flag.StringVar(&o.tenantctl, "tenantctl", "bin/tenantctl", "tenantctl binary for (b) and (c)")
	flag.StringVar(&o.program, "program", "bin/tenantctl-program", "prebuilt project program (cmd/tenantctl-program) for the baseline")
	flag.StringVar(&o.langHost, "language-host", "bin/pulumi-language-go", "Go language host for the baseline (cmd/pulumi-language-go)")
	flag.IntVar(&o.parallel, "parallel", 2, "--parallel of (b) and of provisioning")
	flag.IntVar(&o.baselineSample, "baseline-sample", 0, "run (a) on this many evenly spread tenant stacks (plus the drifted ones) and scale its wall time to the fleet; 0 = every stack")
	flag.IntVar(&o.engineSample, "engine-sample", 0, "same for (b); 0 = every stack")
	flag.StringVar(&o.modes, "modes", "a,b,c", "modes to run")
	flag.StringVar(&o.out, "out", "bin/bench-fleet.md", "also write the table here")
	flag.BoolVar(&o.keep, "keep", false, "leave the local cluster running and the fleet in place for the next run")
	flag.BoolVar(&o.provisionOnly, "provision-only", false, "grow the kept fleet to the largest size and stop (implies -keep): provision ahead of a measured run")
	flag.Parse()
	var err error
	o.sizes, err = parseSizes(*sizes)
	if err == nil {
		err = checkModes(o.modes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/fleet:", err)
		os.Exit(3)
	}
	if o.provisionOnly {
		o.keep, o.sizes = true, o.sizes[len(o.sizes)-1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/fleet:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("-n %q: want ascending fleet sizes of at least 2, separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func checkModes(s string) error {
	for _, m := range strings.Split(s, ",") {
		if !slices.Contains([]string{"a", "b", "c"}, m) {
			return fmt.Errorf("-modes %q: want a subset of a,b,c", s)
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench-fleet %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
