package azure

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func platformRun(t *testing.T, env *isolation.Environment, rec *recorder) (*PlatformOutputs, error) {
	t.Helper()
	var out *PlatformOutputs
	err := run(t, rec, tenantplan.PlatformStackName(env.Name()), platformProgram(env, func(o *PlatformOutputs) { out = o }))
	return out, err
}

func TestPlatformResourceTree(t *testing.T) {
	const (
		root = "tenantctl:azure:Platform prod"
		net  = "tenantctl:azure:PlatformNetwork prod"
		mon  = "tenantctl:azure:PlatformMonitoring prod"
		sec  = "tenantctl:azure:PlatformSecrets prod"
		data = "tenantctl:azure:PlatformData prod"
		work = "tenantctl:azure:Workloads prod"
	)
	common := []string{
		tAzureProv + " azure <- ", tK8sProv + " k8s <- ",
		root + " <- ", net + " <- " + root, mon + " <- " + root, sec + " <- " + root, data + " <- " + root, work + " <- " + root,
		kubernetes.TypePlatform + " prod <- " + work,
		tVNet + " vnet-hub-prod <- " + net,
		tZone + " privatelink.vaultcore.azure.net <- " + net,
		tZoneLink + " privatelink.vaultcore.azure.net/vnet-hub-prod <- " + net,
		tWorkspace + " log-tenantctl-prod <- " + mon,
		tVault + " kv-shared-prod <- " + sec,
	}
	tests := []struct {
		name string
		env  func() *isolation.Environment
		want []string
	}{
		// The cluster lives in the platform resource group, which therefore exists already and is
		// not claimed; the hub's group is created.
		{"postgres, cluster in the platform group", testEnv, []string{
			tRG + " rg-hub-prod <- " + root,
			TypeFlexibleServer + " psql-shared-prod <- " + data,
			TypeFlexibleServerAdministrator + " psql-shared-prod/" + testEntraAdmin + " <- " + data,
			TypeFlexibleServerDatabase + " psql-shared-prod/tenants <- " + data,
			// The objects inside the shared database, as on the kubernetes target; Azure
			// creates the database itself, so PUBLIC's access to it is a grant.
			tPGProv + " postgres <- ",
			tPGRole + " role/tenantctl_platform_owner <- " + data,
			tPGMember + " membership/tenantctl_platform_owner/" + testEntraAdmin + " <- " + data,
			tPGGrant + " grant/tenants/PUBLIC/database/- <- " + data,
			tPGSchema + " schema/tenants/tenant_data <- " + data,
			tPGGrant + " grant/tenants/PUBLIC/schema/public <- " + data,
			tPGTable + " table/tenants/tenant_data/orders <- " + data,
			tPGRLS + " rls/tenants/tenant_data/orders <- " + data,
		}},
		{"sql server, cluster in its own group", func() *isolation.Environment {
			env := testEnv()
			env.Spec.SharedCluster.ResourceGroup = "rg-aks-prod"
			env.Spec.SharedDatabase = isolation.DatabaseSpec{Server: "sql-shared-prod", Engine: "sqlserver", ResourceGroup: "rg-hub-prod"}
			return env
		}, []string{
			tRG + " rg-platform-prod <- " + root,
			tRG + " rg-hub-prod <- " + root,
			tSQLServer + " sql-shared-prod <- " + data,
			tSQLDB + " sql-shared-prod/tenants <- " + data,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			if _, err := platformRun(t, tc.env(), rec); err != nil {
				t.Fatal(err)
			}
			want := append(append([]string(nil), common...), tc.want...)
			sort.Strings(want)
			var got []string
			for _, r := range rec.All() {
				if strings.HasPrefix(r.Type, "kubernetes:") || (strings.HasPrefix(r.Type, "tenantctl:") && !strings.HasPrefix(r.Type, "tenantctl:azure:") && r.Type != kubernetes.TypePlatform) {
					continue
				}
				got = append(got, r.Type+" "+r.Name+" <- "+r.Parent)
			}
			sort.Strings(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("resource tree (-want +got):\n%s", d)
			}
			wantTags := map[string]string{tenantplan.TagOwner: "platform", tenantplan.TagEnvironment: "prod", tenantplan.TagManagedBy: "tenantctl", "cost-center": "platform"}
			for _, r := range rec.All() {
				if !strings.HasPrefix(r.Type, "azure-native:") {
					continue
				}
				if r.Version != ProviderVersion {
					t.Errorf("%s %s asks for provider version %q", r.Type, r.Name, r.Version)
				}
				if untagged[r.Type] {
					continue
				}
				if d := cmp.Diff(wantTags, stackstest.StringMap(r.Inputs["tags"])); d != "" {
					t.Errorf("%s %s tags (-want +got):\n%s", r.Type, r.Name, d)
				}
			}
		})
	}
}

