package pgroutes

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var tenants = []Tenant{
	{ID: "acme", Mode: isolation.DataDedicatedDatabase},
	{ID: "globex", Mode: isolation.DataPartitioned},
	{ID: "initech", Mode: isolation.DataRowFilter},
	{ID: "hooli", Mode: isolation.DataRowFilter},
}

const sharedDB = "tenantctl_shared"

// layout is what the plan gives the four tenants, written as the provider writes it: silo acme
// in its own database, pool globex in its own schema of the shared database, initech and hooli
// in the shared schema's table under forced row-level security with one bound policy each.
func layout() (cluster, acmeDB, shared []string) {
	owner, app := tenantplan.PGOwnerRole, tenantplan.PGLoginRole
	q := pgcatalog.QuoteIdent
	cluster = []string{`CREATE ROLE ` + tenantplan.PGPlatformOwnerRole + ` NOLOGIN`}
	for _, t := range tenants {
		cluster = append(cluster, `CREATE ROLE `+q(owner(t.ID))+` NOLOGIN`, `CREATE ROLE `+q(app(t.ID))+` LOGIN PASSWORD 'x'`)
	}
	cluster = append(cluster,
		`CREATE DATABASE t_acme OWNER t_acme_owner`,
		`REVOKE ALL ON DATABASE t_acme FROM PUBLIC`,
		`GRANT CONNECT ON DATABASE t_acme TO t_acme_app`,
		`CREATE DATABASE `+sharedDB+` OWNER `+tenantplan.PGPlatformOwnerRole,
		`REVOKE ALL ON DATABASE `+sharedDB+` FROM PUBLIC`,
		`GRANT CONNECT ON DATABASE `+sharedDB+` TO t_globex_app, t_initech_app, t_hooli_app`,
	)
	acmeDB = []string{
		`REVOKE ALL ON SCHEMA public FROM PUBLIC`,
		`CREATE SCHEMA app AUTHORIZATION t_acme_owner`,
		`CREATE TABLE app.orders (v int)`, `ALTER TABLE app.orders OWNER TO t_acme_owner`,
		`GRANT USAGE ON SCHEMA app TO t_acme_app`, `GRANT SELECT, INSERT ON app.orders TO t_acme_app`,
	}
	shared = []string{
		`REVOKE ALL ON SCHEMA public FROM PUBLIC`,
		`CREATE SCHEMA t_globex AUTHORIZATION t_globex_owner`,
		`CREATE TABLE t_globex.orders (v int)`, `ALTER TABLE t_globex.orders OWNER TO t_globex_owner`,
		`GRANT USAGE ON SCHEMA t_globex TO t_globex_app`, `GRANT SELECT, INSERT ON t_globex.orders TO t_globex_app`, `INSERT INTO t_globex.orders VALUES (1)`,
		`CREATE SCHEMA tenant_data AUTHORIZATION ` + tenantplan.PGPlatformOwnerRole,
		`CREATE TABLE tenant_data.items (tenant_id text NOT NULL, v text)`,
		`ALTER TABLE tenant_data.items OWNER TO ` + tenantplan.PGPlatformOwnerRole,
		`ALTER TABLE tenant_data.items ENABLE ROW LEVEL SECURITY`, `ALTER TABLE tenant_data.items FORCE ROW LEVEL SECURITY`,
		`GRANT USAGE ON SCHEMA tenant_data TO t_initech_app, t_hooli_app`,
		`GRANT SELECT, INSERT ON tenant_data.items TO t_initech_app, t_hooli_app`,
		`CREATE POLICY t_initech_rows ON tenant_data.items TO t_initech_app USING (` + tenantplan.PGRowFilter("initech") + `) WITH CHECK (` + tenantplan.PGRowFilter("initech") + `)`,
		`CREATE POLICY t_hooli_rows ON tenant_data.items TO t_hooli_app USING (` + tenantplan.PGRowFilter("hooli") + `) WITH CHECK (` + tenantplan.PGRowFilter("hooli") + `)`,
		`INSERT INTO tenant_data.items VALUES ('initech', 'i1'), ('hooli', 'h1')`,
	}
	return cluster, acmeDB, shared
}

