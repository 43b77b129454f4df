package tenantpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func TestSchemaAndVersion(t *testing.T) {
	if Version != toolchain.TenantPGProviderVersion {
		t.Errorf("provider Version %s, toolchain pins %s (hack/build-tool.sh stamps the toolchain's)", Version, toolchain.TenantPGProviderVersion)
	}
	s := newServer(t)
	resp, err := s.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Name      string                     `json:"name"`
		Resources map[string]json.RawMessage `json:"resources"`
		Config    struct {
			Variables map[string]struct {
				Secret bool `json:"secret"`
			} `json:"variables"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &spec); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range spec.Resources {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"tenantpg:index:Database", "tenantpg:index:DefaultPrivileges", "tenantpg:index:Grant", "tenantpg:index:Membership",
		"tenantpg:index:Password", "tenantpg:index:Policy", "tenantpg:index:Role", "tenantpg:index:RowLevelSecurity", "tenantpg:index:Schema",
		"tenantpg:index:Table"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if !spec.Config.Variables["password"].Secret {
		t.Error("config password is not a secret in the schema")
	}
}

func TestRoleLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	name := unique("app")
	const pw = "first-Passw0rd"
	inputs := map[string]any{"name": name, "login": true, "password": secret(pw), "connectionLimit": 5}
	r := h.create("Role", name, inputs)
	if r.id != name {
		t.Errorf("ID %q", r.id)
	}
	if v := r.state.Get("password"); !v.Secret() {
		t.Error("password output is not marked secret")
	}
	got := h.query("postgres", `SELECT concat_ws(',', rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolinherit, rolconnlimit) FROM pg_roles WHERE rolname = $1`, name)
	if diff := cmp.Diff([]string{"t,f,f,f,f,t,5"}, got); diff != "" {
		t.Errorf("role attributes (-want +got):\n%s", diff)
	}
	if c, err := h.loginAs("postgres", name, pw); err != nil {
		t.Fatalf("login with the declared password: %v", err)
	} else {
		c.Close(context.Background())
	}
	// The server stores a SCRAM verifier, never the password.
	if v := h.query("postgres", `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, name); len(v) != 1 || !strings.HasPrefix(v[0], "SCRAM-SHA-256$") {
		t.Errorf("stored password %q is not a SCRAM verifier", v)
	}
	r.refresh()
	wantChanged(t, "after refresh, nothing changed", r.diff(inputs))

	// Drift made outside Pulumi is seen by refresh.
	h.sql("postgres", `ALTER ROLE "`+name+`" BYPASSRLS CONNECTION LIMIT 9`, `ALTER ROLE "`+name+`" PASSWORD 'changed-out-of-band'`)
	r.refresh()
	wantChanged(t, "out-of-band BYPASSRLS, limit and password", r.diff(inputs), "bypassRowLevelSecurity", "connectionLimit", "password")
	r.update(inputs)
	r.refresh()
	wantChanged(t, "after update", r.diff(inputs))
	if c, err := h.loginAs("postgres", name, pw); err != nil {
		t.Fatalf("update did not restore the password: %v", err)
	} else {
		c.Close(context.Background())
	}

	// In place vs replace.
	wantChanged(t, "createDatabase", r.diff(map[string]any{"name": name, "login": true, "password": secret(pw), "connectionLimit": 5, "createDatabase": true}), "createDatabase")
	wantChanged(t, "rename", r.diff(map[string]any{"name": name + "x", "login": true, "password": secret(pw), "connectionLimit": 5}), "name!")

	r.delete()
	if got := h.query("postgres", `SELECT rolname FROM pg_roles WHERE rolname = $1`, name); len(got) != 0 {
		t.Errorf("role still exists after delete")
	}
	if r.refresh() {
		t.Error("Read of a dropped role reports it exists")
	}
}

