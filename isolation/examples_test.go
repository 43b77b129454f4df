package isolation

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExamplesAreValid(t *testing.T) {
	s, err := Load(context.Background(), "../examples/tenants")
	if err != nil {
		t.Fatalf("examples/tenants: %v", err)
	}
	type row struct {
		Stack string
		Tier  Tier
	}
	var got []row
	for _, b := range s.Bindings {
		got = append(got, row{StackName(b), b.Spec.Tier})
	}
	// The demo and the integration tests rely on one tenant per tier in dev.
	want := []row{{"tenant.acme.dev", TierSilo}, {"tenant.globex.dev", TierPool}, {"tenant.initech.dev", TierShared}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	for _, name := range []string{"dev", "prod"} {
		if s.Environment(name) == nil {
			t.Errorf("environment %s missing", name)
		}
	}
	if s.Environment("prod").Spec.Production != true || s.Environment("dev").Spec.Production != false {
		t.Errorf("production flags: dev=%v prod=%v", s.Environment("dev").Spec.Production, s.Environment("prod").Spec.Production)
	}
	if b := s.Binding("dev", "globex"); b == nil || s.EnvironmentOf(b) != s.Environment("dev") {
		t.Errorf("Binding(dev, globex) = %v", b)
	}
	if got := len(s.BindingsIn("prod")); got != 0 {
		t.Errorf("BindingsIn(prod) = %d bindings, want 0", got)
	}
}

// TestInvalidExamples pins the complete report for examples/invalid: one pass finds every
// mistake in every file.
func TestInvalidExamples(t *testing.T) {
	const env = "environments/dev.yaml"
	checkErrors(t, "../examples/invalid", []wantErr{
		{env, "spec.sharedCluster.nodeCount", `unknown field "nodeCount"`, 20},
		{env, "spec.trustedRegistries[1]", `"https://registry.example.com/team" is not a registry host`, 27},
		{"environments/more.yaml", "apiVersion", `unsupported apiVersion "v1"`, 1},
		{"environments/more.yaml", "kind", `unknown kind "ConfigMap"`, 2},
		{"environments/more.yaml", "metadata.name", "duplicate environment dev; first declared at ../examples/invalid/environments/dev.yaml:1", 9},
		{"environments/more.yaml", "spec.target", `unknown target "gcp"`, 11},
		{"environments/more.yaml", "spec.addressSpace[0]", "10.16.0.1/12 has host bits set", 13},
		{"environments/more.yaml", "spec.capacity.cpu", "must be greater than zero", 25},
		{"tenants/identity.yaml", "spec.tenantId", `"Acme_Corp" is not a DNS-1123 label`, 6},
		{"tenants/identity.yaml", "spec.tier", `unknown tier "gold"`, 8},
		{"tenants/identity.yaml", "spec.tenantId", `"kube-system" is reserved for the platform`, 15},
		{"tenants/identity.yaml", "spec.environment", `unknown environment "staging"; declared: dev`, 16},
		{"tenants/identity.yaml", "spec.password", `unknown field "password"`, 33},
		{"tenants/identity.yaml", "spec.quota.gpu", `unknown field "gpu"`, 37},
		{"tenants/identity.yaml", "spec.tenantId", `duplicate binding for tenant "hooli" in environment "dev"; first declared at ../examples/invalid/tenants/identity.yaml:25`, 47},
		{"tenants/network.yaml", "spec.network.subnets[1].addressPrefix", "10.21.0.0/24 is outside the VNet's addressSpace", 17},
		{"tenants/network.yaml", "spec.network.addressSpace[0]", "10.20.128.0/17 overlaps 10.20.0.0/16 of tenant stark (../examples/invalid/tenants/network.yaml:11)", 34},
		{"tenants/network.yaml", "spec.network.addressSpace[1]", "10.16.4.0/22 overlaps the platform range 10.16.0.0/16 of environment dev (../examples/invalid/environments/dev.yaml:11)", 35},
		{"tenants/network.yaml", "spec.network.addressSpace[0]", "192.168.0.0/16 is outside the address space of environment dev (../examples/invalid/environments/dev.yaml:8)", 55},
		{"tenants/network.yaml", "spec.quota.nodePool.max", "5 exceeds the environment's per-tenant capacity of 3 nodes (../examples/invalid/environments/dev.yaml:32)", 61},
		{"tenants/network.yaml", "spec.network", "pool tenants get network policy on the shared cluster, not a VNet", 73},
		{"tenants/quota-secrets.yaml", "spec.quota.cpu", "8 exceeds the environment's per-tenant capacity of 4 (../examples/invalid/environments/dev.yaml:29)", 10},
		{"tenants/quota-secrets.yaml", "spec.quota.memory", "must not be negative", 11},
		{"tenants/quota-secrets.yaml", "spec.quota.pods", "100 exceeds the environment's per-tenant capacity of 50", 12},
		{"tenants/quota-secrets.yaml", "spec.secrets[0].keyVaultRef", secretValueMessage, 30},
		{"tenants/quota-secrets.yaml", "spec.secrets[1].secretName", secretValueMessage, 34},
		{"tenants/quota-secrets.yaml", "spec.secrets[2].keyVaultRef", "shared tenants reference the shared vault kv-connectsoft-dev", 36},
		{"tenants/quota-secrets.yaml", "spec.secrets[2].secretName", `the name must start with "tyrell-"`, 37},
		{"tenants/quota-secrets.yaml", "spec.secrets[2].currentVersion", "must be a Key Vault secret version id", 38},
		{"tenants/syntax.yaml", "", "invalid YAML: did not find expected ',' or ']'", 6},
	})
}
