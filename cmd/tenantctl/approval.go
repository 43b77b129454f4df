package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Approval authorises one mutation of production tenants at one desired-state commit. A change
// reviewer writes it (or a pipeline's approval step does) so the operator running tenantctl does
// not approve their own change with --yes.
type Approval struct {
	APIVersion  string    `yaml:"apiVersion"`
	Kind        string    `yaml:"kind"`
	ApprovedBy  string    `yaml:"approvedBy"`
	Operation   string    `yaml:"operation"`
	Environment string    `yaml:"environment"`
	Tenants     []string  `yaml:"tenants"`
	Commit      string    `yaml:"commit"`
	Expires     time.Time `yaml:"expires"`
	Reason      string    `yaml:"reason"`
	// PlanDigest pins an approved up to the update plans a preview saved (`preview --plan-dir
	// DIR` prints it): up must be given the same plans (--plan-dir DIR), and the engine then
	// refuses any change beyond them. Required for up.
	PlanDigest string `yaml:"planDigest,omitempty"`
	// PurgeData approves `destroy --purge-data`: dropping the data the destroy retains. A
	// destroy approval without it does not cover a purge, and neither does --yes.
	PurgeData bool `yaml:"purgeData,omitempty"`
}

// checkApproval refuses a mutation that touches a production environment unless --yes or a
// matching, unexpired approval file for exactly this commit is given.
func checkApproval(o *opOptions, op automation.Operation, s *isolation.DesiredState, bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment) error {
	var prodEnvs []string
	for _, e := range envs {
		if e.Spec.Production {
			prodEnvs = append(prodEnvs, e.Name())
		}
	}
	if len(prodEnvs) == 0 || (o.yes && !o.purgeData) {
		return nil
	}
	if o.approvalFile == "" && o.purgeData {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("destroy --purge-data touches production environment(s) %v: pass an --approval-file with purgeData: true (--yes does not approve dropping data)", prodEnvs))
	}
	if o.approvalFile == "" {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("%s touches production environment(s) %v: pass --yes or --approval-file", op, prodEnvs))
	}
	a, err := readApproval(o.approvalFile)
	if err != nil {
		return exitcode.With(exitcode.Invalid, err)
	}
	var problems []error
	if a.Operation != string(op) {
		problems = append(problems, fmt.Errorf("operation: approves %q, not %q", a.Operation, op))
	}
	if a.ApprovedBy == "" {
		problems = append(problems, errors.New("approvedBy: required"))
	}
	if !a.Expires.IsZero() && time.Now().After(a.Expires) {
		problems = append(problems, fmt.Errorf("expires: approval expired at %s", a.Expires.Format(time.RFC3339)))
	}
	if s.Commit == "" || s.Dirty {
		problems = append(problems, errors.New("commit: production changes need a committed, clean desired state"))
	} else if a.Commit != s.Commit {
		problems = append(problems, fmt.Errorf("commit: approves %q, desired state is at %q", a.Commit, s.Commit))
	}
	for _, env := range prodEnvs {
		if a.Environment != env {
			problems = append(problems, fmt.Errorf("environment: approves %q, not %q", a.Environment, env))
		}
	}
	for _, b := range bs {
		env := s.Environment(b.Spec.Environment)
		if env.Spec.Production && !slices.Contains(a.Tenants, b.Spec.TenantID) && !slices.Contains(a.Tenants, "*") {
			problems = append(problems, fmt.Errorf("tenants: %s is not approved", b.Spec.TenantID))
		}
	}
	if op == automation.OpUp {
		problems = append(problems, checkPlanPin(a, o.sel.PlanDir, planStacks(o.sel, bs, envs))...)
	}
	if o.purgeData && !a.PurgeData {
		problems = append(problems, errors.New("purgeData: the approval does not approve dropping the retained data (--purge-data)"))
	}
	if len(problems) > 0 {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("approval file %s: %w", o.approvalFile, errors.Join(problems...)))
	}
	return nil
}

// checkPlanPin requires an approved up to apply exactly the plans its approver saw: the approval
// names their digest, and --plan-dir must hold the same plans for every stack the up runs.
func checkPlanPin(a Approval, dir string, stacks []string) []error {
	if a.PlanDigest == "" {
		return []error{errors.New("planDigest: required for up: run `tenantctl preview --plan-dir DIR` on the approved commit and approve the digest it prints")}
	}
	if dir == "" {
		return []error{errors.New("--plan-dir: required: the approved up applies the plans its preview saved")}
	}
	got, err := planDigest(dir, stacks)
	if err != nil {
		return []error{fmt.Errorf("--plan-dir %s: %w", dir, err)}
	}
	if got != a.PlanDigest {
		return []error{fmt.Errorf("planDigest: approves %s, the plans in %s are %s", a.PlanDigest, dir, got)}
	}
	return nil
}

// planStacks are the stacks an up of the selection runs, each of which needs a plan.
func planStacks(sel fleet.Selection, bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment) []string {
	var out []string
	if !sel.TenantsOnly {
		for _, e := range envs {
			out = append(out, tenantplan.PlatformStackName(e.Name()))
		}
	}
	for _, b := range bs {
		out = append(out, tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment))
	}
	return out
}

// planDigest is "sha256:" and the hex SHA-256 over each stack's name and plan file, in stack
// name order, so it changes with any plan and with the set of stacks.
func planDigest(dir string, stacks []string) (string, error) {
	stacks = slices.Sorted(slices.Values(stacks))
	h := sha256.New()
	for _, st := range stacks {
		b, err := os.ReadFile(filepath.Join(dir, st+".plan"))
		if err != nil {
			return "", fmt.Errorf("plan of %s: %w", st, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", st, len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func readApproval(path string) (Approval, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Approval{}, fmt.Errorf("approval file: %w", err)
	}
	var a Approval
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		return Approval{}, fmt.Errorf("approval file %s: %w", path, err)
	}
	if a.Kind != "Approval" || a.APIVersion != isolation.APIVersion {
		return Approval{}, fmt.Errorf("approval file %s: kind/apiVersion: want Approval %s", path, isolation.APIVersion)
	}
	return a, nil
}