func TestDatabaseLifecycleAndRetention(t *testing.T) {
	h := newHarness(t, nil)
	owner := unique("owner")
	h.create("Role", owner, map[string]any{"name": owner})
	name := unique("db")
	inputs := map[string]any{"name": name, "owner": owner}
	d := h.create("Database", name, inputs)
	public := func() []string {
		return h.query("postgres", `SELECT a.privilege_type FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = $1 AND a.grantee = 0 ORDER BY 1`, name)
	}
	if got := public(); len(got) != 0 {
		t.Errorf("PUBLIC privileges on a new database: %v, want none", got)
	}
	if got := h.query("postgres", `SELECT pg_get_userbyid(datdba) || ',' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = $1`, name); !slices.Equal(got, []string{owner + ",UTF8"}) {
		t.Errorf("owner,encoding = %v", got)
	}
	d.refresh()
	wantChanged(t, "refresh", d.diff(inputs))

	h.sql("postgres", `GRANT CONNECT ON DATABASE "`+name+`" TO PUBLIC`)
	d.refresh()
	wantChanged(t, "PUBLIC CONNECT granted out of band", d.diff(inputs), "revokePublicConnect")
	d.update(inputs)
	if got := public(); len(got) != 0 {
		t.Errorf("update left PUBLIC with %v", got)
	}
	wantChanged(t, "encoding", d.diff(map[string]any{"name": name, "owner": owner, "encoding": "SQL_ASCII"}), "encoding!")
	wantChanged(t, "owner", d.diff(map[string]any{"name": name}), "owner")

	// Retention: a database with a table survives delete without forceDestroy.
	h.sql(name, `CREATE TABLE keep (v int)`, `INSERT INTO keep VALUES (1)`)
	d.delete()
	if got := h.query("postgres", `SELECT datname FROM pg_database WHERE datname = $1`, name); len(got) != 1 {
		t.Fatal("a database holding a table was dropped without forceDestroy")
	}
	d.update(map[string]any{"name": name, "owner": owner, "forceDestroy": true})
	d.delete()
	if got := h.query("postgres", `SELECT datname FROM pg_database WHERE datname = $1`, name); len(got) != 0 {
		t.Fatal("forceDestroy did not drop the database")
	}

	// An empty database is dropped.
	empty := h.create("Database", name+"e", map[string]any{"name": name + "e"})
	empty.delete()
	if got := h.query("postgres", `SELECT datname FROM pg_database WHERE datname = $1`, name+"e"); len(got) != 0 {
		t.Fatal("an empty database was not dropped")
	}
}

