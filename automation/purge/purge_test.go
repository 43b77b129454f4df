package purge

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/drift/pgdrift/pgdrifttest"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestPlannedSteps(t *testing.T) {
	d := &tenantplan.Postgres{Database: "tenants", Schema: "select", OwnerRole: "t_select_owner", LoginRole: "t_select_app", OwnSchema: true}
	steps, err := Tenant("select", d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Database+": "+s.SQL)
	}
	want := []string{
		`tenants: DROP SCHEMA IF EXISTS "select" CASCADE`, // a keyword as a tenant id is quoted, not refused
		`tenants: DROP OWNED BY "t_select_owner"`,
		`: DROP OWNED BY "t_select_owner"`,
		`: DROP ROLE IF EXISTS "t_select_owner"`,
		`tenants: DROP OWNED BY "t_select_app"`,
		`: DROP OWNED BY "t_select_app"`,
		`: DROP ROLE IF EXISTS "t_select_app"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	// Names that could carry SQL are refused before any statement exists.
	for _, bad := range []*tenantplan.Postgres{
		{Database: "tenants", Schema: `x"; DROP DATABASE tenants; --`, LoginRole: "t_x_app", OwnSchema: true},
		{Database: "tenants", LoginRole: "t_x_app", Policies: []tenantplan.PGPolicy{{Database: "tenants", Schema: "shared", Table: "a b"}}},
		{Database: "tenants", LoginRole: `t_x_app" SUPERUSER`},
	} {
		if steps, err := Tenant("x", bad); err == nil {
			t.Errorf("%+v: planned %v, want an error", bad, steps)
		}
	}
}

// TestPurgeOnARealServer converges the project's PostgreSQL to the example dev environment's
// data plans, puts data in each tier's place, and purges tenant by tenant: each purge removes
// exactly its tenant's database, schema or rows and roles, a repeated purge finds nothing left,
// and the other tenants' data is untouched until the platform purge drops the shared database.
func TestPurgeOnARealServer(t *testing.T) {
	st, err := isolation.Load(context.Background(), "../../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	ts, pf, err := tenantplan.PlanData(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*tenantplan.Postgres{}
	for _, p := range ts {
		plans[p.TenantID] = p.Data.Postgres
	}
	acme, globex, initech := plans["acme"], plans["globex"], plans["initech"]
	if acme == nil || !acme.OwnDatabase || globex == nil || !globex.OwnSchema || initech == nil || len(initech.Policies) == 0 {
		t.Fatalf("the examples no longer plan a silo database, a pool schema and row-filtered tables: %+v %+v %+v", acme, globex, initech)
	}
	pg := testenv.PrivatePostgres(t)
	cfg, err := pg.ConnConfig("postgres")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exec := func(db string, stmts ...string) {
		t.Helper()
		c := cfg.Copy()
		if db != "" {
			c.Database = db
		}
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %s: %v", db, s, err)
			}
		}
	}
	count := func(db, q string, args ...any) int {
		t.Helper()
		c := cfg.Copy()
		c.Database = db
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	sql := pgdrifttest.Render(ts, pf)
	exec("", sql[""]...)
	for db, stmts := range sql {
		if db != "" {
			exec(db, stmts...)
		}
	}
	// Data in every tier's place: a table with a row in acme's database and globex's schema,
	// rows of initech and of another tenant in every shared table.
	exec(acme.Database, "CREATE TABLE "+q(acme.Schema)+".orders (id int)", "INSERT INTO "+q(acme.Schema)+".orders VALUES (1)")
	exec(globex.Database, "CREATE TABLE "+q(globex.Schema)+".orders (id int)", "INSERT INTO "+q(globex.Schema)+".orders VALUES (1)")
	for _, p := range initech.Policies {
		exec(p.Database, "INSERT INTO "+q(p.Schema)+"."+q(p.Table)+" ("+tenantplan.PGTenantIDColumn+") VALUES ('initech'), ('initech'), ('someone-else')")
	}
	roles := func() []string {
		c := cfg.Copy()
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, _ := conn.Query(ctx, `SELECT rolname::text FROM pg_roles WHERE rolname LIKE 't\_%' ORDER BY 1`)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	purge := func(steps []Step, err error) []Step {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var reported []Step
		done, err := Run(ctx, cfg, steps, func(s Step) { reported = append(reported, s) })
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(done, reported); diff != "" {
			t.Errorf("reported steps differ from the result (-result +reported):\n%s", diff)
		}
		return done
	}
	present := func(steps []Step) (n int) {
		for _, s := range steps {
			if s.Present {
				n++
			}
		}
		return n
	}
	rolesBefore := roles()

	// pool: the schema with its table goes, the roles go, nothing else does.
	done := purge(Tenant("globex", globex))
	if present(done) != len(done) {
		t.Errorf("globex: %d of %d steps found their object: %+v", present(done), len(done), done)
	}
	if n := count(globex.Database, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, globex.Schema); n != 0 {
		t.Errorf("globex's schema survived the purge")
	}
	wantRoles := slices.DeleteFunc(slices.Clone(rolesBefore), func(r string) bool { return r == globex.OwnerRole || r == globex.LoginRole })
	if diff := cmp.Diff(wantRoles, roles()); diff != "" {
		t.Errorf("roles after globex's purge (-want +got):\n%s", diff)
	}
	if n := count(acme.Database, "SELECT count(*) FROM "+q(acme.Schema)+".orders"); n != 1 {
		t.Errorf("acme's rows: %d, want 1", n)
	}
	// a repeated purge finds nothing and fails nothing
	if again := purge(Tenant("globex", globex)); present(again) != 0 {
		t.Errorf("second purge of globex found %d objects: %+v", present(again), again)
	}

	// row filter: initech's rows go from every shared table, the other tenant's stay.
	purge(Tenant("initech", initech))
	for _, p := range initech.Policies {
		table := q(p.Schema) + "." + q(p.Table)
		if n := count(p.Database, "SELECT count(*) FROM "+table+" WHERE "+tenantplan.PGTenantIDColumn+" = 'initech'"); n != 0 {
			t.Errorf("%s: %d rows of initech left", table, n)
		}
		if n := count(p.Database, "SELECT count(*) FROM "+table); n != 1 {
			t.Errorf("%s: %d rows left, want the other tenant's 1", table, n)
		}
	}
	if slices.Contains(roles(), initech.LoginRole) {
		t.Errorf("initech's login role survived the purge")
	}

	// silo: the database goes with its data.
	purge(Tenant("acme", acme))
	if n := count("postgres", `SELECT count(*) FROM pg_database WHERE datname = $1`, acme.Database); n != 0 {
		t.Errorf("acme's database survived the purge")
	}

	// platform: the shared database and its owner.
	purge(Platform(pf))
	if n := count("postgres", `SELECT count(*) FROM pg_database WHERE datname = $1`, pf.Database); n != 0 {
		t.Errorf("the shared database survived the platform purge")
	}
	if left := roles(); len(left) != 0 {
		t.Errorf("roles left after every purge: %v", left)
	}
}

func q(name string) string { return `"` + name + `"` }
