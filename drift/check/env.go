package check

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// envCheck is the check of one environment.
type envCheck struct {
	c     *Checker
	fleet *fleet.Fleet
	env   *isolation.Environment
	snap  *inventory.Snapshot
	scope *runScope
	mode  Mode
	out   *Outcome
	// desired holds every stack's resources as the check models them: recorded, then planned.
	desired map[string][]apitype.ResourceV3
	// unknown are tenants whose desired state could not be read: their findings would be noise.
	unknown map[string]bool
	// states are the stacks' last states read straight from the backend; nil: export with the CLI.
	states map[string]automation.StackState
}

// checkEnv checks one environment and returns the findings of the run's tenants in it.
func (c *Checker) checkEnv(ctx context.Context, f *fleet.Fleet, env *isolation.Environment, refs []stackRef,
	known map[string]auto.StackSummary, states map[string]automation.StackState, history map[string]automation.LastOperation,
	snap *inventory.Snapshot, scope *runScope, mode Mode, out *Outcome) []finding.Finding {
	ec := &envCheck{c: c, fleet: f, env: env, snap: snap, scope: scope, mode: mode, out: out, states: states,
		desired: map[string][]apitype.ResourceV3{}, unknown: map[string]bool{}}
	present := ec.withState(refs, known)
	ec.export(ctx, present, known)

	var fast []finding.Finding
	var engineRefs []stackRef
	reasons := map[string]string{}
	switch mode {
	case ModeEngine:
		engineRefs = present
		for _, ref := range present {
			reasons[ref.name] = ReasonEngineMode
		}
	default:
		fs, err := ec.detect(ctx)
		if err != nil {
			return nil
		}
		fast = fs
		if mode == ModeConfirm {
			engineRefs = ec.confirmCandidates(present, fast, history, reasons)
		}
		if len(engineRefs) == 0 {
			return fast
		}
	}
	confirmed, engineFindings := ec.runEngine(ctx, engineRefs, reasons)
	fs, err := ec.detect(ctx)
	if err != nil {
		return fast
	}
	fromEngine := func(tenant string) bool { return mode == ModeEngine || confirmed[tenant] }
	var kept, live []finding.Finding
	for _, f := range fast {
		if !fromEngine(f.TenantID) {
			kept = append(kept, f)
		}
	}
	for _, f := range fs {
		if fromEngine(f.TenantID) {
			live = append(live, f)
		}
	}
	return append(kept, Reconcile(live, ec.keep(engineFindings), snap)...)
}

// withState returns the stacks that hold state; any other is an error of its tenant.
func (ec *envCheck) withState(refs []stackRef, known map[string]auto.StackSummary) []stackRef {
	var present []stackRef
	for _, ref := range refs {
		if s, ok := known[ref.name]; hasState(s, ok) {
			present = append(present, ref)
			continue
		}
		ec.out.Report.Fail(ec.env.Name(), ref.tenant, "pulumi", ec.noStateError(ref, known))
	}
	return present
}

// noStateError says why a stack in scope has no state to check against, and how to give it one.
// A stack the backend does not know has never been provisioned; one it knows without resources
// was destroyed, or only ever previewed.
func (ec *envCheck) noStateError(ref stackRef, known map[string]auto.StackSummary) error {
	up := fmt.Sprintf("tenantctl up --tenant %s --env %s", ref.tenant, ec.env.Name())
	if ref.binding == nil {
		up = fmt.Sprintf("tenantctl up --all --env %s", ec.env.Name())
	}
	if _, exists := known[ref.name]; exists {
		return fmt.Errorf("stack %s holds no resources: it was destroyed or never brought up (run %s); it cannot be checked", ref.name, up)
	}
	if ec.c.states != nil {
		return fmt.Errorf("stack %s is in none of the state files (export it with pulumi stack export, or leave its tenant out); it cannot be checked", ref.name)
	}
	return fmt.Errorf("stack %s has never been provisioned (run %s); it cannot be checked", ref.name, up)
}

