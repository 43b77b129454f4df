package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
)

// sizeResult is everything measured at one fleet size.
type sizeResult struct {
	N int
	// Provision is the `up --all` that brings a kept fleet (without the cold mode) to this size
	// and commit; zero when the fleet already had both.
	Provision phase
	Modes     map[string]*modeResult
	Agreement agreement
	// DataInjected: drift was put into the data layer too, so (c) must report some, and the data
	// layer's findings of the modes are compared.
	DataInjected bool
	// LoadBefore and LoadAfter are the 1-minute load averages around this size.
	LoadBefore, LoadAfter string
}

// failure is what makes the size fail: a provisioning mode that ran other stacks than it must,
// or modes that disagree.
func (s sizeResult) failure() error {
	var errs []error
	for _, m := range provisioningModes {
		if r := s.Modes[m]; r != nil && r.Expect != nil {
			errs = append(errs, r.Expect)
		}
	}
	return errors.Join(append(errs, s.Agreement.Err)...)
}

// agreement is how the modes' findings compare.
type agreement struct {
	// EngineFast: (b) and (c) found the same findings (on (b)'s sample when sampled).
	EngineFast string
	// BaselineFast: the tenants (a) flagged, against those (c) flagged.
	BaselineFast string
	// DataPlane: the data layer's findings of (b) and (d) against (c)'s.
	DataPlane []string
	Err       error
}

type environment struct {
	Machine, Load, LoadAfter string
	DataLayer                bool
}

// compare checks (b) against (c) finding by finding, and (a)'s flagged tenants against (c)'s. (a)
// sees only what a preview of the stack's own resources shows, so tenants flagged by (c) for
// unmanaged objects, cross-tenant routes or images alone are expected to be missing from (a);
// anything (a) flags that (c) does not is a disagreement.
func compare(modes map[string]*modeResult, dataInjected bool) agreement {
	var ag agreement
	c := modes["c"]
	if c == nil {
		return ag
	}
	// The data layer's findings, side by side: (b) reads the same catalogs as (c) (the engine's
	// own findings cover Kubernetes and Azure resources only), (d) is (c)'s data-plane pass alone.
	if dataInjected && len(c.DataFingerprints) == 0 {
		ag.Err = errors.Join(ag.Err, errors.New("(c) reports none of the data-plane drift injected into the first two tenants"))
	}
	for _, m := range []string{"b", "d"} {
		x := modes[m]
		if x == nil || !dataInjected { // without the data layer there is nothing to compare
			continue
		}
		cf := restrict(c.DataFingerprints, x.Sample)
		if slices.Equal(x.DataFingerprints, cf) {
			ag.DataPlane = append(ag.DataPlane, fmt.Sprintf("(%s) vs (c): identical (%d data-plane findings)", m, len(cf)))
			continue
		}
		ag.DataPlane = append(ag.DataPlane, fmt.Sprintf("(%s) vs (c): DIFFERENT: (%s) %d, (c) %d data-plane findings", m, m, len(x.DataFingerprints), len(cf)))
		ag.Err = errors.Join(ag.Err, fmt.Errorf("(%s) and (c) disagree on the data plane: only (%s): %v; only (c): %v", m, m, minus(x.DataFingerprints, cf), minus(cf, x.DataFingerprints)))
	}
	if b := modes["b"]; b != nil {
		cf := restrict(c.Fingerprints, b.Sample)
		if slices.Equal(b.Fingerprints, cf) {
			ag.EngineFast = fmt.Sprintf("identical (%d findings)", len(cf))
		} else {
			ag.EngineFast = fmt.Sprintf("DIFFERENT: (b) %d, (c) %d findings", len(b.Fingerprints), len(cf))
			ag.Err = errors.Join(ag.Err, fmt.Errorf("(b) and (c) disagree: only (b): %v; only (c): %v", minus(b.Fingerprints, cf), minus(cf, b.Fingerprints)))
		}
	}
	if a := modes["a"]; a != nil {
		cflag := restrict(c.Flagged, a.Sample)
		extra := minus(a.Flagged, cflag)
		missed := minus(cflag, a.Flagged)
		ag.BaselineFast = fmt.Sprintf("(a) flags %v; (c) flags %v", a.Flagged, cflag)
		if len(missed) > 0 {
			ag.BaselineFast += fmt.Sprintf("; (a) cannot see %v (unmanaged objects, routes, images)", missed)
		}
		if len(extra) > 0 {
			ag.Err = errors.Join(ag.Err, fmt.Errorf("(a) flags %v, which (c) does not", extra))
		}
	}
	return ag
}

