// Command fleet benchmarks provisioning and drift detection over a fleet of N pool-tier tenants
// on a local cluster and PostgreSQL server, and checks that the modes agree.
//
// Provisioning (issue 17), with the tenantctl binary and its JSON summary (-o json):
//
//	cold:  `tenantctl up --all` on a fresh cluster, PostgreSQL server and state backend: every
//	       stack is new;
//	noop:  `up --all` after a Git commit that changes nothing a stack reads (a README): the
//	       inputs digests match, so it must run 0 stacks;
//	one:   `up --all` after a commit that changes one tenant's quota: it must run exactly that
//	       stack;
//	force: `up --all --force`, the full-engine path (every stack through the pulumi CLI), or on
//	       -force-sample evenly spread stacks, scaled to the fleet.
//
// Drift (issues 13 and 17), after injecting drift into the first two tenants:
//
//	(a) baseline: a shell loop of `pulumi preview --refresh --expect-no-changes`, one stack at a
//	    time, with the same pulumi CLI, provider plugins and state, running the project's own
//	    program (Pulumi.yaml main, prebuilt) — what a user writes without tenantctl;
//	(b) `tenantctl drift check --engine-only --parallel P` (a preview --refresh per stack);
//	(c) `tenantctl drift check` (the fast path: stack exports, one LIST per type, one catalog read
//	    per database of the data layer, engine only where something was found);
//	(d) the data plane's catalog pass alone, in this process, with the functions drift check runs
//	    (pgcatalog.ReadServer, tenantplan.PlanData, pgdrift.Compare): the CLI has no flag that
//	    restricts a check to the data plane and its report carries no timing.
//
// With the cold mode every size gets a fresh fleet (cluster, PostgreSQL, state, desired-state
// repository), so cold means cold. Without it the fleet is provisioned once (`tenantctl up --all`)
// and grows from one size to the next; the work folder keeps it, with its detached cluster and
// server, so a second run with -keep reuses them.
//
//	make bench-fleet                                  # N = 50, 200, 1000, every mode
//	go run ./bench/fleet -n 3,6                       # a small check of every mode
//	go run ./bench/fleet -n 50,200 -modes a,b,c -keep # drift only, on a kept fleet
//
// It is a benchmark, not a test: it fails when a mode errors, when the digest path runs other
// stacks than it must, or when the modes' findings disagree, and prints Markdown tables (also
// written to -out).
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
	forceSample    int
	modes          []string
	dataLayer      bool
	out            string
	keep           bool
	provisionOnly  bool
}

// has reports whether mode m is to run.
func (o options) has(m string) bool { return slices.Contains(o.modes, m) }

// cold: every size gets a fresh fleet, provisioned by `tenantctl up --all`.
func (o options) cold() bool { return o.has("cold") }

func main() {
	var o options
	sizes := flag.String("n", "50,200,1000", "fleet sizes (pool tenants), ascending; with cold each size is a fresh fleet, otherwise the fleet grows from one to the next")
	flag.StringVar(&o.work, "work", "bin/bench-fleet-work", "work folder: local cluster, state, workspaces, reports (kept for reuse with -keep)")
	flag.StringVar(&o.examples, "examples", "examples/tenants", "desired-state folder whose environments/dev.yaml the tenants join")
	flag.StringVar(&o.tenantctl, "tenantctl", "bin/tenantctl", "tenantctl binary for provisioning (cold, noop, one, force), (b) and (c)")
	flag.StringVar(&o.program, "program", "bin/tenantctl-program", "prebuilt project program (cmd/tenantctl-program) for the baseline")
	flag.StringVar(&o.langHost, "language-host", "bin/pulumi-language-go", "Go language host for the baseline (cmd/pulumi-language-go)")
	flag.IntVar(&o.parallel, "parallel", 2, "--parallel of provisioning and of (b)")
	flag.IntVar(&o.baselineSample, "baseline-sample", 0, "run (a) on this many evenly spread tenant stacks (plus the drifted ones) and scale its wall time to the fleet; 0 = every stack")
	flag.IntVar(&o.engineSample, "engine-sample", 0, "same for (b); 0 = every stack")
	flag.IntVar(&o.forceSample, "force-sample", 0, "run `up --force` on this many evenly spread tenant stacks (and the platform) and scale its wall time to the fleet; 0 = `up --all --force`")
	modes := flag.String("modes", strings.Join(allModes, ","), "modes to run: cold,noop,one,force (provisioning; noop, one and force need cold), a,b,c (drift), d (data-plane catalog pass; needs -data-layer)")
	flag.BoolVar(&o.dataLayer, "data-layer", true, "keep the example environment's PostgreSQL data layer: every pool tenant also gets its schema and roles on a local PostgreSQL server, and drift is injected there too")
	flag.StringVar(&o.out, "out", "bin/bench-fleet.md", "also write the tables here")
	flag.BoolVar(&o.keep, "keep", false, "leave the local cluster running and the fleet in place for the next run")
	flag.BoolVar(&o.provisionOnly, "provision-only", false, "grow the kept fleet to the largest size and stop (implies -keep; the provisioning modes are left out): provision ahead of a measured run")
	flag.Parse()
	var err error
	o.sizes, err = parseSizes(*sizes)
	if err == nil {
		o.modes, err = parseModes(*modes, o.dataLayer)
	}
	if o.provisionOnly {
		// It prepares the kept, grown fleet the drift modes reuse; the provisioning modes start
		// every size from nothing, so they have no part in it.
		o.modes = slices.DeleteFunc(o.modes, func(m string) bool { return slices.Contains(provisioningModes, m) })
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

// allModes are every mode in the order they run at each size: provisioning first (each needs
// the fleet the one before left), then drift.
var allModes = []string{"cold", "noop", "one", "force", "a", "b", "c", "d"}

// provisioningModes and driftModes split allModes.
var (
	provisioningModes = []string{"cold", "noop", "one", "force"}
	driftModes        = []string{"a", "b", "c", "d"}
)

// parseModes checks a -modes list and returns it in run order.
func parseModes(s string, dataLayer bool) ([]string, error) {
	var in []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(allModes, m) {
			return nil, fmt.Errorf("-modes %q: %q is not one of %s", s, m, strings.Join(allModes, ","))
		}
		in = append(in, m)
	}
	var out []string
	for _, m := range allModes {
		if slices.Contains(in, m) {
			out = append(out, m)
		}
	}
	for _, m := range []string{"noop", "one", "force"} {
		if slices.Contains(out, m) && !slices.Contains(out, "cold") {
			return nil, fmt.Errorf("-modes %q: %s runs on the fleet cold provisions; add cold", s, m)
		}
	}
	if slices.Contains(out, "d") && !dataLayer {
		return nil, fmt.Errorf("-modes %q: d reads the data layer, which -data-layer=false leaves out", s)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench-fleet %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
