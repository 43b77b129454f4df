package azure

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/tenantplan"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
)

func TestDedicatedVault(t *testing.T) {
	rec, out := tenantRun(t, testBinding("acme", isolation.TierSilo), testEnv())
	vault := rec.Get(t, tVault, "kv-acme-prod")
	wantProps := map[string]any{
		"tenantId":                  testTenantID,
		"sku":                       map[string]any{"family": "A", "name": "standard"},
		"enableRbacAuthorization":   true,
		"enableSoftDelete":          true,
		"softDeleteRetentionInDays": float64(90),
		"enablePurgeProtection":     true,
		"publicNetworkAccess":       "Disabled",
		"networkAcls":               map[string]any{"defaultAction": "Deny", "bypass": "None"},
	}
	if d := cmp.Diff(wantProps, vault.Inputs["properties"]); d != "" {
		t.Errorf("vault properties (-want +got):\n%s", d)
	}
	if _, ok := vault.Inputs["properties"].(map[string]any)["accessPolicies"]; ok {
		t.Error("an RBAC vault has access policies")
	}
	vaultID := arm + "rg-acme-prod/providers/Microsoft.KeyVault/vaults/kv-acme-prod"
	pe := rec.Get(t, tPE, "pe-kv-acme-prod")
	// The typed SDK fills in its subnet defaults; Azure reads only the id of a reference.
	if got := stackstest.Path(pe.Inputs, "subnet.id"); got != acmeVNet+"/subnets/endpoints" {
		t.Errorf("private endpoint subnet = %v", got)
	}
	wantConn := []any{map[string]any{"name": "vault", "privateLinkServiceId": vaultID, "groupIds": []any{"vault"}}}
	if d := cmp.Diff(wantConn, pe.Inputs["privateLinkServiceConnections"]); d != "" {
		t.Errorf("private link connection (-want +got):\n%s", d)
	}
	zoneID := arm + "rg-platform-prod/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
	zg := rec.Get(t, tZoneGroup, "pe-kv-acme-prod/default")
	if d := cmp.Diff([]any{map[string]any{"name": "vault", "privateDnsZoneId": zoneID}}, zg.Inputs["privateDnsZoneConfigs"]); d != "" {
		t.Errorf("DNS zone group (-want +got):\n%s", d)
	}
	link := rec.Get(t, tZoneLink, "privatelink.vaultcore.azure.net/vnet-acme-prod")
	if link.Inputs["resourceGroupName"] != "rg-platform-prod" || stackstest.Path(link.Inputs, "virtualNetwork.id") != acmeVNet || link.Inputs["registrationEnabled"] != false {
		t.Errorf("DNS zone link = %v", link.Inputs)
	}
	if out.Vault != "kv-acme-prod" || out.VaultURI != "https://kv-acme-prod.vault.azure.net/" || out.PrivateEndpoint != "pe-kv-acme-prod" {
		t.Errorf("vault outputs = %q %q %q", out.Vault, out.VaultURI, out.PrivateEndpoint)
	}
	want := map[string]string{"db": "https://kv-acme-prod.vault.azure.net/secrets/db-connection/3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c"}
	if d := cmp.Diff(want, out.KeyVaultReferences); d != "" {
		t.Errorf("key vault references (-want +got):\n%s", d)
	}
}

// A pool tenant that buys a dedicated vault gets one, but no private endpoint: it has no subnet
// of its own to put one in.
func TestDedicatedVaultWithoutVNet(t *testing.T) {
	b := testBinding("globex", isolation.TierPool)
	b.Spec.Overrides = map[isolation.Layer]isolation.Mode{isolation.LayerSecrets: isolation.SecretsDedicatedVault}
	b.Spec.Secrets = []isolation.SecretBinding{{Name: "api", KeyVaultRef: "https://kv-globex-prod.vault.azure.net", SecretName: "api-key"}}
	rec, out := tenantRun(t, b, testEnv())
	rec.Get(t, tVault, "kv-globex-prod")
	if pes := rec.OfType(tPE); len(pes) != 0 {
		t.Errorf("private endpoints without a tenant VNet: %v", pes)
	}
	if out.PrivateEndpoint != "" {
		t.Errorf("privateEndpoint output = %q", out.PrivateEndpoint)
	}
	if d := cmp.Diff(map[string]string{"api": "https://kv-globex-prod.vault.azure.net/secrets/api-key"}, out.KeyVaultReferences); d != "" {
		t.Errorf("key vault references (-want +got):\n%s", d)
	}
}