// restrict keeps the entries ("tenant" or "tenant fingerprint") of the sampled tenants; a nil
// sample keeps everything.
func restrict(entries, sample []string) []string {
	if sample == nil {
		return slices.Clone(entries)
	}
	var out []string
	for _, e := range entries {
		tenant, _, _ := strings.Cut(e, " ")
		if slices.Contains(sample, tenant) {
			out = append(out, e)
		}
	}
	return out
}

// minus is the entries of a missing from b (both sorted or not; small sets).
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

var modeNames = map[string]string{
	"cold":  "cold `tenantctl up --all` (nothing exists yet)",
	"noop":  "`up --all` after a commit no stack reads (README)",
	"one":   "`up --all` after a commit changing one tenant's quota",
	"force": "`up --all --force` (full engine)",
	"a":     "(a) shell loop of `pulumi preview --refresh --expect-no-changes`",
	"b":     "(b) `tenantctl drift check --engine-only --parallel 2`",
	"c":     "(c) `tenantctl drift check` (fast path)",
	"d":     "(d) data-plane catalog pass alone (in-process, median of 3)",
}

// goal is a target of the issues, printed next to the figure it judges.
type goal struct {
	text string
	// atN is the fleet size the goal is set for; 0: every size.
	atN int
	met func(v float64) bool
}

// cell says the goal and, at the size it is set for, whether v meets it.
func (g goal) cell(n int, v float64) string {
	at := ""
	if g.atN != 0 {
		at = fmt.Sprintf(" at N = %d", g.atN)
		if n != g.atN {
			return g.text + at
		}
	}
	verdict := "met"
	if !g.met(v) {
		verdict = "NOT met"
	}
	return g.text + at + ": " + verdict
}

var (
	// Issue 17.
	goalCPUPerNewStack = goal{"≤ 1.5 CPU-s per new stack", 0, func(v float64) bool { return v <= 1.5 }}
	goalNoop           = goal{"< 10 s", 1000, func(v float64) bool { return v < 10 }}
	goalOneChanged     = goal{"< 15 s", 1000, func(v float64) bool { return v < 15 }}
	// Issue 13.
	goalDataRatio = goal{"(b) > 100× this", 1000, func(v float64) bool { return v > 100 }}
	goalDataPass  = goal{"< 1 s", 1000, func(v float64) bool { return v < 1 }}
)

