package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Outcome is a finished check: the report and how it was obtained.
type Outcome struct {
	Report *report.Report
	Mode   Mode
	// Engine lists the stacks the engine previewed, and why.
	Engine []EngineRun
	// Snapshot is the live state compared against; nil when it could not be read.
	Snapshot *inventory.Snapshot
}

// EngineRun is one stack the engine previewed.
type EngineRun struct {
	Stack       string `json:"stack"`
	Environment string `json:"environment"`
	TenantID    string `json:"tenantId"`
	Reason      string `json:"reason"`
	Error       string `json:"error,omitempty"`
}

// Why the engine previews a stack.
const (
	ReasonEngineMode = "engine mode"
	ReasonFindings   = "the fast path found drift"
	// ReasonStale is followed by why the recorded state is not from the current inputs
	// (fleet.Decide: "binding changed", "last update failed", …).
	ReasonStale = "its state is not from the current inputs"
)

// Check runs a drift check and returns its report. The error is for what makes a check
// impossible before it starts (invalid selection, flags or snapshot file: exit 3); a failure to
// reach an API is recorded in the report, whose exit code is then 1.
func (c *Checker) Check(ctx context.Context, sel fleet.Selection, mode Mode) (*report.Report, error) {
	o, err := c.Run(ctx, sel, mode)
	if err != nil {
		return nil, err
	}
	return o.Report, nil
}

// Run is Check, also saying which stacks the engine previewed.
func (c *Checker) Run(ctx context.Context, sel fleet.Selection, mode Mode) (*Outcome, error) {
	if err := c.validate(mode); err != nil {
		return nil, err
	}
	f := fleet.New(c.engine, c.state, c.kubeconfig, fleet.WithPostgres(c.postgres))
	bindings, envs, err := f.Select(sel)
	if err != nil {
		return nil, err
	}
	rev, err := readRevision(c.state)
	if err != nil {
		return nil, fmt.Errorf("drift check: %w", err)
	}
	scope := newRunScope(sel, c.shard, bindings)
	names := make([]string, len(envs))
	for i, env := range envs {
		names[i] = env.Name()
	}
	opts := []report.Option{report.WithDirty(rev.dirty), report.WithGeneratedAt(c.now().UTC()), report.WithEnvironments(names...)}
	if c.shard != nil {
		opts = append(opts, report.WithShard(c.shard.Index, c.shard.Count))
	}
	out := &Outcome{Report: report.New(rev.commit, opts...), Mode: mode}
	// Every tenant in scope counts as checked before anything is read, so an error for its
	// environment makes it an error, never clean.
	refs := map[string][]stackRef{}
	for _, env := range envs {
		if scope.platform(env.Name()) {
			out.Report.AddTenant(env.Name(), isolation.Platform)
			refs[env.Name()] = append(refs[env.Name()], platformRef(env))
		}
		for _, b := range scope.bindings(c.state, env.Name()) {
			out.Report.AddTenant(env.Name(), b.Spec.TenantID)
			refs[env.Name()] = append(refs[env.Name()], tenantRef(env, b))
		}
	}

	start := time.Now()
	summaries, states, err := c.readBackend(ctx)
	if err != nil {
		out.Report.Fail("", "", "pulumi", fmt.Errorf("list stacks in %s: %w", c.engine.BackendURL(), err))
		return c.finish(out), nil
	}
	snap, err := c.readSnapshot(ctx, envs)
	if err != nil {
		if c.Offline() {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: %w", err))
		}
		out.Report.Fail("", "", "kubernetes", err)
		return c.finish(out), nil
	}
	out.Snapshot = snap
	c.logf("read %d Kubernetes object(s) and %d Azure resource(s) in %s", len(snap.Kubernetes), len(snap.Azure), time.Since(start).Round(time.Millisecond))
	known := stackSummaries(summaries)
	var history map[string]automation.LastOperation
	if mode == ModeConfirm && c.staleCheck && states != nil {
		// Whether each stack's last update succeeded, from the same storage, for the staleness rule.
		if history, err = c.engine.LastOperations(ctx); err != nil {
			c.logf("cannot read the stacks' update history (%v); staleness compares inputs digests only", err)
			history = nil
		}
	}
	var all []finding.Finding
	for _, env := range envs {
		all = append(all, c.checkEnv(ctx, f, env, refs[env.Name()], known, states, history, snap, scope, mode, out)...)
	}
	all = append(all, c.secretVersionFindings(ctx, envs, scope, out)...)
	all = append(all, c.dataPlaneFindings(ctx, envs, scope, out)...)
	out.Report.Add(all...)
	return c.finish(out), nil
}

// readBackend lists the project's stacks. Where the backend's storage can be read directly
// (file://, postgres://) it also returns every stack's last state, so the fast path starts no
// pulumi process at all; otherwise, or when that read fails, the CLI lists the stacks and states
// is nil (each stack is then exported through the CLI).
func (c *Checker) readBackend(ctx context.Context) ([]auto.StackSummary, map[string]automation.StackState, error) {
	if c.states != nil {
		return summariesOf(c.states), c.states, nil
	}
	states, err := c.engine.StackStates(ctx)
	if err == nil {
		return summariesOf(states), states, nil
	}
	if !errors.Is(err, automation.ErrStatesUnsupported) {
		c.logf("cannot read the state storage directly (%v); asking the pulumi CLI", err)
	}
	summaries, err := c.engine.ListStacks(ctx)
	return summaries, nil, err
}

// summariesOf is what `pulumi stack ls` says of the stacks, from their states.
func summariesOf(states map[string]automation.StackState) []auto.StackSummary {
	out := make([]auto.StackSummary, 0, len(states))
	for _, st := range states {
		n := st.Resources
		s := auto.StackSummary{Name: st.Name, ResourceCount: &n, UpdateInProgress: st.Locked}
		if !st.LastUpdate.IsZero() {
			s.LastUpdate = st.LastUpdate.Format(time.RFC3339Nano)
		}
		out = append(out, s)
	}
	return out
}

func (c *Checker) finish(out *Outcome) *Outcome {
	if c.ignore != nil {
		out.Report.ApplyIgnore(c.ignore)
	}
	out.Report.Finalize()
	return out
}

// stackSummaries indexes `pulumi stack ls` by stack name (without any org/project prefix).
func stackSummaries(ss []auto.StackSummary) map[string]auto.StackSummary {
	out := make(map[string]auto.StackSummary, len(ss))
	for _, s := range ss {
		out[s.Name[strings.LastIndex(s.Name, "/")+1:]] = s
	}
	return out
}

// hasState reports whether a stack holds recorded state: it exists and an update finished (a
// stack a preview created, or one being updated for the first time, has none yet), or an update
// is running on state that exists.
func hasState(s auto.StackSummary, ok bool) bool {
	if !ok {
		return false
	}
	if s.ResourceCount != nil && *s.ResourceCount == 0 && !s.UpdateInProgress {
		return false
	}
	return s.LastUpdate != "" || s.UpdateInProgress
}

// tenantOfStack is whose a stack is: its tenant, isolation.Platform, or "" for a name that is
// no tenantctl stack's.
func tenantOfStack(stack string) string {
	id, _ := tenantplan.ParseStackName(stack)
	return id.Owner()
}

func dropTenants(fs []finding.Finding, tenants map[string]bool) []finding.Finding {
	if len(tenants) == 0 {
		return fs
	}
	return slices.DeleteFunc(fs, func(f finding.Finding) bool { return tenants[f.TenantID] })
}
