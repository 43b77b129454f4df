package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/check"
	"github.com/connectsoft/tenantctl/drift/remediate"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
)

// driftSubcommands are the `tenantctl drift` subcommands defined outside drift.go, which adds
// them to its parent command.
var driftSubcommands []func(*globalOptions) *cobra.Command

func registerDrift(f func(*globalOptions) *cobra.Command) {
	driftSubcommands = append(driftSubcommands, f)
}

func init() { registerDrift(newDriftRemediateCmd) }

// opRemediate is the operation an approval file names for drift remediation.
const opRemediate = automation.Operation("drift-remediate")

// checkLive runs a fresh drift check of state with the engine e (whose auditor remediation
// shares) and the check flags f; with save, it keeps the report where `tenantctl status` reads
// it. Remediation acts on live objects, so an offline --inventory check is refused.
func checkLive(ctx context.Context, g *globalOptions, f *driftCheckFlags, e *automation.Engine, state *isolation.DesiredState, kubeconfig, postgres string, save bool, progress io.Writer) (*report.Report, error) {
	if f.inventory != "" {
		return nil, exitcode.With(exitcode.Invalid, errors.New("--inventory: remediation acts on live objects; it cannot plan from a snapshot"))
	}
	mode, err := f.mode()
	if err != nil {
		return nil, err
	}
	rules, err := f.rules(g.dir)
	if err != nil {
		return nil, err
	}
	opts := []check.Option{check.WithIgnore(rules), check.WithProgress(progress), check.WithPostgresConnection(postgres)}
	// the data plane is planned from the same server the executor changes
	pgcfg, err := dataPlaneServer(f.postgres, postgres, usesPostgres(state))
	if err != nil {
		return nil, err
	}
	if pgcfg != nil {
		opts = append(opts, check.WithDataPlane(func(ctx context.Context, _ *isolation.Environment) ([]*pgcatalog.Catalog, error) {
			return pgcatalog.ReadServer(ctx, pgcfg)
		}))
	}
	if f.shard != "" {
		sh, err := report.ParseShard(f.shard)
		if err != nil {
			return nil, err
		}
		opts = append(opts, check.WithShard(sh))
	}
	sel := f.sel
	if len(sel.Tenants) == 0 {
		sel.All = true
	}
	rep, err := check.New(e, state, kubeconfig, opts...).Check(ctx, sel, mode)
	if err != nil {
		return nil, err
	}
	if !save {
		return rep, nil
	}
	if err := saveLastReport(e, rep); err != nil {
		rep.Fail("", "", "tenantctl", fmt.Errorf("save the report for `tenantctl status`: %w", err))
	}
	return rep, nil
}

type remediateOptions struct {
	check         driftCheckFlags
	mode          string
	planIn        string
	planOut       string
	imports       bool
	fieldManagers []string
	yes           bool
	approvalFile  string
}

func newDriftRemediateCmd(g *globalOptions) *cobra.Command {
	o := &remediateOptions{}
	cmd := &cobra.Command{
		Use:   "remediate [--mode warn|auto|review] [--plan FILE]",
		Short: "Plan or apply the remediation of drift findings (restore, delete unmanaged cross-tenant routes, report)",
		Long: `Remediate drift found by a fresh check.

  --mode warn     print what a remediation would do; change nothing (exit code of the check)
  --mode review   write the plan to --plan-out for review; change nothing
  --mode auto     plan and apply at once
  --plan FILE     apply exactly the reviewed plan FILE, refusing if live state moved since

Exit codes: 0 applied (or nothing to do), 1 failed, 3 invalid plan file or input,
4 refused because live state (or the desired state) moved since planning.
Production environments need --yes or --approval-file (operation "drift-remediate").`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRemediate(cmd, g, o) },
	}
	o.check.add(cmd, g, true)
	fs := cmd.Flags()
	fs.StringVar(&o.mode, "mode", string(remediate.ModeWarn), "warn, review or auto")
	fs.StringVar(&o.planIn, "plan", "", "apply this reviewed plan file (and nothing else)")
	fs.StringVar(&o.planOut, "plan-out", "remediation-plan.json", "where --mode review writes the plan (- for stdout)")
	fs.BoolVar(&o.imports, "import", false, "adopt unmanaged resources (not supported: they stay reported, with how to adopt them)")
	fs.StringSliceVar(&o.fieldManagers, "field-manager", nil, "extra field manager prefix that is the stacks' own (besides pulumi-kubernetes)")
	fs.BoolVarP(&o.yes, "yes", "y", false, "approve remediation in production environments")
	fs.StringVar(&o.approvalFile, "approval-file", "", "approval for remediation in production (operation drift-remediate)")
	return cmd
}