func TestSchemaLifecycleAndRetention(t *testing.T) {
	h := newHarness(t, nil)
	owner, other := unique("owner"), unique("other")
	h.create("Role", owner, map[string]any{"name": owner})
	h.create("Role", other, map[string]any{"name": other})
	name := unique("s")
	inputs := map[string]any{"name": name, "owner": owner}
	s := h.create("Schema", name, inputs)
	if s.id != "postgres/"+name {
		t.Errorf("ID %q", s.id)
	}
	s.refresh()
	wantChanged(t, "refresh", s.diff(inputs))
	h.sql("postgres", `ALTER SCHEMA "`+name+`" OWNER TO "`+other+`"`)
	s.refresh()
	wantChanged(t, "owner changed out of band", s.diff(inputs), "owner")
	s.update(inputs)
	if got := h.query("postgres", `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, name); !slices.Equal(got, []string{owner}) {
		t.Errorf("owner = %v", got)
	}
	wantChanged(t, "database", s.diff(map[string]any{"name": name, "owner": owner, "database": "template1"}), "database!")

	h.sql("postgres", `CREATE TABLE "`+name+`".rows (v int)`)
	s.delete()
	if got := h.query("postgres", `SELECT nspname FROM pg_namespace WHERE nspname = $1`, name); len(got) != 1 {
		t.Fatal("a schema holding a table was dropped without forceDestroy")
	}
	s.update(map[string]any{"name": name, "owner": owner, "forceDestroy": true})
	s.delete()
	if got := h.query("postgres", `SELECT nspname FROM pg_namespace WHERE nspname = $1`, name); len(got) != 0 {
		t.Fatal("forceDestroy did not drop the schema")
	}
}

func TestGrantLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	role := unique("reader")
	h.create("Role", role, map[string]any{"name": role})
	schema := unique("s")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `CREATE TABLE "`+schema+`".t1 (v int)`, `CREATE TABLE "`+schema+`".t2 (v int)`,
		`CREATE SEQUENCE "`+schema+`".seq`, `CREATE FUNCTION "`+schema+`".f() RETURNS int LANGUAGE sql AS 'SELECT 1'`)
	privs := func(table string) []string {
		return h.query("postgres", `SELECT a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
			aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
			WHERE n.nspname = $1 AND c.relname = $2 AND a.grantee = $3::regrole ORDER BY 1`, schema, table, role)
	}

	tables := map[string]any{"role": role, "objectType": "table", "schema": schema, "privileges": []string{"select", "INSERT"}}
	g := h.create("Grant", "tables", tables)
	for _, tb := range []string{"t1", "t2"} {
		if diff := cmp.Diff([]string{"INSERT", "SELECT"}, privs(tb)); diff != "" {
			t.Errorf("%s privileges (-want +got):\n%s", tb, diff)
		}
	}
	g.refresh()
	wantChanged(t, "refresh", g.diff(tables))

	// A privilege revoked on one table, and an extra one granted on the other: both are drift.
	h.sql("postgres", `REVOKE INSERT ON "`+schema+`".t2 FROM "`+role+`"`)
	g.refresh()
	wantChanged(t, "INSERT revoked out of band", g.diff(tables), "privileges")
	h.sql("postgres", `GRANT INSERT ON "`+schema+`".t2 TO "`+role+`"`, `GRANT DELETE ON "`+schema+`".t1 TO "`+role+`"`)
	g.refresh()
	wantChanged(t, "DELETE granted out of band", g.diff(tables), "privileges")
	g.update(tables)
	if diff := cmp.Diff([]string{"INSERT", "SELECT"}, privs("t1")); diff != "" {
		t.Errorf("update did not revoke the undeclared DELETE (-want +got):\n%s", diff)
	}
	// Narrowing the declaration revokes what it no longer declares.
	narrow := map[string]any{"role": role, "objectType": "table", "schema": schema, "privileges": []string{"SELECT"}}
	wantChanged(t, "narrow", g.diff(narrow), "privileges")
	g.update(narrow)
	if diff := cmp.Diff([]string{"SELECT"}, privs("t2")); diff != "" {
		t.Errorf("narrowed privileges (-want +got):\n%s", diff)
	}
	// Every declared privilege revoked out of band: the grant reads back as holding none (a
	// value, not a missing field), which is drift the next update restores.
	h.sql("postgres", `REVOKE ALL ON ALL TABLES IN SCHEMA "`+schema+`" FROM "`+role+`"`)
	g.refresh()
	wantChanged(t, "every privilege revoked out of band", g.diff(narrow), "privileges")
	g.update(narrow)
	if diff := cmp.Diff([]string{"SELECT"}, privs("t1")); diff != "" {
		t.Errorf("update after a full revoke (-want +got):\n%s", diff)
	}
	wantChanged(t, "all tables -> named tables", g.diff(map[string]any{"role": role, "objectType": "table", "schema": schema, "objects": []string{"t1"}, "privileges": []string{"SELECT"}}), "objects!")
	wantChanged(t, "grantee", g.diff(map[string]any{"role": role + "x", "objectType": "table", "schema": schema, "privileges": []string{"SELECT"}}), "role!")
	g.delete()
	if got := privs("t1"); len(got) != 0 {
		t.Errorf("delete left %v", got)
	}

	// Named tables: dropping one from the list revokes on it.
	named := h.create("Grant", "named", map[string]any{"role": role, "objectType": "table", "schema": schema, "objects": []string{"t1", "t2"}, "privileges": []string{"ALL"}})
	named.update(map[string]any{"role": role, "objectType": "table", "schema": schema, "objects": []string{"t1"}, "privileges": []string{"ALL"}})
	if got := privs("t2"); len(got) != 0 {
		t.Errorf("t2 left out of the grant still has %v", got)
	}
	if got := privs("t1"); len(got) != 7 {
		t.Errorf("ALL on t1 gave %v", got)
	}
	named.delete()

	// Database, schema, sequence and function grants.
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		query  string
		want   []string
	}{
		{"database", map[string]any{"role": role, "objectType": "database", "database": "postgres", "privileges": []string{"CONNECT", "TEMP"}},
			`SELECT a.privilege_type FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = 'postgres' AND a.grantee = $1::regrole ORDER BY 1`,
			[]string{"CONNECT", "TEMPORARY"}},
		{"schema", map[string]any{"role": role, "objectType": "schema", "schema": schema, "privileges": []string{"USAGE"}},
			`SELECT a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = '` + schema + `' AND a.grantee = $1::regrole`,
			[]string{"USAGE"}},
		{"sequence", map[string]any{"role": role, "objectType": "sequence", "schema": schema, "objects": []string{"seq"}, "privileges": []string{"USAGE", "SELECT"}},
			`SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE c.relname = 'seq' AND a.grantee = $1::regrole ORDER BY 1`,
			[]string{"SELECT", "USAGE"}},
		{"function", map[string]any{"role": role, "objectType": "function", "schema": schema, "privileges": []string{"EXECUTE"}},
			`SELECT a.privilege_type FROM pg_proc p, aclexplode(p.proacl) a WHERE p.proname = 'f' AND a.grantee = $1::regrole`,
			[]string{"EXECUTE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := h.create("Grant", tc.name, tc.inputs)
			if diff := cmp.Diff(tc.want, h.query("postgres", tc.query, role)); diff != "" {
				t.Errorf("privileges (-want +got):\n%s", diff)
			}
			g.refresh()
			wantChanged(t, "refresh", g.diff(tc.inputs))
			g.delete()
			if got := h.query("postgres", tc.query, role); len(got) != 0 {
				t.Errorf("delete left %v", got)
			}
		})
	}
}

// TestRoleDeleteRevokesLeftoverPrivileges: a role that owns nothing but still holds privileges no
// Grant declared (DML on a table its owner created later, retained with its data) is dropped; the
// table stays.
func TestRoleDeleteRevokesLeftoverPrivileges(t *testing.T) {
	h := newHarness(t, nil)
	role := unique("app")
	r := h.create("Role", role, map[string]any{"name": role, "login": true})
	schema := unique("kept")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `CREATE TABLE "`+schema+`".rows (v int)`, `INSERT INTO "`+schema+`".rows VALUES (1)`,
		`GRANT USAGE ON SCHEMA "`+schema+`" TO "`+role+`"`, `GRANT SELECT, INSERT ON "`+schema+`".rows TO "`+role+`"`)
	r.delete()
	if got := h.query("postgres", `SELECT rolname FROM pg_roles WHERE rolname = $1`, role); len(got) != 0 {
		t.Errorf("role %s still exists", role)
	}
	if got := h.query("postgres", `SELECT count(*)::text FROM "`+schema+`".rows`); len(got) != 1 || got[0] != "1" {
		t.Errorf("the retained table lost its rows: %v", got)
	}
}

// TestGrantPublicNone: PUBLIC declared with no privileges closes a schema to it (a database's
// public schema), reports PUBLIC's privilege granted again as drift, and leaves nothing on delete.
func TestGrantPublicNone(t *testing.T) {
	h := newHarness(t, nil)
	schema := unique("pub")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `GRANT USAGE, CREATE ON SCHEMA "`+schema+`" TO PUBLIC`)
	public := func() []string {
		return h.query("postgres", `SELECT a.privilege_type FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
			WHERE n.nspname = $1 AND a.grantee = 0 ORDER BY 1`, schema)
	}
	closed := map[string]any{"role": "PUBLIC", "objectType": "schema", "schema": schema, "privileges": []string{}}
	g := h.create("Grant", "closed", closed)
	if got := public(); len(got) != 0 {
		t.Fatalf("PUBLIC still holds %v", got)
	}
	g.refresh()
	wantChanged(t, "refresh", g.diff(closed))
	h.sql("postgres", `GRANT USAGE ON SCHEMA "`+schema+`" TO PUBLIC`)
	g.refresh()
	wantChanged(t, "USAGE granted to PUBLIC out of band", g.diff(closed), "privileges")
	g.update(closed)
	if got := public(); len(got) != 0 {
		t.Errorf("update left PUBLIC %v", got)
	}
	g.delete()
	if got := public(); len(got) != 0 {
		t.Errorf("delete gave PUBLIC %v", got)
	}
	if _, fails := h.check(h.urn("Grant", "none"), property.Map{}, props(map[string]any{"role": "someone", "objectType": "schema", "schema": schema, "privileges": []string{}})); len(fails) == 0 {
		t.Error("a role other than PUBLIC declared with no privileges passed Check")
	}
}

func TestDefaultPrivileges(t *testing.T) {
	h := newHarness(t, nil)
	owner, reader := unique("owner"), unique("reader")
	h.create("Role", owner, map[string]any{"name": owner})
	h.create("Role", reader, map[string]any{"name": reader})
	schema := unique("s")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`" AUTHORIZATION "`+owner+`"`)
	inputs := map[string]any{"owner": owner, "schema": schema, "objectType": "table", "role": reader, "privileges": []string{"SELECT"}}
	d := h.create("DefaultPrivileges", "dp", inputs)
	h.sql("postgres", `SET ROLE "`+owner+`"; CREATE TABLE "`+schema+`".later (v int)`)
	if got := h.query("postgres", `SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE c.relname = 'later' AND a.grantee = $1::regrole`, reader); !slices.Equal(got, []string{"SELECT"}) {
		t.Errorf("a table created after the default privileges gives the reader %v", got)
	}
	d.refresh()
	wantChanged(t, "refresh", d.diff(inputs))
	h.sql("postgres", `ALTER DEFAULT PRIVILEGES FOR ROLE "`+owner+`" IN SCHEMA "`+schema+`" GRANT INSERT ON TABLES TO "`+reader+`"`)
	d.refresh()
	wantChanged(t, "INSERT added out of band", d.diff(inputs), "privileges")
	d.update(inputs)
	d.refresh()
	wantChanged(t, "after update", d.diff(inputs))
	wantChanged(t, "object type", d.diff(map[string]any{"owner": owner, "schema": schema, "objectType": "sequence", "role": reader, "privileges": []string{"SELECT"}}), "objectType!")
	d.delete()
	if got := h.query("postgres", `SELECT count(*)::text FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = $1`, schema); !slices.Equal(got, []string{"0"}) {
		t.Errorf("pg_default_acl entries left after delete: %v", got)
	}
}

func TestRowLevelSecurityAndPolicy(t *testing.T) {
	h := newHarness(t, nil)
	schema := unique("shared")
	tenants := []string{unique("ta"), unique("tb")}
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `CREATE TABLE "`+schema+`".items (tenant_id name NOT NULL, v text)`)
	for _, tn := range tenants {
		h.create("Role", tn, map[string]any{"name": tn, "login": true, "password": secret("pw-" + tn)})
		h.create("Grant", tn+"-usage", map[string]any{"role": tn, "objectType": "schema", "schema": schema, "privileges": []string{"USAGE"}})
		h.create("Grant", tn+"-rows", map[string]any{"role": tn, "objectType": "table", "schema": schema, "privileges": []string{"SELECT", "INSERT"}})
		h.sql("postgres", `INSERT INTO "`+schema+`".items VALUES ('`+tn+`', 'row of `+tn+`')`)
	}
	rlsIn := map[string]any{"schema": schema, "table": "items"}
	rls := h.create("RowLevelSecurity", "items", rlsIn)
	flags := func() []string {
		return h.query("postgres", `SELECT c.relrowsecurity || ',' || c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'items'`, schema)
	}
	if got := flags(); !slices.Equal(got, []string{"true,true"}) {
		t.Errorf("relrowsecurity,relforcerowsecurity = %v", got)
	}
	polIn := map[string]any{"schema": schema, "table": "items", "name": "tenant_rows", "using": "tenant_id = current_user", "withCheck": "tenant_id = current_user", "roles": tenants}
	pol := h.create("Policy", "tenant_rows", polIn)
	pol.refresh()
	wantChanged(t, "policy refresh (the server deparses the expression)", pol.diff(polIn))

	// The policy binds rows to the connected role itself: session settings change nothing.
	ctx := context.Background()
	c, err := h.loginAs("postgres", tenants[0], "pw-"+tenants[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `SET app.tenant_id = '`+tenants[1]+`'`); err != nil {
		t.Fatal(err)
	}
	var seen []string
	rows, err := c.Query(ctx, `SELECT tenant_id::text FROM "`+schema+`".items`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		seen = append(seen, s)
	}
	rows.Close()
	if !slices.Equal(seen, []string{tenants[0]}) {
		t.Errorf("tenant %s sees rows of %v", tenants[0], seen)
	}
	if _, err := c.Exec(ctx, `INSERT INTO "`+schema+`".items VALUES ('`+tenants[1]+`', 'forged')`); err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("writing another tenant's row: err = %v, want a row-level security violation", err)
	}

	// Drift: RLS disabled, policy loosened, both out of band.
	h.sql("postgres", `ALTER TABLE "`+schema+`".items NO FORCE ROW LEVEL SECURITY`, `ALTER TABLE "`+schema+`".items DISABLE ROW LEVEL SECURITY`,
		`ALTER POLICY tenant_rows ON "`+schema+`".items USING (true)`)
	rls.refresh()
	wantChanged(t, "RLS disabled out of band", rls.diff(rlsIn), "enabled", "force")
	pol.refresh()
	wantChanged(t, "policy loosened out of band", pol.diff(polIn), "using")
	rls.update(rlsIn)
	pol.update(polIn)
	if got := flags(); !slices.Equal(got, []string{"true,true"}) {
		t.Errorf("after update relrowsecurity,relforcerowsecurity = %v", got)
	}
	pol.refresh()
	wantChanged(t, "policy after update", pol.diff(polIn))
	if got := h.query("postgres", `SELECT qual FROM pg_policies WHERE schemaname = $1 AND policyname = 'tenant_rows'`, schema); len(got) != 1 || got[0] == "true" {
		t.Errorf("policy USING after update = %v", got)
	}

	restrictive := map[string]any{"schema": schema, "table": "items", "name": "tenant_rows", "using": "tenant_id = current_user", "withCheck": "tenant_id = current_user", "roles": tenants, "restrictive": true}
	wantChanged(t, "permissive -> restrictive", pol.diff(restrictive), "restrictive!")
	if d := pol.diff(restrictive); !d.DeleteBeforeReplace {
		t.Error("a policy replaced under the same name must be deleted first")
	}
	wantChanged(t, "command", pol.diff(map[string]any{"schema": schema, "table": "items", "name": "tenant_rows", "command": "select", "using": "tenant_id = current_user", "roles": tenants}), "command!", "withCheck")

	pol.delete()
	rls.delete()
	if got := flags(); !slices.Equal(got, []string{"false,false"}) {
		t.Errorf("after delete relrowsecurity,relforcerowsecurity = %v", got)
	}
	if got := h.query("postgres", `SELECT policyname::text FROM pg_policies WHERE schemaname = $1`, schema); len(got) != 0 {
		t.Errorf("policies left: %v", got)
	}
}

