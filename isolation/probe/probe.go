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
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/pgroutes"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Conn is how a tenant's login role reaches the server: the libpq variables its credential Secret
// publishes (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE). Its String and GoString
// leave the password out, and so does its JSON.
type Conn struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"-"`
	SSLMode  string `json:"sslmode,omitempty"`
}

// String is the connection without its password.
func (c Conn) String() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=%s", c.User, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.Database, c.sslMode())
}

// GoString keeps %#v from printing the password.
func (c Conn) GoString() string { return "probe.Conn(" + c.String() + ")" }

// sslMode is the connection's sslmode; empty means disable on a loopback host and verify-full
// elsewhere, as for the engine's own connection.
func (c Conn) sslMode() string {
	if c.SSLMode != "" {
		return c.SSLMode
	}
	if ip := net.ParseIP(c.Host); c.Host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "disable"
	}
	return "verify-full"
}

func (c Conn) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"host", c.Host}, {"database", c.Database}, {"user", c.User}, {"password", c.Password}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("credentials have no %s", strings.Join(missing, ", "))
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("credentials: port %d is not a TCP port", c.Port)
	}
	return nil
}

// Credentials gives a tenant's login connection. An error means the tenant's credentials are
// missing or unusable, a Failure of the run; it must not carry the password.
type Credentials interface {
	Credentials(ctx context.Context, tenant *tenantplan.Tenant) (Conn, error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, tenant *tenantplan.Tenant) (Conn, error)

// Credentials calls f.
func (f CredentialsFunc) Credentials(ctx context.Context, t *tenantplan.Tenant) (Conn, error) {
	return f(ctx, t)
}

// ErrNoCredentials is returned by sources that have no credentials for a tenant.
var ErrNoCredentials = errors.New("no credentials")

// Static is a fixed set of credentials by tenant id.
type Static map[string]Conn

// Credentials returns the tenant's entry, or ErrNoCredentials.
func (s Static) Credentials(_ context.Context, t *tenantplan.Tenant) (Conn, error) {
	c, ok := s[t.TenantID]
	if !ok {
		return Conn{}, fmt.Errorf("tenant %s: %w", t.TenantID, ErrNoCredentials)
	}
	return c, nil
}

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

// Edge is one query that reached another tenant: From's login role ran SQL in Database and the
// server answered Returned.
type Edge struct {
	From string         `json:"from"`
	To   string         `json:"to"`
	Kind graph.EdgeKind `json:"kind"`
	// Role is the login role the query ran as.
	Role     string `json:"role"`
	Database string `json:"database"`
	// SQL is the statements that succeeded, in order, each probe in its own
	// BEGIN READ ONLY … ROLLBACK with SET LOCAL statement_timeout.
	SQL      string `json:"sql"`
	Returned string `json:"returned"`
	// Note says what the success proves when the query alone does not.
	Note string `json:"note,omitempty"`
}

// Undecided is a probe that neither succeeded nor was refused (a timeout, a lost connection): no
// proof either way.
type Undecided struct {
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	Database string `json:"database"`
	SQL      string `json:"sql"`
	Error    string `json:"error"`
}

// Failure is a tenant the run could not probe: its credentials are missing or unusable, or it
// cannot log in to its own database.
type Failure struct {
	Tenant string `json:"tenant"`
	// Stage is credentials, connect or catalog.
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// TenantReport is what one probing tenant did.
type TenantReport struct {
	Tenant string `json:"tenant"`
	Role   string `json:"role,omitempty"`
	// Server is where it logged in (no password).
	Server string `json:"server,omitempty"`
	// Databases are the databases it could connect to.
	Databases []string `json:"databases,omitempty"`
	// Queries is how many probes it ran.
	Queries int  `json:"queries"`
	Edges   int  `json:"edges"`
	Failed  bool `json:"failed,omitempty"`
}

// Result is a run's outcome.
type Result struct {
	Environment string         `json:"environment"`
	Tenants     []TenantReport `json:"tenants"`
	Edges       []Edge         `json:"edges"`
	Undecided   []Undecided    `json:"undecided,omitempty"`
	Failures    []Failure      `json:"failures,omitempty"`
}

// Clean says the run proved every probing tenant isolated: no edge, nothing undecided, no failure.
func (r *Result) Clean() bool {
	return len(r.Edges) == 0 && len(r.Undecided) == 0 && len(r.Failures) == 0
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

// sharedTable is a table of the shared schema whose rows belong to row-filtered tenants.
type sharedTable struct{ database, schema, table string }

// envIndex is what every run of an environment shares.
type envIndex struct {
	env     string
	tenants []*tenantplan.Tenant // with a PostgreSQL plan, by id
	byID    map[string]*tenantplan.Tenant
	// silo maps a silo tenant's own database to the tenant.
	silo   map[string]string
	scope  *pgroutes.Scope
	shared []sharedTable
	// platformRole is the platform's owner role ("" without Input.Platform).
	platformRole string
}

func newEnvIndex(in Input) (*envIndex, error) {
	e := &envIndex{byID: map[string]*tenantplan.Tenant{}, silo: map[string]string{}}
	var scope []pgroutes.Tenant
	seenShared := map[sharedTable]bool{}
	addShared := func(s sharedTable) error {
		if err := validateIdents("shared table", s.database, s.schema, s.table); err != nil {
			return err
		}
		if !seenShared[s] {
			seenShared[s] = true
			e.shared = append(e.shared, s)
		}
		return nil
	}
	for _, t := range in.Tenants {
		if t == nil || t.Data.Postgres == nil {
			continue
		}
		if e.env == "" {
			e.env = t.Environment
		} else if t.Environment != e.env {
			return nil, fmt.Errorf("isolation probe: tenants of environments %s and %s in one run", e.env, t.Environment)
		}
		if e.byID[t.TenantID] != nil {
			return nil, fmt.Errorf("isolation probe: tenant %s planned twice", t.TenantID)
		}
		p := t.Data.Postgres
		if err := validateIdents("tenant "+t.TenantID, p.Database, p.Schema, p.LoginRole); err != nil {
			return nil, err
		}
		if p.OwnerRole != "" {
			if err := validateIdents("tenant "+t.TenantID, p.OwnerRole); err != nil {
				return nil, err
			}
		}
		e.byID[t.TenantID] = t
		e.tenants = append(e.tenants, t)
		st := pgroutes.Tenant{ID: t.TenantID, Mode: p.Mode}
		switch {
		case p.OwnDatabase:
			e.silo[p.Database] = t.TenantID
			st.Names = []string{p.Database}
		case p.OwnSchema:
			st.Names = []string{p.Schema}
		}
		scope = append(scope, st)
		for _, pol := range p.Policies {
			if err := addShared(sharedTable{pol.Database, pol.Schema, pol.Table}); err != nil {
				return nil, err
			}
		}
	}
	if pf := in.Platform; pf != nil {
		for _, tb := range pf.Tables {
			if err := addShared(sharedTable{pf.Database, pf.Schema, tb}); err != nil {
				return nil, err
			}
		}
		if pf.OwnerRole != "" {
			if err := validateIdents("platform", pf.OwnerRole); err != nil {
				return nil, err
			}
			e.platformRole = pf.OwnerRole
		}
	}
	slices.SortFunc(e.tenants, func(a, b *tenantplan.Tenant) int { return cmp.Compare(a.TenantID, b.TenantID) })
	e.scope = pgroutes.NewScope(scope)
	return e, nil
}

func validateIdents(what string, names ...string) error {
	for _, n := range names {
		if err := pgcatalog.ValidateIdent("PostgreSQL", n); err != nil {
			return fmt.Errorf("isolation probe: %s: %w", what, err)
		}
	}
	return nil
}

// databases are the databases of the plans, every one a run tries besides the server's list.
func (e *envIndex) databases() []string {
	var out []string
	for _, t := range e.tenants {
		out = append(out, t.Data.Postgres.Database)
	}
	for _, s := range e.shared {
		out = append(out, s.database)
	}
	return out
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

type outcome int

const (
	succeeded outcome = iota
	// denied: the server refused the statement; the isolation held.
	denied
	// undecided: no answer either way (timeout, lost connection, an unexpected error).
	undecided
)

// outcomeOf classifies a failed probe. Refusals are the SQLSTATE classes an access check or a
// missing object raises: 42 (insufficient privilege, undefined role/table/parameter), 3D (no such
// database), 3F (no such schema) and, when logging in to another database, 28 (authorization).
func outcomeOf(err error, login bool) outcome {
	if err == nil {
		return succeeded
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "42"), strings.HasPrefix(pe.Code, "3D"), strings.HasPrefix(pe.Code, "3F"):
			return denied
		case login && strings.HasPrefix(pe.Code, "28"):
			return denied
		}
	}
	return undecided
}

// query runs one probe: BEGIN READ ONLY, SET LOCAL statement_timeout, the setup statements, the
// query, ROLLBACK. It returns the query's rows as text.
func (r *run) query(ctx context.Context, c *pgx.Conn, setup []string, q string, args ...any) ([][]string, outcome, error) {
	r.report.Queries++
	if c.IsClosed() {
		return nil, undecided, errors.New("the session was closed by an earlier probe")
	}
	qctx, cancel := context.WithTimeout(ctx, r.opts.StatementTimeout+5*time.Second)
	defer cancel()
	tx, err := c.BeginTx(qctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, undecided, err
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		_ = tx.Rollback(rctx)
	}()
	stmts := append([]string{"SET LOCAL statement_timeout = " + strconv.FormatInt(r.opts.StatementTimeout.Milliseconds(), 10)}, setup...)
	for _, s := range stmts {
		if _, err := tx.Exec(qctx, s); err != nil {
			return nil, outcomeOf(err, false), err
		}
	}
	rows, err := tx.Query(qctx, q, args...)
	if err != nil {
		return nil, outcomeOf(err, false), err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, undecided, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, outcomeOf(err, false), err
	}
	return out, succeeded, nil
}

// try runs a probe whose success is evidence: setup then q, as one SQL text.
func (r *run) try(ctx context.Context, c *pgx.Conn, to, db string, setup []string, q string) ([][]string, outcome, string) {
	rows, out, sql, _ := r.tryErr(ctx, c, to, db, setup, q)
	return rows, out, sql
}

func (r *run) tryErr(ctx context.Context, c *pgx.Conn, to, db string, setup []string, q string) ([][]string, outcome, string, error) {
	sql := strings.Join(append(slices.Clone(setup), q), "; ")
	rows, out, err := r.query(ctx, c, setup, q)
	if out == undecided {
		r.undecidedProbe(to, db, sql, err)
	}
	return rows, out, sql, err
}

// roles tries to become every other tenant's roles.
func (r *run) roles(ctx context.Context, c *pgx.Conn, db string) {
	q := pgcatalog.QuoteIdent
	type target struct{ tenant, role string }
	var targets []target
	for _, b := range r.others() {
		bp := b.Data.Postgres
		targets = append(targets, target{b.TenantID, bp.LoginRole})
		if bp.OwnerRole != "" {
			targets = append(targets, target{b.TenantID, bp.OwnerRole})
		}
	}
	if r.env.platformRole != "" {
		targets = append(targets, target{isolation.Platform, r.env.platformRole})
	}
	for _, t := range targets {
		if rows, out, sql := r.try(ctx, c, t.tenant, db, []string{"SET LOCAL ROLE " + q(t.role)}, `SELECT current_user`); out == succeeded {
			r.edge(t.tenant, graph.KindDataMembership, db, sql, "current_user = "+cell(rows, 0, 0),
				r.p.LoginRole+" may become "+t.role+" and act with its privileges")
		}
	}
	for _, b := range r.others() {
		role := b.Data.Postgres.LoginRole
		if rows, out, sql := r.try(ctx, c, b.TenantID, db, []string{"SET LOCAL SESSION AUTHORIZATION " + q(role)}, `SELECT session_user, current_user`); out == succeeded {
			r.edge(b.TenantID, graph.KindDataEscalation, db, sql, "session_user = "+cell(rows, 0, 0)+", current_user = "+cell(rows, 0, 1),
				r.p.LoginRole+" may change its session authorization (a superuser's power), so it is any role")
		}
	}
}

// inDatabase probes what a session in db reaches: other tenants' schemas and the shared tables.
func (r *run) inDatabase(ctx context.Context, c *pgx.Conn, db string) {
	owner := r.env.silo[db]
	if owner == r.a.TenantID {
		return // everything in a silo tenant's own database is its own
	}
	schemas, out, err := r.query(ctx, c, nil, `SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1`)
	if out != succeeded {
		r.undecidedProbe(owner, db, "-- list the schemas", err)
	} else {
		for _, s := range schemas {
			to := owner // every schema of another silo tenant's database is that tenant's
			if to == "" {
				if to = r.env.scope.Owner(s[0]); to == "" {
					to = r.env.scope.Owner(s[1])
				}
			}
			if to == "" || to == r.a.TenantID {
				continue
			}
			r.schema(ctx, c, db, to, s[0])
		}
	}
	for _, s := range r.env.shared {
		if s.database == db {
			r.sharedRows(ctx, c, s)
		}
	}
}

// schema probes tenant b's schema: a read of each table, else USAGE.
func (r *run) schema(ctx context.Context, c *pgx.Conn, db, b, schema string) {
	tables, out, err := r.query(ctx, c, nil, `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`, schema)
	if out != succeeded {
		r.undecidedProbe(b, db, "-- list the tables of schema "+schema, err)
		return
	}
	if len(tables) == 0 {
		rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT pg_catalog.has_schema_privilege(current_user, `+pgcatalog.QuoteLiteral(schema)+`, 'USAGE')`)
		if out == succeeded && cell(rows, 0, 0) == "true" {
			r.edge(b, graph.KindDataGrant, db, sql, "true",
				"schema "+schema+" has no tables, so no read can show USAGE: the server's privilege check is the evidence")
		}
		return
	}
	read := false
	for _, t := range tables {
		name := pgcatalog.QuoteQualified(schema, t[0])
		rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT 1 FROM `+name+` LIMIT 1`)
		if out != succeeded {
			continue
		}
		read = true
		returned := "1 row"
		if len(rows) == 0 {
			returned = "no rows (the table is empty; the read itself succeeded)"
		}
		r.edge(b, graph.KindDataGrant, db, sql, returned, "")
		if cnt, out, csql := r.try(ctx, c, b, db, nil, `SELECT count(*) FROM `+name); out == succeeded {
			r.edge(b, graph.KindDataGrant, db, csql, "count = "+cell(cnt, 0, 0), "")
		}
	}
	if read {
		return
	}
	// No table is readable; a name lookup of a table needs USAGE on its schema and nothing else.
	name := pgcatalog.QuoteQualified(schema, tables[0][0])
	if rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT `+pgcatalog.QuoteLiteral(name)+`::pg_catalog.regclass::pg_catalog.oid`); out == succeeded {
		r.edge(b, graph.KindDataGrant, db, sql, "oid = "+cell(rows, 0, 0),
			"resolving a name in schema "+schema+" needs USAGE on it; its tables' SELECT was refused")
	}
}

