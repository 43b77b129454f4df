package kubernetes

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Data layer component types.
const (
	TypeTenantData   = "tenantctl:data:TenantData"
	TypePlatformData = "tenantctl:data:SharedDatabase"
	// PostgresProviderName is the logical name of the explicit tenantpg provider.
	PostgresProviderName = "postgres"
	// passwordLength of a tenant login role's generated password.
	passwordLength = 40
)

// OutputData is the tenant stack's data-layer export: where the tenant's data lives and the
// Secret holding its connection (names only).
const OutputData = "data"

// DataServer is the data layer's server as a program sees it: the explicit tenantpg provider and
// the connection its tenants' workloads use (host, port, sslmode; the login role and database
// are per tenant). Nil when the environment keeps no data on PostgreSQL.
type DataServer struct {
	Provider *tenantpg.Provider
	Host     string
	Port     int
	SSLMode  string
}

// NewDataServer creates the tenantpg provider from the stack config tenantctl:postgres (the path
// of a connection file) for an environment that keeps tenant data on PostgreSQL; nil for the
// others. The admin password reaches the provider only as a secret.
func NewDataServer(ctx *pulumi.Context, env *isolation.Environment) (*DataServer, error) {
	if !tenantplan.UsesPostgres(env) {
		return nil, nil
	}
	path := config.New(ctx, stacks.ConfigNamespace).Get(stacks.ConfigPostgres)
	if path == "" {
		return nil, stacks.MissingPostgres(env)
	}
	conn, password, err := stacks.LoadPostgresConnection(path)
	if err != nil {
		return nil, err
	}
	args := &tenantpg.ProviderArgs{
		Host:     pulumi.String(conn.Host),
		Port:     pulumi.IntPtr(conn.Port),
		Database: pulumi.StringPtr(conn.Database),
		Username: pulumi.String(conn.AdminRole),
		Password: pulumi.ToSecret(pulumi.String(password)).(pulumi.StringOutput),
		Sslmode:  pulumi.StringPtr(conn.SSLMode),
	}
	if conn.SSLRootCert != "" {
		args.Sslrootcert = pulumi.StringPtr(conn.SSLRootCert)
	}
	p, err := tenantpg.NewProvider(ctx, PostgresProviderName, args)
	if err != nil {
		return nil, fmt.Errorf("postgres provider: %w", err)
	}
	return &DataServer{Provider: p, Host: conn.Host, Port: conn.Port, SSLMode: conn.SSLMode}, nil
}

// pgOpts are the options of every data object: its component parent and the explicit provider.
func pgOpts(parent pulumi.Resource, s *DataServer, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(s.Provider)}, extra...)
}

// deployPlatformData creates the environment's shared database: the platform's NOLOGIN owner
// role, the database (CONNECT revoked from PUBLIC), the shared schema and its tables, each under
// row-level security enabled and forced. No tenant owns any of it.
func deployPlatformData(ctx *pulumi.Context, root pulumi.Resource, s *DataServer, pp *tenantplan.PlatformPostgres) error {
	c, err := NewComponent(ctx, TypePlatformData, pp.Database, root)
	if err != nil {
		return err
	}
	owner, err := tenantpg.NewRole(ctx, "role/"+pp.OwnerRole, &tenantpg.RoleArgs{Name: pulumi.String(pp.OwnerRole)}, pgOpts(c, s)...)
	if err != nil {
		return fmt.Errorf("role %s: %w", pp.OwnerRole, err)
	}
	db, err := tenantpg.NewDatabase(ctx, "database/"+pp.Database, &tenantpg.DatabaseArgs{
		Name: pulumi.String(pp.Database), Owner: pulumi.StringPtr(pp.OwnerRole), RevokePublicConnect: pulumi.BoolPtr(true),
	}, pgOpts(c, s, pulumi.DependsOn([]pulumi.Resource{owner}))...)
	if err != nil {
		return fmt.Errorf("database %s: %w", pp.Database, err)
	}
	schema, err := tenantpg.NewSchema(ctx, "schema/"+pp.Database+"/"+pp.Schema, &tenantpg.SchemaArgs{
		Database: pulumi.StringPtr(pp.Database), Name: pulumi.String(pp.Schema), Owner: pulumi.StringPtr(pp.OwnerRole),
	}, pgOpts(c, s, pulumi.DependsOn([]pulumi.Resource{db}))...)
	if err != nil {
		return fmt.Errorf("schema %s: %w", pp.Schema, err)
	}
	for _, g := range pp.PublicGrants {
		if err := newGrant(ctx, c, s, g, pulumi.DependsOn([]pulumi.Resource{db})); err != nil {
			return err
		}
	}
	for _, t := range pp.Tables {
		key := pp.Database + "/" + pp.Schema + "/" + t
		table, err := tenantpg.NewTable(ctx, "table/"+key, &tenantpg.TableArgs{
			Database: pulumi.StringPtr(pp.Database), Schema: pulumi.String(pp.Schema), Name: pulumi.String(t),
			Owner: pulumi.StringPtr(pp.OwnerRole), TenantColumn: pulumi.StringPtr(tenantplan.PGTenantIDColumn),
		}, pgOpts(c, s, pulumi.DependsOn([]pulumi.Resource{schema}))...)
		if err != nil {
			return fmt.Errorf("table %s: %w", key, err)
		}
		if _, err := tenantpg.NewRowLevelSecurity(ctx, "rls/"+key, &tenantpg.RowLevelSecurityArgs{
			Database: pulumi.StringPtr(pp.Database), Schema: pulumi.String(pp.Schema), Table: pulumi.String(t), Force: pulumi.BoolPtr(true),
		}, pgOpts(c, s, pulumi.DependsOn([]pulumi.Resource{table}))...); err != nil {
			return fmt.Errorf("row-level security %s: %w", key, err)
		}
	}
	return ctx.RegisterResourceOutputs(c, pulumi.Map{
		"database": pulumi.String(pp.Database), "schema": pulumi.String(pp.Schema), "tables": pulumi.ToStringArray(pp.Tables),
	})
}

