package remediate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/pgdrift"
	"github.com/connectsoft/tenantctl/drift/pgdrift/pgdrifttest"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// dataServer is the project's PostgreSQL converged to the example dev environment's plans.
type dataServer struct {
	t     *testing.T
	cfg   *pgx.ConnConfig
	state *isolation.DesiredState
	ts    []*tenantplan.Tenant
	pf    *tenantplan.PlatformPostgres
}

// converged says the package's shared server already holds the plans' objects (tests leave it
// clean).
var converged bool

func newDataServer(t *testing.T) *dataServer {
	t.Helper()
	st, err := isolation.Load(context.Background(), "../../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	ts, pf, err := tenantplan.PlanData(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	pg := testenv.Postgres(t)
	cfg, err := pg.ConnConfig("postgres")
	if err != nil {
		t.Fatal(err)
	}
	s := &dataServer{t: t, cfg: cfg, state: st, ts: ts, pf: pf}
	if !converged {
		sql := pgdrifttest.Render(ts, pf)
		s.run("", sql[""]...)
		for db, stmts := range sql {
			if db != "" {
				s.run(db, stmts...)
			}
		}
		converged = true
	}
	if fs := s.findings(); len(fs) != 0 {
		t.Fatalf("a server converged to the plans has findings: %v", fs)
	}
	return s
}

func (s *dataServer) run(db string, stmts ...string) {
	s.t.Helper()
	cfg := s.cfg.Copy()
	if db != "" {
		cfg.Database = db
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, st := range stmts {
		if _, err := conn.Exec(context.Background(), st); err != nil {
			s.t.Fatalf("%s: %v", st, err)
		}
	}
}

func (s *dataServer) findings() []finding.Finding {
	s.t.Helper()
	cats, err := pgcatalog.ReadServer(context.Background(), s.cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return pgdrift.Compare(pgdrift.Input{Environment: "dev", Tenants: s.ts, Platform: s.pf, Catalogs: cats})
}

func (s *dataServer) plan() *Plan {
	s.t.Helper()
	rep := &report.Report{Commit: "c0ffee", Findings: s.findings()}
	p, err := NewPlanner(newFakeCluster(), fakeDesired{}, EnvironmentsOf(s.state)).Build(context.Background(), rep, ModeAuto, "sha256:d")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		s.t.Fatalf("planned an invalid plan: %v", err)
	}
	return p
}

func (s *dataServer) executor(conv *converger, rec *recorder) *Executor {
	return NewExecutor(newFakeCluster(), conv, rec, EnvironmentsOf(s.state), "sha256:d", WithDataPlane(NewPGServer(s.cfg)))
}

// actionLines is "kind tenant [stack] statement-or-command" per non-report action.
func actionLines(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		switch a.Kind {
		case ActionDelete:
			stmts, _ := DataStatements(*a.Target.Data)
			out = append(out, fmt.Sprintf("delete %s %s", a.Tenant, strings.Join(stmts, "; ")))
		case ActionReview:
			out = append(out, fmt.Sprintf("review %s %s", a.Tenant, a.Command))
		case ActionRestore:
			out = append(out, fmt.Sprintf("restore %s %s %s", a.Tenant, a.Engine, a.Stack))
		}
	}
	sort.Strings(out)
	return out
}

// TestDataPlaneRemediationOnARealServer: each out-of-band change to a converged server is planned
// as the statement (or engine run) that undoes it, inside the offender's own scope, and applying
// the plan leaves the server clean; what lies in the platform's scope is review-only.
func TestDataPlaneRemediationOnARealServer(t *testing.T) {
	s := newDataServer(t)
	for _, tc := range []struct {
		name string
		db   string
		open []string
		want []string
		// undo is run after the check when the plan does not fix it itself (engine restores
		// are faked here, review actions are a person's).
		undo []string
		// left is what the server still reports after applying, before undo.
		left int
	}{{
		name: "a silo tenant's role granted USAGE on a pool tenant's schema",
		db:   "tenants",
		open: []string{`GRANT USAGE, CREATE ON SCHEMA globex TO t_acme_app WITH GRANT OPTION`},
		want: []string{`delete acme REVOKE CREATE, USAGE ON SCHEMA "globex" FROM "t_acme_app" CASCADE`},
	}, {
		name: "CONNECT on the silo database for another tenant",
		open: []string{`GRANT CONNECT ON DATABASE acme TO t_globex_app`},
		want: []string{`delete globex REVOKE CONNECT, CREATE, TEMPORARY ON DATABASE "acme" FROM "t_globex_app" CASCADE`},
	}, {
		name: "PUBLIC granted USAGE on a pool tenant's schema",
		db:   "tenants",
		open: []string{`GRANT USAGE ON SCHEMA globex TO PUBLIC`},
		want: []string{`delete globex REVOKE CREATE, USAGE ON SCHEMA "globex" FROM PUBLIC CASCADE`},
	}, {
		name: "a tenant's role made a member of another tenant's owner role",
		open: []string{`GRANT t_globex_owner TO t_acme_app`},
		want: []string{`delete acme REVOKE "t_globex_owner" FROM "t_acme_app"`},
	}, {
		name: "future tables of a pool tenant granted to another tenant",
		db:   "tenants",
		open: []string{`ALTER DEFAULT PRIVILEGES FOR ROLE t_globex_owner IN SCHEMA globex GRANT SELECT ON TABLES TO t_initech_app`},
		want: []string{`delete initech ALTER DEFAULT PRIVILEGES FOR ROLE "t_globex_owner" IN SCHEMA "globex" REVOKE DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE ON TABLES FROM "t_initech_app" CASCADE`},
	}, {
		name: "an unmanaged role with BYPASSRLS in a tenant's scope",
		open: []string{`CREATE ROLE t_acme_extra LOGIN BYPASSRLS`},
		want: []string{`delete acme ALTER ROLE "t_acme_extra" NOSUPERUSER NOBYPASSRLS NOCREATEROLE; DROP ROLE IF EXISTS "t_acme_extra"`},
	}, {
		name: "an unmanaged empty schema in a tenant's scope",
		db:   "tenants",
		open: []string{`CREATE SCHEMA t_globex_tmp`},
		want: []string{`delete globex DROP SCHEMA IF EXISTS "t_globex_tmp" RESTRICT`},
	}, {
		name: "an unmanaged schema holding a table is never dropped with it",
		db:   "tenants",
		open: []string{`CREATE SCHEMA t_globex_keep`, `CREATE TABLE t_globex_keep.rows (v int)`, `INSERT INTO t_globex_keep.rows VALUES (1)`},
		want: []string{`delete globex DROP SCHEMA IF EXISTS "t_globex_keep" RESTRICT`},
		left: 1,
		undo: []string{`DROP SCHEMA t_globex_keep CASCADE`},
	}, {
		name: "BYPASSRLS on a managed login role: the engine restores it",
		open: []string{`ALTER ROLE t_initech_app BYPASSRLS`},
		want: []string{`restore initech refresh-up tenant.initech.dev`},
		left: 4, // the fake engine restores nothing
		undo: []string{`ALTER ROLE t_initech_app NOBYPASSRLS`},
	}, {
		name: "row-level security disabled on a shared table: the platform stack restores it",
		db:   "tenants",
		open: []string{`ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`},
		want: []string{`restore platform refresh-up platform.dev`},
		left: 1,
		undo: []string{`ALTER TABLE tenant_data.orders ENABLE ROW LEVEL SECURITY`},
	}, {
		name: "an unmanaged policy on a shared table is the platform's: review only",
		db:   "tenants",
		open: []string{`CREATE POLICY wide ON tenant_data.orders TO t_initech_app USING (tenant_id = 'acme')`},
		want: []string{`review initech psql -d tenants -c 'DROP POLICY IF EXISTS "wide" ON "tenant_data"."orders"'`},
		left: 1,
		undo: []string{`DROP POLICY wide ON tenant_data.orders`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s.run(tc.db, tc.open...)
			defer s.run(tc.db, tc.undo...)
			plan := s.plan()
			if diff := cmp.Diff(tc.want, actionLines(plan)); diff != "" {
				t.Fatalf("planned actions (-want +got):\n%s", diff)
			}
			conv, rec := &converger{}, &recorder{}
			res, err := s.executor(conv, rec).Apply(context.Background(), plan)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range plan.Actions {
				if a.Kind == ActionRestore && !slices.Contains(conv.calls, string(a.Engine)+" "+a.Stack) {
					t.Errorf("engine not run for %s: %v", a.Stack, conv.calls)
				}
			}
			if got := len(s.findings()); got != tc.left {
				t.Errorf("%d finding(s) left after applying, want %d: %+v", got, tc.left, res.Actions)
			}
			if tc.left == 0 && res.Err() != nil {
				t.Errorf("apply: %v", res.Err())
			}
			if len(rec.events) == 0 {
				t.Error("nothing audited")
			}
		})
		if t.Failed() {
			return
		}
		if fs := s.findings(); len(fs) != 0 {
			t.Fatalf("after %q the server is not clean: %v", tc.name, fs)
		}
	}
}

// TestDataPlaneRemediationRefusesMovedAndOutOfScopePlans: a plan whose route was closed since
// planning is refused (exit 4) and changes nothing; a plan edited to revoke another tenant's
// privilege is invalid (exit 3).
func TestDataPlaneRemediationRefusesMovedAndOutOfScopePlans(t *testing.T) {
	s := newDataServer(t)
	s.run("tenants", `GRANT USAGE ON SCHEMA globex TO t_acme_app`)
	plan := s.plan()
	s.run("tenants", `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`)
	res, err := s.executor(&converger{}, &recorder{}).Apply(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if errkind.Of(res.Err()) != errkind.Conflict {
		t.Errorf("moved plan: %v, want a conflict (%+v)", res.Err(), res.Actions)
	}

	s.run("tenants", `GRANT USAGE ON SCHEMA globex TO t_acme_app`)
	defer s.run("tenants", `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`)
	plan = s.plan()
	for i := range plan.Actions {
		if d := plan.Actions[i].Target.Data; d != nil {
			d.Role = "t_globex_app" // the victim's own privilege, under acme's name
		}
	}
	_, err = s.executor(&converger{}, &recorder{}).Apply(context.Background(), plan)
	if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "is tenant globex's, not acme's") {
		t.Fatalf("out-of-scope plan: %v, want invalid input naming the scope", err)
	}
	if !slices.ContainsFunc(s.findings(), func(f finding.Finding) bool { return f.Kind == finding.KindCrossTenantRoute }) {
		t.Error("the refused plan changed the server")
	}
}

func TestParseGrantRef(t *testing.T) {
	for _, tc := range []struct {
		db, name string
		want     DataTarget
		ok       bool
	}{
		{"acme", `DATABASE "acme" TO t_globex_app`, DataTarget{Op: DataRevoke, Database: "acme", ObjectType: "database", Role: "t_globex_app"}, true},
		{"tenants", `SCHEMA "globex" TO PUBLIC`, DataTarget{Op: DataRevoke, Database: "tenants", ObjectType: "schema", Schema: "globex", Role: "PUBLIC"}, true},
		{"acme", `TABLE "app"."orders" TO t_globex_app`, DataTarget{Op: DataRevoke, Database: "acme", ObjectType: "table", Schema: "app", Object: "orders", Role: "t_globex_app"}, true},
		{"acme", `SEQUENCE "app"."select" TO t_globex_app`, DataTarget{Op: DataRevoke, Database: "acme", ObjectType: "sequence", Schema: "app", Object: "select", Role: "t_globex_app"}, true},
		{"tenants", `future table objects of t_globex_owner in schema globex TO t_acme_app`,
			DataTarget{Op: DataRevokeDefault, Database: "tenants", ObjectType: "table", Owner: "t_globex_owner", Schema: "globex", Role: "t_acme_app"}, true},
		{"tenants", `future sequence objects of t_globex_owner TO t_acme_app`,
			DataTarget{Op: DataRevokeDefault, Database: "tenants", ObjectType: "sequence", Owner: "t_globex_owner", Role: "t_acme_app"}, true},
		{"acme", `FUNCTION app.rows(integer) TO t_globex_app`, DataTarget{Op: DataRevoke, Database: "acme", ObjectType: "function", Object: "app.rows(integer)", Role: "t_globex_app"}, true},
		// anything that is not exactly what the analysis writes is not acted on
		{"acme", `DATABASE "other" TO t_globex_app`, DataTarget{}, false},
		{"acme", `SCHEMA "a"; DROP TABLE x; --" TO t_globex_app`, DataTarget{}, false},
		{"acme", `SCHEMA "Bad" TO t_globex_app`, DataTarget{}, false},
		{"acme", `TABLE "app" TO t_globex_app`, DataTarget{}, false},
		{"acme", `SCHEMA "app" TO "x"; DROP ROLE y`, DataTarget{}, false},
		{"acme", `FUNCTION app.f(int); DROP ROLE y TO t_globex_app`, DataTarget{}, false},
		{"acme", `VIEW "app"."v" TO t_globex_app`, DataTarget{}, false},
	} {
		got, ok := parseGrantRef(tc.db, tc.name)
		if ok != tc.ok || (ok && !cmp.Equal(got, tc.want)) {
			t.Errorf("parseGrantRef(%q, %q) = %+v, %v; want %+v, %v", tc.db, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
