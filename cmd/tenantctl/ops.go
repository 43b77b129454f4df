package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func init() {
	for _, op := range []automation.Operation{automation.OpUp, automation.OpPreview, automation.OpRefresh, automation.OpDestroy} {
		register(func(g *globalOptions) *cobra.Command { return newOpCmd(g, op) })
	}
}

var opShort = map[automation.Operation]string{
	automation.OpUp:      "Provision or update tenants (platform stack of each environment first)",
	automation.OpPreview: "Show what up would change, without changing anything",
	automation.OpRefresh: "Reconcile the stacks' state with what exists",
	automation.OpDestroy: "Remove tenants' resources (platform stacks only with --include-platform)",
}

type opOptions struct {
	engineFlags
	sel          fleet.Selection
	yes          bool
	approvalFile string
	recover      bool
	force        bool
	shard        string
	out          string
	purgeData    bool
}

func newOpCmd(g *globalOptions, op automation.Operation) *cobra.Command {
	o := &opOptions{}
	cmd := &cobra.Command{
		Use:   string(op) + " [--tenant ID ...|--all]",
		Short: opShort[op],
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOp(cmd, g, o, op)
		},
	}
	o.engineFlags.add(cmd)
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.sel.Tenants, "tenant", "t", nil, "tenant id (repeatable)")
	fs.BoolVar(&o.sel.All, "all", false, "every tenant of the desired state")
	addEnvFlag(cmd, &o.sel.Envs)
	fs.StringVar(&o.shard, "shard", "", "run one shard `I/N` of the selection: the tenants the stable FNV-1a hash of their id puts there (as drift check --shard), "+
		"reading the platform stacks' recorded outputs; 0/N runs the platform stacks only, before the tenant shards (destroy: after them, with --include-platform)")
	fs.StringVar(&o.out, "out", "", "write the summary (text or -o json) to this `FILE` instead of stdout")
	if op.Mutating() {
		fs.BoolVarP(&o.yes, "yes", "y", false, "approve mutations in production environments")
		fs.StringVar(&o.approvalFile, "approval-file", "", "approval for production mutations (see README: Approvals)")
		fs.BoolVar(&o.recover, "recover", false, "first recover stacks left locked or with pending operations by a killed run")
	}
	switch op {
	case automation.OpPreview:
		fs.StringVar(&o.sel.PlanDir, "plan-dir", "", "save each stack's update plan in this folder and print their digest (for an approval's planDigest); previews every selected stack")
	case automation.OpUp:
		fs.StringVar(&o.sel.PlanDir, "plan-dir", "", "apply exactly the update plans a preview saved in this folder; the engine refuses any other change")
	}
	if op == automation.OpUp || op == automation.OpPreview {
		fs.BoolVar(&o.force, "force", false, "run every selected stack, also those whose inputs digest matches their last successful update")
		fs.BoolVar(&o.sel.Refresh, "refresh", false, "read every selected stack's resources from the providers first (pulumi "+string(op)+
			" --refresh), so drift is part of the result; runs every selected stack")
	}
	if op == automation.OpDestroy {
		fs.BoolVar(&o.sel.IncludePlatform, "include-platform", false, "also destroy the platform stacks of the selected environments")
		fs.BoolVar(&o.purgeData, "purge-data", false, "after the destroy, drop the data it retained (each destroyed tenant's database, schema with its tables, "+
			"rows of the shared tables and roles; with --include-platform the shared database); production needs an approval with purgeData: true")
	}
	_ = cmd.RegisterFlagCompletionFunc("tenant", completeTenants(g))
	return cmd
}