func TestMembership(t *testing.T) {
	h := newHarness(t, nil)
	group, member := unique("group"), unique("member")
	h.create("Role", group, map[string]any{"name": group})
	h.create("Role", member, map[string]any{"name": member})
	inputs := map[string]any{"role": group, "member": member}
	m := h.create("Membership", "m", inputs)
	q := `SELECT am.admin_option::text FROM pg_auth_members am WHERE am.roleid = $1::regrole AND am.member = $2::regrole`
	if got := h.query("postgres", q, group, member); !slices.Equal(got, []string{"false"}) {
		t.Errorf("membership = %v", got)
	}
	m.refresh()
	wantChanged(t, "refresh", m.diff(inputs))
	admin := map[string]any{"role": group, "member": member, "adminOption": true}
	wantChanged(t, "admin option", m.diff(admin), "adminOption")
	m.update(admin)
	if got := h.query("postgres", q, group, member); !slices.Equal(got, []string{"true"}) {
		t.Errorf("admin option = %v", got)
	}
	m.update(inputs)
	if got := h.query("postgres", q, group, member); !slices.Equal(got, []string{"false"}) {
		t.Errorf("admin option after revoke = %v", got)
	}
	wantChanged(t, "member", m.diff(map[string]any{"role": group, "member": group + "x"}), "member!")
	h.sql("postgres", `REVOKE "`+group+`" FROM "`+member+`"`)
	if m.refresh() {
		t.Error("a membership revoked out of band still reads as present")
	}
	m.delete()
}

