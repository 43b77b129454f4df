// Package probe proves data-plane isolation on PostgreSQL by queries. Where isolation/reach/pgroutes
// reads the catalog as an admin and infers routes from privileges, probe logs in as each tenant's
// own login role, with the credentials its stack published, and tries to reach every other tenant
// of the environment the ways the plans rule out:
//
//   - connect to the other tenant's own database (silo);
//   - in every database it can connect to, read the other tenant's schema: each table with
//     SELECT 1 … LIMIT 1, and USAGE on the schema by a name lookup that needs it (by
//     has_schema_privilege when the schema has no tables);
//   - read other tenants' rows of the shared tables (tenant_data), as itself and after switching
//     the session settings a policy might follow (SET LOCAL app.tenant_id / tenant.id);
//   - SET LOCAL ROLE to the other tenant's login and owner roles (membership);
//   - SET LOCAL SESSION AUTHORIZATION to the other tenant's login role (escalation).
//
// Every statement runs in its own READ ONLY transaction with a statement_timeout, rolled back;
// the sessions themselves are opened with default_transaction_read_only, so nothing is ever
// written. A query that succeeds is an Edge, with the exact SQL and what it returned as evidence.
// A query the server refuses (permission denied, no such database, rows filtered away) is the
// isolation working. A query that neither succeeds nor is refused (timeout, lost connection) is
// Undecided, and a tenant whose credentials are missing or do not let it into its own database is
// a Failure of the run: neither is ever reported as isolated.
//
// The package has no Pulumi and no Kubernetes dependency: credentials come from a Credentials
// source (the CLI reads each tenant's Secret t-<tenant>-db).
package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Options tune a run. Zero values get defaults.
type Options struct {
	// StatementTimeout is every probe's statement_timeout (default 5s).
	StatementTimeout time.Duration
	// ConnectTimeout bounds each login (default 10s).
	ConnectTimeout time.Duration
	// Parallel is how many tenants probe at once (default 4); each holds at most two sessions.
	Parallel int
}

func (o Options) withDefaults() Options {
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	return o
}

// Input is one environment's run.
type Input struct {
	// Tenants are the plans of every tenant of the environment (those without a PostgreSQL plan
	// take no part): the probing tenants and the targets.
	Tenants []*tenantplan.Tenant
	// Platform is the environment's shared database (tenantplan.PlanPlatformPostgres); optional:
	// the row-filtered tenants' policies name the shared tables too. With it, the shared schema's
	// tables are probed even when no tenant is row-filtered, and SET ROLE to the platform's owner
	// role is tried.
	Platform *tenantplan.PlatformPostgres
	// From restricts the probing tenants (by id); empty means every tenant.
	From []string
	// Credentials gives each probing tenant's login connection.
	Credentials Credentials
	Options     Options
}

// Run probes the environment. The result lists every edge found; the error is non-nil (with the
// result still returned) when a tenant could not be probed, and without a result when the input
// is invalid or ctx ends.
func Run(ctx context.Context, in Input) (*Result, error) {
	if in.Credentials == nil {
		return nil, errors.New("isolation probe: no credentials source")
	}
	e, err := newEnvIndex(in)
	if err != nil {
		return nil, err
	}
	from := e.tenants
	if len(in.From) > 0 {
		from = nil
		for _, id := range in.From {
			t := e.byID[id]
			if t == nil {
				return nil, fmt.Errorf("isolation probe: tenant %q has no PostgreSQL plan in environment %s", id, e.env)
			}
			if !slices.Contains(from, t) {
				from = append(from, t)
			}
		}
	}
	opts := in.Options.withDefaults()
	runs := make([]*run, len(from))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for i, t := range from {
		runs[i] = &run{env: e, a: t, p: t.Data.Postgres, opts: opts, creds: in.Credentials}
		g.Go(func() error { runs[i].probe(gctx); return nil })
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isolation probe: %w", err)
	}
	res := &Result{Environment: e.env, Edges: []Edge{}, Tenants: []TenantReport{}}
	for _, r := range runs {
		r.report.Edges = len(r.edges)
		res.Tenants = append(res.Tenants, r.report)
		res.Edges = append(res.Edges, r.edges...)
		res.Undecided = append(res.Undecided, r.undecided...)
		res.Failures = append(res.Failures, r.failures...)
	}
	slices.SortFunc(res.Tenants, func(a, b TenantReport) int { return cmp.Compare(a.Tenant, b.Tenant) })
	slices.SortStableFunc(res.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind))
	})
	if len(res.Failures) > 0 {
		var errs []error
		for _, f := range res.Failures {
			errs = append(errs, fmt.Errorf("tenant %s: %s: %s", f.Tenant, f.Stage, f.Error))
		}
		return res, fmt.Errorf("isolation probe: %d tenant(s) could not be probed: %w", len(res.Failures), errors.Join(errs...))
	}
	return res, nil
}