// deployTenantData creates a tenant's planned data objects and publishes its login role's
// connection as a Secret in the tenant's namespace. The login role's password is generated once
// and kept only in the state (encrypted); it reaches the server as a SCRAM verifier and the
// cluster as Secret data, never a log, an output in clear or the audit.
func deployTenantData(ctx *pulumi.Context, root pulumi.Resource, k8sp pulumi.ProviderResource, s *DataServer, pl *tenantplan.Tenant, out *TenantOutputs) error {
	d := pl.Data.Postgres
	c, err := NewComponent(ctx, TypeTenantData, pl.TenantID, root)
	if err != nil {
		return err
	}
	if d == nil || s == nil {
		return finishComponent(ctx, c, pl.Data.Mode, pulumi.Map{})
	}
	var deps []pulumi.Resource
	after := func(rs ...pulumi.Resource) pulumi.ResourceOption {
		return pulumi.DependsOn(append(append([]pulumi.Resource{}, deps...), rs...))
	}
	if d.OwnerRole != "" {
		owner, err := tenantpg.NewRole(ctx, "role/"+d.OwnerRole, &tenantpg.RoleArgs{Name: pulumi.String(d.OwnerRole)}, pgOpts(c, s)...)
		if err != nil {
			return fmt.Errorf("role %s: %w", d.OwnerRole, err)
		}
		deps = append(deps, owner)
	}
	password, err := tenantpg.NewPassword(ctx, "password/"+d.LoginRole, &tenantpg.PasswordArgs{Length: pulumi.IntPtr(passwordLength)}, pgOpts(c, s)...)
	if err != nil {
		return fmt.Errorf("password of %s: %w", d.LoginRole, err)
	}
	login, err := tenantpg.NewRole(ctx, "role/"+d.LoginRole, &tenantpg.RoleArgs{
		Name: pulumi.String(d.LoginRole), Login: pulumi.BoolPtr(true), Password: password.Result,
	}, pgOpts(c, s)...)
	if err != nil {
		return fmt.Errorf("role %s: %w", d.LoginRole, err)
	}
	deps = append(deps, login)
	if d.OwnDatabase {
		db, err := tenantpg.NewDatabase(ctx, "database/"+d.Database, &tenantpg.DatabaseArgs{
			Name: pulumi.String(d.Database), Owner: pulumi.StringPtr(d.OwnerRole), RevokePublicConnect: pulumi.BoolPtr(true),
		}, pgOpts(c, s, after())...)
		if err != nil {
			return fmt.Errorf("database %s: %w", d.Database, err)
		}
		deps = append(deps, db)
	}
	if d.OwnSchema {
		schema, err := tenantpg.NewSchema(ctx, "schema/"+d.Database+"/"+d.Schema, &tenantpg.SchemaArgs{
			Database: pulumi.StringPtr(d.Database), Name: pulumi.String(d.Schema), Owner: pulumi.StringPtr(d.OwnerRole),
		}, pgOpts(c, s, after())...)
		if err != nil {
			return fmt.Errorf("schema %s/%s: %w", d.Database, d.Schema, err)
		}
		deps = append(deps, schema)
	}
	for _, g := range append(slices.Clone(d.Grants), d.PublicGrants...) {
		if err := newGrant(ctx, c, s, g, after()); err != nil {
			return err
		}
	}
	for _, dp := range d.DefaultPrivileges {
		key := strings.Join([]string{"defaults", dp.Database, dp.Owner, dp.Schema, dp.ObjectType, dp.Role}, "/")
		if _, err := tenantpg.NewDefaultPrivileges(ctx, key, &tenantpg.DefaultPrivilegesArgs{
			Database: pulumi.StringPtr(dp.Database), Owner: pulumi.String(dp.Owner), Schema: pulumi.StringPtr(dp.Schema),
			ObjectType: pulumi.String(dp.ObjectType), Role: pulumi.String(dp.Role), Privileges: pulumi.ToStringArray(dp.Privileges),
		}, pgOpts(c, s, after())...); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	for _, pol := range d.Policies {
		key := strings.Join([]string{"policy", pol.Database, pol.Schema, pol.Table, pol.Name}, "/")
		if _, err := tenantpg.NewPolicy(ctx, key, &tenantpg.PolicyArgs{
			Database: pulumi.StringPtr(pol.Database), Schema: pulumi.String(pol.Schema), Table: pulumi.String(pol.Table),
			Name: pulumi.String(pol.Name), Roles: pulumi.ToStringArray([]string{pol.Role}),
			Using: pulumi.StringPtr(pol.Filter), WithCheck: pulumi.StringPtr(pol.Filter),
		}, pgOpts(c, s, after())...); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	outs := pulumi.Map{
		"database":  pulumi.String(d.Database),
		"schema":    pulumi.String(d.Schema),
		"loginRole": pulumi.String(d.LoginRole),
	}
	if d.CredentialObject != "" {
		meta := objectMeta(scope{name: pl.Namespace, ref: pulumi.String(pl.Namespace)}, tenantplan.ObjectMeta{Name: d.CredentialObject, Namespace: pl.Namespace, Labels: pl.Labels})
		if _, err := corev1.NewSecret(ctx, objectKey(pl.Namespace, d.CredentialObject), &corev1.SecretArgs{
			Metadata: meta,
			Type:     pulumi.String("Opaque"),
			// libpq's environment variables, so a pod takes them with envFrom. Data, not
			// stringData: the provider turns stringData into data once the password is known, which
			// a plan saved by a preview (production approval) would reject as a change.
			Data: pulumi.StringMap{
				"PGHOST":     b64(s.Host),
				"PGPORT":     b64(strconv.Itoa(s.Port)),
				"PGDATABASE": b64(d.Database),
				"PGUSER":     b64(d.LoginRole),
				"PGSSLMODE":  b64(s.SSLMode),
				"PGPASSWORD": password.Result.ApplyT(func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }).(pulumi.StringOutput),
			},
		}, resOpts(c, k8sp, pulumi.DependsOn([]pulumi.Resource{login}))...); err != nil {
			return fmt.Errorf("secret %s: %w", d.CredentialObject, err)
		}
		outs["credentialSecret"] = pulumi.String(d.CredentialObject)
	}
	out.Data = &TenantData{Database: d.Database, Schema: d.Schema, LoginRole: d.LoginRole, CredentialObject: d.CredentialObject}
	return finishComponent(ctx, c, pl.Data.Mode, outs)
}

func b64(v string) pulumi.String { return pulumi.String(base64.StdEncoding.EncodeToString([]byte(v))) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// TenantData is what a tenant stack exports of its data layer: names only.
type TenantData struct {
	Database         string
	Schema           string
	LoginRole        string
	CredentialObject string
}

// newGrant declares one planned grant: exactly its privileges for its role on its target (for
// PUBLIC possibly none: the target closed to it).
func newGrant(ctx *pulumi.Context, c pulumi.Resource, s *DataServer, g tenantplan.PGGrant, deps pulumi.ResourceOption) error {
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
	if _, err := tenantpg.NewGrant(ctx, key, args, pgOpts(c, s, deps)...); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
