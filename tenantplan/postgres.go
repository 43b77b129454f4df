package tenantplan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// The data layer on PostgreSQL, planned the same for every target (the server differs: the local
// instance, the environment's Azure flexible server, a silo's dedicated one). Each tier's promise
// is written as the catalog state that keeps it:
//   - dedicated-database: the tenant's own database owned by its NOLOGIN owner role, CONNECT only
//     for its login role (never PUBLIC), the public schema closed, an application schema;
//   - shared-partitioned: its own schema in the shared database, owned by its owner role, USAGE
//     only for its login role; the shared database's public schema closed (the platform's);
//   - shared-row-filter: no schema of its own; its login role reads and writes the shared schema's
//     tables, each under row-level security enabled and forced, with one policy that binds rows
//     to the tenant id as a constant and applies to that role alone.
//
// In every mode the login role gets DML on the tables its owner role creates later (default
// privileges), so migrations run as the owner and the application as the login role.

// PGAppSchema is the application schema inside a silo tenant's own database.
const PGAppSchema = "app"

// Privileges the login role holds on its tables and sequences.
var (
	pgTablePrivileges    = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	pgSequencePrivileges = []string{"USAGE", "SELECT"}
)

// Postgres is a tenant's data on the PostgreSQL server.
type Postgres struct {
	Mode isolation.Mode `json:"mode"`
	// Database is the tenant's own database (dedicated-database) or the shared one.
	Database string `json:"database"`
	// Schema is the schema the tenant's tables live in: PGAppSchema of its own database, its own
	// schema of the shared database, or the shared schema (row filter).
	Schema string `json:"schema"`
	// OwnerRole owns the tenant's database or schema; "" for row-filtered tenants, whose tables
	// the platform owns.
	OwnerRole string `json:"ownerRole,omitempty"`
	// LoginRole is the role the tenant's workloads connect as.
	LoginRole string `json:"loginRole"`
	// OwnDatabase and OwnSchema say whether the tenant's stack creates Database and Schema.
	OwnDatabase bool `json:"ownDatabase,omitempty"`
	OwnSchema   bool `json:"ownSchema,omitempty"`
	// Grants are every privilege the login role holds, and nothing else is granted to it.
	Grants []PGGrant `json:"grants"`
	// DefaultPrivileges are the grants the owner role's future objects give the login role.
	DefaultPrivileges []PGDefaultPrivileges `json:"defaultPrivileges,omitempty"`
	// Policies are the row-level security policies of a row-filtered tenant, one per shared table.
	Policies []PGPolicy `json:"policies,omitempty"`
	// PublicGrants are what PUBLIC holds in the database the tenant's stack creates: nothing on
	// its public schema.
	PublicGrants []PGGrant `json:"publicGrants,omitempty"`
	// CredentialSecret names the secret that publishes the login role's password (kubernetes
	// target). The azure target publishes none: its login role is the Entra principal of the
	// tenant's workload identity, which signs in with access tokens.
	CredentialSecret string `json:"credentialSecret"`
	// CredentialObject is the Kubernetes Secret in the tenant's namespace that holds the login
	// role's connection (libpq variables PGHOST ... PGPASSWORD) where the stack creates the data
	// layer itself (UsesPostgres); its ServiceAccount may read it by name, nobody else's may.
	CredentialObject string `json:"credentialObject,omitempty"`
}

// EnginePostgreSQL is the environment's spec.sharedDatabase.engine that puts tenant data on a
// PostgreSQL server.
const EnginePostgreSQL = "postgresql"

// UsesPostgres says whether the stacks of env create the data layer on a PostgreSQL server of
// --postgres-connection through the tenantpg provider: a kubernetes-target environment whose
// shared database engine is postgresql. (The azure target renders the same plan on the Azure
// Database for PostgreSQL server its platform stack creates, signed in with Microsoft Entra
// tokens; the connection-based readers, drift and the probe, do not cover it yet.)
func UsesPostgres(env *isolation.Environment) bool {
	return env.Spec.Target != isolation.TargetAzure && strings.EqualFold(env.Spec.SharedDatabase.Engine, EnginePostgreSQL)
}