// writeTable prints the provisioning table, the drift table and the data-plane table (each when
// its modes ran), then the notes: agreement, findings by kind, load averages.
func writeTable(out io.Writer, env environment, results []sizeResult) {
	layer := "off (Kubernetes layers only)"
	if env.DataLayer {
		layer = "on (every pool tenant also has its schema and roles on the local PostgreSQL server)"
	}
	fmt.Fprintf(out, "machine: %s; load average before %s, after %s; data layer: %s\n\n", env.Machine, env.Load, env.LoadAfter, layer)
	if ran(results, provisioningModes...) {
		writeProvisioningTable(out, results)
	}
	if ran(results, "a", "b", "c") {
		writeDriftTable(out, results)
	}
	if env.DataLayer && ran(results, "b", "c", "d") {
		writeDataPlaneTable(out, results)
	}
	for _, res := range results {
		fmt.Fprintf(out, "- N=%d: load average (1 min) before %s, after %s\n", res.N, res.LoadBefore, res.LoadAfter)
		if res.Agreement.EngineFast != "" {
			fmt.Fprintf(out, "- N=%d: (b) vs (c): %s\n", res.N, res.Agreement.EngineFast)
		}
		for _, l := range res.Agreement.DataPlane {
			fmt.Fprintf(out, "- N=%d: data plane %s\n", res.N, l)
		}
		if res.Agreement.BaselineFast != "" {
			fmt.Fprintf(out, "- N=%d: %s\n", res.N, res.Agreement.BaselineFast)
		}
		if c := res.Modes["c"]; c != nil {
			data := ""
			if env.DataLayer {
				data = fmt.Sprintf("; on the data plane: %v", c.DataKinds)
			}
			fmt.Fprintf(out, "- N=%d: (c) findings by kind: %v%s\n", res.N, c.Kinds, data)
		}
		if d := res.Modes["d"]; d != nil {
			runs := make([]string, len(d.Runs))
			for i, r := range d.Runs {
				runs[i] = fmt.Sprintf("%.2f s", r.Seconds())
			}
			fmt.Fprintf(out, "- N=%d: (d) runs %s\n", res.N, strings.Join(runs, ", "))
		}
		if f, noop := res.Modes["force"], res.Modes["noop"]; f != nil && noop != nil && noop.Wall > 0 {
			fmt.Fprintf(out, "- N=%d: the digest path's no-op is %.0f× faster than the full engine's\n", res.N, f.FleetWall.Seconds()/noop.Wall.Seconds())
		}
		for _, m := range provisioningModes {
			if r := res.Modes[m]; r != nil && r.Expect != nil {
				fmt.Fprintf(out, "- N=%d: WRONG STACKS: %v\n", res.N, r.Expect)
			}
		}
		if res.Provision.Stacks > 0 {
			fmt.Fprintf(out, "- N=%d: `up --all` of the kept fleet ran %d stacks in %s (CPU %s)\n", res.N, res.Provision.Stacks,
				benchkit.Secs(res.Provision.Wall), benchkit.Secs(res.Provision.CPU))
		}
	}
	if ran(results, "cold") {
		fmt.Fprintln(out, "- CPU per stack and the 1→2 worker ratio at N = 12 (goal ≥ 1.7×): bin/bench-provision-12.md (`go run ./bench/provision -n 12 -parallel 1,2`), written by `make bench-fleet`")
	}
}

// ran reports whether any size ran one of modes.
func ran(results []sizeResult, modes ...string) bool {
	for _, res := range results {
		for _, m := range modes {
			if res.Modes[m] != nil {
				return true
			}
		}
	}
	return false
}

// writeProvisioningTable prints one row per size and provisioning mode (issue 17).
func writeProvisioningTable(out io.Writer, results []sizeResult) {
	fmt.Fprintln(out, "| N | run | stacks run | why they ran | wall | CPU | CPU per stack run | resources created | goal |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, res := range results {
		for _, m := range provisioningModes {
			r := res.Modes[m]
			if r == nil {
				continue
			}
			wall := benchkit.Secs(r.Wall)
			if r.Sample != nil { // a sampled force run; the others ran what they had to
				wall = fmt.Sprintf("%s (measured %s on %d)", benchkit.Secs(r.FleetWall), benchkit.Secs(r.Wall), r.Ran)
			}
			perStack := "—"
			if r.Ran > 0 {
				perStack = fmt.Sprintf("%.2f s", r.CPU.Seconds()/float64(r.Ran))
			}
			g := "—"
			switch m {
			case "cold":
				if r.Ran > 0 {
					g = goalCPUPerNewStack.cell(res.N, r.CPU.Seconds()/float64(r.Ran))
				}
			case "noop":
				g = goalNoop.cell(res.N, r.Wall.Seconds())
			case "one":
				g = goalOneChanged.cell(res.N, r.Wall.Seconds())
			}
			fmt.Fprintf(out, "| %d | %s | %d of %d | %s | %s | %s | %s | %d | %s |\n", res.N, modeNames[m], r.Ran, r.Stacks, reasons(r.Reasons),
				wall, benchkit.Secs(r.CPU), perStack, r.Created, g)
		}
	}
	fmt.Fprintln(out)
}