// TestWorkloadIdentity: every tier's tenant gets a user-assigned identity federated with its
// ServiceAccount, and the identity's client id (known only once it exists) reaches the
// Kubernetes part: the ServiceAccount's azure.workload.identity annotations, the
// SecretProviderClass's clientID and tenantId, and the stack outputs.
func TestWorkloadIdentity(t *testing.T) {
	tests := []struct {
		name      string
		tier      isolation.Tier
		namespace string
		vault     string
		secret    string
	}{
		{"silo", isolation.TierSilo, "t-acme", "kv-acme-prod", "db-connection"},
		{"pool", isolation.TierPool, "t-acme", "kv-shared-prod", "acme-db-connection"},
		// A shared tenant reads the shared vault as its own identity too, federated with the
		// ServiceAccount the kubernetes part gives it in the shared namespace.
		{"shared", isolation.TierShared, "shared-tenants", "kv-shared-prod", "acme-api-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, out := tenantRun(t, testBinding("acme", tc.tier), testEnv())
			id := rec.Get(t, TypeUserAssignedIdentity, "id-acme-prod")
			if id.Inputs["resourceGroupName"] != "rg-acme-prod" || id.Inputs["resourceName"] != "id-acme-prod" || id.Inputs["location"] != "westeurope" {
				t.Errorf("identity = %v", id.Inputs)
			}
			fic := rec.Get(t, TypeFederatedIdentityCredential, "id-acme-prod/fic-acme")
			want := map[string]any{
				"resourceGroupName": "rg-acme-prod", "resourceName": "id-acme-prod", "federatedIdentityCredentialResourceName": "fic-acme",
				"issuer": testIssuer, "subject": "system:serviceaccount:" + tc.namespace + ":t-acme", "audiences": []any{"api://AzureADTokenExchange"},
			}
			if d := cmp.Diff(want, fic.Inputs); d != "" {
				t.Errorf("federated credential (-want +got):\n%s", d)
			}
			const clientID = "client-id-acme-prod" // the mock's client id of the identity
			sa := rec.Get(t, tSA, tc.namespace+"/t-acme")
			wantAnn := map[string]any{tenantplan.AnnotationWorkloadClientID: clientID, tenantplan.AnnotationWorkloadTenantID: testTenantID}
			if d := cmp.Diff(wantAnn, stackstest.Path(sa.Inputs, "metadata.annotations")); d != "" {
				t.Errorf("service account annotations (-want +got):\n%s", d)
			}
			if rs := rec.OfType(tSAPatch); len(rs) != 0 {
				t.Errorf("the annotation is on the ServiceAccount itself; patches: %v", rs)
			}
			spc := rec.Get(t, tSPC, tc.namespace+"/t-acme")
			params, _ := stackstest.Path(spc.Inputs, "spec.parameters").(map[string]any)
			if params["clientID"] != clientID || params["tenantId"] != testTenantID || params["keyvaultName"] != tc.vault || params["usePodIdentity"] != "false" {
				t.Errorf("secret provider class parameters = %v", params)
			}
			if obj, _ := params["objects"].(string); !strings.Contains(obj, `objectName: "`+tc.secret+`"`) {
				t.Errorf("secret provider class objects = %q, want secret %s", obj, tc.secret)
			}
			if spc.Provider != "urn:pulumi:tenant.acme.prod::tenantctl::pulumi:providers:kubernetes::k8s::k8s-id" {
				t.Errorf("secret provider class uses provider %q", spc.Provider)
			}
			if out.FederatedSubject != want["subject"] || out.Identity != "id-acme-prod" {
				t.Errorf("identity outputs = %q %q", out.Identity, out.FederatedSubject)
			}
			got := map[string]any{}
			for _, k := range []string{OutputIdentityClientID, kubernetes.OutputWorkloadClientID} {
				got[k] = awaitString(t, out.Map()[k])
			}
			if d := cmp.Diff(map[string]any{OutputIdentityClientID: clientID, kubernetes.OutputWorkloadClientID: clientID}, got); d != "" {
				t.Errorf("client id outputs (-want +got):\n%s", d)
			}
		})
	}
}

