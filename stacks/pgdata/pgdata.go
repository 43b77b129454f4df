// Package pgdata renders the data layer's plan on PostgreSQL (tenantplan.Tenant.Data.Postgres,
// tenantplan.PlatformPostgres) with the tenantpg provider, for every target: the kubernetes target
// on the server of --postgres-connection, the azure target on its Azure Database for PostgreSQL
// flexible server. The per-tier rules are the plan's; this package only turns the plan into
// resources, so both targets create the same catalog objects under the same logical names. What
// differs per target is the Server: how the login role signs in (a generated password, or the
// tenant's Microsoft Entra workload identity), who creates the databases, and what the admin
// needs to be granted.
package pgdata

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// PasswordLength is the length of a password login role's generated password.
const PasswordLength = 40

// Server is where and how a stack renders the plan.
type Server struct {
	// Provider is the explicit tenantpg provider every object is registered with.
	Provider pulumi.ProviderResource
	// ExternalDatabases says the target creates the databases itself (the azure target: Azure
	// resources, retained in production), so there is no tenantpg Database: what the plan's
	// database promises in the catalog (CONNECT and TEMPORARY closed to PUBLIC) is a Grant to
	// PUBLIC with no privileges instead, and the database keeps the owner Azure gives it.
	ExternalDatabases bool
	// AdminMember, when set, is the provider's admin role, made a member of every owner role
	// before anything is created as that owner: an admin that is no superuser (an Azure
	// server's Microsoft Entra administrator) may only create a schema or table for, alter the
	// default privileges of, or enable row-level security on the tables of, a role it is a
	// member of.
	AdminMember string
	// DependsOn are resources every object waits for (the Azure database it lives in).
	DependsOn []pulumi.Resource
}

// Login is how a tenant's login role signs in.
type Login struct {
	// EntraObjectID is the object id of the Microsoft Entra principal the role is mapped to
	// (the azure target: the tenant's workload identity, so no password exists anywhere). Nil:
	// a password generated once and kept only in the state.
	EntraObjectID pulumi.StringInput
}

// Tenant is what a tenant's data objects give the target's own part (the kubernetes target's
// connection Secret).
type Tenant struct {
	LoginRole *tenantpg.Role
	// Password is the login role's generated password; nil for an Entra login.
	Password *tenantpg.Password
}

// opts are the options of every data object: its parent, the explicit provider, and what every
// object waits for.
func (s *Server) opts(parent pulumi.Resource, deps ...pulumi.Resource) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(s.Provider),
		pulumi.DependsOn(append(slices.Clone(s.DependsOn), deps...))}
}

// ownerRole creates a NOLOGIN owner role and, for an admin that is no superuser, its membership
// in it; the returned resources are what the owner's objects wait for.
func (s *Server) ownerRole(ctx *pulumi.Context, parent pulumi.Resource, name string) ([]pulumi.Resource, error) {
	owner, err := tenantpg.NewRole(ctx, "role/"+name, &tenantpg.RoleArgs{Name: pulumi.String(name)}, s.opts(parent)...)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", name, err)
	}
	if s.AdminMember == "" {
		return []pulumi.Resource{owner}, nil
	}
	m, err := tenantpg.NewMembership(ctx, "membership/"+name+"/"+s.AdminMember, &tenantpg.MembershipArgs{
		Role: pulumi.String(name), Member: pulumi.String(s.AdminMember),
	}, s.opts(parent, owner)...)
	if err != nil {
		return nil, fmt.Errorf("membership of %s in %s: %w", s.AdminMember, name, err)
	}
	return []pulumi.Resource{owner, m}, nil
}

// database creates a planned database, or, when the target creates it, closes it to PUBLIC.
func (s *Server) database(ctx *pulumi.Context, parent pulumi.Resource, name, owner string, deps []pulumi.Resource) (pulumi.Resource, error) {
	if s.ExternalDatabases {
		return newGrant(ctx, parent, s, ClosedPublicDatabase(name), deps)
	}
	db, err := tenantpg.NewDatabase(ctx, "database/"+name, &tenantpg.DatabaseArgs{
		Name: pulumi.String(name), Owner: pulumi.StringPtr(owner), RevokePublicConnect: pulumi.BoolPtr(true),
	}, s.opts(parent, deps...)...)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	return db, nil
}

