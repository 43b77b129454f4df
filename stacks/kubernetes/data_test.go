package kubernetes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const (
	tPGProvider  = "pulumi:providers:tenantpg"
	tPGRole      = "tenantpg:index:Role"
	tPGPassword  = "tenantpg:index:Password"
	tPGDatabase  = "tenantpg:index:Database"
	tPGSchema    = "tenantpg:index:Schema"
	tPGGrant     = "tenantpg:index:Grant"
	tPGDefaults  = "tenantpg:index:DefaultPrivileges"
	tPGPolicy    = "tenantpg:index:Policy"
	tPGTable     = "tenantpg:index:Table"
	tPGRLS       = "tenantpg:index:RowLevelSecurity"
	tSecret      = "kubernetes:core/v1:Secret"
	testPassword = "admin-canary-3f9d"
)

// pgEnv is the test environment with its tenant data on PostgreSQL and one shared table.
func pgEnv() *isolation.Environment {
	env := testEnv()
	env.Spec.SharedDatabase = isolation.DatabaseSpec{Server: "psql-dev", Engine: "postgresql", Tables: []string{"orders"}}
	return env
}

// pgConfig writes a connection file like the local server's and returns the stack config.
func pgConfig(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "admin.password")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(stacks.PostgresConnection{Host: "127.0.0.1", Port: 15432, AdminRole: "tenantctl_admin", PasswordFile: pw})
	conn := filepath.Join(dir, "connection.json")
	if err := os.WriteFile(conn, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{stacks.FullConfigKey(stacks.ConfigPostgres): conn}
	for k, v := range testConfig {
		cfg[k] = v
	}
	return cfg
}

