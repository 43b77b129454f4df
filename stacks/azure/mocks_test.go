package azure

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const (
	testSub          = "11111111-2222-3333-4444-555555555555"
	testTenantID     = "99999999-8888-7777-6666-555555555555"
	testIssuer       = "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/"
	testDeployer     = "00000000-aaaa-bbbb-cccc-000000000001"
	clusterPrincipal = "00000000-aaaa-bbbb-cccc-0000000000c1"
	// testEntraAdmin is the role of the servers' Entra administrator, the deployer.
	testEntraAdmin = "tenantctl-prod"
)

// recorded is one resource the program registered, as the engine would receive it.
type recorded struct {
	Type, Name    string
	Custom        bool
	Inputs        map[string]any
	Parent        string // "type name" of the parent component, "" for stack children
	Provider      string
	Version       string
	Retain        bool
	IgnoreChanges []string
	ID            string
	// DependsOn are the URNs of the resources it was declared to wait for.
	DependsOn []string
}

func (r recorded) Key() (typ, name string) { return r.Type, r.Name }

// recorder is a pulumi.MockResourceMonitor that keeps every registration, gives Azure resources
// the ARM id Azure would (so ids can be checked for tenant scope), and answers the invokes the
// programs make as a real subscription would.
type recorder struct {
	stackstest.Records[recorded]
	mu      sync.Mutex // guards invokes
	invokes []string
	// cluster is the getManagedCluster response; nil answers as a cluster without OIDC.
	cluster resource.PropertyMap
	// subscription is what getClientConfig reports.
	subscription string
}

func newRecorder() *recorder {
	return &recorder{subscription: testSub, cluster: resource.NewPropertyMapFromMap(map[string]any{
		"id":                "/subscriptions/" + testSub + "/resourceGroups/rg-platform-prod/providers/Microsoft.ContainerService/managedClusters/aks-shared-prod",
		"name":              "aks-shared-prod",
		"oidcIssuerProfile": map[string]any{"enabled": true, "issuerURL": testIssuer},
		"securityProfile":   map[string]any{"workloadIdentity": map[string]any{"enabled": true}},
		"identity":          map[string]any{"type": "SystemAssigned", "principalId": clusterPrincipal},
	})}
}

