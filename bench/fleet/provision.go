package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// opSummary is the part of `tenantctl up -o json` (an OperationResult document) the benchmark
// reads.
type opSummary struct {
	Kind      string     `json:"kind"`
	Operation string     `json:"operation"`
	Commit    string     `json:"commit"`
	ExitCode  int        `json:"exitCode"`
	Ran       int        `json:"ran"`
	Unchanged int        `json:"unchanged"`
	Platform  []opResult `json:"platform"`
	Tenants   []opResult `json:"tenants"`
}

type opResult struct {
	Stack     string         `json:"stack"`
	Changes   map[string]int `json:"changes"`
	Unchanged bool           `json:"unchanged"`
	Skipped   string         `json:"skipped"`
	Reason    string         `json:"reason"`
	Error     string         `json:"error"`
}

// summaryCounts is what one up did, from its summary.
type summaryCounts struct {
	// Stacks are every stack the summary lists; Ran those the engine ran (RanStacks, sorted).
	Stacks, Ran int
	RanStacks   []string
	// Reasons counts why the stacks that ran ran ("never provisioned", "binding changed", ...).
	Reasons map[string]int
	// Created is the resources the run created.
	Created int
}

// parseOpSummary reads an up's JSON summary and checks it is one: the right document, no failed
// or skipped stack, and its own ran count matching the stacks it lists as run.
func parseOpSummary(b []byte) (summaryCounts, error) {
	var s opSummary
	var c summaryCounts
	if err := json.Unmarshal(b, &s); err != nil {
		return c, fmt.Errorf("parse the up summary: %w", err)
	}
	if s.Kind != "OperationResult" || s.Operation != "up" {
		return c, fmt.Errorf("the up summary is a %q document of operation %q, want an OperationResult of up", s.Kind, s.Operation)
	}
	c.Reasons = map[string]int{}
	var failed []string
	for _, r := range append(slices.Clone(s.Platform), s.Tenants...) {
		c.Stacks++
		switch {
		case r.Error != "" || r.Skipped != "":
			failed = append(failed, fmt.Sprintf("%s: %s%s", r.Stack, r.Error, r.Skipped))
		case r.Unchanged:
		default:
			c.Ran++
			c.RanStacks = append(c.RanStacks, r.Stack)
			reason := r.Reason
			if reason == "" {
				// Only an incremental up says why a stack ran; --force skips the digest check.
				reason = "no digest check (--force)"
			}
			c.Reasons[reason]++
			c.Created += r.Changes["create"]
		}
	}
	sort.Strings(c.RanStacks)
	if len(failed) > 0 {
		return c, fmt.Errorf("%d stack(s) did not succeed: %s", len(failed), strings.Join(failed, "; "))
	}
	if s.ExitCode != 0 {
		return c, fmt.Errorf("the up summary says exit code %d", s.ExitCode)
	}
	if c.Ran != s.Ran {
		return c, fmt.Errorf("the up summary counts %d stacks run but lists %d", s.Ran, c.Ran)
	}
	return c, nil
}

// changedTenant is the tenant whose binding the one mode changes: the last one, away from the
// two that drift is injected into.
func changedTenant(n int) int { return n }

// quotaChanged is tenant i's generated binding with another CPU quota: a change its stack reads
// (the ResourceQuota), and nothing else's.
func quotaChanged(i int) (string, error) {
	orig := benchkit.PoolBinding(i)
	changed := strings.Replace(orig, "cpu: 250m", "cpu: 300m", 1)
	if changed == orig {
		return "", fmt.Errorf("the generated binding of %s has no `cpu: 250m` quota to change", benchkit.TenantID(i))
	}
	return changed, nil
}

// readmeChange is a README for the desired-state repository that differs on every call: no
// stack reads it, so the commit that adds it must leave every inputs digest as it was.
func readmeChange(n int, now time.Time) string {
	return fmt.Sprintf("# Desired state of the bench/fleet fleet\n\n%d pool tenants. Edited %s to measure a no-op `tenantctl up --all`: no stack reads this file.\n",
		n, now.UTC().Format(time.RFC3339Nano))
}

// prepare changes the desired-state repository the way each provisioning mode needs and commits
// it; cold needs nothing (the size's first commit is its fleet), force runs on the same commit.
func prepare(mode string, w work, n int) error {
	switch mode {
	case "noop":
		if err := os.WriteFile(filepath.Join(w.desired(), "README.md"), []byte(readmeChange(n, time.Now())), 0o644); err != nil {
			return err
		}
		return commitChange(w.desired(), "docs: the fleet's README (no stack reads it)")
	case "one":
		i := changedTenant(n)
		b, err := quotaChanged(i)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(w.desired(), "tenants", benchkit.TenantID(i)+".yaml"), []byte(b), 0o644); err != nil {
			return err
		}
		return commitChange(w.desired(), benchkit.TenantID(i)+": CPU quota 250m -> 300m")
	}
	return nil
}