// export reads the recorded state of the stacks the fast path needs (none in ModeEngine), and of
// the platform stack when the run does not report on it: its state keeps the platform's objects
// managed in a shard or a --tenant selection.
func (ec *envCheck) export(ctx context.Context, present []stackRef, known map[string]auto.StackSummary) {
	name := ec.env.Name()
	var contextStacks []string
	platform := tenantplan.PlatformStackName(name)
	if s, ok := known[platform]; hasState(s, ok) && !slices.ContainsFunc(present, func(r stackRef) bool { return r.name == platform }) {
		contextStacks = append(contextStacks, platform)
	}
	toExport := slices.Clone(contextStacks)
	if ec.mode != ModeEngine {
		for _, ref := range present {
			toExport = append(toExport, ref.name)
		}
	}
	if len(toExport) == 0 {
		return
	}
	start := time.Now()
	for stack, e := range ec.c.exportAll(ctx, toExport, ec.states) {
		if e.err == nil {
			ec.desired[stack] = e.resources
			continue
		}
		tenant := tenantOfStack(stack)
		ec.unknown[tenant] = true
		if slices.Contains(contextStacks, stack) {
			ec.c.logf("%s: cannot read %s, whose objects the run does not report: %v", name, stack, e.err)
			continue
		}
		ec.out.Report.Fail(name, tenant, "pulumi", fmt.Errorf("export %s: %w", stack, e.err))
	}
	ec.c.logf("%s: exported %d stack(s) in %s", name, len(toExport), time.Since(start).Round(time.Millisecond))
}

// runEngine previews refs and makes the programs' planned resources their desired state. It
// returns the tenants the engine checked and the engine's findings.
func (ec *envCheck) runEngine(ctx context.Context, refs []stackRef, reasons map[string]string) (map[string]bool, []finding.Finding) {
	confirmed := map[string]bool{}
	if len(refs) == 0 {
		return confirmed, nil
	}
	name := ec.env.Name()
	start := time.Now()
	results := ec.c.runEngine(ctx, ec.fleet, ec.env, refs)
	ec.c.logf("%s: engine previewed %d stack(s) in %s", name, len(refs), time.Since(start).Round(time.Millisecond))
	var fs []finding.Finding
	for _, r := range results {
		run := EngineRun{Stack: r.ref.name, Environment: name, TenantID: r.ref.tenant, Reason: reasons[r.ref.name]}
		confirmed[r.ref.tenant] = true
		resources := r.resources
		if r.err != nil {
			run.Error = r.err.Error()
			ec.out.Report.Fail(name, r.ref.tenant, "pulumi", r.err)
			// A failed preview may have stopped before planning every resource: the recorded
			// state keeps the live comparison meaningful.
			if rs, ok := ec.desired[r.ref.name]; ok {
				resources = rs
			} else if st, ok := ec.states[r.ref.name]; ok {
				resources = markSecrets(st.Deployment.Resources)
			} else if d, err := ec.c.engine.Export(ctx, r.ref.name); err == nil {
				resources = markSecrets(d.Resources)
			} else {
				ec.unknown[r.ref.tenant] = true
			}
		}
		ec.desired[r.ref.name] = resources
		fs = append(fs, r.findings...)
		ec.out.Engine = append(ec.out.Engine, run)
	}
	return confirmed, fs
}

// detect checks the environment against the current desired model and keeps the run's findings.
func (ec *envCheck) detect(ctx context.Context) ([]finding.Finding, error) {
	fs, err := ec.c.detect(ctx, ec.env, desiredOf(ec.out.Report, ec.env.Name(), ec.desired), ec.snap,
		stackOutputs(ec.desired[tenantplan.PlatformStackName(ec.env.Name())]))
	if err != nil {
		ec.out.Report.Fail(ec.env.Name(), "", "detect", err)
		return nil, err
	}
	return ec.keep(fs), nil
}