// armPaths says how the mock builds an ARM id: the provider namespace/type path, and the input
// names of the parent (if any) and of the resource.
var armPaths = map[string]struct{ path, parent, name string }{
	"azure-native:resources:ResourceGroup":       {"", "", "resourceGroupName"},
	"azure-native:network:VirtualNetwork":        {"Microsoft.Network/virtualNetworks", "", "virtualNetworkName"},
	"azure-native:network:Subnet":                {"Microsoft.Network/virtualNetworks", "virtualNetworkName", "subnetName"},
	"azure-native:network:VirtualNetworkPeering": {"Microsoft.Network/virtualNetworks", "virtualNetworkName", "virtualNetworkPeeringName"},
	"azure-native:network:NetworkSecurityGroup":  {"Microsoft.Network/networkSecurityGroups", "", "networkSecurityGroupName"},
	"azure-native:network:RouteTable":            {"Microsoft.Network/routeTables", "", "routeTableName"},
	"azure-native:network:PrivateEndpoint":       {"Microsoft.Network/privateEndpoints", "", "privateEndpointName"},
	"azure-native:network:PrivateDnsZoneGroup":   {"Microsoft.Network/privateEndpoints", "privateEndpointName", "privateDnsZoneGroupName"},
	"azure-native:network:PrivateZone":           {"Microsoft.Network/privateDnsZones", "", "privateZoneName"},
	"azure-native:network:VirtualNetworkLink":    {"Microsoft.Network/privateDnsZones", "privateZoneName", "virtualNetworkLinkName"},
	"azure-native:keyvault:Vault":                {"Microsoft.KeyVault/vaults", "", "vaultName"},
	"azure-native:operationalinsights:Workspace": {"Microsoft.OperationalInsights/workspaces", "", "workspaceName"},
	"azure-native:sql:Server":                    {"Microsoft.Sql/servers", "", "serverName"},
	"azure-native:sql:Database":                  {"Microsoft.Sql/servers", "serverName", "databaseName"},
	TypeAgentPool:                                {"Microsoft.ContainerService/managedClusters", "resourceName", "agentPoolName"},
	TypeFlexibleServer:                           {"Microsoft.DBforPostgreSQL/flexibleServers", "", "serverName"},
	TypeFlexibleServerDatabase:                   {"Microsoft.DBforPostgreSQL/flexibleServers", "serverName", "databaseName"},
	TypeFlexibleServerAdministrator:              {"Microsoft.DBforPostgreSQL/flexibleServers", "serverName", "objectId"},
	TypeUserAssignedIdentity:                     {"Microsoft.ManagedIdentity/userAssignedIdentities", "", "resourceName"},
	TypeFederatedIdentityCredential:              {"Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName", "federatedIdentityCredentialResourceName"},
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	in := args.Inputs.Mappable()
	rec := recorded{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: in, Provider: args.Provider}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Version = rpc.GetVersion()
		rec.Retain = rpc.GetRetainOnDelete()
		rec.IgnoreChanges = rpc.GetIgnoreChanges()
		rec.DependsOn = rpc.GetDependencies()
		if p := resource.URN(rpc.GetParent()); p != "" && p.Type() != resource.RootStackType {
			rec.Parent = string(p.Type()) + " " + p.Name()
		}
	}
	state := args.Inputs.Copy()
	id := args.Name + "-id"
	str := func(k string) string { s, _ := in[k].(string); return s }
	if p, ok := armPaths[args.TypeToken]; ok {
		id = "/subscriptions/" + testSub + "/resourceGroups/" + str("resourceGroupName")
		if p.path != "" {
			id += "/providers/" + p.path + "/"
			if p.parent != "" {
				id += str(p.parent) + "/" + childSegment(args.TypeToken) + "/"
			}
			id += str(p.name)
		}
		state["name"] = resource.NewProperty(str(p.name))
	}
	switch args.TypeToken {
	case "azure-native:authorization:RoleAssignment":
		id = str("scope") + "/providers/Microsoft.Authorization/roleAssignments/" + str("roleAssignmentName")
	case TypeUserAssignedIdentity:
		state["clientId"] = resource.NewProperty("client-" + str("resourceName"))
		state["principalId"] = resource.NewProperty("principal-" + str("resourceName"))
	}
	rec.ID = id
	r.Add(rec)
	return id, state, nil
}

func childSegment(token string) string {
	switch token {
	case "azure-native:network:Subnet":
		return "subnets"
	case "azure-native:network:VirtualNetworkPeering":
		return "virtualNetworkPeerings"
	case "azure-native:network:PrivateDnsZoneGroup":
		return "privateDnsZoneGroups"
	case "azure-native:network:VirtualNetworkLink":
		return "virtualNetworkLinks"
	case TypeAgentPool:
		return "agentPools"
	case TypeFederatedIdentityCredential:
		return "federatedIdentityCredentials"
	case TypeFlexibleServerAdministrator:
		return "administrators"
	}
	return "databases"
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	r.mu.Lock()
	r.invokes = append(r.invokes, args.Token)
	r.mu.Unlock()
	switch args.Token {
	case "azure-native:authorization:getClientConfig":
		return resource.NewPropertyMapFromMap(map[string]any{
			"subscriptionId": r.subscription, "tenantId": testTenantID, "objectId": testDeployer, "clientId": "deployer-client",
		}), nil
	case InvokeGetManagedCluster:
		return r.cluster, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

var testConfig = map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): "/etc/tenantctl/aks.kubeconfig"}

func run(t *testing.T, rec *recorder, stack string, prog pulumi.RunFunc) error {
	t.Helper()
	return stackstest.Run(prog, stack, rec, testConfig)
}

