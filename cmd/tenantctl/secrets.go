package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/api"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
	"github.com/connectsoft/tenantctl/secrets/rotation"
)

func init() { register(newSecretsCmd) }

// newVaultReader reads Key Vault as the default Azure credential; tests serve fake vaults.
var newVaultReader = func() (keyvault.Reader, error) { return keyvault.NewDefault() }

// opRotate is the operation an approval file names for a rotation in production.
const opRotate = automation.Operation("secrets-rotate")

func newSecretsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Key Vault versions of the tenants' secret references: status, rotation through Git, watch",
		Long: `Secret references pin a Key Vault version (spec.secrets[].currentVersion) or follow the latest.
status compares each pin with the vault's current version; rotate moves pins to it by committing
the binding change to the desired-state repository and bringing up the affected stacks only;
watch rotates on an interval. Vaults are read with the default Azure credential (environment,
workload identity, managed identity, Azure CLI); only version properties are read, never a value.`,
	}
	cmd.AddCommand(newSecretsStatusCmd(g), newSecretsRotateCmd(g, false), newSecretsRotateCmd(g, true))
	return cmd
}

type secretsSelection struct {
	tenants []string
	all     bool
	envs    []string
}

func (s *secretsSelection) add(cmd *cobra.Command, g *globalOptions) {
	fs := cmd.Flags()
	fs.StringSliceVarP(&s.tenants, "tenant", "t", nil, "tenant id (repeatable)")
	fs.BoolVar(&s.all, "all", false, "every tenant of the desired state")
	addEnvFlag(cmd, &s.envs)
	_ = cmd.RegisterFlagCompletionFunc("tenant", completeTenants(g))
}

func (s *secretsSelection) selection() rotation.Selection {
	return rotation.Selection{Tenants: s.tenants, All: s.all, Envs: s.envs}
}

func journalDir(dataDir string) (*rotation.Journal, error) {
	if dataDir == "" {
		dataDir = automation.DefaultDataDir()
	}
	j, err := rotation.OpenJournal(rotation.DefaultJournalDir(dataDir))
	if err != nil {
		return nil, exitcode.With(exitcode.Failed, err)
	}
	return j, nil
}

func vaultReader() (keyvault.Reader, error) {
	r, err := newVaultReader()
	if err != nil {
		return nil, exitcode.With(exitcode.Failed, err)
	}
	return r, nil
}

