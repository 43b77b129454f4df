package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/drift/pgdrift/pgdrifttest"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// probeExamples is a copy of examples/tenants whose tenants and shared namespace are renamed, so
// the namespaces, Secrets and roles of the probe tests never meet the ones the engine tests of
// this package create for the examples on the shared cluster.
func probeExamples(t *testing.T, edits ...func(string) string) string {
	t.Helper()
	dir := testenv.CopyDir(t, examplesDir)
	rename := strings.NewReplacer("acme", "pacme", "globex", "pglobex", "initech", "pinitech", "shared-tenants", "probe-shared")
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := rename.Replace(string(b))
		for _, e := range edits {
			s = e(s)
		}
		return os.WriteFile(p, []byte(s), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestIsolationProbeRefusesInvalidInput: everything here is refused (exit 3) before a cluster or a
// server is contacted.
func TestIsolationProbeRefusesInvalidInput(t *testing.T) {
	prod := probeExamples(t, func(s string) string { return strings.Replace(s, "production: false", "production: true", 1) })
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unsupported output", []string{"-d", examplesDir, "--env", "dev", "-o", "yaml"}, "unsupported output"},
		{"unknown environment", []string{"-d", examplesDir, "--env", "nope"}, "no environment"},
		{"environment without a PostgreSQL data layer", []string{"-d", examplesDir, "--env", "prod"}, "no tenant data on a PostgreSQL server"},
		{"unknown tenant", []string{"-d", examplesDir, "--env", "dev", "--tenant", "nobody"}, `--tenant "nobody"`},
		{"production without --yes", []string{"-d", prod, "--env", "dev"}, "pass --yes"},
		{"zero statement timeout", []string{"-d", examplesDir, "--env", "dev", "--statement-timeout", "0s"}, "--statement-timeout"},
		{"arguments", []string{"-d", examplesDir, "--env", "dev", "extra"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"isolation", "probe"}, tc.args...)...)
			if code != exitcode.Invalid {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitcode.Invalid, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// TestIsolationProbe runs `isolation probe` against a real server converged to the (renamed)
// example plans, with each tenant's credentials in its Secret on a real API server: clean is exit
// 0, a cross-tenant membership is exit 2 with the SQL as evidence, and missing or unusable
// credentials or an unreachable server are exit 1. No output ever shows a password.
func TestIsolationProbe(t *testing.T) {
	ctx := context.Background()
	dir := probeExamples(t)
	st, err := isolation.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tenants, platform, err := tenantplan.PlanData(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}

	pg := testenv.PrivatePostgres(t)
	admin := func(db string, stmts ...string) {
		t.Helper()
		if db == "" {
			db = "postgres"
		}
		c, err := pg.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	sql := pgdrifttest.Render(tenants, platform)
	admin("", sql[""]...)
	for db, stmts := range sql {
		if db != "" {
			admin(db, stmts...)
		}
	}
	passwords := map[string]string{}
	for _, tn := range tenants {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		passwords[tn.TenantID] = "canary-" + hex.EncodeToString(b)
		admin("", `ALTER ROLE `+pgcatalog.QuoteIdent(tn.Data.Postgres.LoginRole)+` PASSWORD `+pgcatalog.QuoteLiteral(passwords[tn.TenantID]))
	}
	admin("tenants", `INSERT INTO tenant_data.orders (tenant_id, v) VALUES ('pinitech', 'i-1'), ('pacme', 'a-1')`)

	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	byID := map[string]*tenantplan.Tenant{}
	secret := func(tn *tenantplan.Tenant, edit func(map[string]string)) *corev1.Secret {
		d := tn.Data.Postgres
		data := map[string]string{"PGHOST": pg.Host, "PGPORT": strconv.Itoa(pg.Port), "PGDATABASE": d.Database, "PGUSER": d.LoginRole,
			"PGSSLMODE": "disable", "PGPASSWORD": passwords[tn.TenantID]}
		if edit != nil {
			edit(data)
		}
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: d.CredentialObject, Namespace: tn.Namespace}, StringData: data}
	}
	put := func(tn *tenantplan.Tenant, edit func(map[string]string)) {
		t.Helper()
		s := secret(tn, edit)
		api := cs.CoreV1().Secrets(tn.Namespace)
		_ = api.Delete(ctx, s.Name, metav1.DeleteOptions{})
		if _, err := api.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("secret %s/%s: %v", tn.Namespace, s.Name, err)
		}
	}
	for _, tn := range tenants {
		byID[tn.TenantID] = tn
		if tn.Data.Postgres.CredentialObject != tenantplan.TenantDataSecretName(tn.TenantID) {
			t.Fatalf("tenant %s publishes %q", tn.TenantID, tn.Data.Postgres.CredentialObject)
		}
		ns := tn.Namespace
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		put(tn, nil)
	}

	var outputs []string
	probe := func(args ...string) (int, string, string) {
		t.Helper()
		code, stdout, stderr := execTenantctl(t, ctx, append([]string{"isolation", "probe", "-d", dir, "--env", "dev", "--kubeconfig", cluster.Kubeconfig}, args...)...)
		outputs = append(outputs, stdout, stderr)
		return code, stdout, stderr
	}
	t.Cleanup(func() {
		all := strings.Join(outputs, "\n")
		for id, pw := range passwords {
			if strings.Contains(all, pw) {
				t.Errorf("the output shows tenant %s's password", id)
			}
		}
		if strings.Contains(all, "canary-") {
			t.Error("the output shows a password")
		}
	})

	t.Run("clean", func(t *testing.T) {
		code, stdout, stderr := probe()
		if code != exitcode.OK {
			t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{"3 of 3 tenant(s) probed", "0 edge(s), 0 undecided, 0 failed", "t_pacme_app", "t_pinitech_app"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		code, stdout, stderr = probe("-o", "json")
		if code != exitcode.OK {
			t.Fatalf("json: exit %d\n%s%s", code, stdout, stderr)
		}
		requireEnvelope(t, stdout, kindProbeReport, true)
		var r struct {
			Failing bool              `json:"failing"`
			Edges   []json.RawMessage `json:"edges"`
			Tenants []struct {
				Tenant  string `json:"tenant"`
				Queries int    `json:"queries"`
			} `json:"tenants"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("json: %v\n%s", err, stdout)
		}
		if r.Failing || len(r.Edges) != 0 || len(r.Tenants) != 3 {
			t.Errorf("json report %+v", r)
		}
	})

	t.Run("a cross-tenant membership is an edge", func(t *testing.T) {
		admin("", `GRANT t_pglobex_app TO t_pacme_app`)
		defer admin("", `REVOKE t_pglobex_app FROM t_pacme_app`)
		code, stdout, stderr := probe()
		if code != exitcode.Findings {
			t.Fatalf("exit %d, want %d\n%s%s", code, exitcode.Findings, stdout, stderr)
		}
		for _, want := range []string{"EDGE      pacme → pglobex data-membership", `SET LOCAL ROLE "t_pglobex_app"; SELECT current_user`, "current_user = t_pglobex_app"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		// Restricted to the other tenants, nobody reaches anybody.
		if code, stdout, stderr := probe("--tenant", "pglobex", "--tenant", "pinitech"); code != exitcode.OK {
			t.Errorf("--tenant pglobex --tenant pinitech: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("row-level security disabled is an edge", func(t *testing.T) {
		admin("tenants", `ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`)
		defer admin("tenants", `ALTER TABLE tenant_data.orders ENABLE ROW LEVEL SECURITY`)
		code, stdout, stderr := probe("--tenant", "pinitech", "-o", "json")
		if code != exitcode.Findings {
			t.Fatalf("exit %d, want %d\n%s%s", code, exitcode.Findings, stdout, stderr)
		}
		if !strings.Contains(stdout, `"kind": "data-row-security"`) || !strings.Contains(stdout, `1 row(s) of tenant pacme`) {
			t.Errorf("json lacks the row-security edge:\n%s", stdout)
		}
	})

	for _, tc := range []struct {
		name   string
		tenant string
		edit   func(map[string]string)
		delete bool
		want   string
	}{
		{name: "a missing Secret", tenant: "pglobex", delete: true, want: "not found"},
		{name: "a wrong password", tenant: "pglobex", edit: func(m map[string]string) { m["PGPASSWORD"] = "canary-wrong-" + passwords["pacme"] }, want: "password authentication failed"},
		{name: "another tenant's password", tenant: "pglobex", edit: func(m map[string]string) { m["PGPASSWORD"] = passwords["pacme"] }, want: "password authentication failed"},
		{name: "a Secret without a password", tenant: "pinitech", edit: func(m map[string]string) { delete(m, "PGPASSWORD") }, want: "has no PGPASSWORD"},
		{name: "an unreachable server", tenant: "pacme", edit: func(m map[string]string) { m["PGPORT"] = strconv.Itoa(closedTCPPort(t)) }, want: "log in to its own database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := byID[tc.tenant]
			if tc.delete {
				if err := cs.CoreV1().Secrets(tn.Namespace).Delete(ctx, tn.Data.Postgres.CredentialObject, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				put(tn, tc.edit)
			}
			defer put(tn, nil)
			code, stdout, stderr := probe()
			if code != exitcode.Failed {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitcode.Failed, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.want) || !strings.Contains(stdout, "FAILED    "+tc.tenant) {
				t.Errorf("output lacks %q for %s:\n%s%s", tc.want, tc.tenant, stdout, stderr)
			}
			// The other tenants still probed.
			if !strings.Contains(stdout, "2 of 3 tenant(s) probed") {
				t.Errorf("output:\n%s", stdout)
			}
			// Restricted to a tenant whose credentials work, the run is clean.
			other := "pinitech"
			if tc.tenant == other {
				other = "pglobex"
			}
			if code, stdout, stderr := probe("--tenant", other); code != exitcode.OK {
				t.Errorf("--tenant %s: exit %d\n%s%s", other, code, stdout, stderr)
			}
		})
	}
}

func closedTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
