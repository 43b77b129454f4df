package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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

// TestEngineTableAndPassword: through the engine and the typed SDK, a generated password is
// unknown in the first preview, stable across ups and new when its keeper changes (the role using
// it follows); a shared table's tenant column made nullable out of band is an in-place update in
// `preview --refresh` (the SDK's replaceOnChanges must not turn it into a replacement) that
// `up --refresh` repairs; destroy retains the table holding rows.
func TestEngineTableAndPassword(t *testing.T) {
	tc := testenv.Toolchain(t)
	pg := testenv.Postgres(t)
	ctx := context.Background()
	adminPassword, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	const schema, role = "e2e_shared", "e2e_tbl_app"
	program := func(rotation string) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			prov, err := tenantpg.NewProvider(ctx, "pg", &tenantpg.ProviderArgs{
				Host: pulumi.String(pg.Host), Port: pulumi.IntPtr(pg.Port), Username: pulumi.String(pg.AdminRole),
				Password: pulumi.ToSecret(pulumi.String(adminPassword)).(pulumi.StringOutput), Sslmode: pulumi.StringPtr("disable"),
			})
			if err != nil {
				return err
			}
			opt := pulumi.Provider(prov)
			pw, err := tenantpg.NewPassword(ctx, "app", &tenantpg.PasswordArgs{Length: pulumi.IntPtr(24), Keepers: pulumi.StringMap{"rotation": pulumi.String(rotation)}}, opt)
			if err != nil {
				return err
			}
			if _, err := tenantpg.NewRole(ctx, "app", &tenantpg.RoleArgs{Name: pulumi.String(role), Login: pulumi.BoolPtr(true), Password: pw.Result}, opt); err != nil {
				return err
			}
			s, err := tenantpg.NewSchema(ctx, "shared", &tenantpg.SchemaArgs{Name: pulumi.String(schema)}, opt)
			if err != nil {
				return err
			}
			tbl, err := tenantpg.NewTable(ctx, "items", &tenantpg.TableArgs{
				Schema: s.Name, Name: pulumi.String("items"), TenantColumn: pulumi.StringPtr("tenant_id"), ForceDestroy: pulumi.BoolPtr(false),
			}, opt)
			if err != nil {
				return err
			}
			ctx.Export("password", pw.Result)
			ctx.Export("tenantColumn", tbl.TenantColumn)
			return nil
		}
	}

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
		Name: tokens.PackageName("tenantpg-e2e-table"), Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: "file://" + backend},
		Plugins: &workspace.Plugins{Providers: []workspace.PluginOptions{{
			Name: "tenantpg", Version: toolchain.TenantPGProviderVersion, Path: tc.TenantPGDir,
		}}},
	}
	stack, err := auto.UpsertStackInlineSource(ctx, "dev", "tenantpg-e2e-table", program("1"),
		auto.Pulumi(cmd), auto.Project(project), auto.EnvVars(env), auto.SecretsProvider("passphrase"),
		auto.WorkDir(filepath.Join(work, "project")))
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	var out bytes.Buffer
	up := func(rotation string, opts ...optup.Option) auto.UpResult {
		t.Helper()
		stack.Workspace().SetProgram(program(rotation))
		res, err := stack.Up(ctx, append(opts, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))...)
		if err != nil {
			t.Fatalf("up: %v\n%s", err, out.String())
		}
		return res
	}
	preview := func(opts ...optpreview.Option) auto.PreviewResult {
		t.Helper()
		res, err := stack.Preview(ctx, append(opts, optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out))...)
		if err != nil {
			t.Fatalf("preview: %v\n%s", err, out.String())
		}
		return res
	}
	admin := func(sql string) {
		t.Helper()
		c, err := pg.Connect(ctx, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() {
		c, err := pg.Connect(context.Background(), "postgres")
		if err == nil {
			_, _ = c.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE; DROP ROLE IF EXISTS `+role)
			c.Close(context.Background())
		}
	})
	login := func(password string) error {
		cfg, err := pg.ConnConfig("postgres")
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password = role, password
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}

	// First preview: nothing exists, the password is not generated yet.
	if res := preview(); res.ChangeSummary[apitype.OpCreate] != 6 {
		t.Fatalf("first preview: %v, want 6 creates (the stack, the provider and 4 resources):\n%s", res.ChangeSummary, res.StdOut)
	}
	res := up("1")
	first, ok := res.Outputs["password"]
	if !ok || !first.Secret {
		t.Fatalf("password output %+v: want a secret", first)
	}
	pw1, _ := first.Value.(string)
	if len(pw1) != 24 {
		t.Fatalf("password of %d characters, want 24", len(pw1))
	}
	if err := login(pw1); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}
	if col, _ := res.Outputs["tenantColumn"].Value.(string); col != "tenant_id" {
		t.Errorf("tenantColumn output %q", col)
	}
	// Stable: a second up changes nothing and keeps the password.
	res = up("1", optup.Refresh())
	if got, _ := res.Outputs["password"].Value.(string); got != pw1 {
		t.Error("the password changed on a second up")
	}
	if res.Summary.ResourceChanges != nil && (*res.Summary.ResourceChanges)[string(apitype.OpSame)] != 6 {
		t.Errorf("second up: %v, want everything the same", *res.Summary.ResourceChanges)
	}

	// Drift of the tenant column: an in-place update, repaired by up --refresh.
	admin(`ALTER TABLE ` + schema + `.items ALTER COLUMN tenant_id DROP NOT NULL`)
	pr := preview(optpreview.Refresh())
	if pr.ChangeSummary[apitype.OpUpdate] != 1 || changes(pr) != 1 {
		t.Fatalf("preview --refresh after DROP NOT NULL: %v, want exactly one update (no replacement):\n%s", pr.ChangeSummary, pr.StdOut)
	}
	admin(`INSERT INTO ` + schema + `.items (tenant_id) VALUES ('acme')`)
	if res := up("1", optup.Refresh()); res.Summary.ResourceChanges == nil || (*res.Summary.ResourceChanges)[string(apitype.OpUpdate)] != 1 {
		t.Errorf("up --refresh did not update the table: %v", res.Summary.ResourceChanges)
	}
	c, err := pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	var notNull bool
	var rows int
	err = c.QueryRow(ctx, `SELECT attnotnull, (SELECT count(*) FROM `+schema+`.items) FROM pg_attribute WHERE attrelid = '`+schema+`.items'::regclass AND attname = 'tenant_id'`).Scan(&notNull, &rows)
	c.Close(ctx)
	if err != nil || !notNull || rows != 1 {
		t.Errorf("after the repair: NOT NULL %v, rows %d (%v); want NOT NULL and the row kept", notNull, rows, err)
	}

	// A new keeper rotates the password; the role takes the new one.
	res = up("2")
	pw2, _ := res.Outputs["password"].Value.(string)
	if pw2 == "" || pw2 == pw1 {
		t.Fatal("a new keeper did not generate a new password")
	}
	if err := login(pw2); err != nil {
		t.Errorf("login with the rotated password: %v", err)
	}
	if err := login(pw1); err == nil {
		t.Error("the old password still logs in after the rotation")
	}

	// Destroy: the table holds a row, so it (and its schema) stay, with a warning.
	if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(&out), optdestroy.ErrorProgressStreams(&out)); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "table postgres/"+schema+"/items retained: it holds rows") {
		t.Errorf("no retention warning in the output:\n%s", out.String())
	}
	c, err = pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	var left int
	err = c.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'items'`, schema).Scan(&left)
	c.Close(ctx)
	if err != nil || left != 1 {
		t.Errorf("table after destroy: %d (%v), want it retained", left, err)
	}

	// Neither password is in the CLI's output or anywhere under the state backend in clear.
	for _, secret := range []string{pw1, pw2} {
		if strings.Contains(out.String(), secret) {
			t.Error("a generated password is in the CLI output")
		}
		_ = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secret)) {
				t.Errorf("a generated password is in clear in %s", p)
			}
			return nil
		})
	}
}