func newSecretsStatusCmd(g *globalOptions) *cobra.Command {
	var sel secretsSelection
	var dataDir string
	grace := secretversions.DefaultGrace
	cmd := &cobra.Command{
		Use:   "status [--tenant ID ...|--all]",
		Short: "Per tenant and reference: pinned version, the vault's current version, its expiry, the lag",
		Long: `For every selected reference: the pinned version (or latest), the vault's current version (the
newest enabled, unexpired one), its expiry, and the state of the pin: current, lagging (within
--grace), stale (superseded for longer than --grace), disabled, expired or missing. A rotation
that reached Git but not its stack shows as pending.

Exit 0 when no pin needs attention, 2 when one is stale, disabled, expired or missing, 1 when a
vault could not be read, 3 on invalid input.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.output != "text" && g.output != "json" {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("-o %s: want text or json", g.output))
			}
			if grace < 0 {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("--grace %s: must not be negative", grace))
			}
			j, err := journalDir(dataDir)
			if err != nil {
				return err
			}
			reader, err := vaultReader()
			if err != nil {
				return err
			}
			rows, st, vaultErr := rotation.New(g.dir, reader, j).Status(cmd.Context(), sel.selection(), grace)
			if st == nil {
				return vaultErr
			}
			if g.output == "json" {
				err = writeDocument(cmd.OutOrStdout(), kindSecretsStatus, map[string]any{"commit": st.Commit, "dirty": st.Dirty, "graceSeconds": grace.Seconds(), "references": rows})
			} else {
				printSecretsStatus(cmd.OutOrStdout(), st, rows)
			}
			if err != nil {
				return err
			}
			if vaultErr != nil {
				return exitcode.With(exitcode.Failed, vaultErr)
			}
			for _, r := range rows {
				if r.State.Finding() {
					return exitcode.With(exitcode.Findings, errors.New("secrets status: a pinned version needs rotating"))
				}
			}
			return nil
		},
	}
	sel.add(cmd, g)
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "where the rotation journal lives (default $XDG_DATA_HOME/tenantctl)")
	cmd.Flags().DurationVar(&grace, "grace", grace, "how long a pin may lag the vault's current version before it is stale")
	return cmd
}

func printSecretsStatus(w io.Writer, st *isolation.DesiredState, rows []rotation.StatusRow) {
	fmt.Fprintf(w, "secret references of desired state %s\n", revision(st.Commit, st.Dirty))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tREFERENCE\tVAULT/SECRET\tPINNED\tCURRENT\tEXPIRES\tSTATE\tLAG")
	for _, r := range rows {
		vault, _ := isolation.VaultName(r.Vault)
		cur, exp := "-", "-"
		if r.Current != nil {
			cur = shortVersion(r.Current.ID)
			if r.Current.Expires != nil {
				exp = r.Current.Expires.Format(time.RFC3339)
			}
		}
		pin := shortVersion(r.Pinned)
		if r.Pinned == "" {
			pin = "latest"
		}
		state := string(r.State)
		if r.Pending != nil {
			state += " (rotation to " + shortVersion(r.Pending.New) + " pending)"
		}
		if r.Error != "" && r.State == secretversions.StateError {
			state += ": " + r.Error
		}
		lag := "-"
		if r.Lag > 0 {
			lag = r.Lag.Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", r.Stack, r.Name, vault, r.Secret, pin, cur, exp, state, lag)
	}
	tw.Flush()
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

type rotateOptions struct {
	engineFlags
	sel          secretsSelection
	inPlace      bool
	branch       string
	yes          bool
	approvalFile string
	interval     time.Duration
}

func newSecretsRotateCmd(g *globalOptions, watch bool) *cobra.Command {
	o := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate [--tenant ID ...|--all] [--in-place|--branch NAME]",
		Short: "Move pinned references to the vault's current version through Git and up of the affected stacks",
		Long: `Every selected reference pinned to a version other than the vault's current one moves to it:
the binding's currentVersion line changes in place, the change is committed (on the checked-out
branch, or on --branch NAME, created from HEAD when missing; --in-place leaves it in the working
tree), and only the stacks whose references moved are brought up, one after the other, each
reading its platform stack's recorded outputs. References that follow the latest version are
recorded as observed (audit secret.rotate), nothing else.

The old version is never disabled: it stays valid and referenced by every stack that has not
applied the new one. When an up fails, the change stays in Git and the rotation in the journal;
the next run resumes it without a second commit. A run with nothing new to do changes nothing and
records nothing. Production environments need --yes or --approval-file (operation
secrets-rotate).

Exit 0 done (or nothing to do), 1 a stack failed or a vault could not be read, 3 invalid input,
4 another rotation holds the lock.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRotate(cmd, g, o, watch) },
	}
	if watch {
		cmd.Use = "watch --interval 1h [--tenant ID ...|--all]"
		cmd.Short = "Rotate on an interval until stopped (SIGINT/SIGTERM)"
		cmd.Long = "Runs secrets rotate now and then every --interval, with the same flags. A failed run never stops\nthe loop; the next run resumes it."
		cmd.Flags().DurationVar(&o.interval, "interval", time.Hour, "time between rotations")
	}
	o.engineFlags.add(cmd)
	o.sel.add(cmd, g)
	fs := cmd.Flags()
	fs.BoolVar(&o.inPlace, "in-place", false, "edit the bindings in the working tree, commit nothing")
	fs.StringVar(&o.branch, "branch", "", "commit on this branch (checked out, created from HEAD when missing)")
	fs.BoolVarP(&o.yes, "yes", "y", false, "approve rotations in production environments")
	fs.StringVar(&o.approvalFile, "approval-file", "", "approval for production (operation secrets-rotate)")
	return cmd
}

func runRotate(cmd *cobra.Command, g *globalOptions, o *rotateOptions, watch bool) error {
	if g.output != "text" && g.output != "json" {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("-o %s: want text or json", g.output))
	}
	if o.inPlace && o.branch != "" {
		return exitcode.With(exitcode.Invalid, errors.New("--in-place and --branch: choose one"))
	}
	if watch && o.interval <= 0 {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("--interval %s: must be positive", o.interval))
	}
	ctx := cmd.Context()
	state, err := isolation.Load(ctx, g.dir)
	if err != nil {
		return err
	}
	sel := o.sel.selection()
	if err := approveRotation(o, state, sel); err != nil {
		return err
	}
	kubeconfig, err := o.resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	printer := newProgressPrinter(cmd.ErrOrStderr(), g.output == "json")
	var auditErr error
	e, auditor, err := o.build(printer.handle, func(err error) { auditErr = errors.Join(auditErr, err) })
	if err != nil {
		return err
	}
	defer auditor.Close()
	j, err := journalDir(o.dataDir)
	if err != nil {
		return err
	}
	reader, err := vaultReader()
	if err != nil {
		return err
	}
	r := rotation.New(g.dir, reader, j,
		rotation.WithRunner(rotation.FleetRunner{Engine: e, Kubeconfig: kubeconfig, Postgres: o.resolvePostgres(cmd)}),
		rotation.WithAuditor(auditor), rotation.WithPrincipal(audit.LocalPrincipal()),
		rotation.WithGit(rotation.GitMode{InPlace: o.inPlace, Branch: o.branch}),
		rotation.WithProgress(cmd.ErrOrStderr()))
	report := func(res *rotation.Result) error {
		if g.output == "json" {
			return writeDocument(cmd.OutOrStdout(), kindRotation, res)
		}
		printRotation(cmd.OutOrStdout(), res)
		return nil
	}
	if watch {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return r.Watch(ctx, sel, o.interval, func(res *rotation.Result, err error) {
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "tenantctl: secrets watch:", err)
				return
			}
			_ = report(res)
		})
	}
	res, err := r.Rotate(ctx, sel)
	if err != nil {
		return err
	}
	if err := report(res); err != nil {
		return err
	}
	if auditErr != nil {
		return exitcode.With(exitcode.Failed, auditErr)
	}
	if res.Failed() {
		return exitcode.With(exitcode.Failed, errors.New("secrets rotate: "+rotationFailures(res)))
	}
	return nil
}