func runRemediate(cmd *cobra.Command, g *globalOptions, o *remediateOptions) (err error) {
	ctx := cmd.Context()
	jsonOut := g.output == "json"
	if !jsonOut && g.output != "text" {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("-o %s: want text or json", g.output))
	}
	mode, err := remediate.ParseMode(o.mode)
	if err != nil {
		return err
	}
	if o.planIn != "" && cmd.Flags().Changed("mode") {
		return exitcode.With(exitcode.Invalid, errors.New("--plan applies a reviewed plan: it takes no --mode"))
	}
	var plan *remediate.Plan
	if o.planIn != "" {
		// an invalid plan is refused before anything else is touched
		if plan, err = remediate.ReadFile(o.planIn); err != nil {
			return err
		}
	}
	state, err := isolation.Load(ctx, g.dir)
	if err != nil {
		return err
	}
	kubeconfig, err := o.check.resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	rt, err := newRemediation(cmd, &o.check.engineFlags, state, kubeconfig)
	if err != nil {
		return err
	}
	rt.pgDSN = o.check.postgres
	defer func() {
		// a record lost on close is an audit gap: the run fails
		if cerr := rt.auditor.Close(); cerr != nil {
			err = errors.Join(err, exitcode.With(exitcode.Failed, cerr))
		}
	}()
	out := cmd.OutOrStdout()
	var checkErr error
	if plan == nil {
		// not saved for status: remediation is about to make it stale
		rep, err := checkLive(ctx, g, &o.check, rt.engine, state, kubeconfig, rt.postgres, false, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if driftExitCode(rep.Status()) == exitcode.Failed {
			checkErr = exitcode.With(exitcode.Failed, fmt.Errorf("the check could not verify everything (%d error(s)); the plan covers only what it found", len(rep.Errors)))
			for _, e := range rep.Errors {
				fmt.Fprintf(cmd.ErrOrStderr(), "check error: %s %s %s: %s\n", e.Environment, e.TenantID, e.API, e.Message)
			}
		}
		if plan, err = rt.plan(ctx, rep, mode, o.planOptions()...); err != nil {
			return err
		}
		switch mode {
		case remediate.ModeWarn:
			if err := printPlan(out, plan, jsonOut); err != nil {
				return err
			}
			if code := driftExitCode(rep.Status()); code != exitcode.OK {
				return exitcode.With(code, fmt.Errorf("drift remediate --mode warn: %d finding(s), %d change(s) planned, nothing applied", len(rep.Findings), plan.Changes()))
			}
			return nil
		case remediate.ModeReview:
			if err := writePlan(out, o.planOut, plan, jsonOut); err != nil {
				return err
			}
			return checkErr
		}
	}
	if err := rt.approve(o.yes, o.approvalFile, plan); err != nil {
		return err
	}
	res, err := rt.apply(ctx, plan, o.planIn, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if jsonOut {
		err = writeDocument(out, kindRemediation, map[string]any{"commit": plan.Commit, "dirty": plan.Dirty, "plan": plan, "result": res})
	} else {
		err = remediate.WriteResultText(out, res)
	}
	if err != nil {
		return err
	}
	return errors.Join(res.Err(), checkErr)
}

func (o *remediateOptions) planOptions() []remediate.PlanOption {
	return []remediate.PlanOption{remediate.WithImport(o.imports), remediate.WithFieldManagers(o.fieldManagers...)}
}

func printPlan(w io.Writer, p *remediate.Plan, jsonOut bool) error {
	if jsonOut {
		// the plan keeps its own file format (apiVersion tenantctl.remediation/v1) inside the
		// envelope: it is what --plan-out writes and --plan reads
		return writeDocument(w, kindRemediationPlan, map[string]any{"commit": p.Commit, "dirty": p.Dirty, "changes": p.Changes(), "actions": len(p.Actions), "plan": p})
	}
	return remediate.WriteText(w, p)
}

// writePlan writes the plan file (or stdout for "-") and, on stdout, what it holds.
func writePlan(w io.Writer, path string, p *remediate.Plan, jsonOut bool) error {
	if path == "-" {
		return remediate.Encode(w, p)
	}
	// private: a plan names objects of every tenant it covers
	if err := writeFileAtomic(path, privateFile, func(w io.Writer) error { return remediate.Encode(w, p) }); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("write plan %s: %w", path, err))
	}
	if jsonOut {
		return writeDocument(w, kindRemediationPlan, map[string]any{"commit": p.Commit, "dirty": p.Dirty, "planFile": path, "changes": p.Changes(), "actions": len(p.Actions)})
	}
	if err := remediate.WriteText(w, p); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nplan written to %s; apply it with: tenantctl drift remediate --plan %s\n", path, path)
	return err
}

