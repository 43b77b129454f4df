// Package e2e runs the tenantpg provider plugin the way the engine does: the real pulumi CLI and
// engine (Automation API, inline program written with the typed SDK sdk/go/tenantpg, file
// backend), the plugin from the tool cache on the project plugin path, the local PostgreSQL.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// program is a tenant's data objects: an owner role, a login role for the workload, a database
// closed to PUBLIC, a schema, and (once the application created its table) a table grant,
// row-level security forced on the table and a policy binding rows to the connected role.
func program(host string, port int, admin, adminPassword, appPassword, tenant string, withTable bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		prov, err := tenantpg.NewProvider(ctx, "pg", &tenantpg.ProviderArgs{
			Host: pulumi.String(host), Port: pulumi.IntPtr(port), Username: pulumi.String(admin),
			Password: pulumi.ToSecret(pulumi.String(adminPassword)).(pulumi.StringOutput), Sslmode: pulumi.StringPtr("disable"),
		})
		if err != nil {
			return err
		}
		opt := pulumi.Provider(prov)
		owner, err := tenantpg.NewRole(ctx, "owner", &tenantpg.RoleArgs{Name: pulumi.String(tenant + "_owner")}, opt)
		if err != nil {
			return err
		}
		app, err := tenantpg.NewRole(ctx, "app", &tenantpg.RoleArgs{
			Name: pulumi.String(tenant), Login: pulumi.BoolPtr(true),
			Password: pulumi.ToSecret(pulumi.String(appPassword)).(pulumi.StringOutput),
		}, opt)
		if err != nil {
			return err
		}
		db, err := tenantpg.NewDatabase(ctx, "db", &tenantpg.DatabaseArgs{
			Name: pulumi.String(tenant), Owner: owner.Name, ForceDestroy: pulumi.BoolPtr(true),
		}, opt)
		if err != nil {
			return err
		}
		schema, err := tenantpg.NewSchema(ctx, "schema", &tenantpg.SchemaArgs{
			Database: db.Name, Name: pulumi.String("app"), Owner: owner.Name, ForceDestroy: pulumi.BoolPtr(true),
		}, opt)
		if err != nil {
			return err
		}
		if _, err := tenantpg.NewGrant(ctx, "connect", &tenantpg.GrantArgs{
			Database: db.Name, Role: app.Name, ObjectType: pulumi.String("database"), Privileges: pulumi.ToStringArray([]string{"CONNECT"}),
		}, opt); err != nil {
			return err
		}
		if _, err := tenantpg.NewGrant(ctx, "usage", &tenantpg.GrantArgs{
			Database: db.Name, Role: app.Name, ObjectType: pulumi.String("schema"), Schema: schema.Name, Privileges: pulumi.ToStringArray([]string{"USAGE"}),
		}, opt); err != nil {
			return err
		}
		// Adopted, not created: a role and a schema that existed before the stack.
		legacy, err := tenantpg.NewRole(ctx, "legacy", &tenantpg.RoleArgs{Name: pulumi.String("e2e_legacy")}, opt,
			pulumi.Import(pulumi.ID("e2e_legacy")))
		if err != nil {
			return err
		}
		if _, err := tenantpg.NewSchema(ctx, "legacy", &tenantpg.SchemaArgs{Name: pulumi.String("e2e_legacy"), Owner: legacy.Name}, opt,
			pulumi.Import(pulumi.ID("postgres/e2e_legacy"))); err != nil {
			return err
		}
		if !withTable {
			return nil
		}
		if _, err := tenantpg.NewGrant(ctx, "rows", &tenantpg.GrantArgs{
			Database: db.Name, Role: app.Name, ObjectType: pulumi.String("table"), Schema: schema.Name,
			Privileges: pulumi.ToStringArray([]string{"SELECT", "INSERT"}),
		}, opt); err != nil {
			return err
		}
		if _, err := tenantpg.NewRowLevelSecurity(ctx, "items-rls", &tenantpg.RowLevelSecurityArgs{
			Database: db.Name, Schema: schema.Name, Table: pulumi.String("items"),
		}, opt); err != nil {
			return err
		}
		_, err = tenantpg.NewPolicy(ctx, "items-own-rows", &tenantpg.PolicyArgs{
			Database: db.Name, Schema: schema.Name, Table: pulumi.String("items"), Name: pulumi.String("own_rows"),
			Roles: pulumi.StringArray{app.Name}, Using: pulumi.StringPtr("tenant_id = current_user"), WithCheck: pulumi.StringPtr("tenant_id = current_user"),
		}, opt)
		return err
	}
}

