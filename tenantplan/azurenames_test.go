package tenantplan

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

func TestAgentPoolName(t *testing.T) {
	linuxPool := regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	ids := []string{"acme", "a-b", "ab", "globex-international-holdings", "x", "9lives", strings.Repeat("z", 61)}
	seen := map[string]string{}
	for _, id := range ids {
		n := AgentPoolName(id)
		if !linuxPool.MatchString(n) {
			t.Errorf("AgentPoolName(%q) = %q, not an AKS Linux pool name", id, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("tenants %q and %q share node pool %q", other, id, n)
		}
		seen[n] = id
		if AgentPoolName(id) != n {
			t.Errorf("AgentPoolName(%q) is not deterministic", id)
		}
	}
}

func TestDefaultVaultName(t *testing.T) {
	if got := DefaultVaultName("acme", "prod"); got != "kv-acme-prod" {
		t.Errorf("short name = %q, want kv-acme-prod", got)
	}
	long := "globex-international-holdings"
	a, b := DefaultVaultName(long, "prod"), DefaultVaultName(long, "stage")
	for _, n := range []string{a, b} {
		if v, ok := isolation.VaultName(n); !ok || v != n || len(n) > 24 {
			t.Errorf("DefaultVaultName = %q, not a Key Vault name", n)
		}
	}
	if a == b {
		t.Errorf("one tenant's vaults in two environments share the global name %q", a)
	}
}

func TestRoleAssignmentName(t *testing.T) {
	guidV5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	base := RoleAssignmentName("/subscriptions/s/resourceGroups/rg-acme-prod", "identity:id-acme-prod", RoleKeyVaultSecretsUser)
	if !guidV5.MatchString(base) {
		t.Fatalf("name %q is not a version-5 GUID", base)
	}
	same := RoleAssignmentName("/subscriptions/S/resourceGroups/RG-ACME-PROD", "identity:id-acme-prod", RoleKeyVaultSecretsUser)
	if same != base {
		t.Errorf("ARM ids are case-insensitive, names differ: %s, %s", base, same)
	}
	for _, other := range []string{
		RoleAssignmentName("/subscriptions/s/resourceGroups/rg-globex-prod", "identity:id-acme-prod", RoleKeyVaultSecretsUser),
		RoleAssignmentName("/subscriptions/s/resourceGroups/rg-acme-prod", "identity:id-globex-prod", RoleKeyVaultSecretsUser),
		RoleAssignmentName("/subscriptions/s/resourceGroups/rg-acme-prod", "identity:id-acme-prod", RoleNetworkContributor),
	} {
		if other == base {
			t.Errorf("a different grant got the same name %s", base)
		}
	}
}

func TestTags(t *testing.T) {
	b := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: "acme", Environment: "prod", Tier: isolation.TierPool, Labels: map[string]string{
		"cost-center":        "cc-1",
		"example.com/team":   "payments", // "/" is not allowed in a tag name
		TagTenant:            "globex",   // spelled like tenantctl's own tag
		TagManagedBy:         "someone",
		LabelTenant:          "globex",
		"tenantctl-override": "x",
	}}}
	want := map[string]string{"cost-center": "cc-1", TagTenant: "acme", TagTier: "pool", TagEnvironment: "prod", TagManagedBy: "tenantctl"}
	if d := cmp.Diff(want, TenantTags(b)); d != "" {
		t.Errorf("TenantTags (-want +got):\n%s", d)
	}
}

func TestSecretURI(t *testing.T) {
	tests := []struct {
		ref  SecretRef
		want string
	}{
		{SecretRef{KeyVaultRef: "kv-acme-prod", SecretName: "db", Version: "0a"}, "https://kv-acme-prod.vault.azure.net/secrets/db/0a"},
		{SecretRef{KeyVaultRef: "https://KV-Shared.vault.azure.net/", SecretName: "acme-api"}, "https://kv-shared.vault.azure.net/secrets/acme-api"},
		{SecretRef{KeyVaultRef: "https://kv-cn.vault.azure.cn", SecretName: "acme-x"}, "https://kv-cn.vault.azure.cn/secrets/acme-x"},
	}
	for _, tc := range tests {
		if got := SecretURI(tc.ref); got != tc.want {
			t.Errorf("SecretURI(%+v) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestSecurityRulesDenyOtherTenantsBeforeAzureDefaults(t *testing.T) {
	rules := TenantSecurityRules([]string{"10.80.0.0/16"}, []string{"10.64.0.0/22"}, []string{"10.64.0.0/12"})
	seen := map[string]bool{}
	for _, r := range rules {
		key := fmt.Sprintf("%s/%d", r.Direction, r.Priority)
		if seen[key] {
			t.Errorf("two %s rules with priority %d", r.Direction, r.Priority)
		}
		seen[key] = true
		// Azure's AllowVnetInBound/OutBound sit at 65000; every deny must come first.
		if r.Priority < 100 || r.Priority > 4096 {
			t.Errorf("rule %s priority %d outside Azure's 100-4096", r.Name, r.Priority)
		}
		if (r.SourceAddressPrefix == "") == (len(r.SourceAddressPrefixes) == 0) || (r.DestinationAddressPrefix == "") == (len(r.DestinationAddressPrefixes) == 0) {
			t.Errorf("rule %s must set exactly one of prefix and prefixes per side", r.Name)
		}
	}
}
