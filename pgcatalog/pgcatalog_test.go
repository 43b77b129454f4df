package pgcatalog

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestValidateIdent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string
	}{
		{"acme", ""},
		{"select", ""}, // keywords are fine: every statement quotes
		{"user", ""},
		{"t-acme_2", ""},
		{"_x", ""},
		{strings.Repeat("a", 63), ""},
		{"", "empty"},
		{strings.Repeat("a", 64), "longer than"},
		{"Acme", "not allowed"},
		{"1acme", "must start"},
		{"-acme", "must start"},
		{`a"b`, "not allowed"},
		{"a;drop", "not allowed"},
		{"a b", "not allowed"},
		{"a\x00b", "not allowed"},
		{"pg_x", "reserved"},
		{"ünï", "not allowed"},
	} {
		err := ValidateIdent("role", tc.name)
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ValidateIdent(%q) = %v, want error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestStatements(t *testing.T) {
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	got := []string{
		must(CreateRole(RoleSpec{Role: Role{Name: "select", Login: true, Inherit: true, ConnectionLimit: -1}, PasswordVerifier: "SCRAM-SHA-256$4096:c2FsdA==$a:b"})),
		must(AlterRole(RoleSpec{Role: Role{Name: "acme_owner", ConnectionLimit: 3}})),
		must(CreateDatabase(DatabaseSpec{Name: "acme", Owner: "acme_owner", Template: "template0", Encoding: "UTF8"})),
		must(CreateSchema("user", "acme_owner")),
		must(DropSchema("user", false)),
		must(Grant(GrantTarget{ObjectType: ObjectTable, Schema: "app"}, []string{"select", "insert"}, "acme", false)),
		must(Grant(GrantTarget{ObjectType: ObjectTable, Schema: "app", Objects: []string{"order", "items"}}, []string{"ALL"}, "acme", true)),
		must(Revoke(GrantTarget{ObjectType: ObjectDatabase, Database: "acme"}, []string{"CONNECT", "TEMP"}, Public, false)),
		must(Revoke(GrantTarget{ObjectType: ObjectSchema, Schema: "app"}, []string{"USAGE"}, "acme", true)),
		must(GrantDefault(DefaultPrivilegesSpec{Owner: "acme_owner", Schema: "app", ObjectType: ObjectSequence, Grantee: "acme"}, []string{"USAGE"})),
		must(CreatePolicy(PolicySpec{Schema: "shared", Table: "items", Name: "own", Command: "ALL", Roles: []string{"acme", "globex"}, Using: "tenant_id = current_user"})),
		must(GrantMembership("acme_owner", "acme", false)),
	}
	want := []string{
		`CREATE ROLE "select" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT NOREPLICATION CONNECTION LIMIT -1 PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b'`,
		`ALTER ROLE "acme_owner" WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT NOREPLICATION CONNECTION LIMIT 3 PASSWORD NULL`,
		`CREATE DATABASE "acme" OWNER "acme_owner" TEMPLATE "template0" ENCODING 'UTF8'`,
		`CREATE SCHEMA "user" AUTHORIZATION "acme_owner"`,
		`DROP SCHEMA IF EXISTS "user" RESTRICT`,
		`GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA "app" TO "acme"`,
		`GRANT DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE ON TABLE "app"."order", "app"."items" TO "acme" WITH GRANT OPTION`,
		`REVOKE CONNECT, TEMPORARY ON DATABASE "acme" FROM PUBLIC CASCADE`,
		`REVOKE GRANT OPTION FOR USAGE ON SCHEMA "app" FROM "acme" CASCADE`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "acme_owner" IN SCHEMA "app" GRANT USAGE ON SEQUENCES TO "acme"`,
		`CREATE POLICY "own" ON "shared"."items" AS PERMISSIVE FOR ALL TO "acme", "globex" USING (tenant_id = current_user)`,
		`GRANT "acme_owner" TO "acme"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
}

func TestStatementsRefuseBadInput(t *testing.T) {
	for name, f := range map[string]func() (string, error){
		"role name": func() (string, error) { return CreateRole(RoleSpec{Role: Role{Name: `x"; DROP ROLE y; --`}}) },
		"clear password": func() (string, error) {
			return CreateRole(RoleSpec{Role: Role{Name: "x"}, PasswordVerifier: "hunter2"})
		},
		"connection limit": func() (string, error) { return CreateRole(RoleSpec{Role: Role{Name: "x", ConnectionLimit: -2}}) },
		"encoding":         func() (string, error) { return CreateDatabase(DatabaseSpec{Name: "x", Encoding: "UTF8'; DROP"}) },
		"privilege": func() (string, error) {
			return Grant(GrantTarget{ObjectType: ObjectSchema, Schema: "s"}, []string{"SELECT"}, "r", false)
		},
		"object type": func() (string, error) {
			return Grant(GrantTarget{ObjectType: "view", Schema: "s"}, []string{"SELECT"}, "r", false)
		},
		"objects on schema": func() (string, error) {
			return Grant(GrantTarget{ObjectType: ObjectSchema, Schema: "s", Objects: []string{"t"}}, []string{"USAGE"}, "r", false)
		},
		"object name": func() (string, error) {
			return Grant(GrantTarget{ObjectType: ObjectTable, Schema: "s", Objects: []string{"t;x"}}, []string{"SELECT"}, "r", false)
		},
		"no privileges": func() (string, error) {
			return Grant(GrantTarget{ObjectType: ObjectSchema, Schema: "s"}, nil, "r", false)
		},
		"policy command": func() (string, error) {
			return CreatePolicy(PolicySpec{Schema: "s", Table: "t", Name: "p", Command: "MERGE"})
		},
		"insert with using": func() (string, error) {
			return CreatePolicy(PolicySpec{Schema: "s", Table: "t", Name: "p", Command: "INSERT", Using: "true"})
		},
		"default type": func() (string, error) {
			return GrantDefault(DefaultPrivilegesSpec{Owner: "o", ObjectType: ObjectDatabase, Grantee: "r"}, []string{"CONNECT"})
		},
		"membership member":  func() (string, error) { return GrantMembership("a", "B", false) },
		"alter owner object": func() (string, error) { return AlterOwner(ObjectTable, "t", "o") },
	} {
		if s, err := f(); err == nil {
			t.Errorf("%s: built %q, want an error", name, s)
		}
	}
}

func TestScram(t *testing.T) {
	v, err := ScramVerifier("s3cret-pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "SCRAM-SHA-256$4096:") || strings.Contains(v, "s3cret-pw") {
		t.Fatalf("verifier %q", v)
	}
	for pw, want := range map[string]bool{"s3cret-pw": true, "s3cret-pX": false, "": false} {
		if ok, _ := ScramMatches(v, pw); ok != want {
			t.Errorf("ScramMatches(%q) = %v", pw, ok)
		}
	}
	if v2, _ := ScramVerifier("s3cret-pw"); v2 == v {
		t.Error("two verifiers of one password share a salt")
	}
	for _, bad := range []string{"md5abc", "SCRAM-SHA-256$x", "SCRAM-SHA-256$0:AA==$AA==:AA=="} {
		if _, err := ScramMatches(bad, "x"); err == nil {
			t.Errorf("ScramMatches(%q) accepted a malformed verifier", bad)
		}
	}
	if _, err := ScramVerifier("naïve"); err == nil || strings.Contains(err.Error(), "naïve") {
		t.Errorf("non-ASCII password: err = %v (must refuse without echoing it)", err)
	}
}

func TestNormalizePrivileges(t *testing.T) {
	got, err := NormalizePrivileges(ObjectDatabase, []string{"temp", "connect", "CONNECT"})
	if err != nil || !slices.Equal(got, []string{"CONNECT", "TEMPORARY"}) {
		t.Errorf("got %v, %v", got, err)
	}
	got, _ = NormalizePrivileges(ObjectSequence, []string{"all privileges"})
	if !slices.Equal(got, []string{"SELECT", "UPDATE", "USAGE"}) {
		t.Errorf("ALL on sequences = %v", got)
	}
}

// TestReadCatalog reads a tenant's objects back from the live catalog of the local server: the
// scram verifier really matches, ACLs, RLS flags, policies, default ACLs, SECURITY DEFINER.
func TestReadCatalog(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	c, err := pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	verifier, err := ScramVerifier("tenant-pw")
	if err != nil {
		t.Fatal(err)
	}
	role := must(t)(CreateRole(RoleSpec{Role: Role{Name: "select", Login: true, Inherit: true, ConnectionLimit: 4}, PasswordVerifier: verifier}))
	stmts := []string{
		role,
		`CREATE ROLE cat_owner NOLOGIN`,
		`GRANT cat_owner TO "select"`,
		`CREATE SCHEMA cat AUTHORIZATION cat_owner`,
		`GRANT USAGE ON SCHEMA cat TO "select"`,
		`CREATE TABLE cat.items (tenant_id name, v text)`,
		`ALTER TABLE cat.items ENABLE ROW LEVEL SECURITY`,
		`ALTER TABLE cat.items FORCE ROW LEVEL SECURITY`,
		`GRANT SELECT ON cat.items TO "select"`,
		`CREATE POLICY own ON cat.items AS RESTRICTIVE FOR SELECT TO "select" USING (tenant_id = current_user)`,
		`CREATE SEQUENCE cat.seq`,
		`CREATE FUNCTION cat.peek() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE cat_owner IN SCHEMA cat GRANT SELECT ON TABLES TO "select"`,
	}
	if err := ExecAll(ctx, c.PgConn(), stmts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ExecAll(ctx, c.PgConn(), `DROP SCHEMA cat CASCADE`, `DROP OWNED BY "select"`, `DROP OWNED BY cat_owner`, `DROP ROLE "select"`, `DROP ROLE cat_owner`)
	})

	cat, err := ReadCatalog(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Database != "postgres" {
		t.Errorf("Database = %q", cat.Database)
	}
	r := find(t, cat.Roles, func(r Role) bool { return r.Name == "select" })
	if diff := cmp.Diff(Role{Name: "select", Login: true, Inherit: true, ConnectionLimit: 4}, r); diff != "" {
		t.Errorf("role (-want +got):\n%s", diff)
	}
	if v, err := PasswordVerifier(ctx, c, "select"); err != nil || v != verifier {
		t.Errorf("stored verifier %q, %v; want the one sent", v, err)
	} else if ok, _ := ScramMatches(v, "tenant-pw"); !ok {
		t.Error("stored verifier does not match the password")
	}
	find(t, cat.Memberships, func(m Membership) bool { return m == Membership{Role: "cat_owner", Member: "select"} })
	s := find(t, cat.Schemas, func(s Schema) bool { return s.Name == "cat" })
	if privs, _ := PrivilegesOf(s.ACL, "select"); !slices.Equal(privs, []string{"USAGE"}) || s.Owner != "cat_owner" {
		t.Errorf("schema owner %s, select's privileges %v", s.Owner, privs)
	}
	items := find(t, cat.Relations, func(r Relation) bool { return r.Schema == "cat" && r.Name == "items" })
	if !items.RowSecurity || !items.ForceRowSecurity || !items.IsTable() || items.Owner != "postgres" && items.Owner != pg.AdminRole {
		t.Errorf("items = %+v", items)
	}
	if privs, _ := PrivilegesOf(items.ACL, "select"); !slices.Equal(privs, []string{"SELECT"}) {
		t.Errorf("select's privileges on items: %v", privs)
	}
	// A NULL ACL reads as the built-in default: the owner holds everything.
	seq := find(t, cat.Relations, func(r Relation) bool { return r.Name == "seq" })
	if privs, _ := PrivilegesOf(seq.ACL, seq.Owner); !slices.Equal(privs, []string{"SELECT", "UPDATE", "USAGE"}) || seq.Kind != KindSequence {
		t.Errorf("sequence %+v: owner privileges %v", seq, privs)
	}
	fn := find(t, cat.Functions, func(f Function) bool { return f.Name == "peek" })
	if !fn.SecurityDefiner || fn.Signature != "cat.peek()" {
		t.Errorf("function %+v", fn)
	}
	if privs, _ := PrivilegesOf(fn.ACL, Public); !slices.Equal(privs, []string{"EXECUTE"}) {
		t.Errorf("PUBLIC on a new function: %v (the default grants EXECUTE)", privs)
	}
	pol := find(t, cat.Policies, func(p Policy) bool { return p.Name == "own" })
	if diff := cmp.Diff(Policy{Schema: "cat", Table: "items", Name: "own", Permissive: false, Command: "SELECT", Roles: []string{"select"}, Using: "(tenant_id = CURRENT_USER)"}, pol); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	d := find(t, cat.DefaultACLs, func(d DefaultACL) bool { return d.Owner == "cat_owner" })
	if d.Schema != "cat" || d.ObjectType != ObjectTable {
		t.Errorf("default ACL %+v", d)
	}
	if privs, _ := PrivilegesOf(d.ACL, "select"); !slices.Equal(privs, []string{"SELECT"}) {
		t.Errorf("default privileges of select: %v", privs)
	}
	pgdb := find(t, cat.Databases, func(d Database) bool { return d.Name == "postgres" })
	if privs, _ := PrivilegesOf(pgdb.ACL, Public); !slices.Equal(privs, []string{"CONNECT", "TEMPORARY"}) {
		t.Errorf("PUBLIC on database postgres: %v (default)", privs)
	}
	tables, err := UserTables(ctx, c, "cat")
	if err != nil || !slices.Equal(tables, []string{"cat.items"}) {
		t.Errorf("UserTables = %v, %v", tables, err)
	}
	if _, err := RoleByName(ctx, c, "missing"); !isNotFoundErr(err) {
		t.Errorf("RoleByName(missing) = %v", err)
	}
	// A statement smuggled after a policy expression is refused by the extended protocol.
	smuggled := `CREATE POLICY p2 ON cat.items USING (true); DROP TABLE cat.items`
	if err := ExecOne(ctx, c.PgConn(), smuggled); err == nil {
		t.Error("ExecOne ran two statements")
	}
	if _, err := RelationByName(ctx, c, "cat", "items"); err != nil {
		t.Errorf("items after the smuggling attempt: %v", err)
	}
}

func must(t *testing.T) func(string, error) string {
	return func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func find[T any](t *testing.T, xs []T, pred func(T) bool) T {
	t.Helper()
	for _, x := range xs {
		if pred(x) {
			return x
		}
	}
	var zero T
	t.Fatalf("not found in %d %T", len(xs), zero)
	return zero
}

func isNotFoundErr(err error) bool { return errors.Is(err, ErrNotFound) }