// expectedRun is the stacks a provisioning mode must run on a fleet of n tenants: cold every one
// (all new), noop none, one the changed tenant's, force every one it was given (nil: any).
func expectedRun(mode string, n int, sample []string) []string {
	all := func(ids []string) []string {
		out := []string{tenantplan.PlatformStackName("dev")}
		for _, id := range ids {
			out = append(out, tenantplan.TenantStackName(id, "dev"))
		}
		sort.Strings(out)
		return out
	}
	switch mode {
	case "cold", "force":
		if sample != nil {
			return all(sample)
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = benchkit.TenantID(i + 1)
		}
		return all(ids)
	case "noop":
		return []string{}
	case "one":
		return []string{tenantplan.TenantStackName(benchkit.TenantID(changedTenant(n)), "dev")}
	}
	return nil
}

// checkRun compares the stacks a mode ran with those it must run.
func checkRun(mode string, got, want []string) error {
	if want == nil || slices.Equal(got, want) {
		return nil
	}
	show := func(s []string) string {
		if len(s) > 6 {
			return fmt.Sprintf("%d stacks (%s, ...)", len(s), strings.Join(s[:6], ", "))
		}
		return fmt.Sprintf("%d stacks %v", len(s), s)
	}
	return fmt.Errorf("%s ran %s, want %s", mode, show(got), show(want))
}

// runUp runs one provisioning mode: `tenantctl up` with the fleet's state, cluster and data layer,
// measured like the drift modes, its JSON summary parsed and checked against what the mode must
// run.
func runUp(ctx context.Context, r *modeResult, w work, o options, svc services, n int) error {
	if err := prepare(r.Mode, w, n); err != nil {
		return fmt.Errorf("prepare the desired state: %w", err)
	}
	out := filepath.Join(w.reports(), fmt.Sprintf("up-%s-%d.json", r.Mode, n))
	logFile := filepath.Join(w.reports(), fmt.Sprintf("up-%s-%d.log", r.Mode, n))
	args := append([]string{"up"}, engineArgs(w, o, svc, "audit-up.jsonl")...)
	args = append(args, "--parallel", strconv.Itoa(o.parallel), "-o", "json", "--out", out)
	var ids []string
	switch {
	case r.Mode == "force" && o.forceSample > 0 && o.forceSample < n:
		ids, _ = tenantStacks(sample(n, o.forceSample))
		r.Sample = ids
		args = append(args, "--force")
		for _, id := range ids {
			args = append(args, "--tenant", id)
		}
	case r.Mode == "force":
		args = append(args, "--all", "--force")
	default:
		args = append(args, "--all")
	}
	stderr, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.CommandContext(ctx, o.tenantctl, args...)
	cmd.Env = os.Environ()
	cmd.Stderr = stderr
	// The run covers every stack of the fleet until the summary says how many ran.
	r.Stacks, r.Ran = n+1, n+1
	if err := measure(r, cmd); err != nil {
		return err
	}
	if r.ExitCode != 0 {
		b, _ := os.ReadFile(logFile)
		return fmt.Errorf("tenantctl up (%s): exit %d (log %s): %s", r.Mode, r.ExitCode, logFile, lastLines(string(b), 20))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	c, err := parseOpSummary(b)
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	r.Ran, r.RanStacks, r.Reasons, r.Created = c.Ran, c.RanStacks, c.Reasons, c.Created
	// Only a sampled force run stands for the whole fleet; the others ran what they ran.
	r.FleetWall = r.Wall
	if ids != nil && c.Ran > 0 {
		r.FleetWall = time.Duration(float64(r.Wall) * float64(r.Stacks) / float64(c.Ran))
	}
	r.Expect = checkRun(r.Mode, c.RanStacks, expectedRun(r.Mode, n, ids))
	return nil
}

// engineArgs are the flags every tenantctl command of the benchmark shares: the fleet's desired
// state, state backend and passphrase, cluster, data layer and an audit log in the work folder.
func engineArgs(w work, o options, svc services, auditLog string) []string {
	args := []string{"-d", w.desired(), "--data-dir", w.data(), "--passphrase-file", w.passphrase(),
		"--kubeconfig", svc.kubeconfig, "--audit-log", filepath.Join(w.data(), auditLog),
		"--audit-signing-key", filepath.Join(w.data(), "audit-signing.key")}
	if svc.pg != nil {
		args = append(args, "--postgres-connection", svc.pg.InfoPath())
	}
	return args
}
