package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
	"k8s.io/client-go/rest"

	tenantctl "github.com/connectsoft/tenantctl"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/statestore"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	"github.com/connectsoft/tenantctl/isolation/reach/render"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/stacks"
	azurestacks "github.com/connectsoft/tenantctl/stacks/azure"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func init() { register(newIsolationCmd) }

// isolationOptions select what the reachability analysis reads.
type isolationOptions struct {
	inventory   string
	desiredOnly bool
	envs        []string
	kubeconfig  string
	kubeContext string
	out         string
	// issuers are OIDC issuers federated credentials may trust besides the platform stack's.
	issuers []string
	backend string
	dataDir string
	// postgres is the data plane's server (a connection string without the password, which
	// comes from PGPASSWORD or ~/.pgpass); postgresConn a connection file as the engine's, read
	// when postgres is empty. A server that cannot be read is an error, never "no route".
	postgres     string
	postgresConn string
}

func newIsolationCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "isolation",
		Short: "Prove tenant isolation: who can reach whom, across every route kind",
	}
	cmd.AddCommand(newIsolationVerifyCmd(opts), newIsolationGraphCmd(opts), newIsolationProbeCmd(opts))
	return cmd
}

func addSourceFlags(cmd *cobra.Command, o *isolationOptions) {
	f := cmd.Flags()
	f.StringVar(&o.inventory, "inventory", "", "analyse this inventory snapshot file (tenantctl inventory export) instead of the live cluster and Azure")
	f.BoolVar(&o.desiredOnly, "desired-only", false, "analyse the objects the programs would create (before provisioning) instead of live state")
	f.StringSliceVar(&o.envs, "env", nil, "environment to analyse (repeatable; default: see the command's help)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "live mode: kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&o.kubeContext, "context", "", "live mode: kubeconfig context (default: the current one)")
	f.StringSliceVar(&o.issuers, "oidc-issuer", nil, "OIDC issuer URL federated identity credentials may trust (repeatable; default: the platform stack's oidcIssuerUrl, and the managed clusters the input holds)")
	f.StringVar(&o.backend, "backend", "", "state backend whose platform stack outputs name the cluster's OIDC issuer: file://DIR or postgres://... (default: the file state under the data dir)")
	f.StringVar(&o.dataDir, "data-dir", "", "data dir of the default file state (default $XDG_DATA_HOME/tenantctl)")
	f.StringVar(&o.postgresConn, "postgres-connection", "", "the data layer's connection file (as for up); default $TENANTCTL_POSTGRES_CONNECTION, else the running local server; read for environments that keep tenant data on PostgreSQL unless --postgres is given")
	f.StringVar(&o.postgres, "postgres", "", "also analyse the data plane: the PostgreSQL server of this connection string (e.g. postgres://admin@host:5432/postgres?sslmode=require; password from PGPASSWORD or ~/.pgpass), every database's privileges, memberships and row-level security")
}