func TestTenantData(t *testing.T) {
	sqlEnv := func() *isolation.Environment {
		env := testEnv()
		env.Spec.SharedDatabase = isolation.DatabaseSpec{Server: "sql-shared-prod", Engine: "sqlserver", ResourceGroup: "rg-data-prod"}
		return env
	}
	devEnv := func() *isolation.Environment {
		env := testEnv()
		env.Metadata.Name, env.Spec.Production = "stage", false
		return env
	}
	stageBinding := func() *isolation.RuntimeTenantBinding {
		b := testBinding("acme", isolation.TierSilo)
		b.Spec.Environment = "stage"
		return b
	}
	pg := arm + "rg-platform-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-shared-prod"
	const pgHost = "psql-shared-prod.postgres.database.azure.com"
	tests := []struct {
		name    string
		binding *isolation.RuntimeTenantBinding
		env     *isolation.Environment
		want    map[string]any // "type name" -> inputs
		retain  bool
		ref     DatabaseRef
	}{
		{"silo postgres", testBinding("acme", isolation.TierSilo), testEnv(), map[string]any{
			TypeFlexibleServerDatabase + " psql-shared-prod/acme_db": map[string]any{"resourceGroupName": "rg-platform-prod", "serverName": "psql-shared-prod",
				"databaseName": "acme_db", "charset": "UTF8", "collation": "en_US.utf8"},
		}, true, DatabaseRef{Engine: tenantplan.EnginePostgres, Server: "psql-shared-prod", ServerID: pg, Name: "acme_db", Schema: "app",
			Host: pgHost, LoginRole: "t_acme_app", Auth: "entra"}},
		{"silo sql", testBinding("acme", isolation.TierSilo), sqlEnv(), map[string]any{
			tSQLDB + " sql-shared-prod/acme_db": map[string]any{"resourceGroupName": "rg-data-prod", "serverName": "sql-shared-prod", "databaseName": "acme_db",
				"location": "westeurope", "tags": map[string]any{tenantplan.TagTenant: "acme", tenantplan.TagTier: "silo", tenantplan.TagEnvironment: "prod", tenantplan.TagManagedBy: "tenantctl", "cost-center": "cc-acme"}},
		}, true, DatabaseRef{Engine: tenantplan.EngineSQL, Server: "sql-shared-prod", ServerID: arm + "rg-data-prod/providers/Microsoft.Sql/servers/sql-shared-prod", Name: "acme_db"}},
		// Outside production a dedicated database goes with its stack.
		{"silo outside production", stageBinding(), devEnv(), map[string]any{
			TypeFlexibleServerDatabase + " psql-shared-prod/acme_db": map[string]any{"resourceGroupName": "rg-platform-stage", "serverName": "psql-shared-prod",
				"databaseName": "acme_db", "charset": "UTF8", "collation": "en_US.utf8"},
		}, false, DatabaseRef{Engine: tenantplan.EnginePostgres, Server: "psql-shared-prod", ServerID: arm + "rg-platform-stage/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-shared-prod", Name: "acme_db",
			Schema: "app", Host: pgHost, LoginRole: "t_acme_app", Auth: "entra"}},
		{"pool partition", testBinding("acme", isolation.TierPool), testEnv(), map[string]any{}, false,
			DatabaseRef{Engine: tenantplan.EnginePostgres, Server: "psql-shared-prod", ServerID: pg, Name: tenantplan.SharedDatabaseName, Schema: "acme",
				Host: pgHost, LoginRole: "t_acme_app", Auth: "entra"}},
		{"shared row filter", testBinding("acme", isolation.TierShared), testEnv(), map[string]any{}, false,
			DatabaseRef{Engine: tenantplan.EnginePostgres, Server: "psql-shared-prod", ServerID: pg, Name: tenantplan.SharedDatabaseName, Schema: tenantplan.PGSharedSchema,
				Host: pgHost, LoginRole: "t_acme_app", Auth: "entra"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.binding
			rec, out := tenantRun(t, in, tc.env)
			got := map[string]any{}
			for _, r := range rec.All() {
				if r.Type == TypeFlexibleServerDatabase || r.Type == tSQLDB || r.Type == TypeFlexibleServer || r.Type == tSQLServer {
					got[r.Type+" "+r.Name] = r.Inputs
					if r.Retain != tc.retain {
						t.Errorf("%s retainOnDelete = %v, want %v", r.Name, r.Retain, tc.retain)
					}
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("data resources (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.ref, out.Database); d != "" {
				t.Errorf("database output (-want +got):\n%s", d)
			}
		})
	}
}

// A tenant stack on AKS exports the kubernetes target's outputs and the Azure ones, with no key
// shadowing another.
func TestTenantOutputKeys(t *testing.T) {
	_, out := tenantRun(t, testBinding("acme", isolation.TierSilo), testEnv())
	k8sKeys := out.Kubernetes.Map()
	var got []string
	for k := range out.Map() {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{
		OutputDatabase, OutputFederatedSubject, OutputIdentity, OutputIdentityClientID, OutputIdentityID, OutputKeyVaultReferences,
		OutputNetworkSecurityGroup, OutputNodePool, OutputPeerings, OutputPrivateEndpoint, OutputResourceGroup, OutputRoleAssignments,
		OutputRouteTable, OutputSubnets, OutputVNet, OutputVNetID, OutputVault, OutputVaultURI,
	}
	for k := range k8sKeys {
		want = append(want, k)
	}
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output keys (-want +got):\n%s", d)
	}
	if len(want) != len(k8sKeys)+18 {
		t.Errorf("an azure output key shadows a kubernetes one")
	}
	if _, ok := k8sKeys[kubernetes.OutputSecretRefs]; !ok {
		t.Errorf("the kubernetes part's secret references are not exported")
	}
}

// awaitString resolves an output of a finished mocked run.
func awaitString(t *testing.T, v any) any {
	t.Helper()
	in, ok := v.(pulumi.StringInput)
	if !ok {
		t.Fatalf("%T is not a Pulumi string input", v)
	}
	res, err := internals.UnsafeAwaitOutput(context.Background(), in.ToStringOutput())
	if err != nil {
		t.Fatal(err)
	}
	return res.Value
}
