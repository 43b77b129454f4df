package tenantplan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

// TestPostgresPlanPerTier: each tier's data promise as the catalog state that keeps it.
func TestPostgresPlanPerTier(t *testing.T) {
	st := loadExamples(t)
	env := st.Environment("dev")
	plans := map[string]*Postgres{}
	for _, pl := range planAll(t, env, st.BindingsIn("dev")) {
		plans[pl.TenantID] = pl.Data.Postgres
	}
	dml := []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	owned := func(owner, login, db, schema string) []PGDefaultPrivileges {
		return []PGDefaultPrivileges{
			{Owner: owner, Role: login, ObjectType: "table", Database: db, Schema: schema, Privileges: dml},
			{Owner: owner, Role: login, ObjectType: "sequence", Database: db, Schema: schema, Privileges: []string{"USAGE", "SELECT"}},
		}
	}
	want := map[string]*Postgres{
		"acme": {
			Mode: isolation.DataDedicatedDatabase, Database: "acme", Schema: PGAppSchema, OwnerRole: "t_acme_owner", LoginRole: "t_acme_app",
			OwnDatabase: true, OwnSchema: true, CredentialSecret: "acme-db-password", CredentialObject: "t-acme-db",
			Grants: []PGGrant{
				{Role: "t_acme_app", ObjectType: "database", Database: "acme", Privileges: []string{"CONNECT"}},
				{Role: "t_acme_app", ObjectType: "schema", Database: "acme", Schema: PGAppSchema, Privileges: []string{"USAGE"}},
			},
			DefaultPrivileges: owned("t_acme_owner", "t_acme_app", "acme", PGAppSchema),
			PublicGrants:      []PGGrant{{Role: "PUBLIC", ObjectType: "schema", Database: "acme", Schema: "public", Privileges: []string{}}},
		},
		"globex": {
			Mode: isolation.DataPartitioned, Database: SharedDatabaseName, Schema: "globex", OwnerRole: "t_globex_owner", LoginRole: "t_globex_app",
			OwnSchema: true, CredentialSecret: "globex-db-password", CredentialObject: "t-globex-db",
			Grants: []PGGrant{
				{Role: "t_globex_app", ObjectType: "database", Database: SharedDatabaseName, Privileges: []string{"CONNECT"}},
				{Role: "t_globex_app", ObjectType: "schema", Database: SharedDatabaseName, Schema: "globex", Privileges: []string{"USAGE"}},
			},
			DefaultPrivileges: owned("t_globex_owner", "t_globex_app", SharedDatabaseName, "globex"),
		},
		"initech": {
			Mode: isolation.DataRowFilter, Database: SharedDatabaseName, Schema: PGSharedSchema, LoginRole: "t_initech_app",
			CredentialSecret: "initech-db-password", CredentialObject: "t-initech-db",
			Grants: []PGGrant{
				{Role: "t_initech_app", ObjectType: "database", Database: SharedDatabaseName, Privileges: []string{"CONNECT"}},
				{Role: "t_initech_app", ObjectType: "schema", Database: SharedDatabaseName, Schema: PGSharedSchema, Privileges: []string{"USAGE"}},
				{Role: "t_initech_app", ObjectType: "table", Database: SharedDatabaseName, Schema: PGSharedSchema, Objects: []string{"orders"}, Privileges: dml},
			},
			Policies: []PGPolicy{{Name: "t_initech_rows", Database: SharedDatabaseName, Schema: PGSharedSchema, Table: "orders",
				Role: "t_initech_app", Filter: "tenant_id = 'initech'"}},
		},
	}
	if diff := cmp.Diff(want, plans); diff != "" {
		t.Errorf("PostgreSQL plans (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&PlatformPostgres{Database: SharedDatabaseName, OwnerRole: PGPlatformOwnerRole, Schema: PGSharedSchema, Tables: []string{"orders"},
		PublicGrants: []PGGrant{{Role: "PUBLIC", ObjectType: "schema", Database: SharedDatabaseName, Schema: "public", Privileges: []string{}}}},
		PlanPlatformPostgres(env)); diff != "" {
		t.Errorf("platform plan (-want +got):\n%s", diff)
	}
}

func TestPGRowFilterQuotes(t *testing.T) {
	if got, want := PGRowFilter("o'hare"), "tenant_id = 'o''hare'"; got != want {
		t.Errorf("PGRowFilter = %q, want %q", got, want)
	}
}