// remediation is what planning and applying need: the engine with its auditor, and the cluster.
type remediation struct {
	engine     *automation.Engine
	auditor    *audit.Auditor
	state      *isolation.DesiredState
	kubeconfig string
	// postgres is the engine's data-layer connection file; pgDSN an explicit --postgres server.
	postgres string
	pgDSN    string
	cluster  *remediate.KubeCluster
}

func newRemediation(cmd *cobra.Command, f *engineFlags, state *isolation.DesiredState, kubeconfig string) (*remediation, error) {
	rt := &remediation{state: state, kubeconfig: kubeconfig, postgres: f.resolvePostgres(cmd)}
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	var err error
	// serveEngine keeps the auditor: remediation records its own events in the engine's log.
	if rt.engine, rt.auditor, err = f.serveEngine(logger); err != nil {
		return nil, err
	}
	cfg, err := kube.RESTConfig(kubeconfig, "")
	if err != nil {
		rt.auditor.Close()
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err))
	}
	if rt.cluster, err = remediate.NewKubeClusterForConfig(cfg); err != nil {
		rt.auditor.Close()
		return nil, exitcode.With(exitcode.Failed, err)
	}
	return rt, nil
}

func (rt *remediation) plan(ctx context.Context, rep *report.Report, mode remediate.Mode, opts ...remediate.PlanOption) (*remediate.Plan, error) {
	digest, err := remediate.DesiredDigest(rt.state)
	if err != nil {
		return nil, err
	}
	p := remediate.NewPlanner(rt.cluster, remediate.NewStackInputs(rt.engine), remediate.EnvironmentsOf(rt.state), opts...)
	plan, err := p.Build(ctx, rep, mode, digest)
	if err != nil {
		return nil, exitcode.With(exitcode.Failed, fmt.Errorf("plan remediation: %w", err))
	}
	return plan, nil
}

// approve refuses to change production environments without --yes or a matching approval file.
func (rt *remediation) approve(yes bool, approvalFile string, plan *remediate.Plan) error {
	state := rt.state
	var envs []*isolation.Environment
	var bindings []*isolation.RuntimeTenantBinding
	for _, a := range plan.Actions {
		if a.Kind == remediate.ActionReport {
			continue
		}
		env := state.Environment(a.Environment)
		if env == nil {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("plan action %s: environment %q is not in the desired state", a.ID, a.Environment))
		}
		if !slices.Contains(envs, env) {
			envs = append(envs, env)
		}
		if b := state.Binding(a.Environment, a.Tenant); b != nil && !slices.Contains(bindings, b) {
			bindings = append(bindings, b)
		}
	}
	return checkApproval(&opOptions{yes: yes, approvalFile: approvalFile}, opRemediate, state, bindings, envs)
}

func (rt *remediation) apply(ctx context.Context, plan *remediate.Plan, source string, progress io.Writer) (*remediate.Result, error) {
	digest, err := remediate.DesiredDigest(rt.state)
	if err != nil {
		return nil, err
	}
	if source == "" {
		source = "(--mode auto)"
	}
	opts := []remediate.ExecOption{remediate.WithDesiredCheck(remediate.NewStackInputs(rt.engine)),
		remediate.WithPrincipal(audit.LocalPrincipal()), remediate.WithPlanSource(source), remediate.WithProgress(progress)}
	pgcfg, err := dataPlaneServer(rt.pgDSN, rt.postgres, usesPostgres(rt.state))
	if err != nil {
		return nil, err
	}
	if pgcfg != nil {
		opts = append(opts, remediate.WithDataPlane(remediate.NewPGServer(pgcfg)))
	}
	ex := remediate.NewExecutor(rt.cluster, remediate.NewEngineConverger(rt.engine, rt.state, rt.kubeconfig, fleet.WithPostgres(rt.postgres)), rt.auditor,
		remediate.EnvironmentsOf(rt.state), digest, opts...)
	return ex.Apply(ctx, plan)
}