func TestImportExistingRoleAndSchema(t *testing.T) {
	h := newHarness(t, nil)
	role, schema := unique("legacy"), unique("legacy")
	h.sql("postgres", `CREATE ROLE "`+role+`" LOGIN CREATEDB CONNECTION LIMIT 3`, `CREATE SCHEMA "`+schema+`" AUTHORIZATION "`+role+`"`)

	got := h.importRead("Role", role)
	if got.ID != role {
		t.Fatalf("import role: ID %q", got.ID)
	}
	want := props(map[string]any{"name": role, "login": true, "createDatabase": true, "connectionLimit": 3, "superuser": false,
		"createRole": false, "bypassRowLevelSecurity": false, "inherit": true})
	if diff := cmp.Diff(want.AsMap(), withoutNull(got.Inputs).AsMap(), cmp.Comparer(func(a, b property.Value) bool { return a.Equals(b) })); diff != "" {
		t.Errorf("imported role inputs (-want +got):\n%s", diff)
	}
	// The imported resource, declared as it is, has no diff.
	r := &res{h: h, urn: h.urn("Role", "imported"), id: got.ID, inputs: got.Inputs, state: got.Properties}
	wantChanged(t, "imported role as declared", r.diff(map[string]any{"name": role, "login": true, "createDatabase": true, "connectionLimit": 3}))

	gs := h.importRead("Schema", "postgres/"+schema)
	if gs.ID != "postgres/"+schema || gs.Inputs.Get("owner").AsString() != role || gs.Inputs.Get("name").AsString() != schema {
		t.Fatalf("import schema: %+v", gs)
	}
	s := &res{h: h, urn: h.urn("Schema", "imported"), id: gs.ID, inputs: gs.Inputs, state: gs.Properties}
	wantChanged(t, "imported schema as declared", s.diff(map[string]any{"name": schema, "owner": role}))

	if resp := h.importRead("Role", unique("missing")); resp.ID != "" {
		t.Errorf("import of a missing role returned ID %q", resp.ID)
	}
	if _, err := h.s.Read(p.ReadRequest{ID: `x"; DROP ROLE postgres; --`, Urn: h.urn("Role", "bad")}); err == nil {
		t.Error("import with an injection in the ID was not refused")
	}
}