func TestPlatformResources(t *testing.T) {
	rec := newRecorder()
	out, err := platformRun(t, testEnv(), rec)
	if err != nil {
		t.Fatal(err)
	}
	hub := rec.Get(t, tVNet, "vnet-hub-prod")
	if hub.Inputs["resourceGroupName"] != "rg-hub-prod" || cmp.Diff([]string{"10.64.0.0/22"}, stackstest.StringSlice(stackstest.Path(hub.Inputs, "addressSpace.addressPrefixes"))) != "" {
		t.Errorf("hub vnet = %v", hub.Inputs)
	}
	vault := rec.Get(t, tVault, "kv-shared-prod")
	for k, want := range map[string]any{"enableRbacAuthorization": true, "enablePurgeProtection": true, "publicNetworkAccess": "Disabled", "tenantId": testTenantID} {
		if got := stackstest.Path(vault.Inputs, "properties."+k); got != want {
			t.Errorf("shared vault %s = %v, want %v", k, got, want)
		}
	}
	srv := rec.Get(t, TypeFlexibleServer, "psql-shared-prod")
	wantServer := map[string]any{
		"resourceGroupName": "rg-platform-prod", "serverName": "psql-shared-prod", "location": "westeurope", "version": PostgresVersion,
		"sku":              map[string]any{"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
		"storage":          map[string]any{"storageSizeGB": float64(128)},
		"authConfig":       map[string]any{"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": testTenantID},
		"backup":           map[string]any{"backupRetentionDays": float64(35), "geoRedundantBackup": "Disabled"},
		"highAvailability": map[string]any{"mode": "ZoneRedundant"},
		"tags":             map[string]any{tenantplan.TagOwner: "platform", tenantplan.TagEnvironment: "prod", tenantplan.TagManagedBy: "tenantctl", "cost-center": "platform"},
	}
	if d := cmp.Diff(wantServer, srv.Inputs); d != "" {
		t.Errorf("flexible server (-want +got):\n%s", d)
	}
	if !rec.Get(t, TypeFlexibleServerDatabase, "psql-shared-prod/tenants").Retain {
		t.Error("the shared tenants' database is not retained on delete in production")
	}
	ws := rec.Get(t, tWorkspace, "log-tenantctl-prod")
	if stackstest.Path(ws.Inputs, "sku.name") != "PerGB2018" || ws.Inputs["retentionInDays"] != float64(90) {
		t.Errorf("workspace = %v", ws.Inputs)
	}

	want := PlatformOutputs{
		PlatformOutputs:        tenantplan.PlatformOutputs{Environment: "prod", IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants", AdmissionPolicies: tenantplan.AdmissionPolicyNames},
		ResourceGroup:          "rg-platform-prod",
		HubVNetID:              hubVNet,
		SharedVaultID:          arm + "rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-shared-prod",
		SharedVaultURI:         "https://kv-shared-prod.vault.azure.net/",
		SharedDatabaseServerID: arm + "rg-platform-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-shared-prod",
		SharedDatabase:         "tenants",
		LogAnalyticsWorkspace:  arm + "rg-platform-prod/providers/Microsoft.OperationalInsights/workspaces/log-tenantctl-prod",
		VaultDNSZoneID:         arm + "rg-platform-prod/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net",
		ClusterID:              arm + "rg-platform-prod/providers/Microsoft.ContainerService/managedClusters/aks-shared-prod",
		OIDCIssuerURL:          testIssuer,
	}
	if d := cmp.Diff(want, *out); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
}

// The platform stack's exports decode into what tenant stacks consume.
func TestPlatformExportsFeedTenantStacks(t *testing.T) {
	rec := newRecorder()
	out, err := platformRun(t, testEnv(), rec)
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]any{}
	for k, v := range out.Map() {
		switch x := v.(type) {
		case pulumi.String:
			exported[k] = string(x)
		case pulumi.StringArray:
			var l []any
			for _, s := range x {
				l = append(l, string(s.(pulumi.String)))
			}
			exported[k] = l
		default:
			t.Fatalf("export %s is %T, want a plain value", k, v)
		}
	}
	got, err := tenantplan.PlatformOutputsFromMap(exported)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(out.PlatformOutputs, got); d != "" {
		t.Errorf("decoded platform outputs (-want +got):\n%s", d)
	}
	if err := got.Check(testEnv()); err != nil {
		t.Errorf("tenant stacks would refuse these outputs: %v", err)
	}
}

func TestPlatformProgramRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(env *isolation.Environment, rec *recorder)
		wantErr string
	}{
		{"kubernetes environment", func(env *isolation.Environment, _ *recorder) { env.Spec.Target = isolation.TargetKubernetes }, `has target "kubernetes"`},
		{"no hub range", func(env *isolation.Environment, _ *recorder) { env.Spec.Hub.AddressSpace = nil }, "spec.hub.addressSpace is required"},
		{"bad shared vault name", func(env *isolation.Environment, _ *recorder) { env.Spec.SharedVault.Name = "kv_shared" }, "is not a Key Vault name"},
		{"cluster without workload identity", func(_ *isolation.Environment, rec *recorder) {
			rec.cluster["securityProfile"] = resource.NewProperty(resource.PropertyMap{})
		}, "does not have workload identity enabled"},
		{"postgres without its Entra administrator", func(env *isolation.Environment, _ *recorder) { env.Spec.SharedDatabase.EntraAdmin = "" },
			"set spec.sharedDatabase.entraAdmin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := testEnv(), newRecorder()
			tc.mutate(env, rec)
			_, err := platformRun(t, env, rec)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			for _, r := range rec.All() {
				if !strings.HasPrefix(r.Type, "pulumi:providers:") {
					t.Errorf("registered %s %s before failing", r.Type, r.Name)
				}
			}
		})
	}
}

func TestPlatformResourceGroups(t *testing.T) {
	tests := []struct {
		name string
		spec func(env *isolation.Environment)
		want []string
	}{
		{"everything in the cluster's group", func(*isolation.Environment) {}, nil},
		{"example prod layout", func(env *isolation.Environment) {
			env.Spec.Azure.ResourceGroup = "rg-connectsoft-prod"
			env.Spec.Hub.ResourceGroup = "rg-connectsoft-hub-prod"
			env.Spec.SharedCluster.ResourceGroup = "rg-connectsoft-prod"
		}, []string{"rg-connectsoft-hub-prod"}},
		{"all separate", func(env *isolation.Environment) {
			env.Spec.Hub.ResourceGroup = "rg-hub"
			env.Spec.SharedCluster.ResourceGroup = "rg-aks"
			env.Spec.SharedVault.ResourceGroup = "rg-kv"
			env.Spec.SharedDatabase.ResourceGroup = "rg-kv"
		}, []string{"rg-platform-prod", "rg-hub", "rg-kv"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Spec.Hub.ResourceGroup = ""
			tc.spec(env)
			if d := cmp.Diff(tc.want, tenantplan.PlatformResourceGroups(env)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
