package azure

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const (
	pgProviderRef = "::pulumi:providers:tenantpg::postgres::"
	pgHost        = "psql-shared-prod.postgres.database.azure.com"
)

// checkDataProvider: the tenantpg provider signs in as the Entra administrator with a token,
// verifies the server's certificate, and has no password at all.
func checkDataProvider(t *testing.T, rec *recorder) recorded {
	t.Helper()
	p := rec.Get(t, tPGProv, DataProviderName)
	want := map[string]any{"host": pgHost, "port": float64(5432), "database": "postgres", "username": testEntraAdmin,
		"auth": "entra", "sslmode": "verify-full", "connectTimeoutSeconds": float64(10)}
	if d := cmp.Diff(want, p.Inputs); d != "" {
		t.Errorf("tenantpg provider inputs (-want +got):\n%s", d)
	}
	return p
}

// checkDataObjects: every data object goes through the explicit provider, no role is more than
// a login or owner role, PUBLIC is only ever closed out, and no password exists.
func checkDataObjects(t *testing.T, rec *recorder) {
	t.Helper()
	for _, r := range rec.All() {
		if !strings.HasPrefix(r.Type, "tenantpg:") {
			continue
		}
		if !strings.Contains(r.Provider, pgProviderRef) {
			t.Errorf("%s %s uses provider %q, want the explicit tenantpg one", r.Type, r.Name, r.Provider)
		}
		switch r.Type {
		case tPGPass:
			t.Errorf("password resource %s: an Entra login has none", r.Name)
		case tPGDB:
			t.Errorf("tenantpg database %s: Azure creates the databases", r.Name)
		case tPGRole:
			if _, ok := r.Inputs["password"]; ok {
				t.Errorf("role %s has a password input", r.Name)
			}
			for _, attr := range []string{"superuser", "createRole", "createDatabase", "bypassRowLevelSecurity"} {
				if r.Inputs[attr] == true {
					t.Errorf("role %s has %s", r.Name, attr)
				}
			}
		case tPGGrant:
			if r.Inputs["role"] == tenantplan.PGPublic && len(stackstest.StringSlice(r.Inputs["privileges"])) != 0 {
				t.Errorf("grant %s gives PUBLIC %v", r.Name, r.Inputs["privileges"])
			}
		}
	}
}

func dependsOn(r recorded, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool { return strings.HasSuffix(urn, "::"+name) })
}

func TestTenantDataObjects(t *testing.T) {
	tests := []struct {
		tier isolation.Tier
		// owned are the objects created as the owner role: they wait for the admin's membership.
		owned []string
		// inDatabase are the objects inside the tenant's own Azure database: they wait for it.
		inDatabase []string
	}{
		{isolation.TierSilo, []string{"schema/acme_db/app", "defaults/acme_db/t_acme_owner/app/table/t_acme_app"},
			[]string{"schema/acme_db/app", "grant/acme_db/PUBLIC/database/-", "grant/acme_db/t_acme_app/database/-", "grant/acme_db/PUBLIC/schema/public"}},
		{isolation.TierPool, []string{"schema/tenants/acme", "defaults/tenants/t_acme_owner/acme/sequence/t_acme_app"}, nil},
		{isolation.TierShared, nil, nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec, out := tenantRun(t, testBinding("acme", tc.tier), testEnv())
			checkDataProvider(t, rec)
			checkDataObjects(t, rec)

			// The login role is the Entra principal of the tenant's own workload identity.
			login := rec.Get(t, tPGRole, "role/t_acme_app")
			want := map[string]any{"name": "t_acme_app", "login": true, "inherit": true, "connectionLimit": float64(-1),
				"entraPrincipal": map[string]any{"objectId": "principal-id-acme-prod", "type": "service"}}
			if d := cmp.Diff(want, login.Inputs); d != "" {
				t.Errorf("login role (-want +got):\n%s", d)
			}
			for _, name := range tc.owned {
				var r recorded
				for _, x := range rec.All() {
					if x.Name == name {
						r = x
					}
				}
				if !dependsOn(r, "membership/t_acme_owner/"+testEntraAdmin) {
					t.Errorf("%s does not wait for the admin's membership in the owner role: %v", name, r.DependsOn)
				}
			}
			for _, name := range tc.inDatabase {
				var r recorded
				for _, x := range rec.All() {
					if x.Name == name {
						r = x
					}
				}
				if !dependsOn(r, "psql-shared-prod/acme_db") {
					t.Errorf("%s does not wait for the Azure database: %v", name, r.DependsOn)
				}
			}
			if tc.tier != isolation.TierShared {
				m := rec.Get(t, tPGMember, "membership/t_acme_owner/"+testEntraAdmin)
				if d := cmp.Diff(map[string]any{"role": "t_acme_owner", "member": testEntraAdmin}, m.Inputs); d != "" {
					t.Errorf("membership (-want +got):\n%s", d)
				}
			}
			if tc.tier == isolation.TierShared {
				p := rec.Get(t, tPGPolicy, "policy/tenants/tenant_data/orders/t_acme_rows")
				if p.Inputs["using"] != "tenant_id = 'acme'" || p.Inputs["withCheck"] != p.Inputs["using"] ||
					cmp.Diff([]string{"t_acme_app"}, stackstest.StringSlice(p.Inputs["roles"])) != "" {
					t.Errorf("row filter policy = %v", p.Inputs)
				}
			}

			// The outputs say where and as whom to sign in, and how; no credential.
			m, ok := out.Map()[OutputDatabase].(pulumi.StringMap)
			if !ok {
				t.Fatalf("database output is %T", out.Map()[OutputDatabase])
			}
			var keys []string
			for k, v := range m {
				keys = append(keys, k)
				if s, _ := v.(pulumi.String); strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(string(s)), "password") {
					t.Errorf("database output %s = %v names a password", k, v)
				}
			}
			slices.Sort(keys)
			if d := cmp.Diff([]string{"auth", "database", "engine", "host", "loginRole", "schema", "server", "serverId"}, keys); d != "" {
				t.Errorf("database output keys (-want +got):\n%s", d)
			}
			if m["auth"] != pulumi.String("entra") || m["host"] != pulumi.String(pgHost) || m["loginRole"] != pulumi.String("t_acme_app") {
				t.Errorf("database output = %v", m)
			}
		})
	}
}