// PGPublicSchema is the schema every new database has; PostgreSQL 15 leaves USAGE on it to
// PUBLIC, which the plan takes away.
const PGPublicSchema = "public"

// PGPublic is the PUBLIC pseudo-role, as a PGGrant names it.
const PGPublic = "PUBLIC"

// ClosedPublicSchema declares that PUBLIC holds nothing on db's public schema (a grant with no
// privileges: the provider revokes every undeclared one).
func ClosedPublicSchema(db string) PGGrant {
	return PGGrant{Role: PGPublic, ObjectType: "schema", Database: db, Schema: PGPublicSchema, Privileges: []string{}}
}

// TenantDataSecretName is the Kubernetes Secret holding a tenant's database connection.
func TenantDataSecretName(tenantID string) string { return TenantObjectName(tenantID) + "-db" }

// PGGrant is one GRANT to a tenant role. Objects empty means every object of the type in Schema.
type PGGrant struct {
	Role       string   `json:"role"`
	ObjectType string   `json:"objectType"` // database, schema, table, sequence
	Database   string   `json:"database"`
	Schema     string   `json:"schema,omitempty"`
	Objects    []string `json:"objects,omitempty"`
	Privileges []string `json:"privileges"`
}

// PGDefaultPrivileges is an ALTER DEFAULT PRIVILEGES FOR ROLE Owner IN SCHEMA Schema.
type PGDefaultPrivileges struct {
	Owner      string   `json:"owner"`
	Role       string   `json:"role"`
	ObjectType string   `json:"objectType"` // table, sequence
	Database   string   `json:"database"`
	Schema     string   `json:"schema"`
	Privileges []string `json:"privileges"`
}

// PGPolicy binds a shared table's rows to one tenant.
type PGPolicy struct {
	Name     string `json:"name"`
	Database string `json:"database"`
	Schema   string `json:"schema"`
	Table    string `json:"table"`
	Role     string `json:"role"`
	// Filter is both the USING and the WITH CHECK expression.
	Filter string `json:"filter"`
}

// PlatformPostgres is the platform's part of the shared database: the database and the shared
// schema with its tables, owned by the platform's NOLOGIN role so that no tenant owns a shared
// table, and every shared table under row-level security enabled and forced.
type PlatformPostgres struct {
	Database  string   `json:"database"`
	OwnerRole string   `json:"ownerRole"`
	Schema    string   `json:"schema"`
	Tables    []string `json:"tables,omitempty"`
	// PublicGrants are what PUBLIC holds in the shared database: nothing on its public schema.
	PublicGrants []PGGrant `json:"publicGrants,omitempty"`
}

// PlanPlatformPostgres plans the environment's shared database.
func PlanPlatformPostgres(env *isolation.Environment) *PlatformPostgres {
	return &PlatformPostgres{
		Database:     SharedDatabaseName,
		OwnerRole:    PGPlatformOwnerRole,
		Schema:       PGSharedSchema,
		Tables:       slices.Clone(env.Spec.SharedDatabase.Tables),
		PublicGrants: []PGGrant{ClosedPublicSchema(SharedDatabaseName)},
	}
}

