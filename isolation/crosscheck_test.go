package isolation

import (
	"strings"
	"testing"
)

// binding returns a binding document named name with the given spec body.
func binding(name, body string) string {
	return strings.Replace(header, "name: t-dev", "name: "+name, 1) + body
}

// envNamed returns devEnv renamed, with its own shared vault.
func envNamed(t *testing.T, name string) string {
	return sub(t, devEnv, "name: dev", "name: "+name, "name: kv-shared-dev", "name: kv-shared-"+name)
}

func TestCrossFileRules(t *testing.T) {
	tests := []struct {
		name  string
		files func(t *testing.T) map[string]string
		want  []wantErr
	}{
		{"one tenant in two environments is fine", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml":  devEnv,
				"environments/prod.yaml": envNamed(t, "prod"),
				"tenants/t-dev.yaml":     binding("t-dev", poolBody),
				"tenants/t-prod.yaml":    binding("t-prod", sub(t, poolBody, "environment: dev", "environment: prod", "kv-shared-dev", "kv-shared-prod")),
				"tenants/s-dev.yaml":     binding("s-dev", siloBody),
				"tenants/s-prod.yaml":    binding("s-prod", sub(t, siloBody, "environment: dev", "environment: prod")),
			}
		}, nil},
		{"duplicate tenant and binding name", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv,
				"tenants/a.yaml":        binding("t-dev", poolBody),
				"tenants/b.yaml":        binding("t-dev", sub(t, poolBody, "schema: t", "schema: t2")),
			}
		}, []wantErr{
			{"tenants/b.yaml", "metadata.name", `duplicate binding name "t-dev"; first declared at `, 4},
			{"tenants/b.yaml", "spec.tenantId", `duplicate binding for tenant "t" in environment "dev"; first declared at `, 6},
		}},
		{"dashes in tenant ids and environments never make stack names collide", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/c.yaml":   envNamed(t, "c"),
				"environments/b-c.yaml": envNamed(t, "b-c"),
				"tenants/1.yaml":        binding("one", sub(t, poolBody, "tenantId: t", "tenantId: a-b", "environment: dev", "environment: c", "  secrets:\n    - name: db\n      keyVaultRef: kv-shared-dev\n      secretName: t-db\n      currentVersion: 0123456789abcdef0123456789abcdef\n", "")),
				"tenants/2.yaml":        binding("two", sub(t, poolBody, "tenantId: t", "tenantId: a", "environment: dev", "environment: b-c", "  secrets:\n    - name: db\n      keyVaultRef: kv-shared-dev\n      secretName: t-db\n      currentVersion: 0123456789abcdef0123456789abcdef\n", "")),
			}
		}, nil},
		{"silo VNets overlap across files", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv,
				"tenants/s1.yaml":       binding("s1-dev", sub(t, siloBody, "tenantId: s", "tenantId: s1", "database: s", "database: s1", "kv-s-dev", "kv-s1-dev", "s-db", "s1-db")),
				"tenants/s2.yaml":       binding("s2-dev", sub(t, siloBody, "tenantId: s", "tenantId: s2", "database: s", "database: s2", "kv-s-dev", "kv-s2-dev", "s-db", "s2-db", "- 10.20.0.0/16", "- 10.20.0.0/17")),
			}
		}, []wantErr{{"tenants/s2.yaml", "spec.network.addressSpace[0]", "10.20.0.0/17 overlaps 10.20.0.0/16 of tenant s1 (", 11}}},
		{"dedicated database, partition and vault belong to one tenant", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv,
				"tenants/s1.yaml":       binding("s1-dev", sub(t, siloBody, "tenantId: s", "tenantId: s1", "s-db", "s1-db")),
				"tenants/s2.yaml":       binding("s2-dev", sub(t, siloBody, "tenantId: s", "tenantId: s2", "s-db", "s2-db", "10.20.0.0/16", "10.21.0.0/16", "10.20.0.0/22", "10.21.0.0/22", "10.20.8.0/24", "10.21.8.0/24")),
				"tenants/t.yaml":        binding("t-dev", poolBody),
				"tenants/u.yaml":        binding("u-dev", sub(t, poolBody, "tenantId: t", "tenantId: u", "t-db", "u-db")),
			}
		}, []wantErr{
			{"tenants/s2.yaml", "spec.data.database", `database "s" is already the dedicated database of tenant s1 (`, 27},
			{"tenants/s2.yaml", "spec.secrets[0].keyVaultRef", "vault kv-s-dev is the dedicated vault of tenant s1 (", 30},
			{"tenants/u.yaml", "spec.data.schema", `schema "t" is also used by tenant t (`, 14},
		}},
		{"dedicated vault that is another environment's shared vault", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml":  devEnv,
				"environments/prod.yaml": envNamed(t, "prod"),
				"tenants/s.yaml":         binding("s-dev", sub(t, siloBody, "kv-s-dev", "kv-shared-prod")),
			}
		}, []wantErr{{"tenants/s.yaml", "spec.secrets[0].keyVaultRef", "vault kv-shared-prod is the shared vault of environment prod", 30}}},
		{"a shared-vault name inside another tenant's prefix", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv,
				"tenants/t.yaml":        binding("t-dev", sub(t, poolBody, "secretName: t-db", "secretName: t-x-db")),
				"tenants/tx.yaml":       binding("tx-dev", sub(t, poolBody, "tenantId: t", "tenantId: t-x", "schema: t", "schema: tx", "secretName: t-db", "secretName: t-x-db")),
			}
		}, []wantErr{{"tenants/t.yaml", "spec.secrets[0].secretName", `"t-x-db" is inside the prefix "t-x-" of tenant t-x in the shared vault`, 18}}},
		{"a silo tenant reads one dedicated vault", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv,
				"tenants/s.yaml":        binding("s-dev", siloBody+"    - name: other\n      keyVaultRef: kv-s-other\n      secretName: s-other\n"),
			}
		}, []wantErr{{"tenants/s.yaml", "spec.secrets[1].keyVaultRef", "a tenant has one dedicated vault, and spec.secrets[0].keyVaultRef already names kv-s-dev", 33}}},
		// Keys are not checked against the bindings: a stack's config holds its environment and
		// one binding only (cmd/tenantctl-program), which must validate alone.
		{"declared workload identities: GUIDs, one identity each", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": devEnv + `  workloadIdentity:
    tenantId: not-a-guid
    clientIds:
      t: 11111111-1111-4111-8111-111111111111
      s: 11111111-1111-4111-8111-111111111111
      ghost: 22222222-2222-4222-8222-222222222222
`,
				"tenants/t.yaml": binding("t-dev", poolBody),
				"tenants/s.yaml": binding("s-dev", siloBody),
			}
		}, []wantErr{
			{"environments/dev.yaml", "spec.workloadIdentity.tenantId", "must be a Microsoft Entra tenant id (a GUID)", 32},
			{"environments/dev.yaml", "spec.workloadIdentity.clientIds.t", "is also the identity of tenant s: a shared identity lets each tenant read the other's secrets", 34},
		}},
		{"the azure target declares no workload identities", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": sub(t, devEnv, "target: kubernetes", "target: azure\n  azure: {subscriptionId: 00000000-0000-0000-0000-000000000000, location: westeurope}") +
					"  workloadIdentity:\n    tenantId: 33333333-3333-4333-8333-333333333333\n",
			}
		}, []wantErr{{"environments/dev.yaml", "spec.workloadIdentity", "the azure target creates each tenant's workload identity in its stack", 32}}},
		{"allowed routes name bound tenants", func(t *testing.T) map[string]string {
			return map[string]string{
				"environments/dev.yaml": sub(t, devEnv, "  allowedRoutes: []\n", "  allowedRoutes:\n    - from: t\n      to: s\n      reason: agreed integration\n"),
				"tenants/t.yaml":        binding("t-dev", poolBody),
				"tenants/s.yaml":        binding("s-dev", siloBody),
			}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, writeTree(t, tc.files(t)), tc.want)
		})
	}
}
