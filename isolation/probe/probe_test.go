package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectsoft/tenantctl/drift/pgdrift/pgdrifttest"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// plans loads the example dev environment's plans.
func plans(t *testing.T) ([]*tenantplan.Tenant, *tenantplan.PlatformPostgres) {
	t.Helper()
	st, err := isolation.Load(context.Background(), "../../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	out, platform, err := tenantplan.PlanData(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	return out, platform
}

// server is the package's PostgreSQL instance converged to the example plans, each login role
// with a real password, and rows of two tenants in the shared table.
type server struct {
	t       *testing.T
	pg      *localpostgres.Instance
	conns   map[string]*pgx.Conn
	tenants []*tenantplan.Tenant
	pf      *tenantplan.PlatformPostgres
	// passwords by tenant id; each contains "canary" so a leak is easy to spot.
	passwords map[string]string
}

var shared *server

func setup(t *testing.T) *server {
	t.Helper()
	if shared != nil {
		shared.t = t
		return shared
	}
	ts, pf := plans(t)
	s := &server{t: t, pg: testenv.Postgres(t), conns: map[string]*pgx.Conn{}, tenants: ts, pf: pf, passwords: map[string]string{}}
	sql := pgdrifttest.Render(ts, pf)
	s.run("", sql[""]...)
	for db, stmts := range sql {
		if db != "" {
			s.run(db, stmts...)
		}
	}
	for _, tn := range ts {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		pw := "canary-" + tn.TenantID + "-" + hex.EncodeToString(b)
		s.passwords[tn.TenantID] = pw
		s.run("", `ALTER ROLE `+pgcatalog.QuoteIdent(tn.Data.Postgres.LoginRole)+` PASSWORD `+pgcatalog.QuoteLiteral(pw))
	}
	s.run("tenants", `INSERT INTO tenant_data.orders (tenant_id, v) VALUES ('initech', 'i-1'), ('initech', 'i-2'), ('acme', 'a-1')`)
	shared = s
	return s
}

func (s *server) conn(db string) *pgx.Conn {
	s.t.Helper()
	if db == "" {
		db = "postgres"
	}
	if c := s.conns[db]; c != nil && !c.IsClosed() {
		return c
	}
	c, err := s.pg.Connect(context.Background(), db)
	if err != nil {
		s.t.Fatalf("connect %s: %v", db, err)
	}
	s.conns[db] = c
	return c
}

func (s *server) run(db string, stmts ...string) {
	s.t.Helper()
	for _, st := range stmts {
		if _, err := s.conn(db).Exec(context.Background(), st); err != nil {
			s.t.Fatalf("%s: %v", st, err)
		}
	}
}

// creds are the tenants' real login connections.
func (s *server) creds() Static {
	out := Static{}
	for _, tn := range s.tenants {
		p := tn.Data.Postgres
		out[tn.TenantID] = Conn{Host: s.pg.Host, Port: s.pg.Port, Database: p.Database, User: p.LoginRole, Password: s.passwords[tn.TenantID], SSLMode: "disable"}
	}
	return out
}

func (s *server) probe(creds Credentials, from ...string) (*Result, error) {
	s.t.Helper()
	return Run(context.Background(), Input{Tenants: s.tenants, Platform: s.pf, From: from, Credentials: creds})
}

// summary is "from -> to kind database: sql" per edge.
func summary(r *Result) []string {
	var out []string
	for _, e := range r.Edges {
		out = append(out, fmt.Sprintf("%s -> %s %s %s: %s", e.From, e.To, e.Kind, e.Database, e.SQL))
	}
	slices.Sort(out)
	return out
}

// noCanary fails when any password shows in what a run reports.
func (s *server) noCanary(what string, v any) {
	s.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	text := string(b) + fmt.Sprintf("%v %+v %#v", v, v, v)
	for id, pw := range s.passwords {
		if strings.Contains(text, pw) {
			s.t.Errorf("%s shows tenant %s's password", what, id)
		}
	}
	if strings.Contains(text, "canary-") {
		s.t.Errorf("%s shows a password: %s", what, text)
	}
}

// TestProbeProvesIsolationByQueries: on a server converged to the plans, every tenant logged in as
// its own role reaches nobody; each out-of-band change opens exactly the edge the queries prove,
// with the SQL that succeeded as evidence, and undoing it closes it again.
func TestProbeProvesIsolationByQueries(t *testing.T) {
	s := setup(t)
	clean := func(t *testing.T) {
		t.Helper()
		res, err := s.probe(s.creds())
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		if got := summary(res); len(got) != 0 || len(res.Undecided) > 0 {
			t.Fatalf("a server converged to the plans has edges:\n%s\nundecided: %+v", strings.Join(got, "\n"), res.Undecided)
		}
		if len(res.Tenants) != 3 {
			t.Fatalf("probed %d tenants, want 3: %+v", len(res.Tenants), res.Tenants)
		}
		for _, tr := range res.Tenants {
			if tr.Queries == 0 || len(tr.Databases) == 0 || tr.Failed {
				t.Errorf("tenant %s did not probe: %+v", tr.Tenant, tr)
			}
		}
		s.noCanary("a clean result", res)
	}
	clean(t)

	const (
		selectGlobex = `SELECT 1 FROM "globex"."secrets" LIMIT 1`
		countGlobex  = `SELECT count(*) FROM "globex"."secrets"`
		rowQuery     = `SELECT "tenant_id", count(*) FROM "tenant_data"."orders" WHERE "tenant_id" <> 'initech' GROUP BY 1 ORDER BY 1`
	)
	for _, tc := range []struct {
		name        string
		db          string
		open, close []string
		want        []string
		// contains are edges that must be among the result, when the full set is large.
		contains []string
		returned map[string]string // sql → what it returned
	}{{
		name: "USAGE on a pool tenant's schema and SELECT on its table for a silo tenant",
		db:   "tenants",
		open: []string{`GRANT CONNECT ON DATABASE tenants TO t_acme_app`, `CREATE TABLE globex.secrets (v text)`,
			`ALTER TABLE globex.secrets OWNER TO t_globex_owner`, `INSERT INTO globex.secrets VALUES ('globex only')`,
			`GRANT USAGE ON SCHEMA globex TO t_acme_app`, `GRANT SELECT ON globex.secrets TO t_acme_app`},
		close: []string{`DROP TABLE globex.secrets`, `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`, `REVOKE CONNECT ON DATABASE tenants FROM t_acme_app`},
		want: []string{
			"acme -> globex data-grant tenants: " + selectGlobex,
			"acme -> globex data-grant tenants: " + countGlobex,
		},
		returned: map[string]string{selectGlobex: "1 row", countGlobex: "count = 1"},
	}, {
		name: "USAGE on a pool tenant's schema without CONNECT on its database is no route",
		db:   "tenants",
		open: []string{`CREATE TABLE globex.secrets (v text)`, `ALTER TABLE globex.secrets OWNER TO t_globex_owner`,
			`GRANT USAGE ON SCHEMA globex TO t_acme_app`, `GRANT SELECT ON globex.secrets TO t_acme_app`},
		close: []string{`DROP TABLE globex.secrets`, `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`},
	}, {
		name: "CONNECT on the shared database alone reaches no schema",
		db:   "tenants",
		open: []string{`GRANT CONNECT ON DATABASE tenants TO t_acme_app`, `CREATE TABLE globex.secrets (v text)`,
			`ALTER TABLE globex.secrets OWNER TO t_globex_owner`, `INSERT INTO globex.secrets VALUES ('globex only')`},
		close: []string{`DROP TABLE globex.secrets`, `REVOKE CONNECT ON DATABASE tenants FROM t_acme_app`},
	}, {
		name:  "USAGE on a pool tenant's schema that has no tables",
		db:    "tenants",
		open:  []string{`GRANT CONNECT ON DATABASE tenants TO t_acme_app`, `GRANT USAGE ON SCHEMA globex TO t_acme_app`},
		close: []string{`REVOKE USAGE ON SCHEMA globex FROM t_acme_app`, `REVOKE CONNECT ON DATABASE tenants FROM t_acme_app`},
		want:  []string{`acme -> globex data-grant tenants: SELECT pg_catalog.has_schema_privilege(current_user, 'globex', 'USAGE')`},
	}, {
		name: "USAGE on a pool tenant's schema whose tables refuse SELECT",
		db:   "tenants",
		open: []string{`GRANT CONNECT ON DATABASE tenants TO t_acme_app`, `CREATE TABLE globex.secrets (v text)`,
			`ALTER TABLE globex.secrets OWNER TO t_globex_owner`, `GRANT USAGE ON SCHEMA globex TO t_acme_app`},
		close: []string{`DROP TABLE globex.secrets`, `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`, `REVOKE CONNECT ON DATABASE tenants FROM t_acme_app`},
		want:  []string{`acme -> globex data-grant tenants: SELECT '"globex"."secrets"'::pg_catalog.regclass::pg_catalog.oid`},
	}, {
		name:  "CONNECT on a silo tenant's database",
		open:  []string{`GRANT CONNECT ON DATABASE acme TO t_globex_app`},
		close: []string{`REVOKE CONNECT ON DATABASE acme FROM t_globex_app`},
		want:  []string{`globex -> acme data-grant acme: -- log in to database "acme" as "t_globex_app"`},
	}, {
		name:     "row-level security disabled on the shared table",
		db:       "tenants",
		open:     []string{`ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`},
		close:    []string{`ALTER TABLE tenant_data.orders ENABLE ROW LEVEL SECURITY`},
		want:     []string{"initech -> acme data-row-security tenants: " + rowQuery},
		returned: map[string]string{rowQuery: "1 row(s) of tenant acme"},
	}, {
		name:  "BYPASSRLS on a row-filtered tenant's login role",
		open:  []string{`ALTER ROLE t_initech_app BYPASSRLS`},
		close: []string{`ALTER ROLE t_initech_app NOBYPASSRLS`},
		want:  []string{"initech -> acme data-row-security tenants: " + rowQuery},
	}, {
		name:  "a membership in another tenant's login role",
		open:  []string{`GRANT t_globex_app TO t_acme_app`},
		close: []string{`REVOKE t_globex_app FROM t_acme_app`},
		want: []string{
			// The membership inherits globex's CONNECT on the shared database and USAGE on its schema.
			`acme -> globex data-grant tenants: SELECT pg_catalog.has_schema_privilege(current_user, 'globex', 'USAGE')`,
			`acme -> globex data-membership acme: SET LOCAL ROLE "t_globex_app"; SELECT current_user`,
		},
	}, {
		name:  "a membership without inheritance in another tenant's owner role",
		open:  []string{`ALTER ROLE t_initech_app NOINHERIT`, `GRANT t_globex_owner TO t_initech_app`},
		close: []string{`REVOKE t_globex_owner FROM t_initech_app`, `ALTER ROLE t_initech_app INHERIT`},
		want:  []string{`initech -> globex data-membership tenants: SET LOCAL ROLE "t_globex_owner"; SELECT current_user`},
	}, {
		name:  "the tenant's policy follows a session setting",
		db:    "tenants",
		open:  []string{`ALTER POLICY t_initech_rows ON tenant_data.orders USING (tenant_id = current_setting('app.tenant_id'))`},
		close: []string{`ALTER POLICY t_initech_rows ON tenant_data.orders USING (tenant_id = 'initech')`},
		want:  []string{`initech -> acme data-row-security tenants: SET LOCAL app.tenant_id = 'acme'; ` + rowQuery},
	}, {
		name:  "SUPERUSER on a tenant's login role",
		open:  []string{`ALTER ROLE t_initech_app SUPERUSER`},
		close: []string{`ALTER ROLE t_initech_app NOSUPERUSER`},
		contains: []string{
			`initech -> acme data-escalation tenants: SET LOCAL SESSION AUTHORIZATION "t_acme_app"; SELECT session_user, current_user`,
			`initech -> globex data-escalation tenants: SET LOCAL SESSION AUTHORIZATION "t_globex_app"; SELECT session_user, current_user`,
			`initech -> acme data-membership tenants: SET LOCAL ROLE "t_acme_owner"; SELECT current_user`,
			`initech -> platform data-membership tenants: SET LOCAL ROLE "tenantctl_platform_owner"; SELECT current_user`,
			`initech -> acme data-grant acme: -- log in to database "acme" as "t_initech_app"`,
			"initech -> acme data-row-security tenants: " + rowQuery,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			s.run(tc.db, tc.open...)
			closed := false
			closeIt := func() {
				if !closed {
					closed = true
					s.run(tc.db, tc.close...)
				}
			}
			defer closeIt()
			res, err := s.probe(s.creds())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			got := summary(res)
			if tc.contains != nil {
				for _, w := range tc.contains {
					if !slices.Contains(got, w) {
						t.Errorf("missing edge %s; got:\n%s", w, strings.Join(got, "\n"))
					}
				}
			} else if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			if len(res.Undecided) > 0 {
				t.Errorf("undecided probes: %+v", res.Undecided)
			}
			for _, e := range res.Edges {
				if e.Role != tenantplan.PGLoginRole(e.From) || e.Returned == "" {
					t.Errorf("edge without its role or what it returned: %+v", e)
				}
				if want, ok := tc.returned[e.SQL]; ok && e.Returned != want {
					t.Errorf("%s returned %q, want %q", e.SQL, e.Returned, want)
				}
			}
			s.noCanary("the result", res)
			closeIt()
			clean(t)
		})
	}
}

// TestProbeFailsWithoutUsableCredentials: a tenant whose credentials are missing, wrong or point
// at no server is a failure of the run, never clean, and no message carries a password.
func TestProbeFailsWithoutUsableCredentials(t *testing.T) {
	s := setup(t)
	for _, tc := range []struct {
		name  string
		edit  func(Static)
		stage string
	}{
		{"missing", func(c Static) { delete(c, "globex") }, "credentials"},
		{"wrong password", func(c Static) {
			g := c["globex"]
			g.Password = "canary-wrong-" + s.passwords["acme"] // another tenant's password, inside a wrong one
			c["globex"] = g
		}, "connect"},
		{"another tenant's password", func(c Static) {
			g := c["globex"]
			g.Password = s.passwords["acme"]
			c["globex"] = g
		}, "connect"},
		{"another tenant's role", func(c Static) { c["globex"] = c["acme"] }, "credentials"},
		{"no password", func(c Static) {
			g := c["globex"]
			g.Password = ""
			c["globex"] = g
		}, "credentials"},
		{"unreachable server", func(c Static) {
			g := c["globex"]
			g.Port = closedPort(t)
			c["globex"] = g
		}, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			creds := s.creds()
			tc.edit(creds)
			res, err := s.probe(creds)
			if err == nil {
				t.Fatal("probe succeeded")
			}
			if res == nil {
				t.Fatalf("no result with the error %v", err)
			}
			if res.Clean() {
				t.Error("a run with a failure is clean")
			}
			if len(res.Failures) != 1 || res.Failures[0].Tenant != "globex" || res.Failures[0].Stage != tc.stage {
				t.Errorf("failures %+v, want globex at %s", res.Failures, tc.stage)
			}
			if len(res.Edges) != 0 {
				t.Errorf("edges: %v", summary(res))
			}
			s.noCanary("the result", res)
			s.noCanary("the error", err.Error())
		})
	}
	t.Run("restricted to one tenant", func(t *testing.T) {
		s.t = t
		creds := s.creds()
		delete(creds, "globex")
		res, err := s.probe(creds, "initech")
		if err != nil {
			t.Fatalf("probe of initech needs only initech's credentials: %v", err)
		}
		if len(res.Tenants) != 1 || res.Tenants[0].Tenant != "initech" {
			t.Errorf("probed %+v", res.Tenants)
		}
		if _, err := s.probe(creds, "nobody"); err == nil {
			t.Error("an unknown tenant was accepted")
		}
	})
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestConnNeverPrintsItsPassword: every way a Conn is printed or encoded leaves the password out.
func TestConnNeverPrintsItsPassword(t *testing.T) {
	c := Conn{Host: "db.example.com", Port: 5432, Database: "acme", User: "t_acme_app", Password: "canary-s3cret", SSLMode: "require"}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), string(b), fmt.Sprint(&c)} {
		if strings.Contains(s, "canary") {
			t.Errorf("printed the password: %s", s)
		}
	}
	if got := c.String(); got != "postgres://t_acme_app@db.example.com:5432/acme?sslmode=require" {
		t.Errorf("String() = %s", got)
	}
	if got := (Conn{Host: "127.0.0.1"}).sslMode(); got != "disable" {
		t.Errorf("loopback default sslmode %s", got)
	}
	if got := (Conn{Host: "db.example.com"}).sslMode(); got != "verify-full" {
		t.Errorf("remote default sslmode %s", got)
	}
	_, err = Static{}.Credentials(context.Background(), &tenantplan.Tenant{TenantID: "x"})
	if !errors.Is(err, ErrNoCredentials) {
		t.Errorf("missing static credentials: %v", err)
	}
}

