package isolation

import (
	"strings"
	"testing"
)

// poolBody is a valid pool binding's spec; line numbers in comments are the file's.
const poolBody = `  tenantId: t
  environment: dev
  tier: pool
  quota:
    cpu: "1"
    memory: 1Gi
    pods: 5
  data:
    schema: t
  secrets:
    - name: db
      keyVaultRef: kv-shared-dev
      secretName: t-db
      currentVersion: 0123456789abcdef0123456789abcdef
  labels:
    team: payments
`

// Lines of poolBody: tenantId 6, environment 7, tier 8, quota 9, cpu 10, memory 11, pods 12,
// data 13, schema 14, secrets 15, name 16, keyVaultRef 17, secretName 18, currentVersion 19,
// labels 20, team 21.

// siloBody is a valid silo binding's spec.
const siloBody = `  tenantId: s
  environment: dev
  tier: silo
  network:
    addressSpace:
      - 10.20.0.0/16
    subnets:
      - name: nodes
        addressPrefix: 10.20.0.0/22
        purpose: nodes
      - name: endpoints
        addressPrefix: 10.20.8.0/24
        purpose: endpoints
  quota:
    cpu: "2"
    memory: 4Gi
    pods: 20
    nodePool:
      min: 1
      max: 3
  data:
    database: s
  secrets:
    - name: db
      keyVaultRef: kv-s-dev
      secretName: s-db
`

// Lines of siloBody: network 9, addressSpace 10, [0] 11, subnets 12, nodes 13-15,
// endpoints 16-18, quota 19, cpu 20, memory 21, pods 22, nodePool 23, min 24, max 25, data 26,
// database 27, secrets 28, name 29, keyVaultRef 30, secretName 31.

// sub replaces old by new in body exactly once, failing the test when old is absent so a case
// cannot silently test the unmodified document.
func sub(t *testing.T, body string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(body, pairs[i]) != 1 {
			t.Fatalf("sub: %q occurs %d times", pairs[i], strings.Count(body, pairs[i]))
		}
		body = strings.Replace(body, pairs[i], pairs[i+1], 1)
	}
	return body
}