// approveRotation asks for --yes or an approval when a selected tenant lives in production.
func approveRotation(o *rotateOptions, st *isolation.DesiredState, sel rotation.Selection) error {
	var bs []*isolation.RuntimeTenantBinding
	seen := map[string]bool{}
	var envs []*isolation.Environment
	for _, b := range st.Bindings {
		if !sel.InEnv(b.Spec.Environment) || (!sel.All && !contains(sel.Tenants, b.Spec.TenantID)) {
			continue
		}
		bs = append(bs, b)
		if !seen[b.Spec.Environment] {
			seen[b.Spec.Environment] = true
			envs = append(envs, st.EnvironmentOf(b))
		}
	}
	return checkApproval(&opOptions{yes: o.yes, approvalFile: o.approvalFile}, opRotate, st, bs, envs)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func rotationFailures(res *rotation.Result) string {
	var parts []string
	for _, o := range res.References {
		if o.Action == rotation.ActionFailed || (o.Action == rotation.ActionUnavailable && o.Error != "") {
			parts = append(parts, o.Stack+" "+o.Reference+": "+o.Error)
		}
	}
	return strings.Join(parts, "; ")
}

func printRotation(w io.Writer, res *rotation.Result) {
	where := "working tree (not committed)"
	switch {
	case res.Commit != "":
		where = "commit " + shortVersion(res.Commit)
		if res.Branch != "" {
			where += " on branch " + res.Branch
		}
	case !res.InPlace:
		where = "no commit"
	}
	fmt.Fprintf(w, "\nsecret rotation of desired state %s: %s\n", revision(res.Revision, false), where)
	if len(res.References) == 0 {
		fmt.Fprintln(w, "nothing to rotate: every selected reference is at its vault's current version")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tREFERENCE\tVAULT/SECRET\tACTION\tVERSION\tERROR")
	for _, o := range res.References {
		vault, _ := isolation.VaultName(o.Vault)
		ver := "-"
		if o.New != "" {
			ver = orDash(shortVersion(o.Old)) + " -> " + shortVersion(o.New)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\n", o.Stack, o.Reference, vault, o.Secret, o.Action, ver, o.Error)
	}
	tw.Flush()
	for _, r := range res.Released {
		fmt.Fprintf(w, "released: %s/%s version %s is referenced by no stack any more; it may be disabled\n", r.Vault, r.Secret, r.Version)
	}
}

// serveRotator is the API's secret rotation: the server's desired-state folder, engine, audit log
// and journal, with the caller as principal.
type serveRotator struct {
	dir, kubeconfig string
	postgres        string
	engine          *automation.Engine
	auditor         *audit.Auditor
	journal         *rotation.Journal
	reader          keyvault.Reader
}

func newServeRotator(dir string, e *automation.Engine, kubeconfig, postgres string, auditor *audit.Auditor) (*serveRotator, error) {
	j, err := journalDir(e.DataDir())
	if err != nil {
		return nil, err
	}
	reader, err := vaultReader()
	if err != nil {
		return nil, err
	}
	return &serveRotator{dir: dir, kubeconfig: kubeconfig, postgres: postgres, engine: e, auditor: auditor, journal: j, reader: reader}, nil
}

func (s *serveRotator) rotator(req api.SecretsRequest) (*rotation.Rotator, rotation.Selection) {
	r := rotation.New(s.dir, s.reader, s.journal,
		rotation.WithRunner(rotation.FleetRunner{Engine: s.engine, Kubeconfig: s.kubeconfig, Postgres: s.postgres}),
		rotation.WithAuditor(s.auditor), rotation.WithPrincipal(req.Principal),
		rotation.WithGit(rotation.GitMode{InPlace: req.InPlace, Branch: req.Branch}))
	return r, rotation.Selection{Tenants: []string{req.TenantID}, Env: req.Environment}
}

// Pending implements api.SecretsRotator.
func (s *serveRotator) Pending(ctx context.Context, req api.SecretsRequest) (int, error) {
	r, sel := s.rotator(req)
	rows, _, err := r.Status(ctx, sel, 0)
	if rows == nil && err != nil {
		return 0, err
	}
	return rotation.WouldMove(rows), nil
}

// Rotate implements api.SecretsRotator.
func (s *serveRotator) Rotate(ctx context.Context, req api.SecretsRequest) (*rotation.Result, error) {
	r, sel := s.rotator(req)
	return r.Rotate(ctx, sel)
}