func withoutNull(m property.Map) property.Map {
	out := map[string]property.Value{}
	for k, v := range m.All {
		if !v.IsNull() {
			out[k] = v
		}
	}
	return property.NewMap(out)
}

func TestBadInput(t *testing.T) {
	t.Run("server unreachable", func(t *testing.T) {
		h := newHarness(t, map[string]property.Value{"port": property.New(float64(1))})
		_, err := h.tryCreate("Role", "r", map[string]any{"name": "unreachable_role"})
		if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:1") {
			t.Fatalf("err = %v, want a connection error naming the server", err)
		}
	})
	t.Run("wrong admin password", func(t *testing.T) {
		h := newHarness(t, map[string]property.Value{"password": secret("not-the-password")})
		_, err := h.tryCreate("Role", "r", map[string]any{"name": "never_created"})
		if err == nil || !strings.Contains(err.Error(), "password authentication failed: check tenantpg:password") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "not-the-password") {
			t.Error("the error echoes the password")
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		s := newServer(t)
		err := s.Configure(p.ConfigureRequest{Args: props(map[string]any{"host": "h", "port": 5432, "username": "a;b", "password": secret("x"), "sslmode": "sometimes", "database": "postgres", "connectTimeoutSeconds": 1})})
		if err == nil || !strings.Contains(err.Error(), "tenantpg:username") || !strings.Contains(err.Error(), "tenantpg:sslmode") {
			t.Fatalf("err = %v", err)
		}
	})

	h := newHarness(t, nil)
	before := h.query("postgres", `SELECT count(*)::text FROM pg_roles`)
	for _, tc := range []struct {
		typ, prop string
		inputs    map[string]any
	}{
		{"Role", "name", map[string]any{"name": `x"; DROP ROLE postgres; --`}},
		{"Role", "name", map[string]any{"name": "Upper"}},
		{"Role", "name", map[string]any{"name": "pg_mine"}},
		{"Role", "name", map[string]any{"name": strings.Repeat("a", 64)}},
		{"Role", "password", map[string]any{"name": "ok", "password": secret("tab\there")}},
		{"Database", "name", map[string]any{"name": "db; DROP DATABASE postgres"}},
		{"Database", "owner", map[string]any{"name": "db", "owner": "o'wner"}},
		{"Schema", "name", map[string]any{"name": "s s"}},
		{"Grant", "role", map[string]any{"role": "r;x", "objectType": "schema", "schema": "s", "privileges": []string{"USAGE"}}},
		{"Grant", "privileges", map[string]any{"role": "r", "objectType": "schema", "schema": "s", "privileges": []string{"SELECT; DROP TABLE x"}}},
		{"Grant", "objectType", map[string]any{"role": "r", "objectType": "view", "schema": "s", "privileges": []string{"SELECT"}}},
		{"Policy", "name", map[string]any{"schema": "s", "table": "t", "name": "p", "command": "MERGE"}},
		{"Membership", "member", map[string]any{"role": "a", "member": "a"}},
		{"Table", "name", map[string]any{"schema": "s", "name": `t"; DROP TABLE x; --`}},
		{"Table", "schema", map[string]any{"schema": "s.t", "name": "t"}},
		{"Table", "tenantColumn", map[string]any{"schema": "s", "name": "t", "tenantColumn": "tenant_id text, x int"}},
		{"Table", "owner", map[string]any{"schema": "s", "name": "t", "owner": "Owner"}},
		{"Table", "database", map[string]any{"database": "db;", "schema": "s", "name": "t"}},
		{"Password", "length", map[string]any{"length": 15}},
		{"Password", "length", map[string]any{"length": 129}},
	} {
		_, failures := h.check(h.urn(tc.typ, "bad"), property.Map{}, props(tc.inputs))
		if len(failures) != 1 || failures[0].Property != tc.prop {
			t.Errorf("%s %v: failures %+v, want one on %q", tc.typ, tc.inputs, failures, tc.prop)
		}
		for _, f := range failures {
			if strings.Contains(f.Reason, "tab\there") {
				t.Error("a failure echoes the password")
			}
		}
	}
	if after := h.query("postgres", `SELECT count(*)::text FROM pg_roles`); !slices.Equal(before, after) {
		t.Errorf("refused inputs changed the roles: %v -> %v", before, after)
	}

	// A policy expression cannot carry a second statement.
	schema := unique("s")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `CREATE TABLE "`+schema+`".t (v int)`)
	if _, err := h.tryCreate("Policy", "smuggle", map[string]any{"schema": schema, "table": "t", "name": "p", "using": "true); DROP TABLE \"" + schema + "\".t; SELECT (1"}); err == nil {
		t.Error("a policy with a second statement in USING was created")
	}
	if got := h.query("postgres", `SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND relname = 't'`, schema); len(got) != 1 {
		t.Error("the smuggled DROP TABLE ran")
	}
}