func TestBindingRules(t *testing.T) {
	const f = "tenants/t.yaml"
	pem := "-----BEGIN " + "PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	tests := []struct {
		name string
		body func(t *testing.T) string
		want []wantErr
	}{
		{"valid pool", func(t *testing.T) string { return poolBody }, nil},
		{"valid silo", func(t *testing.T) string { return siloBody }, nil},
		{"valid shared with vault URI", func(t *testing.T) string {
			return sub(t, poolBody, "tier: pool", "tier: shared", "keyVaultRef: kv-shared-dev", "keyVaultRef: https://kv-shared-dev.vault.azure.net/")
		}, nil},
		{"valid pool with a stronger data layer", func(t *testing.T) string {
			return sub(t, poolBody, "    schema: t\n", "    database: t\n") + "  overrides:\n    data: dedicated-database\n"
		}, nil},

		{"tenantId not a DNS label", func(t *testing.T) string { return sub(t, poolBody, "tenantId: t", "tenantId: Bad_ID") },
			[]wantErr{{f, "spec.tenantId", `"Bad_ID" is not a DNS-1123 label: lowercase letters`, 6}}},
		{"tenantId too long", func(t *testing.T) string {
			return sub(t, poolBody, "tenantId: t", "tenantId: "+strings.Repeat("a", 64))
		}, []wantErr{{f, "spec.tenantId", "is not a DNS-1123 label: at most 63 characters", 6}}},
		{"tenantId reserved", func(t *testing.T) string { return sub(t, poolBody, "tenantId: t", "tenantId: platform") },
			[]wantErr{{f, "spec.tenantId", `"platform" is reserved for the platform`, 6}}},
		{"tenantId kube- prefix reserved", func(t *testing.T) string { return sub(t, poolBody, "tenantId: t", "tenantId: kube-tenant") },
			[]wantErr{{f, "spec.tenantId", `"kube-tenant" is reserved`, 6}}},
		{"tenantId is a platform namespace", func(t *testing.T) string {
			return sub(t, poolBody, "tenantId: t", "tenantId: shared-tenants")
		}, []wantErr{{f, "spec.tenantId", `"shared-tenants" is a platform namespace of environment dev`, 6}}},
		{"tenantId missing", func(t *testing.T) string { return sub(t, poolBody, "  tenantId: t\n", "") },
			[]wantErr{{f, "spec.tenantId", "required", 5}}},
		{"unknown tier", func(t *testing.T) string { return sub(t, poolBody, "tier: pool", "tier: gold") },
			[]wantErr{{f, "spec.tier", `unknown tier "gold"; want silo, pool or shared`, 8}}},
		{"unknown environment", func(t *testing.T) string { return sub(t, poolBody, "environment: dev", "environment: qa") },
			[]wantErr{{f, "spec.environment", `unknown environment "qa"; declared: dev`, 7}}},

		{"every unknown field with its line", func(t *testing.T) string {
			return sub(t, poolBody, "    pods: 5\n", "    pods: 5\n    gpu: 1\n", "      secretName: t-db\n", "      secretName: t-db\n      value: hunter2\n")
		}, []wantErr{
			{f, "spec.quota.gpu", `unknown field "gpu"`, 13},
			{f, "spec.secrets[0].value", `unknown field "value"`, 20},
		}},
		{"duplicate key", func(t *testing.T) string { return sub(t, poolBody, "  tier: pool\n", "  tier: pool\n  tier: silo\n") },
			[]wantErr{{f, "spec.tier", `duplicate key "tier"; first set at line 8`, 9}}},
		{"wrong types are reported once", func(t *testing.T) string {
			return sub(t, poolBody, "pods: 5", "pods: many", "  labels:\n    team: payments\n", "  labels: [payments]\n")
		}, []wantErr{
			{f, "spec.quota.pods", "must be an integer", 12},
			{f, "spec.labels", "must be a mapping", 20},
		}},
		{"aliases are refused", func(t *testing.T) string {
			return sub(t, poolBody, "memory: 1Gi", "memory: &m 1Gi", "team: payments", "team: *m")
		}, []wantErr{{f, "spec.labels.team", "YAML aliases are not supported", 21}}},

		{"pool declares a VNet", func(t *testing.T) string {
			return sub(t, poolBody, "  quota:\n", "  network:\n    addressSpace: [10.30.0.0/16]\n  quota:\n")
		}, []wantErr{{f, "spec.network", "pool tenants get network policy on the shared cluster, not a VNet", 9}}},
		{"pool declares a node pool", func(t *testing.T) string {
			return sub(t, poolBody, "    pods: 5\n", "    pods: 5\n    nodePool: {min: 1, max: 2}\n")
		}, []wantErr{{f, "spec.quota.nodePool", "only silo tenants get a dedicated node pool", 13}}},
		{"quota above capacity", func(t *testing.T) string {
			return sub(t, poolBody, `cpu: "1"`, `cpu: "5"`, "memory: 1Gi", "memory: 9Gi", "pods: 5", "pods: 51", "    pods: 51\n", "    pods: 51\n    storage: 21Gi\n")
		}, []wantErr{
			{f, "spec.quota.cpu", "5 exceeds the environment's per-tenant capacity of 4 (", 10},
			{f, "spec.quota.memory", "9Gi exceeds the environment's per-tenant capacity of 8Gi (", 11},
			{f, "spec.quota.pods", "51 exceeds the environment's per-tenant capacity of 50 (", 12},
			{f, "spec.quota.storage", "21Gi exceeds the environment's per-tenant capacity of 20Gi (", 13},
		}},
		{"negative, zero and malformed quota", func(t *testing.T) string {
			return sub(t, poolBody, `cpu: "1"`, `cpu: "0"`, "memory: 1Gi", "memory: -1Gi", "pods: 5", "pods: -1", "    pods: -1\n", "    pods: -1\n    storage: lots\n")
		}, []wantErr{
			{f, "spec.quota.cpu", "must be greater than zero", 10},
			{f, "spec.quota.memory", "must not be negative", 11},
			{f, "spec.quota.pods", "must not be negative", 12},
			{f, "spec.quota.storage", `"lots" is not a quantity`, 13},
		}},
		{"pool without cpu and pods", func(t *testing.T) string {
			return sub(t, poolBody, "    cpu: \"1\"\n", "", "    pods: 5\n", "")
		}, []wantErr{
			{f, "spec.quota.cpu", "required for pool and shared tenants", 9},
			{f, "spec.quota.pods", "required for pool tenants: a positive pod count", 9},
		}},

		{"silo without network", func(t *testing.T) string {
			return sub(t, siloBody, siloBody[strings.Index(siloBody, "  network:"):strings.Index(siloBody, "  quota:")], "")
		}, []wantErr{{f, "spec.network", "required for silo tenants", 5}}},
		{"CIDR with host bits and a malformed one", func(t *testing.T) string {
			return sub(t, siloBody, "- 10.20.0.0/16", "- 10.20.0.1/16", "addressPrefix: 10.20.8.0/24", "addressPrefix: 10.20.8.0/33")
		}, []wantErr{
			{f, "spec.network.addressSpace[0]", "10.20.0.1/16 has host bits set; the network is 10.20.0.0/16", 11},
			{f, "spec.network.subnets[1].addressPrefix", `"10.20.8.0/33" is not a CIDR`, 17},
		}},
		{"VNet outside the environment", func(t *testing.T) string {
			return sub(t, siloBody, "- 10.20.0.0/16", "- 192.168.0.0/16", "10.20.0.0/22", "192.168.0.0/22", "10.20.8.0/24", "192.168.8.0/24")
		}, []wantErr{{f, "spec.network.addressSpace[0]", "192.168.0.0/16 is outside the address space of environment dev (", 11}}},
		{"VNet overlaps the platform", func(t *testing.T) string {
			return sub(t, siloBody, "- 10.20.0.0/16", "- 10.16.128.0/17", "10.20.0.0/22", "10.16.128.0/22", "10.20.8.0/24", "10.16.136.0/24")
		}, []wantErr{{f, "spec.network.addressSpace[0]", "10.16.128.0/17 overlaps the platform range 10.16.0.0/16 of environment dev (", 11}}},
		{"VNet contains the platform", func(t *testing.T) string {
			return sub(t, siloBody, "- 10.20.0.0/16", "- 10.16.0.0/14", "10.20.0.0/22", "10.17.0.0/22", "10.20.8.0/24", "10.17.8.0/24")
		}, []wantErr{{f, "spec.network.addressSpace[0]", "10.16.0.0/14 overlaps the platform range 10.16.0.0/16", 11}}},
		{"VNet ranges overlap each other", func(t *testing.T) string {
			return sub(t, siloBody, "      - 10.20.0.0/16\n", "      - 10.20.0.0/16\n      - 10.20.4.0/24\n")
		}, []wantErr{{f, "spec.network.addressSpace[1]", "10.20.4.0/24 overlaps 10.20.0.0/16, another range of this VNet", 12}}},
		{"subnet outside its VNet", func(t *testing.T) string { return sub(t, siloBody, "10.20.8.0/24", "10.21.8.0/24") },
			[]wantErr{{f, "spec.network.subnets[1].addressPrefix", "10.21.8.0/24 is outside the VNet's addressSpace", 17}}},
		{"subnets overlap", func(t *testing.T) string { return sub(t, siloBody, "10.20.8.0/24", "10.20.2.0/24") },
			[]wantErr{{f, "spec.network.subnets[1].addressPrefix", "10.20.2.0/24 overlaps subnet nodes (10.20.0.0/22)", 17}}},
		{"subnet names and purposes", func(t *testing.T) string {
			return sub(t, siloBody, "purpose: nodes", "purpose: workloads", "name: endpoints", "name: nodes", "purpose: endpoints", "purpose: gateway")
		}, []wantErr{
			{f, "spec.network.subnets", "a silo VNet needs a subnet with purpose nodes", 12},
			{f, "spec.network.subnets[1].name", `duplicate subnet name "nodes"; first used by spec.network.subnets[0]`, 16},
			{f, "spec.network.subnets[1].purpose", `unknown purpose "gateway"`, 18},
		}},
		{"silo without node pool", func(t *testing.T) string {
			return sub(t, siloBody, "    nodePool:\n      min: 1\n      max: 3\n", "")
		}, []wantErr{{f, "spec.quota.nodePool", "required for silo tenants", 19}}},
		{"node pool min above max", func(t *testing.T) string { return sub(t, siloBody, "min: 1", "min: 4") },
			[]wantErr{{f, "spec.quota.nodePool.min", "4 is greater than max 3", 24}}},
		{"node pool bounds", func(t *testing.T) string { return sub(t, siloBody, "min: 1", "min: -1", "max: 3", "max: 0") },
			[]wantErr{
				{f, "spec.quota.nodePool.min", "must not be negative", 24},
				{f, "spec.quota.nodePool.max", "must be at least 1", 25},
			}},
		{"node pool above capacity", func(t *testing.T) string { return sub(t, siloBody, "max: 3", "max: 4") },
			[]wantErr{{f, "spec.quota.nodePool.max", "4 exceeds the environment's per-tenant capacity of 3 nodes (", 25}}},

		{"silo without database", func(t *testing.T) string { return sub(t, siloBody, "  data:\n    database: s\n", "") },
			[]wantErr{{f, "spec.data.database", "required: the tenant's dedicated database", 5}}},
		{"pool names a database without override", func(t *testing.T) string { return sub(t, poolBody, "schema: t", "database: t") },
			[]wantErr{
				{f, "spec.data.schema", "required: the tenant's partition", 13},
				{f, "spec.data.database", "pool tenants use the shared database server", 14},
			}},
		{"malformed schema", func(t *testing.T) string { return sub(t, poolBody, "schema: t", `schema: "1-bad"`) },
			[]wantErr{{f, "spec.data.schema", `"1-bad" is not a schema name`, 14}}},

		{"override weakens a layer", func(t *testing.T) string { return poolBody + "  overrides:\n    data: shared-row-filter\n" },
			[]wantErr{{f, "spec.overrides.data", "an override may only strengthen isolation", 23}}},
		{"override of a layer that follows the tier", func(t *testing.T) string { return poolBody + "  overrides:\n    network: dedicated-vnet\n" },
			[]wantErr{{f, "spec.overrides.network", "layer network follows the tier and cannot be overridden", 23}}},
		{"override of an unknown layer", func(t *testing.T) string { return poolBody + "  overrides:\n    storage: dedicated\n" },
			[]wantErr{{f, "spec.overrides.storage", "unknown layer storage", 23}}},
		{"dedicated vault override must leave the shared vault", func(t *testing.T) string {
			return poolBody + "  overrides:\n    secrets: dedicated-vault\n"
		}, []wantErr{{f, "spec.secrets[0].keyVaultRef", "reference the tenant's own vault, not the shared vault kv-shared-dev", 17}}},

		{"PEM block as secret name", func(t *testing.T) string { return sub(t, poolBody, "secretName: t-db", `secretName: "`+pem+`"`) },
			[]wantErr{{f, "spec.secrets[0].secretName", secretValueMessage, 18}}},
		{"JWT as vault reference", func(t *testing.T) string {
			return sub(t, poolBody, "keyVaultRef: kv-shared-dev", "keyVaultRef: eyJhbGciOiJub25lIn0.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl")
		}, []wantErr{{f, "spec.secrets[0].keyVaultRef", secretValueMessage, 17}}},
		{"storage connection string as secret name", func(t *testing.T) string {
			return sub(t, poolBody, "secretName: t-db", `secretName: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=bm90LWEta2V5"`)
		}, []wantErr{{f, "spec.secrets[0].secretName", secretValueMessage, 18}}},
		{"random base64 as secret name", func(t *testing.T) string {
			return sub(t, poolBody, "secretName: t-db", "secretName: t-Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MHh5eg")
		}, []wantErr{{f, "spec.secrets[0].secretName", secretValueMessage, 18}}},
		{"malformed references", func(t *testing.T) string {
			return sub(t, poolBody, "keyVaultRef: kv-shared-dev", "keyVaultRef: https://example.com/vault", "currentVersion: 0123456789abcdef0123456789abcdef", "currentVersion: latest")
		}, []wantErr{
			{f, "spec.secrets[0].keyVaultRef", "must be a Key Vault name or https://<name>.vault.azure.net URI", 17},
			{f, "spec.secrets[0].currentVersion", "must be a Key Vault secret version id (32 hex characters)", 19},
		}},
		{"pool references stay in the shared vault and the tenant's names", func(t *testing.T) string {
			return sub(t, poolBody, "keyVaultRef: kv-shared-dev", "keyVaultRef: kv-other", "secretName: t-db", "secretName: other-db")
		}, []wantErr{
			{f, "spec.secrets[0].keyVaultRef", "pool tenants reference the shared vault kv-shared-dev", 17},
			{f, "spec.secrets[0].secretName", `the name must start with "t-"`, 18},
		}},
		{"silo must not use the shared vault", func(t *testing.T) string {
			return sub(t, siloBody, "keyVaultRef: kv-s-dev", "keyVaultRef: KV-SHARED-DEV")
		},
			[]wantErr{{f, "spec.secrets[0].keyVaultRef", "not the shared vault kv-shared-dev", 30}}},
		{"secret reference fields required and unique", func(t *testing.T) string {
			return sub(t, poolBody, "  labels:\n", "    - name: db\n      secretName: t-db2\n  labels:\n")
		}, []wantErr{
			{f, "spec.secrets[1].keyVaultRef", "required", 20},
			{f, "spec.secrets[1].name", "duplicate secret binding name; first used by spec.secrets[0]", 20},
		}},

		{"reserved and malformed labels", func(t *testing.T) string {
			return sub(t, poolBody, "    team: payments\n", "    tenant: other\n    runtime.connectsoft.io/owner: x\n    team: bad value!\n")
		}, []wantErr{
			{f, "spec.labels.tenant", `label key "tenant" is reserved`, 21},
			{f, `spec.labels["runtime.connectsoft.io/owner"]`, "is reserved for the engine", 22},
			{f, "spec.labels.team", "invalid label value", 23},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"environments/dev.yaml": devEnv, f: header + tc.body(t)})
			checkErrors(t, dir, tc.want)
		})
	}
}