// dataObjects lists the data-layer resources of a run as "type name", sorted.
func dataObjects(rec *recorder) []string {
	var out []string
	for _, r := range rec.All() {
		if strings.HasPrefix(r.Type, "tenantpg:") || strings.HasPrefix(r.Type, "pulumi:providers:tenantpg") || r.Type == tSecret {
			out = append(out, r.Type+" "+r.Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestTenantProgramDataLayerPerTier(t *testing.T) {
	tests := []struct {
		id   string
		tier isolation.Tier
		data *isolation.DataSpec
		want []string
	}{
		{"acme", isolation.TierSilo, &isolation.DataSpec{Database: "acme"}, []string{
			tPGDatabase + " database/acme",
			tPGDefaults + " defaults/acme/t_acme_owner/app/sequence/t_acme_app",
			tPGDefaults + " defaults/acme/t_acme_owner/app/table/t_acme_app",
			tPGGrant + " grant/acme/t_acme_app/database/-",
			tPGGrant + " grant/acme/t_acme_app/schema/app",
			tPGGrant + " grant/acme/PUBLIC/schema/public",
			tPGPassword + " password/t_acme_app",
			tPGRole + " role/t_acme_app",
			tPGRole + " role/t_acme_owner",
			tPGSchema + " schema/acme/app",
			tSecret + " t-acme/t-acme-db",
			tPGProvider + " postgres",
		}},
		{"globex", isolation.TierPool, &isolation.DataSpec{Schema: "globex"}, []string{
			tPGDefaults + " defaults/tenants/t_globex_owner/globex/sequence/t_globex_app",
			tPGDefaults + " defaults/tenants/t_globex_owner/globex/table/t_globex_app",
			tPGGrant + " grant/tenants/t_globex_app/database/-",
			tPGGrant + " grant/tenants/t_globex_app/schema/globex",
			tPGPassword + " password/t_globex_app",
			tPGRole + " role/t_globex_app",
			tPGRole + " role/t_globex_owner",
			tPGSchema + " schema/tenants/globex",
			tSecret + " t-globex/t-globex-db",
			tPGProvider + " postgres",
		}},
		{"initech", isolation.TierShared, nil, []string{
			tPGGrant + " grant/tenants/t_initech_app/database/-",
			tPGGrant + " grant/tenants/t_initech_app/schema/tenant_data",
			tPGGrant + " grant/tenants/t_initech_app/table/tenant_data",
			tPGPassword + " password/t_initech_app",
			tPGPolicy + " policy/tenants/tenant_data/orders/t_initech_rows",
			tPGRole + " role/t_initech_app",
			tSecret + " shared-tenants/t-initech-db",
			tPGProvider + " postgres",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier), func(t *testing.T) {
			in := testInputs(tt.id, tt.tier)
			in.Env = pgEnv()
			if tt.data != nil {
				in.Binding.Spec.Data = *tt.data
			}
			rec, err := run(t, "tenant."+tt.id+".dev", pgConfig(t), TenantProgram(in))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if diff := cmp.Diff(want, dataObjects(rec)); diff != "" {
				t.Errorf("data objects (-want +got):\n%s", diff)
			}
			for _, r := range rec.All() {
				if r.Type == tPGRole && r.Inputs["login"] == true && r.Inputs["name"] != tenantplan.PGLoginRole(tt.id) {
					t.Errorf("login role %v, want only %s", r.Inputs["name"], tenantplan.PGLoginRole(tt.id))
				}
				for _, attr := range []string{"superuser", "createRole", "bypassRowLevelSecurity", "createDatabase"} {
					if r.Type == tPGRole && r.Inputs[attr] == true {
						t.Errorf("role %v has %s", r.Inputs["name"], attr)
					}
				}
				if r.Type == tPGPolicy {
					if r.Inputs["using"] != "tenant_id = '"+tt.id+"'" || r.Inputs["withCheck"] != r.Inputs["using"] {
						t.Errorf("policy using %v withCheck %v, want the tenant's constant filter", r.Inputs["using"], r.Inputs["withCheck"])
					}
				}
				if r.Type == tSecret {
					// The generated password makes the whole data a secret in the state.
					sec, ok := r.Inputs["data"].(*resource.Secret)
					if !ok {
						t.Fatalf("credential Secret data is %T, want a Pulumi secret", r.Inputs["data"])
					}
					data := map[string]any{}
					for k, v := range sec.Element.Mappable().(map[string]any) {
						b, err := base64.StdEncoding.DecodeString(v.(string))
						if err != nil {
							t.Fatalf("data %s: %v", k, err)
						}
						data[k] = string(b)
					}
					for _, k := range []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE", "PGPASSWORD"} {
						if _, ok := data[k]; !ok {
							t.Errorf("credential Secret lacks %s", k)
						}
					}
					if data["PGUSER"] != tenantplan.PGLoginRole(tt.id) {
						t.Errorf("credential Secret PGUSER %v", data["PGUSER"])
					}
				}
			}
		})
	}
}

func TestTenantProgramRBACNamesTheCredentialSecret(t *testing.T) {
	in := testInputs("initech", isolation.TierShared)
	in.Env = pgEnv()
	rec, err := run(t, "tenant.initech.dev", pgConfig(t), TenantProgram(in))
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Get(t, tRole, "shared-tenants/t-initech")
	b, _ := json.Marshal(r.Inputs["rules"])
	if !strings.Contains(string(b), `"t-initech-db"`) {
		t.Errorf("the tenant's Role does not name its credential Secret: %s", b)
	}
}

func TestPlatformProgramSharedDatabase(t *testing.T) {
	rec, err := run(t, "platform.dev", pgConfig(t), PlatformProgram(pgEnv()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		tPGDatabase + " database/tenants",
		tPGGrant + " grant/tenants/PUBLIC/schema/public",
		tPGRLS + " rls/tenants/tenant_data/orders",
		tPGRole + " role/tenantctl_platform_owner",
		tPGSchema + " schema/tenants/tenant_data",
		tPGTable + " table/tenants/tenant_data/orders",
		tPGProvider + " postgres",
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, dataObjects(rec)); diff != "" {
		t.Errorf("platform data objects (-want +got):\n%s", diff)
	}
	if r := rec.Get(t, tPGRLS, "rls/tenants/tenant_data/orders"); r.Inputs["force"] != true {
		t.Errorf("row-level security not forced: %v", r.Inputs)
	}
	if r := rec.Get(t, tPGRole, "role/tenantctl_platform_owner"); r.Inputs["login"] == true {
		t.Error("the platform owner role can log in")
	}
	if r := rec.Get(t, tPGGrant, "grant/tenants/PUBLIC/schema/public"); fmt.Sprint(r.Inputs["privileges"]) != "[]" {
		t.Errorf("the shared database's public schema is not closed to PUBLIC: %v", r.Inputs)
	}
}

func TestDataLayerNeedsAConnection(t *testing.T) {
	in := testInputs("globex", isolation.TierPool)
	in.Env = pgEnv()
	_, err := run(t, "tenant.globex.dev", testConfig, TenantProgram(in))
	if err == nil || !strings.Contains(err.Error(), "--postgres-connection") || !strings.Contains(err.Error(), stacks.FullConfigKey(stacks.ConfigPostgres)) {
		t.Fatalf("error %v, want one naming the flag and the config key", err)
	}
	// Without the engine setting, no data objects and no connection needed.
	rec, err := run(t, "tenant.globex.dev", testConfig, TenantProgram(testInputs("globex", isolation.TierPool)))
	if err != nil {
		t.Fatal(err)
	}
	if got := dataObjects(rec); len(got) != 0 {
		t.Errorf("data objects without a PostgreSQL engine: %v", got)
	}
}

func TestDataProviderConfigKeepsThePasswordSecret(t *testing.T) {
	rec, err := run(t, "platform.dev", pgConfig(t), PlatformProgram(pgEnv()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.All() {
		b, _ := json.Marshal(r.Inputs)
		if r.Type != tPGProvider && strings.Contains(string(b), testPassword) {
			t.Errorf("%s %s carries the admin password in its inputs", r.Type, r.Name)
		}
	}
}