func runOp(cmd *cobra.Command, g *globalOptions, o *opOptions, op automation.Operation) error {
	ctx := cmd.Context()
	if o.shard != "" {
		sh, err := tenantplan.ParseShard(o.shard)
		if err != nil {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("--shard: %w", err))
		}
		o.sel.Shard = &sh
		if err := o.sel.CheckShard(op); err != nil {
			return exitcode.With(exitcode.Invalid, err)
		}
	}
	state, err := isolation.Load(ctx, g.dir)
	if err != nil {
		return err
	}
	kubeconfig, err := o.resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	format, err := outputFormat(cmd, g, "text", "json")
	if err != nil {
		return err
	}
	jsonOut := format == "json"
	if err := o.requireEngine(); err != nil {
		return err
	}
	printer := newProgressPrinter(cmd.ErrOrStderr(), jsonOut)
	var auditErr error
	e, auditor, err := o.newEngine(printer.handle, func(err error) { auditErr = errors.Join(auditErr, err) })
	if err != nil {
		return err
	}
	defer auditor.Close()
	pgConn := o.resolvePostgres(cmd)
	if o.purgeData && pgConn == "" && usesPostgres(state) {
		return exitcode.With(exitcode.Invalid, errors.New("--purge-data: the data layer's server is needed: pass --postgres-connection FILE or start the local one (tenantctl local-cluster up)"))
	}
	f := fleet.New(e, state, kubeconfig, fleet.WithPostgres(pgConn))
	bindings, envs, err := f.Select(o.sel)
	if err != nil {
		return err
	}
	if op.Mutating() {
		if err := checkApproval(o, op, state, bindings, envs); err != nil {
			return err
		}
	}
	if o.recover {
		// a tenant shard leaves the platform stacks, and their recovery, to the platform shard
		if err := recoverStacks(cmd, f, e, bindings, envs, o.sel.Shard == nil || o.sel.Shard.Platform()); err != nil {
			return err
		}
	}
	// Only changed stacks run, unless asked otherwise. A plan folder pins an approval to the plans of
	// every selected stack, so it previews and applies them all.
	o.sel.Incremental = (op == automation.OpUp || op == automation.OpPreview) && !o.force && !o.sel.Refresh && o.sel.PlanDir == ""
	if o.sel.PlanDir != "" && op == automation.OpPreview {
		if err := os.MkdirAll(o.sel.PlanDir, 0o700); err != nil {
			return exitcode.With(exitcode.Failed, fmt.Errorf("--plan-dir: %w", err))
		}
	}
	out, err := f.Run(ctx, op, o.sel)
	if err != nil {
		return err
	}
	if o.sel.PlanDir != "" && op == automation.OpPreview && fleetExitCode(out) == exitcode.OK {
		d, err := planDigest(o.sel.PlanDir, planStacks(o.sel, bindings, envs))
		if err != nil {
			return exitcode.With(exitcode.Failed, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "plans saved in %s; planDigest: %s\n", o.sel.PlanDir, d)
	}
	if err := writeOpSummary(cmd, o.out, jsonOut, out); err != nil {
		return err
	}
	if o.purgeData {
		if err := purgeRetained(ctx, cmd.ErrOrStderr(), auditor, state, out, pgConn); err != nil {
			return err
		}
	}
	if auditErr != nil {
		return exitcode.With(exitcode.Failed, auditErr)
	}
	if code := fleetExitCode(out); code != exitcode.OK {
		return exitcode.With(code, fmt.Errorf("%s: %s", op, failureSummary(out)))
	}
	return nil
}

// writeOpSummary writes the outcome to stdout, or to --out (a shard's report that a later step
// reads).
func writeOpSummary(cmd *cobra.Command, file string, jsonOut bool, out fleet.Outcome) error {
	write := func(w io.Writer) error {
		if jsonOut {
			return writeDocument(w, kindOperation, outcomeJSON(out))
		}
		printSummary(w, out)
		return nil
	}
	if file == "" {
		return write(cmd.OutOrStdout())
	}
	if err := writeFileAtomic(file, sharedFile, write); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("--out %s: %w", file, err))
	}
	return nil
}

