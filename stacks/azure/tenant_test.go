package azure

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const (
	tRG        = "azure-native:resources:ResourceGroup"
	tVNet      = "azure-native:network:VirtualNetwork"
	tSubnet    = "azure-native:network:Subnet"
	tPeering   = "azure-native:network:VirtualNetworkPeering"
	tNSG       = "azure-native:network:NetworkSecurityGroup"
	tRT        = "azure-native:network:RouteTable"
	tPE        = "azure-native:network:PrivateEndpoint"
	tZoneGroup = "azure-native:network:PrivateDnsZoneGroup"
	tZone      = "azure-native:network:PrivateZone"
	tZoneLink  = "azure-native:network:VirtualNetworkLink"
	tVault     = "azure-native:keyvault:Vault"
	tRole      = "azure-native:authorization:RoleAssignment"
	tWorkspace = "azure-native:operationalinsights:Workspace"
	tSQLServer = "azure-native:sql:Server"
	tSQLDB     = "azure-native:sql:Database"
	tAzureProv = "pulumi:providers:azure-native"
	tK8sProv   = "pulumi:providers:kubernetes"
	tSAPatch   = "kubernetes:core/v1:ServiceAccountPatch"
	tSA        = "kubernetes:core/v1:ServiceAccount"
	tSPC       = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
	tK8sTenant = "tenantctl:tenant:Tenant"
	tPGProv    = "pulumi:providers:tenantpg"
	tPGRole    = "tenantpg:index:Role"
	tPGMember  = "tenantpg:index:Membership"
	tPGPass    = "tenantpg:index:Password"
	tPGDB      = "tenantpg:index:Database"
	tPGSchema  = "tenantpg:index:Schema"
	tPGGrant   = "tenantpg:index:Grant"
	tPGDefault = "tenantpg:index:DefaultPrivileges"
	tPGPolicy  = "tenantpg:index:Policy"
	tPGTable   = "tenantpg:index:Table"
	tPGRLS     = "tenantpg:index:RowLevelSecurity"
)

// arm is the start of every ARM id in the test subscription.
const arm = "/subscriptions/" + testSub + "/resourceGroups/"

var roleNames = map[string]string{tenantplan.RoleKeyVaultSecretsUser: "Key Vault Secrets User", tenantplan.RoleNetworkContributor: "Network Contributor"}

// azureTree renders the Azure part of a stack as "type name <- parent": every resource except the
// kubernetes target's own tree (checked in stacks/kubernetes), of which only its root is kept to
// show where it hangs. Role assignments are named by role and scope rather than their GUID.
func azureTree(rec *recorder) []string {
	var out []string
	for _, r := range rec.All() {
		kube := strings.HasPrefix(r.Type, "kubernetes:") && r.Type != tSAPatch
		kubeComponent := strings.HasPrefix(r.Type, "tenantctl:") && !strings.HasPrefix(r.Type, "tenantctl:azure:") && r.Type != tK8sTenant
		if kube || kubeComponent {
			continue
		}
		name := r.Name
		if r.Type == tRole {
			name = roleLabel(r)
		}
		out = append(out, r.Type+" "+name+" <- "+r.Parent)
	}
	sort.Strings(out)
	return out
}

func roleLabel(r recorded) string {
	def, _ := r.Inputs["roleDefinitionId"].(string)
	return roleNames[def[strings.LastIndex(def, "/")+1:]] + " @ " + r.Inputs["scope"].(string)
}

