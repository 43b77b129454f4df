package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// TestDataLayerEndToEnd runs the data layer as a user does, on the project's own PostgreSQL
// (password auth) and the local cluster: `up` creates each tier's data objects; the probe,
// logging in with each tenant's real credentials, finds no edge; out-of-band changes (a
// cross-tenant grant, RLS disabled on the shared table, BYPASSRLS on a tenant role, an unmanaged
// role and schema in tenants' scopes) are each reported by `drift check` with their kind (exit
// 2), proven by the probe reading other tenants' rows, fail `isolation verify`; `drift remediate
// --mode auto` undoes every one, after which check and probe are clean; `destroy` leaves only what
// the retention rule keeps (data that holds tables, and the owner role that owns it).
func TestDataLayerEndToEnd(t *testing.T) {
	bed := newEngineTestbed(t, "data-layer-e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	tenantctl := func(args ...string) (int, string, string) {
		t.Helper()
		return bed.tenantctl(t, ctx, args...)
	}
	probe := func(args ...string) (int, string, string) {
		t.Helper()
		return execTenantctl(t, ctx, append([]string{"isolation", "probe", "-d", bed.dir, "--env", "dev", "--kubeconfig", bed.cluster.Kubeconfig}, args...)...)
	}
	verify := func() (int, string, string) {
		t.Helper()
		return execTenantctl(t, ctx, "isolation", "verify", "-d", bed.dir, "--env", "dev", "--kubeconfig", bed.cluster.Kubeconfig,
			"--data-dir", bed.dataDir, "--postgres-connection", bed.postgres.InfoPath())
	}
	sql := func(db string, stmts ...string) {
		t.Helper()
		conn, err := bed.postgres.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	holds := func(db, q string) bool {
		t.Helper()
		conn, err := bed.postgres.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var ok bool
		if err := conn.QueryRow(ctx, q).Scan(&ok); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return ok
	}
	dataFindings := func() (int, []string) {
		t.Helper()
		code, stdout, stderr := tenantctl("drift", "check", "-o", "json")
		var rep struct {
			Findings []struct {
				Kind     string `json:"kind"`
				TenantID string `json:"tenantId"`
				Field    string `json:"field"`
				Peer     string `json:"peerTenant"`
				Resource struct {
					Provider string `json:"provider"`
					ID       string `json:"id"`
				} `json:"resource"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("drift check exit %d: %v\n%s\n%s", code, err, stdout, stderr)
		}
		var out []string
		for _, f := range rep.Findings {
			if f.Resource.Provider != "postgresql" {
				continue
			}
			s := fmt.Sprintf("%s %s %s", f.TenantID, f.Kind, f.Resource.ID)
			if f.Field != "" {
				s += " " + f.Field
			}
			if f.Peer != "" {
				s += " -> " + f.Peer
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return code, out
	}

	if code, _, stderr := tenantctl("up", "--all"); code != exitcode.OK {
		t.Fatalf("up exit %d:\n%s", code, stderr)
	}
	destroyed := false
	t.Cleanup(func() {
		if destroyed {
			return
		}
		if code, _, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform"}, bed.common...)...); code != exitcode.OK {
			t.Errorf("destroy exit %d:\n%s", code, stderr)
		}
	})

	t.Run("up creates each tier's data", func(t *testing.T) {
		for _, q := range []struct{ db, what, sql string }{
			{"postgres", "silo: own database owned by the NOLOGIN owner role",
				`SELECT d.datdba = 't_acme_owner'::regrole AND NOT r.rolcanlogin FROM pg_database d, pg_roles r WHERE d.datname = 'acme' AND r.rolname = 't_acme_owner'`},
			{"postgres", "silo: CONNECT revoked from PUBLIC, granted to the login role",
				`SELECT NOT has_database_privilege('public', 'acme', 'CONNECT') AND has_database_privilege('t_acme_app', 'acme', 'CONNECT') AND NOT has_database_privilege('t_globex_app', 'acme', 'CONNECT')`},
			{"tenants", "pool: own schema in the shared database, USAGE for its role only",
				`SELECT n.nspowner = 't_globex_owner'::regrole AND has_schema_privilege('t_globex_app', 'globex', 'USAGE') AND NOT has_schema_privilege('t_initech_app', 'globex', 'USAGE') FROM pg_namespace n WHERE n.nspname = 'globex'`},
			{"tenants", "shared: RLS enabled and forced, the table owned by no tenant",
				`SELECT relrowsecurity AND relforcerowsecurity AND relowner = 'tenantctl_platform_owner'::regrole FROM pg_class WHERE oid = 'tenant_data.orders'::regclass`},
			{"tenants", "shared: one policy binding rows to the tenant's role",
				`SELECT EXISTS (SELECT 1 FROM pg_policy WHERE polname = 't_initech_rows' AND polroles = ARRAY['t_initech_app'::regrole::oid])`},
			{"postgres", "no tenant role is privileged",
				`SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname LIKE 't\_%' AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb))`},
		} {
			if !holds(q.db, q.sql) {
				t.Errorf("%s: does not hold (%s)", q.what, q.sql)
			}
		}
		if code, stdout, stderr := probe(); code != exitcode.OK || !strings.Contains(stdout, "0 edge(s)") {
			t.Fatalf("probe on a fresh fleet: exit %d\n%s%s", code, stdout, stderr)
		}
		if code, fs := dataFindings(); code != exitcode.OK || len(fs) != 0 {
			t.Fatalf("drift check on a fresh fleet: exit %d, data findings %v", code, fs)
		}
	})
	if t.Failed() {
		return
	}

	// rows of two tenants in the shared table, written as the platform would
	sql("tenants", `INSERT INTO tenant_data.orders (tenant_id) VALUES ('initech'), ('acme')`)
	// out of band
	sql("tenants",
		`GRANT USAGE ON SCHEMA globex TO t_acme_app`,
		`ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`,
		`CREATE SCHEMA t_globex_tmp`)
	sql("postgres", `ALTER ROLE t_initech_app BYPASSRLS`, `CREATE ROLE t_acme_extra LOGIN`)

	t.Run("drift check reports each change with its kind", func(t *testing.T) {
		code, fs := dataFindings()
		if code != exitcode.Findings {
			t.Errorf("exit %d, want %d", code, exitcode.Findings)
		}
		for _, want := range []string{
			"acme cross-tenant-route postgresql://tenants/globex data-grant -> globex",
			"platform managed-drift postgresql://tenants/tenant_data.orders rowSecurity",
			"initech managed-drift postgresql role t_initech_app bypassRowLevelSecurity",
			"initech cross-tenant-route postgresql role t_initech_app data-escalation -> acme",
			"acme unmanaged-resource postgresql role t_acme_extra",
			"globex unmanaged-resource postgresql://tenants/t_globex_tmp",
		} {
			if !slices.Contains(fs, want) {
				t.Errorf("missing finding %q in\n%s", want, strings.Join(fs, "\n"))
			}
		}
	})
	t.Run("the probe proves the route by reading another tenant's rows", func(t *testing.T) {
		code, stdout, stderr := probe()
		if code != exitcode.Findings || !strings.Contains(stdout, "of tenant acme") {
			t.Errorf("probe: exit %d, want %d with acme's rows as evidence\n%s%s", code, exitcode.Findings, stdout, stderr)
		}
	})
	t.Run("isolation verify fails", func(t *testing.T) {
		code, stdout, stderr := verify()
		if code != exitcode.Findings || !strings.Contains(stdout, "data-grant") {
			t.Errorf("verify: exit %d, want %d naming the data-grant\n%s%s", code, exitcode.Findings, stdout, stderr)
		}
	})
	t.Run("remediation restores every one", func(t *testing.T) {
		code, stdout, stderr := tenantctl("drift", "remediate", "--mode", "auto")
		if code != exitcode.OK {
			t.Fatalf("remediate: exit %d\n%s\n%s", code, stdout, stderr)
		}
		for _, want := range []string{`REVOKE CREATE, USAGE ON SCHEMA "globex" FROM "t_acme_app" CASCADE`, `DROP ROLE IF EXISTS "t_acme_extra"`,
			`DROP SCHEMA IF EXISTS "t_globex_tmp" RESTRICT`, "refresh-up tenant.initech.dev", "refresh-up platform.dev"} {
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("remediation output lacks %q:\n%s\n%s", want, stdout, stderr)
			}
		}
		if code, fs := dataFindings(); code != exitcode.OK || len(fs) != 0 {
			t.Errorf("drift check after remediation: exit %d, data findings:\n%s", code, strings.Join(fs, "\n"))
		}
		if code, stdout, stderr := probe(); code != exitcode.OK {
			t.Errorf("probe after remediation: exit %d\n%s%s", code, stdout, stderr)
		}
		if code, stdout, stderr := verify(); code != exitcode.OK {
			t.Errorf("verify after remediation: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("destroy keeps only retained data", func(t *testing.T) {
		sql("tenants", `SET ROLE t_globex_owner`, `CREATE TABLE globex.keep (v int)`, `INSERT INTO globex.keep VALUES (1)`, `RESET ROLE`)
		destroyed = true
		if code, _, stderr := tenantctl("destroy", "--all", "--include-platform"); code != exitcode.OK {
			t.Fatalf("destroy exit %d:\n%s", code, stderr)
		}
		for _, q := range []struct{ db, what, sql string }{
			{"postgres", "no tenant can log in any more",
				`SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('t_acme_app', 't_globex_app', 't_initech_app'))`},
			{"postgres", "the silo database held no table: dropped with its roles",
				`SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'acme') AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 't_acme_owner')`},
			{"tenants", "globex's schema holds a table: retained, with the role that owns it",
				`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'globex' AND nspowner = 't_globex_owner'::regrole) AND (SELECT count(*) FROM globex.keep) = 1`},
			{"tenants", "the shared table holds rows: retained",
				`SELECT (SELECT count(*) FROM tenant_data.orders) = 2`},
		} {
			if !holds(q.db, q.sql) {
				t.Errorf("%s: does not hold (%s)", q.what, q.sql)
			}
		}
	})

	// Purging later: the stacks are gone (their destroy is skipped), the plans still name what
	// the retention rule kept, and --purge-data drops exactly that.
	t.Run("destroy --purge-data drops what destroy retained", func(t *testing.T) {
		code, _, stderr := tenantctl("destroy", "--all", "--include-platform", "--purge-data")
		if code != exitcode.OK {
			t.Fatalf("destroy --purge-data exit %d:\n%s", code, stderr)
		}
		for _, want := range []string{"purged  schema tenants/globex", "purged  role t_globex_owner", "purged  rows of tenant initech in tenants/tenant_data.orders",
			"purged  database tenants", "absent  database acme"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("destroy --purge-data output lacks %q:\n%s", want, stderr)
			}
		}
		if !holds("postgres", `SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname IN ('tenants', 'acme'))
			AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname LIKE 't\_%')`) {
			t.Errorf("tenant databases or roles left after the purge")
		}
		// a second purge finds nothing left and fails nothing
		code, _, stderr = tenantctl("destroy", "--all", "--include-platform", "--purge-data")
		if code != exitcode.OK || strings.Contains(stderr, "purged ") {
			t.Errorf("second purge: exit %d, want 0 with nothing purged:\n%s", code, stderr)
		}
	})
}