func TestPlatformDataObjects(t *testing.T) {
	rec := newRecorder()
	if _, err := platformRun(t, testEnv(), rec); err != nil {
		t.Fatal(err)
	}
	// The identity running the stack becomes the server's Entra administrator, under the name the
	// provider signs in with.
	admin := rec.Get(t, TypeFlexibleServerAdministrator, "psql-shared-prod/"+testEntraAdmin)
	want := map[string]any{"resourceGroupName": "rg-platform-prod", "serverName": "psql-shared-prod", "objectId": testDeployer,
		"principalName": testEntraAdmin, "principalType": "ServicePrincipal", "tenantId": testTenantID}
	if d := cmp.Diff(want, admin.Inputs); d != "" {
		t.Errorf("administrator (-want +got):\n%s", d)
	}
	p := checkDataProvider(t, rec)
	for _, dep := range []string{"psql-shared-prod/" + testEntraAdmin, "psql-shared-prod/tenants"} {
		if !dependsOn(p, dep) {
			t.Errorf("the tenantpg provider does not wait for %s: %v", dep, p.DependsOn)
		}
	}
	checkDataObjects(t, rec)

	owner := rec.Get(t, tPGRole, "role/"+tenantplan.PGPlatformOwnerRole)
	if d := cmp.Diff(map[string]any{"name": tenantplan.PGPlatformOwnerRole, "inherit": true, "connectionLimit": float64(-1)}, owner.Inputs); d != "" {
		t.Errorf("owner role (-want +got):\n%s", d)
	}
	table := rec.Get(t, tPGTable, "table/tenants/tenant_data/orders")
	if d := cmp.Diff(map[string]any{"database": "tenants", "schema": "tenant_data", "name": "orders", "owner": tenantplan.PGPlatformOwnerRole,
		"tenantColumn": tenantplan.PGTenantIDColumn}, table.Inputs); d != "" {
		t.Errorf("shared table (-want +got):\n%s", d)
	}
	rls := rec.Get(t, tPGRLS, "rls/tenants/tenant_data/orders")
	if rls.Inputs["force"] != true || !dependsOn(rls, "table/tenants/tenant_data/orders") {
		t.Errorf("row-level security = %v (depends on %v), want forced, after its table", rls.Inputs, rls.DependsOn)
	}
	closed := rec.Get(t, tPGGrant, "grant/tenants/PUBLIC/database/-")
	if d := cmp.Diff(map[string]any{"database": "tenants", "role": "PUBLIC", "objectType": "database", "privileges": []any{}}, closed.Inputs); d != "" {
		t.Errorf("PUBLIC on the shared database (-want +got):\n%s", d)
	}
	schema := rec.Get(t, tPGSchema, "schema/tenants/tenant_data")
	for _, dep := range []string{"membership/" + tenantplan.PGPlatformOwnerRole + "/" + testEntraAdmin, "psql-shared-prod/tenants"} {
		if !dependsOn(schema, dep) {
			t.Errorf("the shared schema does not wait for %s: %v", dep, schema.DependsOn)
		}
	}
}

// A SQL Server keeps no tenantpg objects: nothing of the data layer's provider is created.
func TestSQLServerHasNoDataObjects(t *testing.T) {
	env := testEnv()
	env.Spec.SharedDatabase = isolation.DatabaseSpec{Server: "sql-shared-prod", Engine: "sqlserver"}
	rec := newRecorder()
	if _, err := platformRun(t, env, rec); err != nil {
		t.Fatal(err)
	}
	trec, out := tenantRun(t, testBinding("acme", isolation.TierPool), env)
	for _, r := range append(rec.All(), trec.All()...) {
		if strings.Contains(r.Type, "tenantpg") || r.Type == TypeFlexibleServerAdministrator {
			t.Errorf("%s %s registered for a SQL Server", r.Type, r.Name)
		}
	}
	if out.Database.Auth != "" || out.Database.LoginRole != "" {
		t.Errorf("database output %+v names a PostgreSQL login", out.Database)
	}
}
