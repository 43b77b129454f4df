package localpostgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func stateDir(t *testing.T) string {
	t.Helper()
	// Short path: the unix socket lives in the data folder and socket paths are limited to 107 bytes.
	d, err := os.MkdirTemp("", "tctl-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func start(t *testing.T, dir string) *Instance {
	t.Helper()
	if _, err := FindBinDir(); err != nil {
		t.Fatalf("integration prerequisites: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, err := Start(ctx, Options{StateDir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	return in
}

func TestFindBinDirPicksHighestVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13", "notaversion"} {
		if err := os.MkdirAll(filepath.Join(root, v, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, v, "bin", "initdb"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A version folder without initdb (a client-only package) is not a candidate.
	if err := os.MkdirAll(filepath.Join(root, "17", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := pgRoot
	pgRoot = root
	defer func() { pgRoot = old }()
	got, err := FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "15", "bin"); got != want {
		t.Fatalf("FindBinDir = %s, want %s", got, want)
	}
	pgRoot = filepath.Join(root, "missing")
	if _, err := FindBinDir(); err == nil || !strings.Contains(err.Error(), "install postgresql") {
		t.Fatalf("missing root: err = %v", err)
	}
}

func TestLifecycleAndRestartKeepsData(t *testing.T) {
	dir := stateDir(t)
	in := start(t, dir)
	ctx := context.Background()

	st, err := os.Stat(in.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", st.Mode().Perm())
	}
	pw, _ := in.Password()
	for _, f := range []string{in.InfoPath(), in.LogFile()} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), pw) {
			t.Errorf("%s contains the admin password", f)
		}
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(in.PID) + "/cmdline"); err == nil && strings.Contains(string(b), pw) {
		t.Errorf("the server's argv contains the admin password")
	}

	conn, err := in.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	var enc, hba string
	if err := conn.QueryRow(ctx, "SHOW password_encryption").Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if enc != "scram-sha-256" {
		t.Errorf("password_encryption = %s", enc)
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT auth_method FROM pg_hba_file_rules")
	if err != nil {
		t.Fatal(err)
	}
	methods, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	hba = strings.Join(methods, ",")
	if hba != "scram-sha-256" {
		t.Errorf("pg_hba methods = %q, want only scram-sha-256", hba)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before restart')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	firstPort := in.Port

	if err := in.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, ok := Running(ctx, dir); ok {
		t.Fatal("Running reports a stopped server")
	}
	again := start(t, dir)
	if again.Port != firstPort {
		t.Errorf("restart moved the port from %d to %d though it was free", firstPort, again.Port)
	}
	if pw2, _ := again.Password(); pw2 != pw {
		t.Error("restart changed the admin password")
	}
	conn, err = again.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "before restart" {
		t.Fatalf("data after restart: %q, %v", v, err)
	}
	if r, ok := Running(ctx, dir); !ok || r.Port != again.Port {
		t.Fatalf("Running = %+v, %v", r, ok)
	}
}

func TestOnlyScramLoginsAreAccepted(t *testing.T) {
	in := start(t, stateDir(t))
	ctx := context.Background()
	cases := []struct {
		name     string
		mutate   func(*pgx.ConnConfig)
		wantText string
	}{
		{"no password over TCP", func(c *pgx.ConnConfig) { c.Password = "" }, "password"},
		{"no password over the unix socket", func(c *pgx.ConnConfig) { c.Host, c.Password = in.SocketDir, "" }, "password"},
		{"wrong password", func(c *pgx.ConnConfig) { c.Password = "wrong" }, "password authentication failed"},
		{"wrong password over the unix socket", func(c *pgx.ConnConfig) { c.Host, c.Password = in.SocketDir, "wrong" }, "password authentication failed"},
		{"the OS user postgres without password", func(c *pgx.ConnConfig) { c.User, c.Password = "postgres", "" }, "password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := in.ConnConfig("postgres")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Fallbacks = nil
			tc.mutate(cfg)
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err == nil {
				conn.Close(ctx)
				t.Fatal("login succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("error %q does not mention %q", err, tc.wantText)
			}
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code != "28P01" {
				t.Errorf("SQLSTATE %s, want 28P01 (invalid_password)", pgErr.Code)
			}
		})
	}
	// The right password over the socket works: the socket is usable, just never without a password.
	cfg, _ := in.ConnConfig("postgres")
	cfg.Host = in.SocketDir
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("socket login with password: %v", err)
	}
	conn.Close(ctx)
}

func TestStartRejectsMissingStateDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "StateDir") {
		t.Fatalf("err = %v", err)
	}
}

// TestStateDirUnderPrivateFolder: as root, a state folder below a folder only root may enter (like
// /root) works: the server's OS user gets the search bit on the ancestor, nothing more.
func TestStateDirUnderPrivateFolder(t *testing.T) {
	private := stateDir(t)
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	in := start(t, filepath.Join(private, "nested", "pg"))
	if in.Port == 0 {
		t.Fatal("no port")
	}
	st, err := os.Stat(private)
	if err != nil {
		t.Fatal(err)
	}
	want := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		want = 0o701 // search only: the server's user can pass through, not list
	}
	if st.Mode().Perm() != want {
		t.Errorf("private folder mode %v, want %v", st.Mode().Perm(), want)
	}
}