func connect(t *testing.T, pg *localpostgres.Instance, db string) *pgx.Conn {
	t.Helper()
	cfg, err := pg.ConnConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", db, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func run(t *testing.T, c *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// routes reads both databases' catalogs and returns their routes as "from -> to kind" lines.
func routes(t *testing.T, conns ...*pgx.Conn) []string {
	t.Helper()
	s := NewScope(tenants)
	seen := map[string]bool{}
	for _, c := range conns {
		cat, err := pgcatalog.ReadCatalog(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Analyze(s, cat) {
			if p.Evidence == nil || len(p.Evidence()) == 0 || p.Evidence()[0].Detail == "" {
				t.Errorf("route %s -> %s %s has no evidence", p.From, p.To, p.Kind)
			}
			seen[fmt.Sprintf("%s -> %s %s", p.From, p.To, p.Kind)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRoutesInALiveCatalog: the planned layout has no route; each out-of-band change opens
// exactly the routes it should, read from the real catalog of a real server, and closing it closes
// them again.
func TestRoutesInALiveCatalog(t *testing.T) {
	pg := testenv.Postgres(t)
	cluster, acmeStmts, sharedStmts := layout()
	admin := connect(t, pg, "postgres")
	run(t, admin, cluster...)
	acme := connect(t, pg, "t_acme")
	run(t, acme, acmeStmts...)
	shared := connect(t, pg, sharedDB)
	run(t, shared, sharedStmts...)

	if got := routes(t, acme, shared); len(got) != 0 {
		t.Fatalf("the planned layout opens routes:\n%s", strings.Join(got, "\n"))
	}
	everyoneBut := func(from string, kind graph.EdgeKind) []string {
		var out []string
		for _, to := range []string{"acme", "globex", "hooli", "initech", isolation.Platform} {
			if to != from {
				out = append(out, fmt.Sprintf("%s -> %s %s", from, to, kind))
			}
		}
		return out
	}

	for _, tc := range []struct {
		name        string
		db          *pgx.Conn
		open, close []string
		want        []string
		// probe, when set, proves the route by reading the other tenant's rows as the tenant's
		// own login role: it must find some while the change is in place and none after.
		probe *probe
	}{{
		name:  "a grant on a pool tenant's schema and table to a silo tenant's role",
		db:    shared,
		open:  []string{`GRANT CONNECT ON DATABASE ` + sharedDB + ` TO t_acme_app`, `GRANT USAGE ON SCHEMA t_globex TO t_acme_app`, `GRANT SELECT ON t_globex.orders TO t_acme_app`},
		close: []string{`REVOKE ALL ON t_globex.orders FROM t_acme_app`, `REVOKE ALL ON SCHEMA t_globex FROM t_acme_app`, `REVOKE ALL ON DATABASE ` + sharedDB + ` FROM t_acme_app`},
		want:  []string{"acme -> globex data-grant"},
		probe: &probe{as: "t_acme_app", db: sharedDB, sql: `SELECT count(*) FROM t_globex.orders`},
	}, {
		name:  "CONNECT on a silo database to PUBLIC",
		db:    admin,
		open:  []string{`GRANT CONNECT ON DATABASE t_acme TO PUBLIC`},
		close: []string{`REVOKE CONNECT ON DATABASE t_acme FROM PUBLIC`},
		want:  []string{"globex -> acme data-grant", "hooli -> acme data-grant", "initech -> acme data-grant"},
	}, {
		name:  "row-level security disabled on the shared table",
		db:    shared,
		open:  []string{`ALTER TABLE tenant_data.items DISABLE ROW LEVEL SECURITY`},
		close: []string{`ALTER TABLE tenant_data.items ENABLE ROW LEVEL SECURITY`},
		want:  []string{"hooli -> initech data-row-security", "initech -> hooli data-row-security"},
		probe: &probe{as: "t_initech_app", db: sharedDB, sql: `SELECT count(*) FROM tenant_data.items WHERE tenant_id = 'hooli'`},
	}, {
		name:  "a policy that trusts a session setting",
		db:    shared,
		open:  []string{`CREATE POLICY leak ON tenant_data.items TO t_initech_app USING (tenant_id = current_setting('app.tenant_id'))`},
		close: []string{`DROP POLICY leak ON tenant_data.items`},
		want:  []string{"initech -> hooli data-row-security"},
		probe: &probe{as: "t_initech_app", db: sharedDB, sql: `SET app.tenant_id = 'hooli'; SELECT count(*) FROM tenant_data.items WHERE tenant_id = 'hooli'`},
	}, {
		name:  "a policy for PUBLIC bound to one tenant",
		db:    shared,
		open:  []string{`CREATE POLICY everyone ON tenant_data.items USING (tenant_id = 'hooli')`},
		close: []string{`DROP POLICY everyone ON tenant_data.items`},
		want:  []string{"initech -> hooli data-row-security"},
	}, {
		name:  "a tenant role owns the shared table",
		db:    shared,
		open:  []string{`ALTER TABLE tenant_data.items OWNER TO t_hooli_app`},
		close: []string{`ALTER TABLE tenant_data.items OWNER TO ` + tenantplan.PGPlatformOwnerRole},
		want:  []string{"hooli -> initech data-row-security"},
	}, {
		name:  "BYPASSRLS on a tenant role",
		db:    admin,
		open:  []string{`ALTER ROLE t_hooli_app BYPASSRLS`},
		close: []string{`ALTER ROLE t_hooli_app NOBYPASSRLS`},
		want:  everyoneBut("hooli", graph.KindDataEscalation),
	}, {
		name:  "membership in another tenant's owner role",
		db:    admin,
		open:  []string{`GRANT t_globex_owner TO t_initech_app`},
		close: []string{`REVOKE t_globex_owner FROM t_initech_app`},
		want:  []string{"initech -> globex data-membership"},
	}, {
		name:  "a default privilege on a tenant's future tables",
		db:    shared,
		open:  []string{`ALTER DEFAULT PRIVILEGES FOR ROLE t_globex_owner IN SCHEMA t_globex GRANT SELECT ON TABLES TO t_hooli_app`},
		close: []string{`ALTER DEFAULT PRIVILEGES FOR ROLE t_globex_owner IN SCHEMA t_globex REVOKE SELECT ON TABLES FROM t_hooli_app`},
		want:  []string{"hooli -> globex data-grant"},
	}, {
		name: "EXECUTE on a tenant's SECURITY DEFINER function",
		db:   shared,
		open: []string{`CREATE FUNCTION t_globex.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM t_globex.orders'`,
			`ALTER FUNCTION t_globex.peek() OWNER TO t_globex_owner`, `REVOKE ALL ON FUNCTION t_globex.peek() FROM PUBLIC`,
			`GRANT EXECUTE ON FUNCTION t_globex.peek() TO t_initech_app`},
		close: []string{`DROP FUNCTION t_globex.peek()`},
		want:  []string{"initech -> globex data-grant"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, tc.db, tc.open...)
			got := routes(t, acme, shared)
			if tc.probe != nil {
				if n := tc.probe.rows(t, pg); n == 0 {
					t.Errorf("probe as %s found no foreign rows while the route is open", tc.probe.as)
				}
			}
			run(t, tc.db, tc.close...)
			if tc.probe != nil {
				if n := tc.probe.rows(t, pg); n != 0 {
					t.Errorf("probe as %s still reads %d foreign rows after the route was closed", tc.probe.as, n)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			if after := routes(t, acme, shared); len(after) != 0 {
				t.Errorf("closing the change left routes:\n%s", strings.Join(after, "\n"))
			}
		})
	}
}

type probe struct{ as, db, sql string }

// rows runs the probe as the tenant's login role (password 'x', scram-sha-256 over TCP) and
// returns the count it reads; a refused statement reads nothing.
func (p *probe) rows(t *testing.T, pg *localpostgres.Instance) int64 {
	t.Helper()
	cfg, err := pg.ConnConfig(p.db)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = p.as, "x"
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		return 0
	}
	defer c.Close(context.Background())
	stmts := strings.Split(p.sql, "; ")
	for _, s := range stmts[:len(stmts)-1] {
		if _, err := c.Exec(context.Background(), s); err != nil {
			t.Fatalf("probe %s: %v", s, err)
		}
	}
	var n int64
	if err := c.QueryRow(context.Background(), stmts[len(stmts)-1]).Scan(&n); err != nil {
		return 0
	}
	return n
}

func TestScopeOwner(t *testing.T) {
	s := NewScope([]Tenant{{ID: "acme", Names: []string{"acme_db"}}, {ID: "acme-eu"}, {ID: "select"}})
	for name, want := range map[string]string{
		"t_acme_app":               "acme",
		"t_acme_eu_app":            "acme-eu",
		"t_acme_eu":                "acme-eu",
		"t_acme":                   "acme",
		"acme_db":                  "acme",
		"t_acme_extra":             "acme",
		"t_acmex":                  "",
		"t_select_owner":           "select",
		tenantplan.PGSharedSchema:  "",
		"tenantctl_platform_owner": "",
		"postgres":                 "",
	} {
		if got := s.Owner(name); got != want {
			t.Errorf("Owner(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBoundTenant(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string
		ok   bool
	}{
		{"(tenant_id = 'acme'::text)", "acme", true},
		{"tenant_id = 'acme'", "acme", true},
		{"('acme'::text = tenant_id)", "acme", true},
		{"(tenant_id = 'o''brien'::text)", "o'brien", true},
		{"(tenant_id = current_setting('app.tenant_id'::text))", "", false},
		{"((tenant_id = 'acme'::text) OR true)", "", false},
		{"(tenant_id = (CURRENT_USER)::text)", "", false},
		{"true", "", false},
		{"(tenant_id = ''::text)", "", false},
	} {
		got, ok := BoundTenant(tc.expr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BoundTenant(%q) = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}