// TestEngineEndToEnd: up creates the objects and imports an existing role and schema (the
// `import` resource option), an out-of-band REVOKE shows up in
// `preview --refresh`, up restores it, destroy removes everything; no password is ever in the
// CLI's output or in the state file in clear.
func TestEngineEndToEnd(t *testing.T) {
	tc := testenv.Toolchain(t)
	pg := testenv.Postgres(t)
	ctx := context.Background()
	adminPassword, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	appPassword := "canary-" + randomHex(t)
	// A keyword as the tenant id: every statement quotes it.
	tenant := "user"

	work := testenv.TempDir(t)
	backend := filepath.Join(work, "state")
	if err := errors.Join(os.MkdirAll(backend, 0o700), os.MkdirAll(filepath.Join(work, "project"), 0o700)); err != nil {
		t.Fatal(err)
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tc.PulumiRoot, SkipVersionCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PULUMI_HOME": filepath.Join(work, "home"), "PULUMI_CONFIG_PASSPHRASE": "e2e-" + randomHex(t),
		"PULUMI_IGNORE_AMBIENT_PLUGINS": "true", "PULUMI_BACKEND_URL": "file://" + backend,
	}
	for _, kv := range toolchain.OfflineEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	project := workspace.Project{
		Name: tokens.PackageName("tenantpg-e2e"), Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: "file://" + backend},
		Plugins: &workspace.Plugins{Providers: []workspace.PluginOptions{{
			Name: "tenantpg", Version: toolchain.TenantPGProviderVersion, Path: tc.TenantPGDir,
		}}},
	}
	run := func(withTable bool) pulumi.RunFunc {
		return program(pg.Host, pg.Port, pg.AdminRole, adminPassword, appPassword, tenant, withTable)
	}
	stack, err := auto.UpsertStackInlineSource(ctx, "dev", "tenantpg-e2e", run(false),
		auto.Pulumi(cmd), auto.Project(project), auto.EnvVars(env), auto.SecretsProvider("passphrase"),
		auto.WorkDir(filepath.Join(work, "project")))
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	var out bytes.Buffer
	streams := func() (*bytes.Buffer, *bytes.Buffer) { return &out, &out }
	up := func(withTable bool, opts ...optup.Option) auto.UpResult {
		t.Helper()
		stack.Workspace().SetProgram(run(withTable))
		o, e := streams()
		res, err := stack.Up(ctx, append(opts, optup.ProgressStreams(o), optup.ErrorProgressStreams(e))...)
		if err != nil {
			t.Fatalf("up: %v\n%s", err, out.String())
		}
		return res
	}
	preview := func() auto.PreviewResult {
		t.Helper()
		o, e := streams()
		res, err := stack.Preview(ctx, optpreview.Refresh(), optpreview.ProgressStreams(o), optpreview.ErrorProgressStreams(e))
		if err != nil {
			t.Fatalf("preview --refresh: %v\n%s", err, out.String())
		}
		return res
	}

	admin := func(database, sql string) {
		t.Helper()
		c, err := pg.Connect(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("postgres", `CREATE ROLE e2e_legacy NOLOGIN; CREATE SCHEMA e2e_legacy AUTHORIZATION e2e_legacy`)
	if res := up(false); res.Summary.ResourceChanges == nil || (*res.Summary.ResourceChanges)["import"] != 2 {
		t.Errorf("first up: %v, want the legacy role and schema imported", res.Summary.ResourceChanges)
	}
	// The application creates its table (a migration, not the platform's business).
	admin(tenant, `CREATE TABLE app.items (tenant_id name NOT NULL DEFAULT current_user, v text); ALTER TABLE app.items OWNER TO user_owner`)
	up(true)

	// The objects exist as declared, and the workload role sees only its own rows.
	admin(tenant, `INSERT INTO app.items VALUES ('user', 'mine'), ('someone_else', 'not mine')`)
	cfg, err := pg.ConnConfig(tenant)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = tenant, appPassword
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("login as the tenant's workload role: %v", err)
	}
	var rows []string
	r, err := conn.Query(ctx, `SELECT v FROM app.items ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = pgx.CollectRows(r, pgx.RowTo[string])
	conn.Close(ctx)
	if err != nil || !slices.Equal(rows, []string{"mine"}) {
		t.Fatalf("tenant role reads %v (%v), want only its own row", rows, err)
	}

	if res := preview(); changes(res) != 0 {
		t.Fatalf("preview --refresh right after up shows changes %v:\n%s", res.ChangeSummary, res.StdOut)
	}

	// A grant changed out of band with SQL is drift that preview --refresh reports.
	admin(tenant, `REVOKE INSERT ON app.items FROM "user"`)
	res := preview()
	if res.ChangeSummary[apitype.OpUpdate] != 1 || changes(res) != 1 {
		t.Fatalf("preview --refresh after REVOKE: %v, want exactly one update:\n%s", res.ChangeSummary, res.StdOut)
	}
	if !strings.Contains(res.StdOut, "tenantpg:index:Grant") || !strings.Contains(res.StdOut, "rows") {
		t.Errorf("preview does not name the drifted grant:\n%s", res.StdOut)
	}
	// `up --refresh` repairs it (a plain up compares with the state, which does not know yet).
	if res := up(true, optup.Refresh()); res.Summary.ResourceChanges == nil || (*res.Summary.ResourceChanges)[string(apitype.OpUpdate)] != 1 {
		t.Errorf("up --refresh did not update the grant: %v", res.Summary.ResourceChanges)
	}
	if res := preview(); changes(res) != 0 {
		t.Fatalf("preview --refresh after the restoring up shows changes %v:\n%s", res.ChangeSummary, res.StdOut)
	}

	o, e := streams()
	if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(o), optdestroy.ErrorProgressStreams(e)); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out.String())
	}
	c, err := pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var left int
	if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN ('user', 'user_owner', 'e2e_legacy')) + (SELECT count(*) FROM pg_database WHERE datname = 'user')`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d roles/databases left after destroy", left)
	}

	// Canary: neither password is in the CLI's output or anywhere under the state backend in clear.
	for _, secret := range []string{adminPassword, appPassword} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("a password is in the CLI output")
		}
		_ = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secret)) {
				t.Errorf("a password is in clear in %s", p)
			}
			return nil
		})
	}
	if b, err := os.ReadFile(pg.LogFile()); err == nil && bytes.Contains(b, []byte(appPassword)) {
		t.Error("the workload role's password is in the server log")
	}
}

// changes counts the non-"same" steps of a preview.
func changes(r auto.PreviewResult) int {
	n := 0
	for op, c := range r.ChangeSummary {
		if op != apitype.OpSame {
			n += c
		}
	}
	return n
}