// TestCheckUnknownInputs: in a preview an input may be the output of a resource not created yet
// (a Password's result feeding a Role, a schema's name): Check must not refuse the empty value it
// decodes to, and must keep the input unknown. Known values are still validated.
func TestCheckUnknownInputs(t *testing.T) {
	h := newOfflineHarness(t)
	unknown := property.New(property.Computed)
	for _, tc := range []struct {
		typ, prop string
		inputs    map[string]any
	}{
		{"Role", "password", map[string]any{"name": "app", "login": true, "password": unknown.WithSecret(true)}},
		{"Schema", "name", map[string]any{"name": unknown}},
		{"Table", "schema", map[string]any{"schema": unknown, "name": "items"}},
		{"Table", "owner", map[string]any{"schema": "s", "name": "items", "owner": unknown}},
		{"Grant", "roles", map[string]any{"role": unknown, "objectType": "schema", "schema": "s", "privileges": []string{"USAGE"}}},
	} {
		checked, failures := h.check(h.urn(tc.typ, "u"), property.Map{}, props(tc.inputs))
		if len(failures) > 0 {
			t.Errorf("%s with unknown %s: failures %+v", tc.typ, tc.prop, failures)
		}
		for k, v := range tc.inputs {
			// (infer returns an unknown that is also a secret as a known secret "": the engine
			// runs Check again with the value all the same.)
			if pv, ok := v.(property.Value); ok && pv.HasComputed() && !pv.Secret() && !checked.Get(k).HasComputed() {
				t.Errorf("%s: Check made the unknown %s known: %v", tc.typ, k, checked.Get(k))
			}
		}
	}
	// A known bad value next to an unknown one is still refused (when validated before it; the
	// rest is validated when the engine checks again with every value known).
	_, failures := h.check(h.urn("Table", "bad"), property.Map{}, props(map[string]any{"schema": "s", "name": "a;b", "owner": unknown}))
	if len(failures) != 1 || failures[0].Property != "name" {
		t.Errorf("unknown schema, bad name: failures %+v, want one on name", failures)
	}
}

