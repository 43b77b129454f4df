package isolation

import "testing"

// Lines of devEnv: spec 5, target 6, addressSpace 7, [0] 8, platformAddressSpace 9, hub 11,
// sharedCluster 14, name 15, ingressNamespace 16, sharedNamespace 17, sharedVault 18,
// trustedRegistries 22, [0] 23, allowedRoutes 24, capacity 25, cpu 26, memory 27, pods 28,
// storage 29, maxNodes 30.

func TestEnvironmentRules(t *testing.T) {
	const f = "environments/dev.yaml"
	tests := []struct {
		name string
		env  func(t *testing.T) string
		want []wantErr
	}{
		{"valid", func(t *testing.T) string { return devEnv }, nil},
		{"empty spec reports every required field", func(t *testing.T) string {
			return devEnv[:len("apiVersion: runtime.connectsoft.io/v1alpha1\nkind: Environment\nmetadata:\n  name: dev\n")] + "spec: {}\n"
		}, []wantErr{
			{f, "spec.addressSpace", "required: the range every silo VNet must fall inside", 5},
			{f, "spec.capacity.cpu", "required", 5},
			{f, "spec.capacity.memory", "required", 5},
			{f, "spec.capacity.pods", "required: a positive number of pods", 5},
			{f, "spec.sharedCluster.ingressNamespace", "required", 5},
			{f, "spec.sharedCluster.name", "required", 5},
			{f, "spec.sharedCluster.sharedNamespace", "required", 5},
			{f, "spec.sharedDatabase.server", "required", 5},
			{f, "spec.sharedVault.name", "required", 5},
			{f, "spec.target", "required: kubernetes or azure", 5},
			{f, "spec.trustedRegistries", "required", 5},
		}},
		{"name must be a DNS label", func(t *testing.T) string { return sub(t, devEnv, "name: dev", "name: Dev_1") },
			[]wantErr{{f, "metadata.name", `"Dev_1" is not a DNS-1123 label`, 4}}},
		{"azure target needs placement", func(t *testing.T) string { return sub(t, devEnv, "target: kubernetes", "target: azure") },
			[]wantErr{{f, "spec.azure", "required for the azure target", 5}}},
		{"azure placement is checked", func(t *testing.T) string {
			return sub(t, devEnv, "  target: kubernetes\n", "  target: azure\n  azure:\n    subscriptionId: not-a-guid\n    location: West Europe\n")
		}, []wantErr{
			{f, "spec.azure.subscriptionId", "must be a subscription GUID", 8},
			{f, "spec.azure.location", `"West Europe" is not an Azure region name`, 9},
		}},
		{"unknown target and bad production flag", func(t *testing.T) string {
			return sub(t, devEnv, "  target: kubernetes\n", "  target: gcp\n  production: maybe\n")
		}, []wantErr{
			{f, "spec.target", `unknown target "gcp"`, 6},
			{f, "spec.production", "must be true or false", 7},
		}},
		{"registries are hosts", func(t *testing.T) string {
			return sub(t, devEnv, "- connectsoft.azurecr.io", "- https://connectsoft.azurecr.io/team")
		}, []wantErr{{f, "spec.trustedRegistries[0]", `"https://connectsoft.azurecr.io/team" is not a registry host`, 23}}},
		{"namespaces and vault", func(t *testing.T) string {
			return sub(t, devEnv, "sharedNamespace: shared-tenants", "sharedNamespace: platform-ingress", "name: kv-shared-dev", "name: kv--x")
		}, []wantErr{
			{f, "spec.sharedCluster.sharedNamespace", "must differ from ingressNamespace", 17},
			{f, "spec.sharedVault.name", `"kv--x" is not a Key Vault name`, 19},
		}},
		{"shared tables are lowercase identifiers, listed once", func(t *testing.T) string {
			return sub(t, devEnv, "    server: psql-dev\n", "    server: psql-dev\n    tables: [orders, Orders, orders, \"x; drop table y\"]\n")
		}, []wantErr{
			{f, "spec.sharedDatabase.tables[1]", `"Orders" is not a table name`, 22},
			{f, "spec.sharedDatabase.tables[2]", "table orders is listed twice", 22},
			{f, "spec.sharedDatabase.tables[3]", `is not a table name`, 22},
		}},
		{"entraAdmin is the azure target's, for a PostgreSQL server", func(t *testing.T) string {
			return sub(t, devEnv, "    server: psql-dev\n", "    server: psql-dev\n    entraAdmin: tenantctl-deployer\n")
		}, []wantErr{{f, "spec.sharedDatabase.entraAdmin", "only for the azure target", 22}}},
		{"entraAdmin of an azure PostgreSQL server: a principal name", func(t *testing.T) string {
			return sub(t, devEnv, "  target: kubernetes\n", "  target: azure\n  azure:\n    subscriptionId: 00000000-0000-0000-0000-000000000000\n    location: westeurope\n",
				"    server: psql-dev\n", "    server: psql-dev\n    engine: postgresql\n    entraAdmin: tenantctl-prod\n")
		}, nil},
		{"entraAdmin is a role name", func(t *testing.T) string {
			return sub(t, devEnv, "  target: kubernetes\n", "  target: azure\n  azure:\n    subscriptionId: 00000000-0000-0000-0000-000000000000\n    location: westeurope\n",
				"    server: psql-dev\n", "    server: psql-dev\n    entraAdmin: jane.doe@contoso.com\n")
		}, []wantErr{{f, "spec.sharedDatabase.entraAdmin", `"jane.doe@contoso.com" is not a role name tenantctl manages`, 25}}},
		{"entraAdmin means nothing to a SQL Server", func(t *testing.T) string {
			return sub(t, devEnv, "  target: kubernetes\n", "  target: azure\n  azure:\n    subscriptionId: 00000000-0000-0000-0000-000000000000\n    location: westeurope\n",
				"    server: psql-dev\n", "    server: psql-dev\n    engine: sqlserver\n    entraAdmin: admin\n")
		}, []wantErr{{f, "spec.sharedDatabase.entraAdmin", "only for engine postgresql", 26}}},
		{"capacity", func(t *testing.T) string {
			return sub(t, devEnv, `cpu: "4"`, `cpu: "-4"`, "memory: 8Gi", "memory: eight", "pods: 50", "pods: 0", "maxNodes: 3", "maxNodes: -1")
		}, []wantErr{
			{f, "spec.capacity.cpu", "must be greater than zero", 26},
			{f, "spec.capacity.memory", `"eight" is not a quantity`, 27},
			{f, "spec.capacity.pods", "required: a positive number of pods", 28},
			{f, "spec.capacity.maxNodes", "must not be negative", 30},
		}},
		{"allowed routes", func(t *testing.T) string {
			return sub(t, devEnv, "  allowedRoutes: []\n", "  allowedRoutes:\n    - from: platform\n      to: ghost\n      reason: ingress\n    - from: a\n      to: a\n")
		}, []wantErr{
			{f, "spec.allowedRoutes[0].to", `no binding declares tenant "ghost" in environment dev`, 26},
			{f, "spec.allowedRoutes[1].from", `no binding declares tenant "a"`, 28},
			{f, "spec.allowedRoutes[1].reason", "required: say why", 28},
			{f, "spec.allowedRoutes[1].to", "a route from a tenant to itself never crosses a boundary", 29},
			{f, "spec.allowedRoutes[1].to", `no binding declares tenant "a"`, 29},
		}},
		{"platform principals", func(t *testing.T) string {
			return sub(t, devEnv, "  allowedRoutes: []\n", "  allowedRoutes: []\n  platformPrincipals:\n    - {kind: Group, name: platform-admins}\n"+
				"    - {kind: ServiceAccount, name: agent}\n    - {kind: Robot, name: r2}\n    - {kind: User, name: ops, namespace: x}\n")
		}, []wantErr{
			{f, "spec.platformPrincipals[1].namespace", "required for a ServiceAccount", 27},
			{f, "spec.platformPrincipals[2].kind", `unknown kind "Robot"`, 28},
			{f, "spec.platformPrincipals[3].namespace", "only a ServiceAccount has a namespace", 29},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, writeTree(t, map[string]string{f: tc.env(t)}), tc.want)
		})
	}
}

func TestEnvironmentRanges(t *testing.T) {
	const f = "environments/dev.yaml"
	env := sub(t, devEnv, "    - 10.16.0.0/12\n", "    - 10.16.0.1/12\n", "    - 10.16.0.0/16\n", "    - nowhere\n",
		"    sharedNamespace: shared-tenants\n", "    sharedNamespace: shared-tenants\n    podCIDR: 10.244.0.0/33\n")
	checkErrors(t, writeTree(t, map[string]string{f: env}), []wantErr{
		{f, "spec.addressSpace[0]", "10.16.0.1/12 has host bits set; the network is 10.16.0.0/12", 8},
		{f, "spec.platformAddressSpace[0]", `"nowhere" is not a CIDR`, 10},
		{f, "spec.sharedCluster.podCIDR", `"10.244.0.0/33" is not a CIDR`, 18},
	})
}

func TestDuplicateEnvironment(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"environments/a.yaml": devEnv,
		"environments/b.yaml": devEnv,
	})
	checkErrors(t, dir, []wantErr{{"environments/b.yaml", "metadata.name", "duplicate environment dev; first declared at ", 4}})
}