func TestTenantResourceTree(t *testing.T) {
	const (
		root     = "tenantctl:azure:Tenant acme"
		network  = "tenantctl:azure:TenantNetwork acme"
		compute  = "tenantctl:azure:TenantCompute acme"
		identity = "tenantctl:azure:TenantIdentity acme"
		secrets  = "tenantctl:azure:TenantSecrets acme"
		data     = "tenantctl:azure:TenantData acme"
		work     = "tenantctl:azure:Workloads acme"
	)
	common := []string{
		tAzureProv + " azure <- ",
		tK8sProv + " k8s <- ",
		root + " <- ",
		network + " <- " + root,
		compute + " <- " + root,
		identity + " <- " + root,
		secrets + " <- " + root,
		data + " <- " + root,
		work + " <- " + root,
		tK8sTenant + " acme <- " + work,
	}
	vnetID := arm + "rg-acme-prod/providers/Microsoft.Network/virtualNetworks/vnet-acme-prod"
	sharedVault := arm + "rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-shared-prod"
	tests := []struct {
		tier isolation.Tier
		want []string
	}{
		{isolation.TierSilo, []string{
			tRG + " rg-acme-prod <- " + root,
			tNSG + " nsg-acme-prod <- " + network,
			tRT + " rt-acme-prod <- " + network,
			tVNet + " vnet-acme-prod <- " + network,
			tSubnet + " vnet-acme-prod/nodes <- " + network,
			tSubnet + " vnet-acme-prod/endpoints <- " + network,
			tPeering + " vnet-acme-prod/to-hub <- " + network,
			tPeering + " vnet-hub-prod/to-acme <- " + network,
			tRole + " Network Contributor @ " + vnetID + "/subnets/nodes <- " + compute,
			TypeAgentPool + " aks-shared-prod/" + tenantplan.AgentPoolName("acme") + " <- " + compute,
			TypeUserAssignedIdentity + " id-acme-prod <- " + identity,
			TypeFederatedIdentityCredential + " id-acme-prod/fic-acme <- " + identity,
			tVault + " kv-acme-prod <- " + secrets,
			tRole + " Key Vault Secrets User @ " + arm + "rg-acme-prod/providers/Microsoft.KeyVault/vaults/kv-acme-prod <- " + secrets,
			tPE + " pe-kv-acme-prod <- " + secrets,
			tZoneGroup + " pe-kv-acme-prod/default <- " + secrets,
			tZoneLink + " privatelink.vaultcore.azure.net/vnet-acme-prod <- " + secrets,
			TypeFlexibleServerDatabase + " psql-shared-prod/acme_db <- " + data,
			tPGProv + " postgres <- ",
			tPGRole + " role/t_acme_owner <- " + data,
			tPGMember + " membership/t_acme_owner/" + testEntraAdmin + " <- " + data,
			tPGRole + " role/t_acme_app <- " + data,
			tPGGrant + " grant/acme_db/PUBLIC/database/- <- " + data,
			tPGSchema + " schema/acme_db/app <- " + data,
			tPGGrant + " grant/acme_db/t_acme_app/database/- <- " + data,
			tPGGrant + " grant/acme_db/t_acme_app/schema/app <- " + data,
			tPGGrant + " grant/acme_db/PUBLIC/schema/public <- " + data,
			tPGDefault + " defaults/acme_db/t_acme_owner/app/table/t_acme_app <- " + data,
			tPGDefault + " defaults/acme_db/t_acme_owner/app/sequence/t_acme_app <- " + data,
		}},
		{isolation.TierPool, []string{
			tRG + " rg-acme-prod <- " + root,
			TypeUserAssignedIdentity + " id-acme-prod <- " + identity,
			TypeFederatedIdentityCredential + " id-acme-prod/fic-acme <- " + identity,
			tRole + " Key Vault Secrets User @ " + sharedVault + "/secrets/acme-db-connection <- " + secrets,
			tRole + " Key Vault Secrets User @ " + sharedVault + "/secrets/acme-api-key <- " + secrets,
			tPGProv + " postgres <- ",
			tPGRole + " role/t_acme_owner <- " + data,
			tPGMember + " membership/t_acme_owner/" + testEntraAdmin + " <- " + data,
			tPGRole + " role/t_acme_app <- " + data,
			tPGSchema + " schema/tenants/acme <- " + data,
			tPGGrant + " grant/tenants/t_acme_app/database/- <- " + data,
			tPGGrant + " grant/tenants/t_acme_app/schema/acme <- " + data,
			tPGDefault + " defaults/tenants/t_acme_owner/acme/table/t_acme_app <- " + data,
			tPGDefault + " defaults/tenants/t_acme_owner/acme/sequence/t_acme_app <- " + data,
		}},
		// Scoped references: the tenant reads its own secrets in the shared vault as its own
		// identity, one grant per secret, like a pool tenant.
		{isolation.TierShared, []string{
			tRG + " rg-acme-prod <- " + root,
			TypeUserAssignedIdentity + " id-acme-prod <- " + identity,
			TypeFederatedIdentityCredential + " id-acme-prod/fic-acme <- " + identity,
			tRole + " Key Vault Secrets User @ " + sharedVault + "/secrets/acme-api-key <- " + secrets,
			tPGProv + " postgres <- ",
			tPGRole + " role/t_acme_app <- " + data,
			tPGGrant + " grant/tenants/t_acme_app/database/- <- " + data,
			tPGGrant + " grant/tenants/t_acme_app/schema/tenant_data <- " + data,
			tPGGrant + " grant/tenants/t_acme_app/table/tenant_data <- " + data,
			tPGPolicy + " policy/tenants/tenant_data/orders/t_acme_rows <- " + data,
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec := newRecorder()
			if err := run(t, rec, "tenant.acme.prod", TenantProgram(testInputs("acme", tc.tier))); err != nil {
				t.Fatal(err)
			}
			want := append(append([]string(nil), common...), tc.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, azureTree(rec)); d != "" {
				t.Errorf("resource tree (-want +got):\n%s", d)
			}
		})
	}
}