func newIsolationVerifyCmd(opts *globalOptions) *cobra.Command {
	var o isolationOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Fail when any route between two different tenants is not declared in the environment",
		Long: `Verify computes the reachability graph of each environment (tenants and the platform as nodes,
routes as edges) and prints the evidence chain of every edge between two different parties that
the environment's allowedRoutes do not declare, and of every edge the input cannot decide.

Input: the live cluster (and, for an azure environment, its subscription through the default
Azure credential), an inventory snapshot (--inventory FILE), or the objects the programs would
create (--desired-only, before provisioning). With --desired-only every environment is checked;
otherwise the environment with bindings, or the ones named with --env.

Exit codes: 0 no unexpected edge, 2 unexpected or unknown edges, 3 invalid input, 1 error.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.output != "text" && opts.output != "json" {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation verify: unsupported output %q (want text or json)", opts.output))
			}
			state, graphs, err := analyseIsolation(cmd, opts, o, false)
			if err != nil {
				return err
			}
			return reportVerify(cmd.OutOrStdout(), opts.output, state, graphs)
		},
	}
	addSourceFlags(cmd, &o)
	return cmd
}

func newIsolationGraphCmd(opts *globalOptions) *cobra.Command {
	var o isolationOptions
	var view render.Options
	cmd := &cobra.Command{
		Use:   "graph -o html|svg|dot [--view attention|matrix|focus|full] [--tenant ID] [--out FILE]",
		Short: "Draw the reachability graph of one environment",
		Long: `Graph draws one environment's reachability graph. The HTML page (the default) opens on what needs
attention: every unexpected and unknown edge and every exposure drawn (laid out with Graphviz),
and the allowed edges between the platform and the tenants folded into one line per tier, under a
summary of the counts. Its other tabs are the tenants × tenants adjacency matrix (grouped by
tier, cells coloured by verdict or by kind, evidence on hover and click; readable at thousands
of tenants), the focus view of --tenant (its in and out edges and exposures), and every edge as a
table. --view picks the tab the page opens on. The page is self-contained: it loads nothing from
the network. Output: html, svg or dot (svg and dot draw the attention, focus or full view), to
--out or stdout.

Exit codes: 0 drawn (whatever the graph shows), 3 invalid input, 1 error.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format := opts.output
			if !cmd.Flags().Changed("output") && format == "text" {
				format = "html"
			}
			draw := map[string]func(io.Writer, *reach.Graph) error{
				"html": func(w io.Writer, g *reach.Graph) error { return render.HTML(cmd.Context(), w, g, view) },
				"svg":  func(w io.Writer, g *reach.Graph) error { return render.SVG(cmd.Context(), w, g, view) },
				"dot":  func(w io.Writer, g *reach.Graph) error { return render.DOT(w, g, view) },
			}[format]
			if draw == nil {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation graph: unsupported output %q (want html, svg or dot)", format))
			}
			if view.View != "" && !slices.Contains(render.Views, view.View) {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation graph: --view %q: want one of %v", view.View, render.Views))
			}
			_, graphs, err := analyseIsolation(cmd, opts, o, true)
			if err != nil {
				return err
			}
			if view.Tenant != "" && graphs[0].Node(view.Tenant) == nil {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("isolation graph: --tenant %q is not a party of environment %s", view.Tenant, graphs[0].Environment))
			}
			if view.View == render.ViewFocus && view.Tenant == "" {
				return exitcode.With(exitcode.Invalid, errors.New("isolation graph: --view focus needs --tenant"))
			}
			if o.out == "" {
				return draw(cmd.OutOrStdout(), graphs[0])
			}
			if err := writeFileAtomic(o.out, sharedFile, func(w io.Writer) error { return draw(w, graphs[0]) }); err != nil {
				return fmt.Errorf("isolation graph: %w", err)
			}
			return nil
		},
	}
	addSourceFlags(cmd, &o)
	cmd.Flags().StringVar(&o.out, "out", "", "write the picture to this file (default: stdout)")
	cmd.Flags().StringVar((*string)(&view.View), "view", "", "view to draw or open on: attention (default), matrix (HTML), focus (needs --tenant) or full")
	cmd.Flags().StringVar(&view.Tenant, "tenant", "", "focus on this tenant: its in and out edges and exposures (opens the focus view)")
	return cmd
}

