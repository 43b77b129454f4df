package kubernetes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// objectID is a Kubernetes object's identity in the cluster: what two stacks must never both own.
func objectID(r recorded) string {
	return fmt.Sprintf("%s %v/%v", r.Type, stackstest.Path(r.Inputs, "metadata.namespace"), stackstest.Path(r.Inputs, "metadata.name"))
}

// TestNoCrossTenantReferences runs two tenants of every tier pairing in one environment, whose
// inputs mention both tenants (an allowed route), and checks that neither stack's objects name,
// select or live in the other tenant's scope, and that no object is owned by both stacks.
func TestNoCrossTenantReferences(t *testing.T) {
	env := testEnv()
	env.Spec.AllowedRoutes = []isolation.AllowedRoute{{From: "acme", To: "globex", Reason: "agreed integration"}}
	for _, ta := range isolation.Tiers {
		for _, tb := range isolation.Tiers {
			t.Run(string(ta)+"-"+string(tb), func(t *testing.T) {
				tenants := map[string]isolation.Tier{"acme": ta, "globex": tb}
				owned := map[string]map[string]bool{}
				for id, tier := range tenants {
					in := tenantplan.Inputs{Binding: testBinding(id, tier), Env: env, Platform: testPlatform()}
					rec, err := run(t, tenantplan.TenantStackName(id, "dev"), testConfig, TenantProgram(in))
					if err != nil {
						t.Fatal(err)
					}
					other := "globex"
					if id == "globex" {
						other = "acme"
					}
					owned[id] = checkTenantScope(t, rec, id, tier, other)
				}
				for obj := range owned["acme"] {
					if owned["globex"][obj] {
						t.Errorf("both tenants' stacks own %s", obj)
					}
				}
			})
		}
	}
}

// checkTenantScope checks one tenant stack's objects and returns their identities.
func checkTenantScope(t *testing.T, rec *recorder, id string, tier isolation.Tier, other string) map[string]bool {
	t.Helper()
	allowedNS := map[string]bool{tenantplan.TenantNamespace(id): true}
	if tier == isolation.TierShared {
		allowedNS = map[string]bool{"shared-tenants": true}
	}
	owned := map[string]bool{}
	for _, r := range rec.All() {
		if !r.Custom || r.Type == tProvider {
			continue
		}
		owned[objectID(r)] = true
		var all []string
		stackstest.Strings(r.Inputs, &all)
		all = append(all, r.Name)
		for _, s := range all {
			if strings.Contains(s, other) {
				t.Errorf("%s %s of %s references %s: %q", r.Type, r.Name, id, other, s)
			}
		}
		if ns, ok := stackstest.Path(r.Inputs, "metadata.namespace").(string); ok && !allowedNS[ns] {
			t.Errorf("%s %s of %s is in namespace %s", r.Type, r.Name, id, ns)
		}
		if r.Type == tNamespace && !allowedNS[stackstest.Path(r.Inputs, "metadata.name").(string)] {
			t.Errorf("%s creates namespace %v", id, stackstest.Path(r.Inputs, "metadata.name"))
		}
		// Every tenant label and selector on the tenant key names this tenant.
		walkTenantKeys(r.Inputs, func(v any) {
			if v != id {
				t.Errorf("%s %s of %s has %s=%v", r.Type, r.Name, id, tenantplan.LabelTenant, v)
			}
		})
		// Subjects granted anything must be this tenant's, in its own scope.
		if subs, ok := r.Inputs["subjects"].([]any); ok {
			for _, s := range subs {
				m := s.(map[string]any)
				if m["name"] != tenantplan.TenantObjectName(id) || !allowedNS[m["namespace"].(string)] {
					t.Errorf("%s %s of %s grants %v", r.Type, r.Name, id, m)
				}
			}
		}
	}
	return owned
}

// walkTenantKeys calls f with every value stored under the tenant label key, in labels,
// matchLabels and node selectors alike.
func walkTenantKeys(v any, f func(any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == tenantplan.LabelTenant {
				f(e)
			}
			walkTenantKeys(e, f)
		}
	case []any:
		for _, e := range x {
			walkTenantKeys(e, f)
		}
	}
}

func TestTenantProgramRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		cfg     map[string]string
		mutate  func(*tenantplan.Inputs)
		wantErr string
	}{
		{name: "no kubeconfig", cfg: map[string]string{}, wantErr: "tenantctl:kubeconfig is not set"},
		{name: "kubeconfig contents instead of a path", cfg: map[string]string{"tenantctl:kubeconfig": "apiVersion: v1\nkind: Config\n"},
			wantErr: "must be a path"},
		{name: "nil binding", mutate: func(in *tenantplan.Inputs) { in.Binding = nil }, wantErr: "binding is nil"},
		{name: "binding of another environment", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Environment = "prod" },
			wantErr: `is for environment "prod", not "dev"`},
		{name: "tenant id not a DNS label", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.TenantID = "Acme_1" }, wantErr: "not a DNS label"},
		{name: "tenant id reserved", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.TenantID = "platform" }, wantErr: "reserved for the platform"},
		{name: "unknown tier", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Tier = "gold" }, wantErr: `unknown tier "gold"`},
		{name: "stale platform outputs", mutate: func(in *tenantplan.Inputs) { in.Platform.SharedNamespace = "old-shared" },
			wantErr: "update the platform stack first"},
		{name: "platform of another environment", mutate: func(in *tenantplan.Inputs) { in.Platform.Environment = "prod" },
			wantErr: "run the platform stack first"},
		{name: "silo without the pinning policy", mutate: func(in *tenantplan.Inputs) {
			in.Binding = testBinding("acme", isolation.TierSilo)
			in.Platform.AdmissionPolicies = []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicyTenantSecrets, tenantplan.PolicySharedTenantIdentity}
		}, wantErr: "does not enforce admission policy " + tenantplan.PolicySiloNodePinning},
		{name: "shared without the identity policy", mutate: func(in *tenantplan.Inputs) {
			in.Binding = testBinding("acme", isolation.TierShared)
			in.Platform.AdmissionPolicies = []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicyTenantSecrets, tenantplan.PolicySiloNodePinning}
		}, wantErr: "does not enforce admission policy " + tenantplan.PolicySharedTenantIdentity},
		// A platform stack from before the SecretProviderClass existed does not keep pods off
		// other tenants' classes: the tenant waits for the platform update.
		{name: "pool without the secrets policy", mutate: func(in *tenantplan.Inputs) {
			in.Platform.AdmissionPolicies = []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicySiloNodePinning, tenantplan.PolicySharedTenantIdentity}
		}, wantErr: "does not enforce admission policy " + tenantplan.PolicyTenantSecrets},
		{name: "pool without any policy", mutate: func(in *tenantplan.Inputs) { in.Platform.AdmissionPolicies = nil },
			wantErr: "does not enforce admission policy " + tenantplan.PolicyTenantScheduling},
		{name: "allocated quota without cpu", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Quota.CPU = "" }, wantErr: "quota.cpu is required"},
		{name: "allocated quota without pods", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Quota.Pods = 0 }, wantErr: "quota.pods must be positive"},
		{name: "quantity that does not parse", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Quota.Memory = "four gigs" }, wantErr: `quota.memory "four gigs"`},
		{name: "negative quantity", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Quota.CPU = "-1" }, wantErr: "must be positive"},
		{name: "secret without secretName", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Secrets[0].SecretName = "" },
			wantErr: "needs keyVaultRef and secretName"},
		{name: "secret bound twice", mutate: func(in *tenantplan.Inputs) {
			in.Binding.Spec.Secrets = append(in.Binding.Spec.Secrets, in.Binding.Spec.Secrets[0])
		}, wantErr: `secret "db" is bound twice`},
		{name: "secret name not a DNS label", mutate: func(in *tenantplan.Inputs) { in.Binding.Spec.Secrets[0].Name = "DB_PASSWORD" },
			wantErr: "not a DNS label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := testInputs("acme", isolation.TierPool)
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			cfg := testConfig
			if tc.cfg != nil {
				cfg = tc.cfg
			}
			rec, err := run(t, "tenant.acme.dev", cfg, TenantProgram(in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			for _, r := range rec.All() {
				if strings.HasPrefix(r.Type, "kubernetes:") {
					t.Errorf("bad input still registered %s %s", r.Type, r.Name)
				}
			}
		})
	}
}

// TestPrefixTenantsShareNothing runs tenant "acme" with reference "corp-db" beside tenant
// "acme-corp" with reference "db" (names that concatenate to the same string) and checks that the
// two stacks own no common object and that neither may read a Secret the other reads.
func TestPrefixTenantsShareNothing(t *testing.T) {
	type grant struct{ ns, secret string }
	for _, ta := range isolation.Tiers {
		for _, tb := range isolation.Tiers {
			t.Run(string(ta)+"-"+string(tb), func(t *testing.T) {
				owned := map[string]map[string]bool{}
				grants := map[string]map[grant]bool{}
				for id, tier := range map[string]isolation.Tier{"acme": ta, "acme-corp": tb} {
					in := testInputs(id, tier)
					ref := "db"
					if id == "acme" {
						ref = "corp-db"
					}
					// Silo tenants read their own vault, the others the shared one.
					vault := "kv-shared"
					if tier == isolation.TierSilo {
						vault = "kv-" + id
					}
					in.Env.Spec.SharedVault.Name = "kv-shared"
					in.Binding.Spec.Secrets = []isolation.SecretBinding{{Name: ref, KeyVaultRef: vault, SecretName: id + "-" + ref}}
					rec, err := run(t, tenantplan.TenantStackName(id, "dev"), testConfig, TenantProgram(in))
					if err != nil {
						t.Fatal(err)
					}
					owned[id], grants[id] = map[string]bool{}, map[grant]bool{}
					for _, r := range rec.All() {
						if !r.Custom || r.Type == tProvider {
							continue
						}
						owned[id][objectID(r)] = true
						if r.Type != tRole {
							continue
						}
						for _, rl := range r.Inputs["rules"].([]any) {
							rule := rl.(map[string]any)
							if res := rule["resources"].([]any); len(res) == 1 && res[0] == "secrets" {
								for _, n := range rule["resourceNames"].([]any) {
									grants[id][grant{stackstest.Path(r.Inputs, "metadata.namespace").(string), n.(string)}] = true
								}
							}
						}
					}
					if len(grants[id]) != 1 {
						t.Errorf("%s may read %v, want exactly its one reference", id, grants[id])
					}
				}
				for obj := range owned["acme"] {
					if owned["acme-corp"][obj] {
						t.Errorf("both tenants' stacks own %s", obj)
					}
				}
				for g := range grants["acme"] {
					if grants["acme-corp"][g] {
						t.Errorf("both tenants may read Secret %s/%s", g.ns, g.secret)
					}
				}
			})
		}
	}
}