// sharedRows reads other tenants' rows of a shared table: as the tenant, then after switching each
// session setting a policy might follow to each other tenant.
func (r *run) sharedRows(ctx context.Context, c *pgx.Conn, s sharedTable) {
	col := pgcatalog.QuoteIdent(tenantplan.PGTenantIDColumn)
	q := `SELECT ` + col + `, count(*) FROM ` + pgcatalog.QuoteQualified(s.schema, s.table) +
		` WHERE ` + col + ` <> ` + pgcatalog.QuoteLiteral(r.a.TenantID) + ` GROUP BY 1 ORDER BY 1`
	seen := map[string]bool{}
	report := func(rows [][]string, sql, note string) {
		for _, row := range rows {
			to := row[0]
			if seen[to] || to == r.a.TenantID {
				continue
			}
			seen[to] = true
			n := note
			if r.env.byID[to] == nil {
				n = strings.TrimSpace(n + " (" + to + " is not a tenant of environment " + r.env.env + ")")
			}
			r.edge(to, graph.KindDataRowSecurity, s.database, sql, fmt.Sprintf("%s row(s) of tenant %s", row[1], to), n)
		}
	}
	rows, out, sql, err := r.tryErr(ctx, c, "", s.database, nil, q)
	if out == succeeded {
		report(rows, sql, "")
	}
	// Refused for lack of a privilege on the schema or the table: no session setting changes that.
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42501" {
		return
	}
	for _, b := range r.others() {
		for _, setting := range []string{"app.tenant_id", "tenant.id"} {
			rows, out, sql := r.try(ctx, c, b.TenantID, s.database, []string{"SET LOCAL " + setting + " = " + pgcatalog.QuoteLiteral(b.TenantID)}, q)
			if out == succeeded {
				report(rows, sql, "session-setting switch: the rows follow "+setting+", which any session may set")
			}
		}
	}
}

func cell(rows [][]string, i, j int) string {
	if i < len(rows) && j < len(rows[i]) {
		return rows[i][j]
	}
	return ""
}