// Fixtures: an azure environment and tenants whose ids, address ranges and names share no
// substring, so a cross-tenant reference shows up as a plain substring match.
func testEnv() *isolation.Environment {
	return &isolation.Environment{
		APIVersion: isolation.APIVersion, Kind: isolation.KindEnvironment,
		Metadata: isolation.ObjectMeta{Name: "prod", Labels: map[string]string{"stage": "prod"}},
		Spec: isolation.EnvironmentSpec{
			Production:           true,
			Target:               isolation.TargetAzure,
			Azure:                &isolation.AzureSpec{SubscriptionID: testSub, Location: "westeurope"},
			AddressSpace:         []string{"10.64.0.0/12"},
			PlatformAddressSpace: []string{"10.64.0.0/16"},
			Hub:                  isolation.HubSpec{VNetName: "vnet-hub-prod", ResourceGroup: "rg-hub-prod", AddressSpace: []string{"10.64.0.0/22"}, FirewallIP: "10.64.0.4"},
			SharedCluster:        isolation.ClusterSpec{Name: "aks-shared-prod", IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants"},
			SharedVault:          isolation.VaultSpec{Name: "kv-shared-prod"},
			SharedDatabase:       isolation.DatabaseSpec{Server: "psql-shared-prod", Engine: "postgresql", Tables: []string{"orders"}, EntraAdmin: testEntraAdmin},
			TrustedRegistries:    []string{"example.azurecr.io"},
			Capacity:             isolation.CapacitySpec{CPU: "16", Memory: "64Gi", Pods: 200, Storage: "1Ti", MaxNodes: 5},
			Labels:               map[string]string{"cost-center": "platform"},
		},
	}
}

func testPlatform() tenantplan.PlatformOutputs {
	return tenantplan.PlatformOutputs{Environment: "prod", IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants",
		AdmissionPolicies: append([]string(nil), tenantplan.AdmissionPolicyNames...)}
}

// tenantSpecs gives every fixture tenant its own second octet.
var tenantSpecs = map[string]int{"acme": 80, "globex": 81, "initech": 82}

func testBinding(id string, tier isolation.Tier) *isolation.RuntimeTenantBinding {
	octet := tenantSpecs[id]
	b := &isolation.RuntimeTenantBinding{
		APIVersion: isolation.APIVersion, Kind: isolation.KindBinding,
		Metadata: isolation.ObjectMeta{Name: id + "-prod"},
		Spec: isolation.BindingSpec{
			TenantID: id, Environment: "prod", Tier: tier,
			Quota:  isolation.QuotaSpec{CPU: "2", Memory: "4Gi", Pods: 20},
			Labels: map[string]string{"cost-center": "cc-" + id},
		},
	}
	switch tier {
	case isolation.TierSilo:
		b.Spec.Network = &isolation.NetworkSpec{
			AddressSpace: []string{fmt.Sprintf("10.%d.0.0/16", octet)},
			Subnets: []isolation.SubnetSpec{
				{Name: "nodes", AddressPrefix: fmt.Sprintf("10.%d.0.0/22", octet), Purpose: isolation.SubnetNodes},
				{Name: "endpoints", AddressPrefix: fmt.Sprintf("10.%d.8.0/24", octet), Purpose: isolation.SubnetEndpoints},
			},
		}
		b.Spec.Quota = isolation.QuotaSpec{CPU: "4", Memory: "8Gi", Pods: 50, NodePool: &isolation.NodePoolSpec{Min: 1, Max: 3, VMSize: "Standard_D8s_v5"}}
		b.Spec.Data = isolation.DataSpec{Database: id + "_db"}
		b.Spec.Secrets = []isolation.SecretBinding{{Name: "db", KeyVaultRef: "kv-" + id + "-prod", SecretName: "db-connection", CurrentVersion: "3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c"}}
	case isolation.TierPool:
		b.Spec.Data = isolation.DataSpec{Schema: id}
		b.Spec.Secrets = []isolation.SecretBinding{
			{Name: "db", KeyVaultRef: "kv-shared-prod", SecretName: id + "-db-connection"},
			{Name: "api", KeyVaultRef: "https://kv-shared-prod.vault.azure.net/", SecretName: id + "-api-key"},
		}
	case isolation.TierShared:
		b.Spec.Secrets = []isolation.SecretBinding{{Name: "api", KeyVaultRef: "kv-shared-prod", SecretName: id + "-api-key"}}
	}
	return b
}

func testInputs(id string, tier isolation.Tier) tenantplan.Inputs {
	return tenantplan.Inputs{Binding: testBinding(id, tier), Env: testEnv(), Platform: testPlatform()}
}
