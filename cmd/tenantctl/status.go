package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

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
		Long: `Status shows every selected stack's last update, resource count, lock and last drift check.
It is read-only: on a file:// or postgres:// backend it reads the backend's storage directly and
needs neither the pulumi CLI, its plugins nor the secrets passphrase (other backends are listed
through the pulumi CLI).`,
		Args: cobra.NoArgs,
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
	addEnvFlag(cmd, &sel.Envs)
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
	format, err := outputFormat(cmd, g, "text", "json")
	if err != nil {
		return err
	}
	rows, err := collectStatus(cmd, e, s.bindings, s.envs)
	if err != nil {
		return err
	}
	if format == "json" {
		if rows == nil {
			rows = []stackStatus{}
		}
		return writeDocument(cmd.OutOrStdout(), kindStatus, struct {
			revisionFields
			Backend string        `json:"backend"`
			Stacks  []stackStatus `json:"stacks"`
		}{revisionFields{state.Commit, state.Dirty}, redactBackend(e.BackendURL()), rows})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "desired state %s, backend %s\n", revision(state.Commit, state.Dirty), redactBackend(e.BackendURL()))
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

// stackSummaries lists the project's stacks: straight from the backend's storage where it can be
// read (file://, postgres://: no pulumi CLI, no passphrase), else through the CLI.
func stackSummaries(cmd *cobra.Command, e *automation.Engine) ([]auto.StackSummary, error) {
	states, err := e.StackStates(cmd.Context())
	if err == nil {
		out := make([]auto.StackSummary, 0, len(states))
		for _, st := range states {
			n := st.Resources
			s := auto.StackSummary{Name: st.Name, ResourceCount: &n, UpdateInProgress: st.Locked}
			if !st.LastUpdate.IsZero() {
				s.LastUpdate = st.LastUpdate.Format(time.RFC3339)
			}
			out = append(out, s)
		}
		return out, nil
	}
	if !errors.Is(err, automation.ErrStatesUnsupported) {
		return nil, exitcode.With(exitcode.Failed, fmt.Errorf("read the state backend %s: %w", redactBackend(e.BackendURL()), err))
	}
	summaries, err := e.ListStacks(cmd.Context())
	if err != nil {
		return nil, exitcode.With(exitcode.Failed, fmt.Errorf("list stacks: %w", err))
	}
	return summaries, nil
}

// redactBackend keeps a postgres:// password out of what status prints.
func redactBackend(u string) string {
	if parsed, err := url.Parse(u); err == nil && parsed.User != nil {
		if _, has := parsed.User.Password(); has {
			parsed.User = url.UserPassword(parsed.User.Username(), "xxxxx")
			return parsed.String()
		}
	}
	return u
}

func collectStatus(cmd *cobra.Command, e *automation.Engine, bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment) ([]stackStatus, error) {
	summaries, err := stackSummaries(cmd, e)
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, s := range summaries {
		byName[s.Name[strings.LastIndex(s.Name, "/")+1:]] = i
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
			format, err := outputFormat(cmd, g, "text", "json")
			if err != nil {
				return err
			}
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
			rows := []row{}
			for _, b := range state.Bindings {
				rows = append(rows, row{b.Spec.TenantID, b.Spec.Environment, b.Spec.Tier, tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment), b.Source.File})
			}
			if format == "json" {
				return writeDocument(cmd.OutOrStdout(), kindTenantList, struct {
					revisionFields
					Items []row `json:"items"`
				}{revisionFields{state.Commit, state.Dirty}, rows})
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
	addEnvFlag(cmd, &sel.Envs)
	return cmd
}

// printOutputs writes the recorded outputs of every selected tenant stack that exists.
func printOutputs(cmd *cobra.Command, g *globalOptions, s selectedStacks) error {
	format, err := outputFormat(cmd, g, "text", "json")
	if err != nil {
		return err
	}
	all, err := recordedOutputs(cmd, s)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeDocument(cmd.OutOrStdout(), kindOutputs, struct {
			revisionFields
			Stacks map[string]map[string]any `json:"stacks"`
		}{revisionFields{s.state.Commit, s.state.Dirty}, all})
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

// recordedOutputs are the outputs the selected tenant stacks recorded (secret outputs masked), by
// stack; stacks without state are left out. A file:// or postgres:// backend is read directly (no
// pulumi CLI, no passphrase); other backends through the CLI.
func recordedOutputs(cmd *cobra.Command, s selectedStacks) (map[string]map[string]any, error) {
	all := map[string]map[string]any{}
	states, err := s.engine.StackStates(cmd.Context())
	direct := err == nil
	if err != nil && !errors.Is(err, automation.ErrStatesUnsupported) {
		return nil, exitcode.With(exitcode.Failed, fmt.Errorf("read the state backend %s: %w", redactBackend(s.engine.BackendURL()), err))
	}
	for _, b := range s.bindings {
		stack := tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)
		if direct {
			st, ok := states[stack]
			if !ok || len(st.Deployment.Resources) == 0 {
				continue
			}
			out := map[string]any{}
			for _, r := range st.Deployment.Resources {
				if r.Type == "pulumi:pulumi:Stack" {
					maps.Copy(out, r.Outputs)
				}
			}
			all[stack] = out
			continue
		}
		out, err := s.engine.Outputs(cmd.Context(), stack)
		if automation.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, exitcode.With(exitcode.Failed, err)
		}
		all[stack] = out
	}
	return all, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