// PostgresNames are the database and schema names a binding gives its tenant beyond the
// "t_<tenant>" ones, which name ownership by themselves.
func PostgresNames(b *isolation.RuntimeTenantBinding) []string {
	var out []string
	for _, n := range []string{b.Spec.Data.Database, b.Spec.Data.Schema} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// postgres plans the tenant's data on PostgreSQL.
func (p *planner) postgres() error {
	b, env, id := p.in.Binding, p.in.Env, p.id
	d := &Postgres{Mode: p.t.Data.Mode, LoginRole: PGLoginRole(id), CredentialSecret: id + "-db-password"}
	if UsesPostgres(env) {
		d.CredentialObject = TenantDataSecretName(id)
	}
	connect := func(db string) PGGrant {
		return PGGrant{Role: d.LoginRole, ObjectType: "database", Database: db, Privileges: []string{"CONNECT"}}
	}
	ownSchema := func() {
		d.Grants = append(d.Grants, PGGrant{Role: d.LoginRole, ObjectType: "schema", Database: d.Database, Schema: d.Schema, Privileges: []string{"USAGE"}})
		for _, x := range []struct {
			typ   string
			privs []string
		}{{"table", pgTablePrivileges}, {"sequence", pgSequencePrivileges}} {
			d.DefaultPrivileges = append(d.DefaultPrivileges, PGDefaultPrivileges{Owner: d.OwnerRole, Role: d.LoginRole,
				ObjectType: x.typ, Database: d.Database, Schema: d.Schema, Privileges: slices.Clone(x.privs)})
		}
	}
	switch d.Mode {
	case isolation.DataDedicatedDatabase:
		d.Database, d.Schema, d.OwnerRole = b.Spec.Data.Database, PGAppSchema, PGOwnerRole(id)
		if d.Database == "" {
			d.Database = PGDatabase(id)
		}
		d.OwnDatabase, d.OwnSchema = true, true
		d.Grants = append(d.Grants, connect(d.Database))
		d.PublicGrants = []PGGrant{ClosedPublicSchema(d.Database)}
		ownSchema()
	case isolation.DataPartitioned:
		d.Database, d.Schema, d.OwnerRole = SharedDatabaseName, b.Spec.Data.Schema, PGOwnerRole(id)
		if d.Schema == "" {
			d.Schema = PGSchema(id)
		}
		d.OwnSchema = true
		d.Grants = append(d.Grants, connect(d.Database))
		ownSchema()
	case isolation.DataRowFilter:
		d.Database, d.Schema = SharedDatabaseName, PGSharedSchema
		d.Grants = append(d.Grants, connect(d.Database),
			PGGrant{Role: d.LoginRole, ObjectType: "schema", Database: d.Database, Schema: d.Schema, Privileges: []string{"USAGE"}})
		if tables := env.Spec.SharedDatabase.Tables; len(tables) > 0 {
			d.Grants = append(d.Grants, PGGrant{Role: d.LoginRole, ObjectType: "table", Database: d.Database, Schema: d.Schema,
				Objects: slices.Clone(tables), Privileges: slices.Clone(pgTablePrivileges)})
		}
		for _, t := range env.Spec.SharedDatabase.Tables {
			d.Policies = append(d.Policies, PGPolicy{Name: PGPolicyName(id), Database: d.Database, Schema: d.Schema, Table: t,
				Role: d.LoginRole, Filter: PGRowFilter(id)})
		}
	default:
		return p.wrap(fmt.Errorf("data mode %q has no PostgreSQL plan", d.Mode))
	}
	if d.Mode == isolation.DataDedicatedDatabase && strings.EqualFold(d.Database, SharedDatabaseName) {
		return p.wrap(fmt.Errorf("spec.data.database %q is the shared tenants' database", d.Database))
	}
	p.t.Data.Postgres = d
	return nil
}

// PlanData plans the data layer of env's platform and of each of its bindings: what the data-plane
// drift check, the reachability analysis and the isolation probe compare the server with.
func PlanData(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) ([]*Tenant, *PlatformPostgres, error) {
	p, err := ForPlatform(env)
	if err != nil {
		return nil, nil, fmt.Errorf("plan the platform of %s: %w", env.Name(), err)
	}
	out := make([]*Tenant, 0, len(bindings))
	for _, b := range bindings {
		t, err := ForTenant(Inputs{Binding: b, Env: env, Platform: p.Outputs()}, Layers(isolation.LayerData))
		if err != nil {
			return nil, nil, fmt.Errorf("plan tenant %s: %w", b.Spec.TenantID, err)
		}
		out = append(out, t)
	}
	return out, PlanPlatformPostgres(env), nil
}
