package main

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func init() {
	register(newStatusCmd)
	register(newListCmd)
	register(newOutputsCmd)
}

// stackStatus is one row of `tenantctl status`.
type stackStatus struct {
	Stack            string                `json:"stack"`
	TenantID         string                `json:"tenantId,omitempty"`
	Environment      string                `json:"environment"`
	Tier             isolation.Tier        `json:"tier,omitempty"`
	Exists           bool                  `json:"exists"`
	LastUpdate       string                `json:"lastUpdate,omitempty"`
	Resources        *int                  `json:"resources,omitempty"`
	UpdateInProgress bool                  `json:"updateInProgress"`
	Locks            []automation.LockInfo `json:"locks,omitempty"`
	Drift            *driftSummary         `json:"drift,omitempty"`
}

func newStatusCmd(g *globalOptions) *cobra.Command {
	var ef engineFlags
	var sel fleet.Selection
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Last update, lock and drift summary per tenant stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// status shows every tenant unless told otherwise; Select itself insists on a choice.
			if !sel.All && len(sel.Tenants) == 0 {
				sel.All = true
			}
			return withSelectedStacks(cmd, g, &ef, sel, func(s selectedStacks) error {
				return printStatus(cmd, g, s)
			})
		},
	}
	ef.add(cmd)
	cmd.Flags().StringSliceVarP(&sel.Tenants, "tenant", "t", nil, "tenant id (repeatable; default every tenant)")
	cmd.Flags().StringVar(&sel.Env, "env", "", "only this environment")
	return cmd
}

// selectedStacks is what the read-only stack commands (status, outputs) work on: the desired
// state, an engine on the state backend, and the stacks the selection names.
type selectedStacks struct {
	state    *isolation.DesiredState
	engine   *automation.Engine
	bindings []*isolation.RuntimeTenantBinding
	envs     []*isolation.Environment
}

// withSelectedStacks loads the desired state, builds the engine and selects the stacks of sel,
// then runs run on them. The audit log is flushed when run returns, so the commands cannot forget it.
func withSelectedStacks(cmd *cobra.Command, g *globalOptions, ef *engineFlags, sel fleet.Selection, run func(selectedStacks) error) error {
	state, err := isolation.Load(cmd.Context(), g.dir)
	if err != nil {
		return err
	}
	e, closeAudit, _, err := ef.engine(nil)
	if err != nil {
		return err
	}
	defer closeAudit()
	bindings, envs, err := fleet.New(e, state, "").Select(sel)
	if err != nil {
		return err
	}
	return run(selectedStacks{state: state, engine: e, bindings: bindings, envs: envs})
}

// printStatus writes one row per selected stack, as JSON or as a table.
func printStatus(cmd *cobra.Command, g *globalOptions, s selectedStacks) error {
	state, e := s.state, s.engine
	rows, err := collectStatus(cmd, e, s.bindings, s.envs)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"commit": state.Commit, "dirty": state.Dirty, "backend": e.BackendURL(), "stacks": rows})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "desired state %s, backend %s\n", revision(state.Commit, state.Dirty), e.BackendURL())
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tTIER\tLAST UPDATE\tRESOURCES\tLOCK\tDRIFT")
	for _, r := range rows {
		last, res, lock, drift := "never", "-", "-", "-"
		if r.Exists && r.LastUpdate != "" {
			last = r.LastUpdate
		}
		if r.Resources != nil {
			res = fmt.Sprint(*r.Resources)
		}
		if r.UpdateInProgress {
			lock = "update in progress"
		}
		for _, l := range r.Locks {
			lock = fmt.Sprintf("pid %d@%s", l.Pid, l.Hostname)
			if l.Stale {
				lock += " (stale: run with --recover)"
			}
		}
		if r.Drift != nil {
			drift = r.Drift.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Stack, orDash(string(r.Tier)), last, res, lock, drift)
	}
	return tw.Flush()
}

func collectStatus(cmd *cobra.Command, e *automation.Engine, bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment) ([]stackStatus, error) {
	summaries, err := e.ListStacks(cmd.Context())
	if err != nil {
		return nil, exitcode.With(exitcode.Failed, fmt.Errorf("list stacks: %w", err))
	}
	byName := map[string]int{}
	for i, s := range summaries {
		byName[s.Name] = i
	}
	var rows []stackStatus
	add := func(stack, tenant, env string, tier isolation.Tier) error {
		r := stackStatus{Stack: stack, TenantID: tenant, Environment: env, Tier: tier}
		if i, ok := byName[stack]; ok {
			s := summaries[i]
			r.Exists, r.LastUpdate, r.Resources, r.UpdateInProgress = true, s.LastUpdate, s.ResourceCount, s.UpdateInProgress
		}
		locks, err := e.Locks(stack)
		if err != nil {
			return err
		}
		r.Locks = locks
		if tenant != "" {
			r.Drift = lastDrift(e, tenant, env)
		}
		rows = append(rows, r)
		return nil
	}
	for _, env := range envs {
		if err := add(tenantplan.PlatformStackName(env.Name()), "", env.Name(), ""); err != nil {
			return nil, err
		}
	}
	for _, b := range bs {
		if err := add(tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment), b.Spec.TenantID, b.Spec.Environment, b.Spec.Tier); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func newListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tenants of the desired state with their tier and stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			state, err := isolation.Load(cmd.Context(), g.dir)
			if err != nil {
				return err
			}
			type row struct {
				TenantID    string         `json:"tenantId"`
				Environment string         `json:"environment"`
				Tier        isolation.Tier `json:"tier"`
				Stack       string         `json:"stack"`
				File        string         `json:"file"`
			}
			var rows []row
			for _, b := range state.Bindings {
				rows = append(rows, row{b.Spec.TenantID, b.Spec.Environment, b.Spec.Tier, tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment), b.Source.File})
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tENV\tTIER\tSTACK\tFILE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.TenantID, r.Environment, r.Tier, r.Stack, r.File)
			}
			return tw.Flush()
		},
	}
}

func newOutputsCmd(g *globalOptions) *cobra.Command {
	var ef engineFlags
	var sel fleet.Selection
	cmd := &cobra.Command{
		Use:   "outputs [--tenant ID ...|--all]",
		Short: "Print the recorded outputs of tenant stacks (secret outputs are masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withSelectedStacks(cmd, g, &ef, sel, func(s selectedStacks) error {
				return printOutputs(cmd, g, s)
			})
		},
	}
	ef.add(cmd)
	cmd.Flags().StringSliceVarP(&sel.Tenants, "tenant", "t", nil, "tenant id (repeatable)")
	cmd.Flags().BoolVar(&sel.All, "all", false, "every tenant")
	cmd.Flags().StringVar(&sel.Env, "env", "", "only this environment")
	return cmd
}

// printOutputs writes the recorded outputs of every selected tenant stack that exists.
func printOutputs(cmd *cobra.Command, g *globalOptions, s selectedStacks) error {
	all := map[string]map[string]any{}
	for _, b := range s.bindings {
		stack := tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)
		out, err := s.engine.Outputs(cmd.Context(), stack)
		if automation.IsNotFound(err) {
			continue
		}
		if err != nil {
			return exitcode.With(exitcode.Failed, err)
		}
		all[stack] = out
	}
	if g.output == "json" {
		return writeJSON(cmd.OutOrStdout(), all)
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(cmd.OutOrStdout(), n)
		keys := make([]string, 0, len(all[n]))
		for k := range all[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(cmd.OutOrStdout(), "  %s: %v\n", k, all[n][k])
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