func TestKeywordIdentifiers(t *testing.T) {
	h := newHarness(t, nil)
	// Tenant ids that are SQL keywords: every statement quotes every identifier.
	role := h.create("Role", "select", map[string]any{"name": "select", "login": true, "password": secret("keyword-pw")})
	db := h.create("Database", "table", map[string]any{"name": "table", "owner": "select"})
	schema := h.create("Schema", "user", map[string]any{"database": "table", "name": "user", "owner": "select"})
	grant := h.create("Grant", "g", map[string]any{"database": "table", "role": "select", "objectType": "database", "privileges": []string{"CONNECT"}})
	h.sql("table", `CREATE TABLE "user"."order" ("group" int)`)
	rls := h.create("RowLevelSecurity", "rls", map[string]any{"database": "table", "schema": "user", "table": "order"})
	pol := h.create("Policy", "pol", map[string]any{"database": "table", "schema": "user", "table": "order", "name": "where", "using": `"group" > 0`, "roles": []string{"select"}})
	for _, r := range []*res{role, db, schema, grant, rls, pol} {
		if !r.refresh() {
			t.Errorf("%s: not found on refresh", r.id)
		}
	}
	c, err := h.loginAs("table", "select", "keyword-pw")
	if err != nil {
		t.Fatalf("login as role select: %v", err)
	}
	c.Close(context.Background())
	pol.delete()
	rls.delete()
	grant.delete()
	schema.update(map[string]any{"database": "table", "name": "user", "owner": "select", "forceDestroy": true})
	schema.delete()
	db.delete()
	role.delete()
	if got := h.query("postgres", `SELECT rolname::text FROM pg_roles WHERE rolname = 'select'`); len(got) != 0 {
		t.Errorf("role select left: %v", got)
	}
}

// TestObjectsOfADroppedDatabase: when a database is dropped behind Pulumi's back, refresh reports
// its schema, grants and RLS gone and deleting them succeeds, rather than failing on the connect.
func TestObjectsOfADroppedDatabase(t *testing.T) {
	h := newHarness(t, nil)
	db := unique("gone")
	h.sql("postgres", `CREATE DATABASE "`+db+`"`)
	s := h.create("Schema", "s", map[string]any{"database": db, "name": "app"})
	h.sql(db, `CREATE TABLE app.t (v int)`)
	rls := h.create("RowLevelSecurity", "rls", map[string]any{"database": db, "schema": "app", "table": "t"})
	g := h.create("Grant", "g", map[string]any{"database": db, "role": "PUBLIC", "objectType": "schema", "schema": "app", "privileges": []string{"USAGE"}})
	h.sql("postgres", `DROP DATABASE "`+db+`" WITH (FORCE)`)
	for _, r := range []*res{s, rls, g} {
		if r.refresh() {
			t.Errorf("%s: refresh reports it present in a dropped database", r.id)
		}
		r.delete()
	}
}

// TestConcurrentGrantsOnOneObject: the engine creates a tenant's grants in parallel, and GRANTs on
// the same table or database race on one ACL tuple ("tuple concurrently updated", SQLSTATE XX000).
// Every grant must land all the same.
func TestConcurrentGrantsOnOneObject(t *testing.T) {
	h := newHarness(t, nil)
	schema := unique("race")
	h.sql("postgres", `CREATE SCHEMA "`+schema+`"`, `CREATE TABLE "`+schema+`".items (v int)`)
	const n = 12
	roles := make([]string, n)
	for i := range roles {
		roles[i] = unique(fmt.Sprintf("racer%d", i))
		h.create("Role", roles[i], map[string]any{"name": roles[i]})
	}
	// Check runs up front on the test goroutine; only Create runs concurrently.
	checked := make([]property.Map, n)
	for i, role := range roles {
		var failures []p.CheckFailure
		checked[i], failures = h.check(h.urn("Grant", "g"+role), property.Map{}, props(map[string]any{
			"role": role, "objectType": "table", "schema": schema, "objects": []string{"items"}, "privileges": []string{"SELECT", "INSERT"},
		}))
		if len(failures) > 0 {
			t.Fatalf("Check: %+v", failures)
		}
	}
	for round := 0; round < 3; round++ {
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i, role := range roles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := h.s.Create(p.CreateRequest{Urn: h.urn("Grant", "g"+role), Properties: checked[i]})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent grant: %v", round, err)
			}
		}
	}
	got := h.query("postgres", `SELECT count(DISTINCT a.grantee) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace,
		aclexplode(c.relacl) a WHERE ns.nspname = $1 AND c.relname = 'items' AND a.privilege_type IN ('SELECT', 'INSERT')
		AND a.grantee <> c.relowner`, schema)
	if diff := cmp.Diff([]string{fmt.Sprint(n)}, got); diff != "" {
		t.Errorf("roles holding the grant (-want +got):\n%s", diff)
	}
}

func TestIsCatalogConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"tuple concurrently updated", &pgconn.PgError{Code: "XX000", Message: "tuple concurrently updated"}, true},
		{"tuple concurrently deleted", fmt.Errorf("grant x: %w", &pgconn.PgError{Code: "XX000", Message: "tuple concurrently deleted"}), true},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"other internal error", &pgconn.PgError{Code: "XX000", Message: "cache lookup failed"}, false},
		{"permission denied", &pgconn.PgError{Code: "42501"}, false},
		{"not a server error", errors.New("connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isCatalogConflict(tc.err); got != tc.want {
				t.Errorf("isCatalogConflict = %v, want %v", got, tc.want)
			}
		})
	}
}