// reasons formats why stacks ran, most frequent first.
func reasons(by map[string]int) string {
	if len(by) == 0 {
		return "—"
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if by[a] != by[b] {
			return by[b] - by[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, by[k])
	}
	return strings.Join(parts, "; ")
}

// writeDriftTable prints one row per size and drift mode, with the ratios against (c).
func writeDriftTable(out io.Writer, results []sizeResult) {
	fmt.Fprintln(out, "| N | mode | stacks run | wall | CPU | peak RSS | tenants flagged | findings | wall / (c) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, res := range results {
		c := res.Modes["c"]
		for _, m := range []string{"a", "b", "c"} {
			r := res.Modes[m]
			if r == nil {
				continue
			}
			wall, ran := benchkit.Secs(r.Wall), fmt.Sprint(r.Ran)
			if r.sampled() {
				wall = fmt.Sprintf("%s (measured %s on %d)", benchkit.Secs(r.FleetWall), benchkit.Secs(r.Wall), r.Ran)
				ran = fmt.Sprintf("%d of %d", r.Ran, r.Stacks)
			}
			ratio := "—"
			if c != nil && m != "c" {
				ratio = fmt.Sprintf("%.1f", r.FleetWall.Seconds()/c.Wall.Seconds())
			}
			findings := "—"
			if m != "a" {
				findings = fmt.Sprint(len(r.Fingerprints))
			}
			fmt.Fprintf(out, "| %d | %s | %s | %s | %s | %s | %d | %s | %s |\n", res.N, modeNames[m], ran, wall,
				benchkit.Secs(r.CPU), benchkit.MiB(r.PeakRSS), len(r.Flagged), findings, ratio)
		}
	}
	fmt.Fprintln(out)
}

// dataPlaneRows name the data-plane table's rows: the CLI offers no check of the data plane
// alone, so (c) is the whole fast path, and (d) the same pass timed in-process.
var dataPlaneRows = map[string]string{
	"b": "(b) `drift check --engine-only` (preview --refresh per stack, catalog pass included)",
	"c": "(c) `drift check` fast path, whole run (Kubernetes and data plane: no flag restricts it to the data plane)",
	"d": "(d) the data-plane catalog pass alone (pgcatalog.ReadServer + PlanData + pgdrift.Compare, in-process, median of 3)",
}

// writeDataPlaneTable prints (b), (c) and (d) with the data layer's findings and how much faster
// (c) and (d) are than (b) (issue 13).
func writeDataPlaneTable(out io.Writer, results []sizeResult) {
	fmt.Fprintln(out, "| N | check | wall | CPU | data-plane findings | (b) / this | goal |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, res := range results {
		b := res.Modes["b"]
		for _, m := range []string{"b", "c", "d"} {
			r := res.Modes[m]
			if r == nil {
				continue
			}
			wall := fineSecs(r.Wall)
			if r.sampled() {
				wall = fmt.Sprintf("%s (measured %s on %d)", benchkit.Secs(r.FleetWall), benchkit.Secs(r.Wall), r.Ran)
			}
			ratio, g := "—", "—"
			if b != nil && m != "b" && r.Wall > 0 {
				v := b.FleetWall.Seconds() / r.Wall.Seconds()
				ratio = fmt.Sprintf("%.1f", v)
				g = goalDataRatio.cell(res.N, v)
			}
			if m == "d" {
				g = strings.TrimPrefix(g+"; ", "—; ") + goalDataPass.cell(res.N, r.Wall.Seconds())
			}
			fmt.Fprintf(out, "| %d | %s | %s | %s | %d | %s | %s |\n", res.N, dataPlaneRows[m], wall, fineSecs(r.CPU), len(r.DataFingerprints), ratio, g)
		}
	}
	fmt.Fprintln(out)
}

func writeReport(path string, env environment, results []sizeResult) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	writeTable(f, env, results)
	return f.Close()
}

func printReport(env environment, results []sizeResult) { writeTable(os.Stdout, env, results) }

// fineSecs is benchkit.Secs with two decimals under a second, where the data plane's pass lies.
func fineSecs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return benchkit.Secs(d)
}
