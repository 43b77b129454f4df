package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/probe"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// probeOptions are the flags of `isolation probe`.
type probeOptions struct {
	envs             []string
	tenants          []string
	kubeconfig       string
	kubeContext      string
	yes              bool
	statementTimeout time.Duration
}

func newIsolationProbeCmd(opts *globalOptions) *cobra.Command {
	var o probeOptions
	cmd := &cobra.Command{
		Use:   "probe [--env ENV] [--tenant ID]... [--yes]",
		Short: "Prove data-plane isolation by queries, logged in as each tenant's own database role",
		Long: `Probe logs in to the environment's PostgreSQL server as each tenant's login role, with the
credentials its stack published (the Secret t-<tenant>-db in the tenant's namespace: PGHOST,
PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE), and tries to reach every other tenant of the
environment: connect to its own database, read its schema's tables (and USAGE on the schema), read
other tenants' rows of the shared tables (as itself and after SET LOCAL app.tenant_id / tenant.id),
SET LOCAL ROLE to its login and owner roles, and SET LOCAL SESSION AUTHORIZATION to its login role.
Every query that succeeds is an edge (data-grant, data-membership, data-row-security or
data-escalation) printed with the exact SQL and what it returned. Each probe runs in its own
READ ONLY transaction with a statement_timeout and is rolled back: nothing is written.

--tenant restricts who probes (repeatable); every tenant of the environment is still a target.
Since it logs in as tenants against the live server, a production environment needs --yes.
The Secrets are read with --kubeconfig (default: the running local cluster, else $KUBECONFIG).
No password is ever printed.

Exit codes: 0 no edge, 2 an edge, 1 a tenant's credentials are missing or unusable, the server or
the cluster cannot be reached, or a probe could not be decided (this wins over 2: the run is
incomplete, and the edges found are still printed), 3 invalid input.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runIsolationProbe(cmd, opts, o) },
	}
	f := cmd.Flags()
	// repeatable like every --env, but a probe logs in to one environment's server: pickEnvironments
	// refuses more than one
	f.StringSliceVar(&o.envs, "env", nil, "environment to probe (one; default: the one environment with bindings)")
	f.StringSliceVar(&o.tenants, "tenant", nil, "probe as this tenant only (repeatable; default: every tenant of the environment)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster holding the tenants' credential Secrets (default: the running local cluster, else $KUBECONFIG)")
	f.StringVar(&o.kubeContext, "context", "", "kubeconfig context (default: the current one)")
	f.BoolVarP(&o.yes, "yes", "y", false, "approve logging in as every tenant against a production environment's live server")
	f.DurationVar(&o.statementTimeout, "statement-timeout", 5*time.Second, "statement_timeout of every probe")
	return cmd
}

// probeSetup is the validated input of a probe run.
type probeSetup struct {
	state    *isolation.DesiredState
	env      *isolation.Environment
	tenants  []*tenantplan.Tenant
	platform *tenantplan.PlatformPostgres
}

// planProbe loads the desired state and checks everything a run needs before any connection.
func planProbe(cmd *cobra.Command, g *globalOptions, o probeOptions) (*probeSetup, error) {
	if g.output != "text" && g.output != "json" {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: unsupported output %q (want text or json)", g.output))
	}
	if o.statementTimeout <= 0 {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: --statement-timeout %s must be positive", o.statementTimeout))
	}
	state, err := isolation.Load(cmd.Context(), g.dir)
	if err != nil {
		return nil, err
	}
	envs, err := pickEnvironments(state, o.envs, true)
	if err != nil {
		return nil, err
	}
	env := envs[0]
	if !tenantplan.UsesPostgres(env) {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: environment %s keeps no tenant data on a PostgreSQL server tenantctl provisions (target %s, spec.sharedDatabase.engine %q), so no tenant publishes the credential Secret to log in with",
			env.Name(), env.Spec.Target, env.Spec.SharedDatabase.Engine))
	}
	s := &probeSetup{state: state, env: env}
	if s.tenants, s.platform, err = tenantplan.PlanData(env, state.BindingsIn(env.Name())); err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: %w", err))
	}
	for _, id := range o.tenants {
		if !slices.ContainsFunc(s.tenants, func(t *tenantplan.Tenant) bool { return t.TenantID == id }) {
			return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: --tenant %q is not a tenant of environment %s", id, env.Name()))
		}
	}
	if env.Spec.Production && !o.yes {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: environment %s is production: the probe logs in to its live server as every tenant; pass --yes to approve", env.Name()))
	}
	return s, nil
}

func runIsolationProbe(cmd *cobra.Command, g *globalOptions, o probeOptions) error {
	s, err := planProbe(cmd, g, o)
	if err != nil {
		return err
	}
	kubeconfig, err := (&engineFlags{kubeconfig: o.kubeconfig}).resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	cfg, err := kube.RESTConfig(kubeconfig, o.kubeContext)
	if err != nil {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: %w", err))
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation probe: %w", err))
	}
	res, runErr := probe.Run(cmd.Context(), probe.Input{
		Tenants: s.tenants, Platform: s.platform, From: o.tenants,
		Credentials: secretCredentials{client: client},
		Options:     probe.Options{StatementTimeout: o.statementTimeout},
	})
	if res == nil {
		return exitcode.With(exitcode.Failed, runErr)
	}
	if err := writeProbeReport(cmd.OutOrStdout(), g.output, s.state, res); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("isolation probe: write report: %w", err))
	}
	found := ""
	if len(res.Edges) > 0 {
		found = fmt.Sprintf(" (and %d edge(s) found)", len(res.Edges))
	}
	switch {
	case runErr != nil:
		return exitcode.With(exitcode.Failed, fmt.Errorf("%w%s", runErr, found))
	case len(res.Undecided) > 0:
		return exitcode.With(exitcode.Failed, fmt.Errorf("isolation probe: %d probe(s) could not be decided%s: isolation is not proven", len(res.Undecided), found))
	case len(res.Edges) > 0:
		return exitcode.With(exitcode.Findings, fmt.Errorf("isolation probe: %d edge(s): a tenant's own login role reached another tenant's data", len(res.Edges)))
	}
	return nil
}

// secretCredentials reads each tenant's connection from the Secret its stack created.
type secretCredentials struct{ client kubernetes.Interface }

// probeSecretKeys are the libpq variables of a tenant's credential Secret.
var probeSecretKeys = []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE"}

func (s secretCredentials) Credentials(ctx context.Context, t *tenantplan.Tenant) (probe.Conn, error) {
	name := t.Data.Postgres.CredentialObject
	if name == "" {
		return probe.Conn{}, fmt.Errorf("the plan of tenant %s publishes no credential Secret", t.TenantID)
	}
	ref := t.Namespace + "/" + name
	sec, err := s.client.CoreV1().Secrets(t.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return probe.Conn{}, fmt.Errorf("Secret %s not found: is the tenant provisioned (tenantctl up)?", ref)
	}
	if err != nil {
		return probe.Conn{}, fmt.Errorf("read Secret %s: %w", ref, err)
	}
	var missing []string
	for _, k := range probeSecretKeys {
		// PGSSLMODE may be empty: the loopback/verify-full default applies.
		if len(sec.Data[k]) == 0 && k != "PGSSLMODE" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return probe.Conn{}, fmt.Errorf("Secret %s has no %s", ref, strings.Join(missing, ", "))
	}
	port, err := strconv.Atoi(string(sec.Data["PGPORT"]))
	if err != nil {
		return probe.Conn{}, fmt.Errorf("Secret %s: PGPORT %q is not a port", ref, sec.Data["PGPORT"])
	}
	return probe.Conn{
		Host: string(sec.Data["PGHOST"]), Port: port, Database: string(sec.Data["PGDATABASE"]),
		User: string(sec.Data["PGUSER"]), Password: string(sec.Data["PGPASSWORD"]), SSLMode: string(sec.Data["PGSSLMODE"]),
	}, nil
}

// probeReport is the JSON form of a probe run.
type probeReport struct {
	Dir string `json:"dir"`
	revisionFields
	Revision string `json:"revision"`
	// Failing: an edge, an undecided probe or a tenant that could not be probed.
	Failing bool `json:"failing"`
	*probe.Result
}

func writeProbeReport(w io.Writer, output string, state *isolation.DesiredState, res *probe.Result) error {
	if output == "json" {
		return writeDocument(w, kindProbeReport, probeReport{Dir: state.Dir, revisionFields: revisionFields{state.Commit, state.Dirty},
			Revision: state.Revision(), Failing: !res.Clean(), Result: res})
	}
	var b strings.Builder
	queries, probed := 0, 0
	for _, t := range res.Tenants {
		queries += t.Queries
		if !t.Failed {
			probed++
		}
	}
	fmt.Fprintf(&b, "environment %s (revision %s): %d of %d tenant(s) probed as their own login roles, %d queries: %d edge(s), %d undecided, %d failed\n",
		res.Environment, state.Revision(), probed, len(res.Tenants), queries, len(res.Edges), len(res.Undecided), len(res.Failures))
	for _, t := range res.Tenants {
		if t.Failed {
			fmt.Fprintf(&b, "  %-12s %s: not probed\n", t.Tenant, t.Role)
			continue
		}
		fmt.Fprintf(&b, "  %-12s %s on %s: %d queries in %s, %d edge(s)\n", t.Tenant, t.Role, t.Server, t.Queries, strings.Join(t.Databases, ", "), t.Edges)
	}
	for _, e := range res.Edges {
		fmt.Fprintf(&b, "  EDGE      %s → %s %s (as %s in database %s)\n    sql:      %s\n    returned: %s\n", e.From, e.To, e.Kind, e.Role, e.Database, e.SQL, e.Returned)
		if e.Note != "" {
			fmt.Fprintf(&b, "    note:     %s\n", e.Note)
		}
	}
	for _, u := range res.Undecided {
		to := u.To
		if to == "" {
			to = "?"
		}
		fmt.Fprintf(&b, "  UNDECIDED %s → %s in database %s\n    sql:      %s\n    error:    %s\n", u.From, to, u.Database, u.SQL, u.Error)
	}
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "  FAILED    %s (%s): %s\n", f.Tenant, f.Stage, f.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