func recoverStacks(cmd *cobra.Command, f *fleet.Fleet, e *automation.Engine, bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment, platforms bool) error {
	var targets []automation.Target
	for _, env := range envs {
		if platforms {
			targets = append(targets, f.PlatformTarget(env))
		}
	}
	for _, b := range bs {
		targets = append(targets, f.TenantTarget(b, tenantplan.ExpectedPlatformOutputs(envOf(envs, b))))
	}
	for _, t := range targets {
		rec, err := e.Recover(cmd.Context(), t)
		switch {
		case automation.IsNotFound(err):
			continue
		case errors.Is(err, automation.ErrLiveLock):
			return exitcode.With(exitcode.Conflict, err)
		case err != nil:
			return exitcode.With(exitcode.Failed, err)
		}
		if !rec.NothingToRecover {
			fmt.Fprintf(cmd.ErrOrStderr(), "recovered %s: %d lock(s) cleared, %d pending operation(s), adopted %d, dropped %d\n",
				rec.Stack, rec.LocksCleared, rec.PendingFound, len(rec.Imported), len(rec.Dropped))
		}
	}
	return nil
}

func envOf(envs []*isolation.Environment, b *isolation.RuntimeTenantBinding) *isolation.Environment {
	for _, e := range envs {
		if e.Name() == b.Spec.Environment {
			return e
		}
	}
	return nil
}

type resultJSON struct {
	automation.Result
	DurationSeconds float64 `json:"durationSeconds"`
}

func outcomeJSON(o fleet.Outcome) map[string]any {
	conv := func(rs []automation.Result) []resultJSON {
		out := make([]resultJSON, len(rs))
		for i, r := range rs {
			out[i] = resultJSON{Result: r, DurationSeconds: r.Duration.Seconds()}
		}
		return out
	}
	ran, unchanged := counts(o)
	return map[string]any{
		"operation": o.Operation, "commit": o.Commit, "dirty": o.Dirty,
		"platform": conv(o.Platform), "tenants": conv(o.Tenants), "exitCode": fleetExitCode(o),
		"ran": ran, "unchanged": unchanged,
	}
}

// counts are the stacks the engine ran and those an incremental run left alone.
func counts(o fleet.Outcome) (ran, unchanged int) {
	for _, r := range o.All() {
		switch {
		case r.Unchanged:
			unchanged++
		case r.Skipped == "":
			ran++
		}
	}
	return ran, unchanged
}

func printSummary(w io.Writer, o fleet.Outcome) {
	fmt.Fprintf(w, "\n%s of desired state %s\n", o.Operation, revision(o.Commit, o.Dirty))
	fmt.Fprintf(w, "%-30s %-10s %-9s %s\n", "STACK", "RESULT", "TIME", "CHANGES")
	for _, r := range o.All() {
		res := "ok"
		detail := formatChanges(r.Changes)
		switch {
		case r.Conflict:
			res, detail = "conflict", r.Error
		case r.Err != nil:
			res, detail = "failed", r.Error
		case r.Skipped != "":
			res, detail = "skipped", r.Skipped
		case r.Unchanged:
			res, detail = "unchanged", r.Reason
		}
		if r.Reason != "" && !r.Unchanged && r.Skipped == "" {
			detail += " (" + r.Reason + ")"
		}
		fmt.Fprintf(w, "%-30s %-10s %-9s %s\n", r.Stack, res, r.Duration.Round(100e6), detail)
	}
	if ran, unchanged := counts(o); unchanged > 0 {
		fmt.Fprintf(w, "%d stack(s) ran, %d unchanged (inputs digest matches their last successful update; --force runs them)\n", ran, unchanged)
	}
}

func revision(commit string, dirty bool) string {
	if commit == "" {
		commit = "(not in a git work tree)"
	} else if len(commit) > 12 {
		commit = commit[:12]
	}
	if dirty {
		commit += " (dirty)"
	}
	return commit
}

func failureSummary(o fleet.Outcome) string {
	var failed []string
	for _, r := range o.All() {
		if r.Err != nil {
			failed = append(failed, r.Stack)
		}
	}
	return fmt.Sprintf("%d of %d stacks did not succeed: %s", len(failed), len(o.All()), strings.Join(failed, ", "))
}
