package pgdrift

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/drift/finding"
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

type server struct {
	t     *testing.T
	pg    *localpostgres.Instance
	conns map[string]*pgx.Conn
}

func (s *server) conn(db string) *pgx.Conn {
	s.t.Helper()
	if db == "" {
		db = "postgres"
	}
	if c := s.conns[db]; c != nil {
		return c
	}
	cfg, err := s.pg.ConnConfig(db)
	if err != nil {
		s.t.Fatal(err)
	}
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		s.t.Fatalf("connect %s: %v", db, err)
	}
	s.t.Cleanup(func() { c.Close(context.Background()) })
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

func (s *server) findings(ts []*tenantplan.Tenant, pf *tenantplan.PlatformPostgres) []finding.Finding {
	s.t.Helper()
	cfg, err := s.pg.ConnConfig("postgres")
	if err != nil {
		s.t.Fatal(err)
	}
	cats, err := pgcatalog.ReadServer(context.Background(), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	fs := Compare(Input{Environment: "dev", Tenants: ts, Platform: pf, Catalogs: cats})
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			s.t.Errorf("finding %+v: %v", f, err)
		}
	}
	return fs
}

// summary is "tenant kind resource-id field [→ peer]" per finding, sorted.
func summary(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		s := fmt.Sprintf("%s %s %s", f.TenantID, f.Kind, f.Resource.ID)
		if f.Field != "" {
			s += " " + f.Field
		}
		if f.PeerTenant != "" {
			s += " -> " + f.PeerTenant
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestDataPlaneDriftOnARealServer: a server converged to the example plans has no finding; each
// out-of-band change is reported with its exact kind, and undoing it makes the server clean again.
func TestDataPlaneDriftOnARealServer(t *testing.T) {
	ts, pf := plans(t)
	s := &server{t: t, pg: testenv.Postgres(t), conns: map[string]*pgx.Conn{}}
	sql := pgdrifttest.Render(ts, pf)
	s.run("", sql[""]...)
	for db, stmts := range sql {
		if db != "" {
			s.run(db, stmts...)
		}
	}
	if got := summary(s.findings(ts, pf)); len(got) != 0 {
		t.Fatalf("a server converged to the plans has findings:\n%s", strings.Join(got, "\n"))
	}

	for _, tc := range []struct {
		name        string
		db          string
		open, close []string
		want        []string
	}{{
		name:  "GRANT on a pool tenant's schema to a silo tenant's role",
		db:    "tenants",
		open:  []string{`GRANT USAGE ON SCHEMA globex TO t_acme_app`},
		close: []string{`REVOKE USAGE ON SCHEMA globex FROM t_acme_app`},
		want:  []string{"acme cross-tenant-route postgresql://tenants/globex data-grant -> globex"},
	}, {
		name:  "row-level security disabled on the shared table",
		db:    "tenants",
		open:  []string{`ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`},
		close: []string{`ALTER TABLE tenant_data.orders ENABLE ROW LEVEL SECURITY`},
		want:  []string{"platform managed-drift postgresql://tenants/tenant_data.orders rowSecurity"},
	}, {
		name:  "row-level security no longer forced",
		db:    "tenants",
		open:  []string{`ALTER TABLE tenant_data.orders NO FORCE ROW LEVEL SECURITY`},
		close: []string{`ALTER TABLE tenant_data.orders FORCE ROW LEVEL SECURITY`},
		want:  []string{"platform managed-drift postgresql://tenants/tenant_data.orders forceRowSecurity"},
	}, {
		name:  "BYPASSRLS on a tenant's login role",
		open:  []string{`ALTER ROLE t_initech_app BYPASSRLS`},
		close: []string{`ALTER ROLE t_initech_app NOBYPASSRLS`},
		want: []string{
			"initech cross-tenant-route postgresql role t_initech_app data-escalation -> acme",
			"initech cross-tenant-route postgresql role t_initech_app data-escalation -> globex",
			"initech cross-tenant-route postgresql role t_initech_app data-escalation -> platform",
			"initech managed-drift postgresql role t_initech_app bypassRowLevelSecurity",
		},
	}, {
		name:  "the tenant's policy widened to a session setting",
		db:    "tenants",
		open:  []string{`ALTER POLICY t_initech_rows ON tenant_data.orders USING (tenant_id = current_setting('app.tenant_id'))`},
		close: []string{`ALTER POLICY t_initech_rows ON tenant_data.orders USING (tenant_id = 'initech')`},
		want:  []string{"initech managed-drift postgresql://tenants/tenant_data.orders#t_initech_rows policy"},
	}, {
		name:  "the tenant's policy dropped",
		db:    "tenants",
		open:  []string{`DROP POLICY t_initech_rows ON tenant_data.orders`},
		close: []string{`CREATE POLICY t_initech_rows ON tenant_data.orders TO t_initech_app USING (tenant_id = 'initech') WITH CHECK (tenant_id = 'initech')`},
		want:  []string{"initech missing-resource postgresql://tenants/tenant_data.orders#t_initech_rows"},
	}, {
		name:  "a privilege revoked from the tenant's own schema",
		db:    "tenants",
		open:  []string{`REVOKE USAGE ON SCHEMA globex FROM t_globex_app`},
		close: []string{`GRANT USAGE ON SCHEMA globex TO t_globex_app`},
		want:  []string{"globex managed-drift postgresql://tenants/globex#t_globex_app privileges"},
	}, {
		name:  "an unmanaged role and schema in tenants' scopes",
		db:    "tenants",
		open:  []string{`CREATE ROLE t_acme_extra`, `CREATE SCHEMA t_globex_tmp`},
		close: []string{`DROP SCHEMA t_globex_tmp`, `DROP ROLE t_acme_extra`},
		want: []string{
			"acme unmanaged-resource postgresql role t_acme_extra",
			"globex unmanaged-resource postgresql://tenants/t_globex_tmp",
		},
	}, {
		name:  "the silo database dropped",
		open:  []string{`ALTER DATABASE acme RENAME TO acme_gone`},
		close: []string{`ALTER DATABASE acme_gone RENAME TO acme`},
		want:  []string{"acme missing-resource postgresql://acme"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.db == "" && strings.Contains(strings.Join(tc.open, " "), "DATABASE acme") {
				// A database with open sessions cannot be renamed.
				if c := s.conns["acme"]; c != nil {
					c.Close(context.Background())
					delete(s.conns, "acme")
				}
			}
			s.run(tc.db, tc.open...)
			got := summary(s.findings(ts, pf))
			s.run(tc.db, tc.close...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if after := summary(s.findings(ts, pf)); len(after) != 0 {
				t.Errorf("undoing the change left findings:\n%s", strings.Join(after, "\n"))
			}
		})
	}
}
