package kubernetes

import (
	"encoding/base64"
	"fmt"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/pgdata"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Data layer component types.
const (
	TypeTenantData   = "tenantctl:data:TenantData"
	TypePlatformData = "tenantctl:data:SharedDatabase"
	// PostgresProviderName is the logical name of the explicit tenantpg provider.
	PostgresProviderName = "postgres"
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

// deployPlatformData creates the environment's shared database (pgdata.DeployPlatform) under
// its component.
func deployPlatformData(ctx *pulumi.Context, root pulumi.Resource, s *DataServer, pp *tenantplan.PlatformPostgres) error {
	c, err := NewComponent(ctx, TypePlatformData, pp.Database, root)
	if err != nil {
		return err
	}
	if err := pgdata.DeployPlatform(ctx, c, s.pg(), pp); err != nil {
		return err
	}
	return ctx.RegisterResourceOutputs(c, pulumi.Map{
		"database": pulumi.String(pp.Database), "schema": pulumi.String(pp.Schema), "tables": pulumi.ToStringArray(pp.Tables),
	})
}

// pg is the server as package pgdata renders the plan on it: the provider's admin is a
// superuser, the databases are the provider's, and the login roles sign in with passwords.
func (s *DataServer) pg() *pgdata.Server { return &pgdata.Server{Provider: s.Provider} }

// deployTenantData creates a tenant's planned data objects (pgdata.DeployTenant) and publishes
// its login role's connection as a Secret in the tenant's namespace. The login role's password
// is generated once and kept only in the state (encrypted); it reaches the server as a SCRAM
// verifier and the cluster as Secret data, never a log, an output in clear or the audit.
func deployTenantData(ctx *pulumi.Context, root pulumi.Resource, k8sp pulumi.ProviderResource, s *DataServer, pl *tenantplan.Tenant, out *TenantOutputs) error {
	d := pl.Data.Postgres
	c, err := NewComponent(ctx, TypeTenantData, pl.TenantID, root)
	if err != nil {
		return err
	}
	if d == nil || s == nil {
		return finishComponent(ctx, c, pl.Data.Mode, pulumi.Map{})
	}
	objs, err := pgdata.DeployTenant(ctx, c, s.pg(), d, pgdata.Login{})
	if err != nil {
		return err
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
				"PGPASSWORD": objs.Password.Result.ApplyT(func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }).(pulumi.StringOutput),
			},
		}, resOpts(c, k8sp, pulumi.DependsOn([]pulumi.Resource{objs.LoginRole}))...); err != nil {
			return fmt.Errorf("secret %s: %w", d.CredentialObject, err)
		}
		outs["credentialSecret"] = pulumi.String(d.CredentialObject)
	}
	out.Data = &TenantData{Database: d.Database, Schema: d.Schema, LoginRole: d.LoginRole, CredentialObject: d.CredentialObject}
	return finishComponent(ctx, c, pl.Data.Mode, outs)
}

func b64(v string) pulumi.String { return pulumi.String(base64.StdEncoding.EncodeToString([]byte(v))) }

// TenantData is what a tenant stack exports of its data layer: names only.
type TenantData struct {
	Database         string
	Schema           string
	LoginRole        string
	CredentialObject string
}