// untagged are the azure-native types whose API takes no tags.
var untagged = map[string]bool{
	tSubnet: true, tPeering: true, tRole: true, tZoneGroup: true,
	TypeFederatedIdentityCredential: true, TypeFlexibleServerDatabase: true, TypeFlexibleServerAdministrator: true,
}

// Every Azure resource carries exactly the tenant's tags, asks for the pinned provider version
// and goes through the explicit provider, whether typed or registered by token.
func TestTenantTagsVersionAndProvider(t *testing.T) {
	for _, tier := range isolation.Tiers {
		t.Run(string(tier), func(t *testing.T) {
			rec := newRecorder()
			if err := run(t, rec, "tenant.acme.prod", TenantProgram(testInputs("acme", tier))); err != nil {
				t.Fatal(err)
			}
			wantTags := map[string]string{
				tenantplan.TagTenant: "acme", tenantplan.TagTier: string(tier), tenantplan.TagEnvironment: "prod", tenantplan.TagManagedBy: tenantplan.ManagedBy, "cost-center": "cc-acme",
			}
			const providerRef = "urn:pulumi:tenant.acme.prod::tenantctl::pulumi:providers:azure-native::azure::azure-id"
			for _, r := range rec.All() {
				if !strings.HasPrefix(r.Type, "azure-native:") {
					continue
				}
				if r.Version != ProviderVersion {
					t.Errorf("%s %s asks for provider version %q, want %q", r.Type, r.Name, r.Version, ProviderVersion)
				}
				if r.Provider != providerRef {
					t.Errorf("%s %s uses provider %q, want the explicit one", r.Type, r.Name, r.Provider)
				}
				if untagged[r.Type] {
					continue
				}
				if d := cmp.Diff(wantTags, stackstest.StringMap(r.Inputs["tags"])); d != "" {
					t.Errorf("%s %s tags (-want +got):\n%s", r.Type, r.Name, d)
				}
			}
			p := rec.Get(t, tAzureProv, AzureProviderName)
			if d := cmp.Diff(map[string]string{"subscriptionId": testSub, "location": "westeurope", "environment": "public"}, stackstest.StringMap(p.Inputs)); d != "" {
				t.Errorf("azure provider inputs (-want +got):\n%s", d)
			}
		})
	}
}

func TestTenantInvokes(t *testing.T) {
	tests := []struct {
		tier isolation.Tier
		want []string
	}{
		{isolation.TierSilo, []string{"azure-native:authorization:getClientConfig", InvokeGetManagedCluster}},
		{isolation.TierPool, []string{"azure-native:authorization:getClientConfig", InvokeGetManagedCluster}},
		// A shared tenant's identity is federated with the cluster's issuer too.
		{isolation.TierShared, []string{"azure-native:authorization:getClientConfig", InvokeGetManagedCluster}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec := newRecorder()
			if err := run(t, rec, "tenant.acme.prod", TenantProgram(testInputs("acme", tc.tier))); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, rec.invokes); d != "" {
				t.Errorf("invokes (-want +got):\n%s", d)
			}
		})
	}
}
