package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
)

// sizeResult is everything measured at one fleet size.
type sizeResult struct {
	N         int
	Provision phase // zero when the fleet already had this size
	Modes     map[string]*modeResult
	Agreement agreement
}

// agreement is how the modes' findings compare.
type agreement struct {
	// EngineFast: (b) and (c) found the same findings (on (b)'s sample when sampled).
	EngineFast string
	// BaselineFast: the tenants (a) flagged, against those (c) flagged.
	BaselineFast string
	Err          error
}

type environment struct {
	Machine, Load, LoadAfter string
}

// compare checks (b) against (c) finding by finding, and (a)'s flagged tenants against (c)'s. (a)
// sees only what a preview of the stack's own resources shows, so tenants flagged by (c) for
// unmanaged objects, cross-tenant routes or images alone are expected to be missing from (a);
// anything (a) flags that (c) does not is a disagreement.
func compare(modes map[string]*modeResult) agreement {
	var ag agreement
	c := modes["c"]
	if c == nil {
		return ag
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
	"a": "(a) shell loop of `pulumi preview --refresh --expect-no-changes`",
	"b": "(b) `tenantctl drift check --engine-only --parallel 2`",
	"c": "(c) `tenantctl drift check` (fast path)",
}

// writeTable prints one row per size and mode, with the ratios against (c).
func writeTable(out io.Writer, env environment, results []sizeResult) {
	fmt.Fprintf(out, "machine: %s; load average before %s, after %s\n\n", env.Machine, env.Load, env.LoadAfter)
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
	for _, res := range results {
		if res.Agreement.EngineFast != "" {
			fmt.Fprintf(out, "- N=%d: (b) vs (c): %s\n", res.N, res.Agreement.EngineFast)
		}
		if res.Agreement.BaselineFast != "" {
			fmt.Fprintf(out, "- N=%d: %s\n", res.N, res.Agreement.BaselineFast)
		}
		if c := res.Modes["c"]; c != nil {
			fmt.Fprintf(out, "- N=%d: (c) findings by kind: %v\n", res.N, c.Kinds)
		}
		if res.Provision.Stacks > 0 {
			fmt.Fprintf(out, "- N=%d: provisioning %d stacks with the engine took %s (CPU %s)\n", res.N, res.Provision.Stacks,
				benchkit.Secs(res.Provision.Wall), benchkit.Secs(res.Provision.CPU))
		}
	}
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