// run is one probing tenant.
type run struct {
	env   *envIndex
	a     *tenantplan.Tenant
	p     *tenantplan.Postgres
	opts  Options
	creds Credentials

	conn      Conn
	report    TenantReport
	edges     []Edge
	undecided []Undecided
	failures  []Failure
}

func (r *run) fail(stage string, err error) {
	r.report.Failed = true
	r.failures = append(r.failures, Failure{Tenant: r.a.TenantID, Stage: stage, Error: r.scrub(err.Error())})
}

// scrub removes the password from a message that reaches the result.
func (r *run) scrub(s string) string {
	if r.conn.Password != "" {
		s = strings.ReplaceAll(s, r.conn.Password, "[redacted]")
	}
	return s
}

// scrubbedError is an error whose message has the password removed; it still unwraps to the
// original, so its SQLSTATE can be read.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (r *run) scrubbed(err error) error { return &scrubbedError{msg: r.scrub(err.Error()), err: err} }

func (r *run) edge(to string, kind graph.EdgeKind, db string, sql, returned, note string) {
	r.edges = append(r.edges, Edge{From: r.a.TenantID, To: to, Kind: kind, Role: r.conn.User, Database: db, SQL: sql, Returned: returned, Note: note})
}

func (r *run) undecidedProbe(to, db, sql string, err error) {
	r.undecided = append(r.undecided, Undecided{From: r.a.TenantID, To: to, Database: db, SQL: sql, Error: r.scrub(err.Error())})
}

// others are the environment's tenants besides the probing one.
func (r *run) others() []*tenantplan.Tenant {
	var out []*tenantplan.Tenant
	for _, t := range r.env.tenants {
		if t != r.a {
			out = append(out, t)
		}
	}
	return out
}

func (r *run) probe(ctx context.Context) {
	r.report = TenantReport{Tenant: r.a.TenantID, Role: r.p.LoginRole}
	c, err := r.creds.Credentials(ctx, r.a)
	r.conn = c
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		r.fail("credentials", err)
		return
	}
	if c.User != r.p.LoginRole {
		r.fail("credentials", fmt.Errorf("the credentials log in as %s, the tenant's login role is %s", c.User, r.p.LoginRole))
		return
	}
	r.report.Server = c.String()
	own, err := r.connect(ctx, c.Database)
	if err != nil {
		r.fail("connect", fmt.Errorf("log in to its own database %s as %s: %w", c.Database, c.User, err))
		return
	}
	defer own.Close(context.Background())
	r.report.Databases = append(r.report.Databases, c.Database)

	listed, out, err := r.query(ctx, own, nil, `SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1`)
	if out != succeeded {
		r.fail("catalog", fmt.Errorf("list the server's databases: %w", err))
		return
	}
	dbs := map[string]bool{}
	for _, row := range listed {
		dbs[row[0]] = true
	}
	for _, d := range r.env.databases() {
		dbs[d] = true
	}

	r.roles(ctx, own, c.Database)
	for _, d := range slices.Sorted(maps.Keys(dbs)) {
		if ctx.Err() != nil {
			return
		}
		// Logged in to another silo tenant's own database (also when the credentials name it).
		connected := func() {
			if b := r.env.silo[d]; b != "" && b != r.a.TenantID {
				r.edge(b, graph.KindDataGrant, d, "-- log in to database "+pgcatalog.QuoteIdent(d)+" as "+pgcatalog.QuoteIdent(c.User),
					"connected", "tenant "+b+"'s own database accepts "+r.a.TenantID+"'s login role (CONNECT)")
			}
		}
		if d == c.Database {
			connected()
			r.inDatabase(ctx, own, d)
			continue
		}
		conn, err := r.connect(ctx, d)
		if err != nil {
			if outcomeOf(err, true) == undecided {
				r.undecidedProbe(r.env.silo[d], d, "-- log in to database "+d, err)
			}
			continue
		}
		r.report.Databases = append(r.report.Databases, d)
		connected()
		r.inDatabase(ctx, conn, d)
		conn.Close(context.Background())
	}
}

// connect logs in to db with the tenant's credentials. Sessions are read-only by default and
// every statement is bounded, whatever a probe does.
func (r *run) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	c := r.conn
	u := url.URL{Scheme: "postgres", User: url.User(c.User), Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + db}
	u.RawQuery = url.Values{"sslmode": {c.sslMode()}}.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, r.scrubbed(err)
	}
	cfg.Password = c.Password
	cfg.ConnectTimeout = r.opts.ConnectTimeout
	cfg.RuntimeParams = map[string]string{
		"application_name":              "tenantctl-isolation-probe",
		"default_transaction_read_only": "on",
		"statement_timeout":             strconv.FormatInt(r.opts.StatementTimeout.Milliseconds(), 10),
	}
	cctx, cancel := context.WithTimeout(ctx, r.opts.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, r.scrubbed(err)
	}
	return conn, nil
}