// ClosedPublicDatabase declares that PUBLIC holds nothing on database db (no CONNECT, no
// TEMPORARY): what a tenantpg Database with revokePublicConnect makes of its own database, for a
// database the target creates.
func ClosedPublicDatabase(db string) tenantplan.PGGrant {
	return tenantplan.PGGrant{Role: tenantplan.PGPublic, ObjectType: "database", Database: db, Privileges: []string{}}
}

// DeployPlatform creates the environment's shared database under parent: the platform's NOLOGIN
// owner role, the database (CONNECT revoked from PUBLIC), the shared schema and its tables, each
// under row-level security enabled and forced. No tenant owns any of it.
func DeployPlatform(ctx *pulumi.Context, parent pulumi.Resource, s *Server, pp *tenantplan.PlatformPostgres) error {
	owner, err := s.ownerRole(ctx, parent, pp.OwnerRole)
	if err != nil {
		return err
	}
	db, err := s.database(ctx, parent, pp.Database, pp.OwnerRole, owner)
	if err != nil {
		return err
	}
	schema, err := tenantpg.NewSchema(ctx, "schema/"+pp.Database+"/"+pp.Schema, &tenantpg.SchemaArgs{
		Database: pulumi.StringPtr(pp.Database), Name: pulumi.String(pp.Schema), Owner: pulumi.StringPtr(pp.OwnerRole),
	}, s.opts(parent, append(slices.Clone(owner[1:]), db)...)...)
	if err != nil {
		return fmt.Errorf("schema %s: %w", pp.Schema, err)
	}
	for _, g := range pp.PublicGrants {
		if _, err := newGrant(ctx, parent, s, g, []pulumi.Resource{db}); err != nil {
			return err
		}
	}
	for _, t := range pp.Tables {
		key := pp.Database + "/" + pp.Schema + "/" + t
		table, err := tenantpg.NewTable(ctx, "table/"+key, &tenantpg.TableArgs{
			Database: pulumi.StringPtr(pp.Database), Schema: pulumi.String(pp.Schema), Name: pulumi.String(t),
			Owner: pulumi.StringPtr(pp.OwnerRole), TenantColumn: pulumi.StringPtr(tenantplan.PGTenantIDColumn),
		}, s.opts(parent, schema)...)
		if err != nil {
			return fmt.Errorf("table %s: %w", key, err)
		}
		if _, err := tenantpg.NewRowLevelSecurity(ctx, "rls/"+key, &tenantpg.RowLevelSecurityArgs{
			Database: pulumi.StringPtr(pp.Database), Schema: pulumi.String(pp.Schema), Table: pulumi.String(t), Force: pulumi.BoolPtr(true),
		}, s.opts(parent, table)...); err != nil {
			return fmt.Errorf("row-level security %s: %w", key, err)
		}
	}
	return nil
}

