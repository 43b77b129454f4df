package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
)

// plannedSnapshot writes the dev environment exactly as the programs create it.
func plannedSnapshot(t *testing.T) string {
	t.Helper()
	st, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := reach.PlannedSnapshot(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "snapshot.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := inventory.Write(f, snap); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIsolationVerifyDataPlane: `isolation verify --postgres` reads the real server's catalogs,
// passes while the data plane keeps the tenants apart, fails with the grant as evidence once a
// pool tenant's schema is granted to a silo tenant's role, and never reads an unreachable or
// malformed server as clean.
func TestIsolationVerifyDataPlane(t *testing.T) {
	pg := testenv.Postgres(t)
	pw, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSWORD", pw)
	dsn := fmt.Sprintf("postgres://%s@%s:%d/postgres?sslmode=disable", pg.AdminRole, pg.Host, pg.Port)
	snap := plannedSnapshot(t)
	verify := func(args ...string) (string, int) {
		return runTenantctl(t, append([]string{"isolation", "verify", "-d", examplesDir, "--env", "dev", "--inventory", snap}, args...)...)
	}

	cfg, err := pg.ConnConfig("postgres")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, s := range []string{
		`CREATE ROLE t_acme_app LOGIN`, `CREATE ROLE t_globex_owner NOLOGIN`, `CREATE ROLE t_globex_app LOGIN`,
		`CREATE SCHEMA t_globex AUTHORIZATION t_globex_owner`, `GRANT USAGE ON SCHEMA t_globex TO t_globex_app`,
	} {
		if _, err := admin.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if out, code := verify("--postgres", dsn); code != exitcode.OK {
		t.Fatalf("isolated data plane: exit %d, want 0\n%s", code, out)
	}
	if _, err := admin.Exec(context.Background(), `GRANT USAGE ON SCHEMA t_globex TO t_acme_app`); err != nil {
		t.Fatal(err)
	}
	out, code := verify("--postgres", dsn)
	if code != exitcode.Findings {
		t.Fatalf("a cross-tenant grant: exit %d, want %d\n%s", code, exitcode.Findings, out)
	}
	for _, want := range []string{"acme", "globex", "data-grant", `GRANT USAGE ON SCHEMA "t_globex" TO "t_acme_app"`, "postgresql://postgres/t_globex"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, pw) {
		t.Error("verify printed the server's password")
	}
	if out, code := verify(); code != exitcode.OK {
		t.Errorf("without --postgres the data plane is not read: exit %d\n%s", code, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, tc := range []struct {
		name string
		dsn  string
		code int
	}{
		{"unreachable server", fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", pg.AdminRole, closed), exitcode.Failed},
		{"wrong password", fmt.Sprintf("postgres://%s:wrong@%s:%d/postgres?sslmode=disable", pg.AdminRole, pg.Host, pg.Port), exitcode.Failed},
		{"malformed connection string", "postgres://%zz", exitcode.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, code := verify("--postgres", tc.dsn); code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
		})
	}
}

// TestOutFilesAreShareable: pictures and reports written with --out are meant to be shared (0644
// whatever the umask); snapshots stay private (TestInventoryExport).
func TestOutFilesAreShareable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "graph.dot")
	if stdout, code := runTenantctl(t, "isolation", "graph", "-d", examplesDir, "--desired-only", "--env", "dev", "-o", "dot", "--out", out); code != exitcode.OK {
		t.Fatalf("isolation graph: exit %d\n%s", code, stdout)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("graph file mode %v, want 0644", fi.Mode().Perm())
	}
}