// analyseIsolation loads the desired state, picks the environments and computes their graphs.
// single asks for exactly one environment.
func analyseIsolation(cmd *cobra.Command, g *globalOptions, o isolationOptions, single bool) (*isolation.DesiredState, []*reach.Graph, error) {
	ctx := cmd.Context()
	if o.inventory != "" && o.desiredOnly {
		return nil, nil, exitcode.With(exitcode.Invalid, errors.New("isolation: --inventory and --desired-only exclude each other"))
	}
	state, err := isolation.Load(ctx, g.dir)
	if err != nil {
		return nil, nil, err
	}
	envs, err := pickEnvironments(state, o.envs, single || !o.desiredOnly)
	if err != nil {
		return nil, nil, err
	}
	var snap *inventory.Snapshot
	if o.inventory != "" {
		if snap, err = inventory.ReadFile(o.inventory); err != nil {
			return nil, nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation: %w", err))
		}
	}
	var conn string // the engine's data-layer server, for environments that keep data on PostgreSQL
	if !o.desiredOnly && o.postgres == "" {
		conn = resolvePostgresConnection(cmd, o.postgresConn)
	}
	var cluster *rest.Config
	if !o.desiredOnly && snap == nil {
		if cluster, err = clusterConfig(cmd, o.kubeconfig, o.kubeContext, "or analyse offline with --inventory FILE (tenantctl inventory export) or --desired-only"); err != nil {
			if exitCodeOf(err) == exitcode.Invalid {
				return nil, nil, fmt.Errorf("isolation: %w", err)
			}
			return nil, nil, exitcode.With(exitcode.Failed, fmt.Errorf("isolation: %w", err))
		}
	}
	var graphs []*reach.Graph
	for _, env := range envs {
		var gr *reach.Graph
		if o.desiredOnly {
			gr, err = reach.AnalyzeDesired(ctx, env, state.BindingsIn(env.Name()))
		} else {
			input := snap
			if input == nil {
				if input, err = liveSnapshot(ctx, env, cluster); err != nil {
					return nil, nil, exitcode.With(exitcode.Failed, fmt.Errorf("isolation: %w", err))
				}
			}
			issuers, ierr := trustedIssuers(ctx, env, o)
			if ierr != nil {
				return nil, nil, exitcode.With(exitcode.Failed, fmt.Errorf("isolation: %w", ierr))
			}
			ropts := []reach.Option{reach.WithIdentity(identity.WithAzure(azureidentity.WithTrustedIssuers(issuers...)))}
			pgcfg, err := dataPlaneServer(o.postgres, conn, tenantplan.UsesPostgres(env))
			if err != nil {
				return nil, nil, fmt.Errorf("isolation: %w", err)
			}
			if pgcfg != nil {
				cats, perr := pgcatalog.ReadServer(ctx, pgcfg)
				if perr != nil {
					return nil, nil, exitcode.With(exitcode.Failed, fmt.Errorf("isolation: data plane: %w", perr))
				}
				ropts = append(ropts, reach.WithDataCatalogs(cats...))
			}
			gr, err = reach.Analyze(ctx, env, state.BindingsIn(env.Name()), input, ropts...)
		}
		if err != nil {
			return nil, nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation: %w", err))
		}
		graphs = append(graphs, gr)
	}
	return state, graphs, nil
}

// pickEnvironments returns the named environments, else every one (all), else the environments
// that have bindings, which must then be exactly one: a snapshot or a cluster belongs to one
// environment.
func pickEnvironments(state *isolation.DesiredState, names []string, one bool) ([]*isolation.Environment, error) {
	all := slices.Sorted(maps.Keys(state.Environments))
	if len(names) == 0 {
		if !one {
			names = all
		} else {
			for _, n := range all {
				if len(state.BindingsIn(n)) > 0 {
					names = append(names, n)
				}
			}
			if len(names) == 0 && len(all) == 1 {
				names = all
			}
		}
	}
	if one && len(names) != 1 {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation: choose one environment with --env (have %s)", strings.Join(all, ", ")))
	}
	var out []*isolation.Environment
	for _, n := range names {
		env := state.Environment(n)
		if env == nil {
			return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("isolation: no environment %q in the desired state (have %s)", n, strings.Join(all, ", ")))
		}
		out = append(out, env)
	}
	return out, nil
}

