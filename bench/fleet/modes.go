package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// phase is one timed operation.
type phase struct {
	Wall   time.Duration
	CPU    time.Duration
	Stacks int
}

// modeResult is one mode's run at one fleet size.
type modeResult struct {
	Mode string
	// Stacks is the number of stacks the mode covers (the platform and every tenant); Ran is how
	// many it actually ran when sampled (equal otherwise).
	Stacks, Ran int
	// Wall is measured; FleetWall is the wall time for every stack (Wall scaled by Stacks/Ran when
	// sampled, equal to Wall otherwise).
	Wall, FleetWall time.Duration
	CPU             time.Duration
	PeakRSS         int64
	ExitCode        int
	// Flagged are the tenants the mode reports something for: (a) stacks whose preview was not
	// clean, (b) and (c) tenants with findings.
	Flagged []string
	// Fingerprints are the findings of (b) and (c) as "tenant fingerprint"; Kinds counts them by
	// kind.
	Fingerprints []string
	Kinds        map[string]int
	// Sample is the set of tenants a sampled run covered (nil: all).
	Sample []string

	// DataFingerprints are the findings on the data layer (provider postgresql) among
	// Fingerprints; DataKinds counts them by kind.
	DataFingerprints []string
	DataKinds        map[string]int
	// Runs are the wall times of each repetition of (d); Wall is their median.
	Runs []time.Duration

	// Provisioning modes: the stacks the up ran (sorted), why they ran, the resources it
	// created, and whether it ran what it must (nil: it did).
	RanStacks []string
	Reasons   map[string]int
	Created   int
	Expect    error
}

func (m *modeResult) sampled() bool { return m.Ran < m.Stacks }

// runMode runs one mode against the fleet of n tenants and measures it.
func runMode(ctx context.Context, mode string, w work, tc toolchain.Toolchain, o options, svc services, n int) (*modeResult, error) {
	r := &modeResult{Mode: mode, Stacks: n + 1, Ran: n + 1}
	switch mode {
	case "cold", "noop", "one", "force":
		return r, runUp(ctx, r, w, o, svc, n)
	case "a":
		return r, runBaseline(ctx, r, w, tc, o, n)
	case "b":
		return r, runCheck(ctx, r, w, o, svc, n, true)
	case "c":
		return r, runCheck(ctx, r, w, o, svc, n, false)
	case "d":
		return r, runCatalogPass(ctx, r, w, svc)
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// sample picks k tenant indices of 1..n spread evenly, always with the drifted tenants 1 and 2;
// k <= 0 or k >= n means all.
func sample(n, k int) []int {
	if k <= 0 || k >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	set := map[int]bool{1: true, 2: true}
	for j := 0; len(set) < k; j++ {
		set[1+j*n/k] = true
		if j > n {
			break
		}
	}
	out := make([]int, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

func tenantStacks(idx []int) (ids, stackNames []string) {
	for _, i := range idx {
		id := benchkit.TenantID(i)
		ids = append(ids, id)
		stackNames = append(stackNames, tenantplan.TenantStackName(id, "dev"))
	}
	return ids, stackNames
}

// runBaseline runs the shell loop over the platform stack and the (sampled) tenant stacks.
func runBaseline(ctx context.Context, r *modeResult, w work, tc toolchain.Toolchain, o options, n int) error {
	idx := sample(n, o.baselineSample)
	ids, names := tenantStacks(idx)
	if len(idx) < n {
		r.Sample = ids
	}
	list := append([]string{tenantplan.PlatformStackName("dev")}, names...)
	r.Ran = len(list)
	listFile := filepath.Join(w.baseline(), "stacks.txt")
	if err := os.WriteFile(listFile, []byte(strings.Join(list, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(w.baseline(), "loop.sh"), listFile)
	cmd.Env = baselineEnv(w, tc, o)
	if err := measure(r, cmd); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(w.baseline(), "flagged.txt"))
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(string(b)) {
		id, err := tenantplan.ParseStackName(s)
		if err != nil {
			return err
		}
		if id.Kind == tenantplan.StackPlatform {
			return fmt.Errorf("the platform stack's preview was not clean: see %s", filepath.Join(w.baseline(), "logs", s+".log"))
		}
		r.Flagged = append(r.Flagged, id.TenantID)
	}
	return nil
}

// runCheck runs tenantctl drift check, the engine-only (slow) path or the default fast path.
func runCheck(ctx context.Context, r *modeResult, w work, o options, svc services, n int, engineOnly bool) error {
	out := filepath.Join(w.reports(), fmt.Sprintf("%s-%d.json", r.Mode, n))
	args := append([]string{"drift", "check"}, engineArgs(w, o, svc, "audit-drift.jsonl")...)
	args = append(args, "-o", "json", "--out", out)
	if engineOnly {
		args = append(args, "--engine-only", "--parallel", strconv.Itoa(o.parallel))
		if idx := sample(n, o.engineSample); len(idx) < n {
			ids, _ := tenantStacks(idx)
			r.Sample, r.Ran = ids, len(ids)
			for _, id := range ids {
				args = append(args, "--tenant", id)
			}
		}
	}
	cmd := exec.CommandContext(ctx, o.tenantctl, args...)
	cmd.Env = os.Environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := measure(r, cmd); err != nil {
		return err
	}
	// Its progress says what the engine previewed and why: kept beside the report.
	if err := os.WriteFile(strings.TrimSuffix(out, ".json")+".log", []byte(stderr.String()), 0o600); err != nil {
		return err
	}
	// 0: clean, 2: findings; anything else is a failed check.
	if r.ExitCode != 0 && r.ExitCode != 2 {
		return fmt.Errorf("tenantctl %s: exit %d: %s", strings.Join(args[:2], " "), r.ExitCode, lastLines(stderr.String(), 20))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%s: %d errors, first: %+v", out, len(rep.Errors), rep.Errors[0])
	}
	r.Kinds, r.DataKinds = map[string]int{}, map[string]int{}
	flagged := map[string]bool{}
	for _, f := range rep.Findings {
		fp := f.TenantID + " " + f.Fingerprint()
		r.Fingerprints = append(r.Fingerprints, fp)
		r.Kinds[string(f.Kind)]++
		if f.Resource.Provider == finding.ProviderPostgreSQL {
			r.DataFingerprints = append(r.DataFingerprints, fp)
			r.DataKinds[string(f.Kind)]++
		}
		flagged[f.TenantID] = true
	}
	slices.Sort(r.Fingerprints)
	slices.Sort(r.DataFingerprints)
	for t := range flagged {
		r.Flagged = append(r.Flagged, t)
	}
	slices.Sort(r.Flagged)
	return nil
}

// measure runs cmd and records its wall time, the CPU time of its process tree and the peak
// resident memory of that tree (sampled every 100 ms). A non-zero exit is recorded, not returned.
func measure(r *modeResult, cmd *exec.Cmd) error {
	var pid atomic.Int64
	rss := benchkit.StartTreeSampler(100*time.Millisecond, func() int { return int(pid.Load()) })
	cpu0 := benchkit.ChildrenCPUTime()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		rss.Stop()
		return err
	}
	pid.Store(int64(cmd.Process.Pid))
	err := cmd.Wait()
	r.Wall = time.Since(start)
	r.PeakRSS = rss.Stop()
	r.CPU = benchkit.ChildrenCPUTime() - cpu0
	r.FleetWall = r.Wall
	if r.Ran > 0 && r.Ran < r.Stacks {
		r.FleetWall = time.Duration(float64(r.Wall) * float64(r.Stacks) / float64(r.Ran))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.ExitCode = exit.ExitCode()
		return nil
	}
	return err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