// TestSessionsAreReadOnly: a tenant's probe sessions refuse writes even outside a probe's
// transaction, and every statement is bounded.
func TestSessionsAreReadOnly(t *testing.T) {
	s := setup(t)
	var initech *tenantplan.Tenant
	for _, tn := range s.tenants {
		if tn.TenantID == "initech" {
			initech = tn
		}
	}
	r := &run{a: initech, p: initech.Data.Postgres, opts: Options{StatementTimeout: 1500 * time.Millisecond}.withDefaults(), conn: s.creds()["initech"]}
	ctx := context.Background()
	c, err := r.connect(ctx, "tenants")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for setting, want := range map[string]string{"default_transaction_read_only": "on", "statement_timeout": "1500ms"} {
		var got string
		if err := c.QueryRow(ctx, "SHOW "+setting).Scan(&got); err != nil || got != want {
			t.Errorf("SHOW %s = %q, %v; want %q", setting, got, err, want)
		}
	}
	insert := `INSERT INTO tenant_data.orders (tenant_id, v) VALUES ('initech', 'written')`
	var pe *pgconn.PgError
	if _, err := c.Exec(ctx, insert); !errors.As(err, &pe) || pe.Code != "25006" {
		t.Errorf("a write outside a probe: %v, want read_only_sql_transaction", err)
	}
	if _, out, err := r.query(ctx, c, nil, insert+` RETURNING 1`); out == succeeded || !errors.As(err, &pe) || pe.Code != "25006" {
		t.Errorf("a write in a probe: %v, want read_only_sql_transaction", err)
	}
	if _, out, err := r.query(ctx, c, nil, `SELECT pg_sleep(5)`); out != undecided {
		t.Errorf("a probe beyond the statement timeout: %v, want undecided", err)
	}
}