// keep drops findings of tenants outside the run and of tenants whose desired state is unknown.
func (ec *envCheck) keep(fs []finding.Finding) []finding.Finding {
	return dropTenants(ec.scope.filter(fs), ec.unknown)
}

// confirmCandidates picks the stacks the engine confirms in ModeConfirm: those of tenants with a
// finding that no ignore rule removes, and those whose recorded state is not from the current
// inputs (stale).
func (ec *envCheck) confirmCandidates(present []stackRef, fast []finding.Finding, history map[string]automation.LastOperation,
	reasons map[string]string) []stackRef {
	c := ec.c
	drifted := map[string]bool{}
	kept := fast
	if c.ignore != nil {
		kept, _ = c.ignore.Apply(fast)
	}
	for _, f := range kept {
		drifted[f.TenantID] = true
	}
	var out []stackRef
	for _, ref := range present {
		if _, ok := ec.desired[ref.name]; !ok {
			continue
		}
		switch {
		case drifted[ref.tenant]:
			reasons[ref.name] = ReasonFindings
		case c.staleCheck:
			stale, why := ec.stale(ref, history)
			if !stale {
				continue
			}
			reasons[ref.name] = ReasonStale + ": " + why
		default:
			continue
		}
		out = append(out, ref)
	}
	return out
}

// stale says whether a stack's recorded state is not from the current inputs, and why: the same
// decision as an incremental `tenantctl up` (fleet.Decide), so staleness is exact: its last update
// failed, or recorded another inputs digest (a binding, the environment fields it reads, the
// platform outputs it consumes, the program or provider versions), whenever and from whichever
// checkout that update ran. history is nil where the backend's storage is not read directly: then
// only the digests are compared.
func (ec *envCheck) stale(ref stackRef, history map[string]automation.LastOperation) (bool, string) {
	var d tenantplan.Digest
	var err error
	if ref.binding == nil {
		d, err = ec.fleet.PlatformDigest(ec.env)
	} else {
		d, err = ec.fleet.TenantDigest(ref.binding, ec.recordedPlatformOutputs())
	}
	var rec fleet.Recorded
	if st, ok := ec.states[ref.name]; ok {
		rec = fleet.RecordedFromDeployment(st.Deployment)
		rec.Locked, rec.StateTime = st.Locked, st.LastUpdate
	} else {
		rs := ec.desired[ref.name]
		rec = fleet.Recorded{Exists: true, Resources: len(rs), Outputs: stackOutputs(rs)}
	}
	if history != nil {
		rec.HistoryRead = true
		if op, ok := history[ref.name]; ok {
			rec.Last = &op
		}
	}
	return fleet.Decide(d, err, rec)
}

// recordedPlatformOutputs are the outputs the environment's platform stack recorded, which its
// tenants' last updates consumed; what it will export when it has none.
func (ec *envCheck) recordedPlatformOutputs() tenantplan.PlatformOutputs {
	if m := stackOutputs(ec.desired[tenantplan.PlatformStackName(ec.env.Name())]); len(m) > 0 {
		if po, err := tenantplan.PlatformOutputsFromMap(m); err == nil {
			return po
		}
	}
	return tenantplan.ExpectedPlatformOutputs(ec.env)
}

// desiredOf builds the desired model from stack resources; a stack whose state cannot be modelled
// is an error of its tenant.
func desiredOf(rep *report.Report, env string, resources map[string][]apitype.ResourceV3) *detect.Managed {
	d := detect.NewManaged()
	names := make([]string, 0, len(resources))
	for n := range resources {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := d.AddStack(n, resources[n]); err != nil {
			rep.Fail(env, tenantOfStack(n), "pulumi", err)
		}
	}
	return d
}

// stackOutputs are the outputs a stack's state records on its root resource; nil without one.
func stackOutputs(resources []apitype.ResourceV3) map[string]any {
	for _, r := range resources {
		if r.Type == rootStackType {
			return r.Outputs
		}
	}
	return nil
}

// rootStackType is the type of every stack's root resource, which holds its outputs.
const rootStackType = "pulumi:pulumi:Stack"