// reachTypes are the Kubernetes types the analysis reads live, from every namespace: pods,
// policies and services (network routes), the identity types (ServiceAccounts, Roles,
// RoleBindings, ClusterRoles, ClusterRoleBindings) and what a resourceNames rule can name
// (Secrets, metadata only; ConfigMaps; workloads), and the address plans (Nodes, IPAM pools).
func reachTypes() ([]kube.ResourceType, error) {
	types, err := kube.ParseTypes([]string{"pods", "networkpolicies", "services",
		"serviceaccounts", "roles", "rolebindings", "clusterroles", "clusterrolebindings",
		"secrets", "configmaps", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"})
	if err != nil {
		return nil, err
	}
	return append(types, kube.AddressPlanTypes()...), nil
}

// azureCredential gives the live reads their Azure credential and client options; tests
// replace it with the SDK's fake servers.
var azureCredential = func() (azcore.TokenCredential, []azurenet.ReadOption, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	return cred, nil, err
}

// liveSnapshot reads what the analysis needs from the live cluster (reachTypes; every namespace,
// since platform namespaces take part in routes and any binding may grant a tenant's principal)
// and, for an azure environment, its subscription's network and identity resources with the
// default Azure credential.
func liveSnapshot(ctx context.Context, env *isolation.Environment, cfg *rest.Config) (*inventory.Snapshot, error) {
	types, err := reachTypes()
	if err != nil {
		return nil, err
	}
	r, err := kube.NewReader(cfg, kube.WithTypes(types...), kube.WithAllNamespaces())
	if err != nil {
		return nil, err
	}
	snap, err := r.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", cfg.Host, err)
	}
	res, err := readAzure(ctx, env)
	if err != nil {
		return nil, err
	}
	snap.Azure = append(snap.Azure, res...)
	return snap, nil
}

// readAzure reads an azure environment's subscription: its network (azurenet.Read) and its
// identities, role assignments, vault access policies and federated credentials
// (azureidentity.Read). Nothing for other environments.
func readAzure(ctx context.Context, env *isolation.Environment) ([]inventory.AzureResource, error) {
	if env.Spec.Target != isolation.TargetAzure || env.Spec.Azure == nil || env.Spec.Azure.SubscriptionID == "" {
		return nil, nil
	}
	sub := env.Spec.Azure.SubscriptionID
	cred, opts, err := azureCredential()
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	network, err := azurenet.Read(ctx, cred, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("read azure subscription %s: %w", sub, err)
	}
	ids, err := azureidentity.Read(ctx, cred, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("read azure subscription %s: %w", sub, err)
	}
	return append(network, ids...), nil
}

// trustedIssuers are the OIDC issuers federated credentials of an azure environment may trust:
// --oidc-issuer, else the shared cluster's issuer its platform stack recorded (oidcIssuerUrl),
// read straight from the state backend (file:// or postgres://; nothing when the stack or the
// output does not exist yet). The analysis also trusts the managed clusters the input holds.
func trustedIssuers(ctx context.Context, env *isolation.Environment, o isolationOptions) ([]string, error) {
	if len(o.issuers) > 0 || env.Spec.Target != isolation.TargetAzure {
		return o.issuers, nil
	}
	backend := o.backend
	if backend == "" {
		dir := o.dataDir
		if dir == "" {
			dir = automation.DefaultDataDir()
		}
		backend = "file://" + filepath.Join(dir, "state")
	}
	r, err := statestore.Open(ctx, backend)
	if errors.Is(err, statestore.ErrUnsupported) {
		return nil, nil // azblob:// and the like: --oidc-issuer, or the snapshot's managed cluster
	}
	if err != nil {
		return nil, fmt.Errorf("platform outputs: %w", err)
	}
	defer r.Close()
	var project struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(tenantctl.ProjectYAML, &project); err != nil {
		return nil, fmt.Errorf("embedded Pulumi.yaml: %w", err)
	}
	st, err := r.Stack(ctx, project.Name, tenantplan.PlatformStackName(env.Name()))
	if errors.Is(err, statestore.ErrNoStack) || (err == nil && len(st.Deployment) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("platform outputs: %w", err)
	}
	var dep struct {
		Resources []struct {
			Type    string         `json:"type"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(st.Deployment, &dep); err != nil {
		return nil, fmt.Errorf("platform outputs of %s: %w", env.Name(), err)
	}
	for _, res := range dep.Resources {
		if res.Type == "pulumi:pulumi:Stack" {
			if u, ok := res.Outputs[azurestacks.OutputOIDCIssuerURL].(string); ok && u != "" {
				return []string{u}, nil
			}
		}
	}
	return nil, nil
}

// verifyReport is the JSON form of a verify run.
type verifyReport struct {
	Dir string `json:"dir"`
	revisionFields
	Revision string         `json:"revision"`
	Failing  bool           `json:"failing"`
	Graphs   []*reach.Graph `json:"graphs"`
}

func reportVerify(w io.Writer, output string, state *isolation.DesiredState, graphs []*reach.Graph) error {
	r := verifyReport{Dir: state.Dir, revisionFields: revisionFields{state.Commit, state.Dirty}, Revision: state.Revision(), Graphs: graphs}
	unexpected, unknown := 0, 0
	for _, g := range graphs {
		unexpected += g.Count(reach.VerdictUnexpected)
		unknown += g.Count(reach.VerdictUnknown)
	}
	r.Failing = unexpected+unknown > 0
	var err error
	if output == "json" {
		err = writeDocument(w, kindIsolationReport, r)
	} else {
		err = writeVerifyText(w, r)
	}
	if err != nil {
		return fmt.Errorf("isolation verify: write report: %w", err)
	}
	if r.Failing {
		return exitcode.With(exitcode.Findings, fmt.Errorf("isolation verify: %d unexpected and %d unknown edge(s) between different parties", unexpected, unknown))
	}
	return nil
}

func writeVerifyText(w io.Writer, r verifyReport) error {
	var b strings.Builder
	for _, g := range r.Graphs {
		fmt.Fprintf(&b, "environment %s (%s, revision %s): %d unexpected, %d unknown, %d allowed edge(s), %d exposure(s)\n",
			g.Environment, g.Mode, r.Revision, g.Count(reach.VerdictUnexpected), g.Count(reach.VerdictUnknown), g.Count(reach.VerdictAllowed), len(g.Exposures))
		for _, e := range g.Edges {
			carries := "" // identity edges carry no traffic, so no ports
			if !e.Kind.Identity() {
				carries = " " + e.Ports.String()
			}
			if e.Verdict == reach.VerdictAllowed {
				fmt.Fprintf(&b, "  allowed     %s → %s %s%s (%s)\n", e.From, e.To, e.Kind, carries, e.Reason)
				continue
			}
			fmt.Fprintf(&b, "  %-11s %s → %s %s%s\n    reason: %s\n", strings.ToUpper(string(e.Verdict)), e.From, e.To, e.Kind, carries, e.Reason)
			for n, chain := range e.Chains() {
				if n > 0 {
					b.WriteString("    also opened by:\n")
				}
				for i, st := range chain {
					fmt.Fprintf(&b, "    %d. [%s] ", i+1, st.Kind)
					if st.Resource != "" {
						fmt.Fprintf(&b, "%s: ", st.Resource)
					}
					b.WriteString(st.Detail)
					if st.Opens {
						b.WriteString("  ← opens the route")
					}
					b.WriteByte('\n')
				}
			}
			if e.AlternativesOmitted > 0 {
				fmt.Fprintf(&b, "    and %d more opening(s) not listed\n", e.AlternativesOmitted)
			}
		}
		for _, x := range g.Exposures {
			fmt.Fprintf(&b, "  exposure    %s ↔ %s %s %s: %s\n", x.Tenant, x.Peer, x.Kind, strings.TrimSpace(x.Resource.Type+" "+x.Resource.Name), x.Detail)
		}
		for _, u := range g.Unresolved {
			fmt.Fprintf(&b, "  unresolved  %s\n", u)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dataPlaneServer is the server whose catalogs a check or an analysis reads: the --postgres
// connection string when given, else the engine's connection file (the server it provisions the
// data layer on) when uses says the data is kept on PostgreSQL; nil for none.
func dataPlaneServer(dsn, connFile string, uses bool) (*pgx.ConnConfig, error) {
	switch {
	case dsn != "":
		return parsePostgres(dsn)
	case connFile != "" && uses:
		return postgresFromConnection(connFile)
	}
	return nil, nil
}

// postgresFromConnection is the admin connection of a data-layer connection file (the one the
// engine provisions with); a file that cannot be read or parsed is invalid input.
func postgresFromConnection(path string) (*pgx.ConnConfig, error) {
	c, password, err := stacks.LoadPostgresConnection(path)
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--postgres-connection: %w", err))
	}
	u := url.URL{Scheme: "postgres", User: url.User(c.AdminRole), Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.Database}
	q := url.Values{"sslmode": {c.SSLMode}}
	if c.SSLRootCert != "" {
		q.Set("sslrootcert", c.SSLRootCert)
	}
	u.RawQuery = q.Encode()
	cfg, err := parsePostgres(u.String())
	if err != nil {
		return nil, err
	}
	cfg.Password = password
	return cfg, nil
}

// usesPostgres says whether any environment of the desired state keeps tenant data on PostgreSQL.
func usesPostgres(state *isolation.DesiredState) bool {
	for _, env := range state.Environments {
		if tenantplan.UsesPostgres(env) {
			return true
		}
	}
	return false
}

// parsePostgres parses a --postgres connection string; one that does not parse is invalid input.
// pgx's error quotes no password.
func parsePostgres(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--postgres: %w", err))
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "tenantctl"
	return cfg, nil
}