// DeployTenant creates a tenant's planned data objects under parent: its owner role (silo, pool),
// its login role, its database (silo) or schema (silo, pool), exactly the planned grants and
// default privileges, and its row-filter policies (shared).
func DeployTenant(ctx *pulumi.Context, parent pulumi.Resource, s *Server, d *tenantplan.Postgres, login Login) (*Tenant, error) {
	var deps []pulumi.Resource
	if d.OwnerRole != "" {
		owner, err := s.ownerRole(ctx, parent, d.OwnerRole)
		if err != nil {
			return nil, err
		}
		deps = append(deps, owner...)
	}
	out := &Tenant{}
	args := &tenantpg.RoleArgs{Name: pulumi.String(d.LoginRole), Login: pulumi.BoolPtr(true)}
	if login.EntraObjectID != nil {
		// The tenant's workload identity is a managed identity: a service principal.
		args.EntraPrincipal = &tenantpg.EntraPrincipalArgs{ObjectId: login.EntraObjectID, Type: pulumi.String("service")}
	} else {
		password, err := tenantpg.NewPassword(ctx, "password/"+d.LoginRole, &tenantpg.PasswordArgs{Length: pulumi.IntPtr(PasswordLength)}, s.opts(parent)...)
		if err != nil {
			return nil, fmt.Errorf("password of %s: %w", d.LoginRole, err)
		}
		args.Password, out.Password = password.Result, password
	}
	role, err := tenantpg.NewRole(ctx, "role/"+d.LoginRole, args, s.opts(parent)...)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", d.LoginRole, err)
	}
	out.LoginRole = role
	deps = append(deps, role)
	after := func() []pulumi.Resource { return slices.Clone(deps) }
	if d.OwnDatabase {
		db, err := s.database(ctx, parent, d.Database, d.OwnerRole, after())
		if err != nil {
			return nil, err
		}
		deps = append(deps, db)
	}
	if d.OwnSchema {
		schema, err := tenantpg.NewSchema(ctx, "schema/"+d.Database+"/"+d.Schema, &tenantpg.SchemaArgs{
			Database: pulumi.StringPtr(d.Database), Name: pulumi.String(d.Schema), Owner: pulumi.StringPtr(d.OwnerRole),
		}, s.opts(parent, after()...)...)
		if err != nil {
			return nil, fmt.Errorf("schema %s/%s: %w", d.Database, d.Schema, err)
		}
		deps = append(deps, schema)
	}
	for _, g := range append(slices.Clone(d.Grants), d.PublicGrants...) {
		if _, err := newGrant(ctx, parent, s, g, after()); err != nil {
			return nil, err
		}
	}
	for _, dp := range d.DefaultPrivileges {
		key := strings.Join([]string{"defaults", dp.Database, dp.Owner, dp.Schema, dp.ObjectType, dp.Role}, "/")
		if _, err := tenantpg.NewDefaultPrivileges(ctx, key, &tenantpg.DefaultPrivilegesArgs{
			Database: pulumi.StringPtr(dp.Database), Owner: pulumi.String(dp.Owner), Schema: pulumi.StringPtr(dp.Schema),
			ObjectType: pulumi.String(dp.ObjectType), Role: pulumi.String(dp.Role), Privileges: pulumi.ToStringArray(dp.Privileges),
		}, s.opts(parent, after()...)...); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	for _, pol := range d.Policies {
		key := strings.Join([]string{"policy", pol.Database, pol.Schema, pol.Table, pol.Name}, "/")
		if _, err := tenantpg.NewPolicy(ctx, key, &tenantpg.PolicyArgs{
			Database: pulumi.StringPtr(pol.Database), Schema: pulumi.String(pol.Schema), Table: pulumi.String(pol.Table),
			Name: pulumi.String(pol.Name), Roles: pulumi.ToStringArray([]string{pol.Role}),
			Using: pulumi.StringPtr(pol.Filter), WithCheck: pulumi.StringPtr(pol.Filter),
		}, s.opts(parent, after()...)...); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return out, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newGrant declares one planned grant: exactly its privileges for its role on its target (for
// PUBLIC possibly none: the target closed to it).
func newGrant(ctx *pulumi.Context, parent pulumi.Resource, s *Server, g tenantplan.PGGrant, deps []pulumi.Resource) (pulumi.Resource, error) {
	key := strings.Join([]string{"grant", g.Database, g.Role, g.ObjectType, dash(g.Schema)}, "/")
	args := &tenantpg.GrantArgs{
		Database: pulumi.StringPtr(g.Database), Role: pulumi.String(g.Role), ObjectType: pulumi.String(g.ObjectType),
		Privileges: pulumi.ToStringArray(g.Privileges),
	}
	if g.Schema != "" {
		args.Schema = pulumi.StringPtr(g.Schema)
	}
	if len(g.Objects) > 0 {
		args.Objects = pulumi.ToStringArray(g.Objects)
	}
	r, err := tenantpg.NewGrant(ctx, key, args, s.opts(parent, deps...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return r, nil
}
