package azure

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// tenantMarks are the strings that identify a fixture tenant: its id (which every name it owns
// contains) and the start of its address range.
func tenantMarks(id string) []string {
	return []string{id, fmt.Sprintf("10.%d.", tenantSpecs[id])}
}

// No resource of one tenant's stack names, scopes to or addresses another tenant: not in its
// inputs, not in its ARM id. Tenants of every tier are checked against each other.
func TestNoCrossTenantReferences(t *testing.T) {
	type run struct {
		id   string
		tier isolation.Tier
	}
	runs := []run{{"acme", isolation.TierSilo}, {"globex", isolation.TierSilo}, {"initech", isolation.TierPool}, {"globex", isolation.TierShared}}
	recs := map[run]*recorder{}
	for _, r := range runs {
		rec, _ := tenantRun(t, testBinding(r.id, r.tier), testEnv())
		recs[r] = rec
	}
	// The check can only fail if a stack's own marks do show up in its resources.
	for _, r := range runs {
		var all []string
		for _, res := range recs[r].All() {
			stackstest.Strings(res.Inputs, &all)
		}
		marks := tenantMarks(r.id)
		if r.tier != isolation.TierSilo {
			marks = marks[:1]
		}
		for _, mark := range marks {
			if !strings.Contains(strings.Join(all, "\n"), mark) {
				t.Errorf("stack of %s (%s) never mentions %q; the cross-tenant check would be vacuous", r.id, r.tier, mark)
			}
		}
	}
	for _, a := range runs {
		for _, b := range runs {
			if a.id == b.id {
				continue
			}
			for _, res := range recs[b].All() {
				var all []string
				stackstest.Strings(res.Inputs, &all)
				all = append(all, res.Name, res.ID)
				for _, s := range all {
					for _, mark := range tenantMarks(a.id) {
						if strings.Contains(s, mark) {
							t.Errorf("stack of %s (%s): %s %s references %s: %q", b.id, b.tier, res.Type, res.Name, a.id, s)
						}
					}
				}
			}
		}
	}
}

// Resources a tenant stack creates outside its own resource group (in the hub's, the cluster's,
// the platform's) are named after the tenant, so its stack can only ever own, and on destroy
// delete, objects of its own there. Role assignments are scoped to the tenant's resources or to
// single secrets under its prefix in the shared vault.
func TestTenantResourcesStayInScope(t *testing.T) {
	sharedVault := arm + "rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-shared-prod/secrets/"
	for _, tier := range isolation.Tiers {
		t.Run(string(tier), func(t *testing.T) {
			rec, _ := tenantRun(t, testBinding("globex", tier), testEnv())
			own := "rg-globex-prod"
			for _, r := range rec.All() {
				rg, _ := r.Inputs["resourceGroupName"].(string)
				if strings.HasPrefix(r.Type, "azure-native:") && rg != "" && rg != own {
					named := strings.Contains(r.Name, "globex") || strings.Contains(r.Name, tenantplan.AgentPoolName("globex"))
					if !named {
						t.Errorf("%s %s in shared resource group %s is not named after the tenant", r.Type, r.Name, rg)
					}
				}
				if r.Type != tRole {
					continue
				}
				scope := r.Inputs["scope"].(string)
				if !strings.HasPrefix(scope, arm+own+"/") && !strings.HasPrefix(scope, sharedVault+"globex-") {
					t.Errorf("role assignment scope %s is outside the tenant's resources", scope)
				}
			}
		})
	}
}

func TestTenantProgramRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(b *isolation.RuntimeTenantBinding, env *isolation.Environment, rec *recorder)
		tier    isolation.Tier
		wantErr string
		// planOnly errors fail before any resource, providers included, is registered.
		planOnly bool
	}{
		{name: "kubernetes environment", tier: isolation.TierPool, planOnly: true, wantErr: `has target "kubernetes"`,
			mutate: func(_ *isolation.RuntimeTenantBinding, env *isolation.Environment, _ *recorder) {
				env.Spec.Target = isolation.TargetKubernetes
			}},
		{name: "no azure spec", tier: isolation.TierPool, planOnly: true, wantErr: "spec.azure.subscriptionId and location are required",
			mutate: func(_ *isolation.RuntimeTenantBinding, env *isolation.Environment, _ *recorder) { env.Spec.Azure = nil }},
		{name: "unknown database engine", tier: isolation.TierPool, planOnly: true, wantErr: `sharedDatabase.engine "mysql"`,
			mutate: func(_ *isolation.RuntimeTenantBinding, env *isolation.Environment, _ *recorder) {
				env.Spec.SharedDatabase.Engine = "mysql"
			}},
		{name: "two dedicated vaults", tier: isolation.TierSilo, planOnly: true, wantErr: "a SecretProviderClass reads one vault",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Secrets = append(b.Spec.Secrets, isolation.SecretBinding{Name: "x", KeyVaultRef: "kv-acme-other", SecretName: "x"})
			}},
		{name: "dedicated vault is the shared one", tier: isolation.TierSilo, planOnly: true, wantErr: "references the shared vault kv-shared-prod",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Secrets[0].KeyVaultRef = "kv-shared-prod"
			}},
		{name: "silo without endpoints subnet", tier: isolation.TierSilo, planOnly: true, wantErr: "needs a subnet with purpose endpoints",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Network.Subnets = b.Spec.Network.Subnets[:1]
			}},
		{name: "silo without nodes subnet", tier: isolation.TierSilo, planOnly: true, wantErr: "needs a subnet with purpose nodes",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Network.Subnets = b.Spec.Network.Subnets[1:]
			}},
		{name: "pool secret outside its prefix", tier: isolation.TierPool, planOnly: true, wantErr: `"globex-db" is outside the tenant's prefix "acme-"`,
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Secrets[0].SecretName = "globex-db"
			}},
		{name: "pool secret in another vault", tier: isolation.TierPool, planOnly: true, wantErr: "reads the shared vault kv-shared-prod only",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Secrets[0].KeyVaultRef = "kv-acme-own"
			}},
		{name: "VNet name too long for Azure", tier: isolation.TierSilo, planOnly: true, wantErr: "Azure allows 64",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.TenantID = "acme-" + strings.Repeat("x", 56)
			}},
		{name: "dedicated database named like the shared one", tier: isolation.TierSilo, planOnly: true, wantErr: "is the shared tenants' database",
			mutate: func(b *isolation.RuntimeTenantBinding, _ *isolation.Environment, _ *recorder) {
				b.Spec.Data.Database = "Tenants"
			}},
		{name: "postgres without its Entra administrator", tier: isolation.TierShared, planOnly: true, wantErr: "set spec.sharedDatabase.entraAdmin",
			mutate: func(_ *isolation.RuntimeTenantBinding, env *isolation.Environment, _ *recorder) {
				env.Spec.SharedDatabase.EntraAdmin = ""
			}},
		{name: "no kubeconfig", tier: isolation.TierPool, wantErr: "tenantctl:kubeconfig is not set",
			mutate: func(*isolation.RuntimeTenantBinding, *isolation.Environment, *recorder) {}},
		{name: "provider in another subscription", tier: isolation.TierShared, wantErr: "runs in subscription 22222222-",
			mutate: func(_ *isolation.RuntimeTenantBinding, _ *isolation.Environment, rec *recorder) {
				rec.subscription = "22222222-2222-3333-4444-555555555555"
			}},
		{name: "cluster without OIDC issuer", tier: isolation.TierPool, wantErr: "has no OIDC issuer",
			mutate: func(_ *isolation.RuntimeTenantBinding, _ *isolation.Environment, rec *recorder) {
				rec.cluster["oidcIssuerProfile"] = resource.NewProperty(resource.PropertyMap{"enabled": resource.NewProperty(false)})
			}},
		{name: "cluster without workload identity", tier: isolation.TierSilo, wantErr: "does not have workload identity enabled",
			mutate: func(_ *isolation.RuntimeTenantBinding, _ *isolation.Environment, rec *recorder) {
				delete(rec.cluster, "securityProfile")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, env, rec := testBinding("acme", tc.tier), testEnv(), newRecorder()
			tc.mutate(b, env, rec)
			cfg := testConfig
			if tc.name == "no kubeconfig" {
				cfg = map[string]string{}
			}
			in := tenantplan.Inputs{Binding: b, Env: env, Platform: testPlatform()}
			err := stackstest.Run(TenantProgram(in), "tenant.acme.prod", rec, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if tc.planOnly && len(rec.All()) > 0 {
				t.Errorf("registered %v before rejecting the input", rec.Pairs())
			}
			for _, r := range rec.All() {
				if !strings.HasPrefix(r.Type, "pulumi:providers:") {
					t.Errorf("registered %s %s before failing", r.Type, r.Name)
				}
			}
		})
	}
}
