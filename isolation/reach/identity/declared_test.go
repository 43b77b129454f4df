package identity_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	. "github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// planned is the identity objects of a tenant's plan, as the program creates them.
func planned(t *testing.T, b *isolation.RuntimeTenantBinding) []unstructured.Unstructured {
	t.Helper()
	env := Env()
	pl, err := tenantplan.ForTenant(tenantplan.Inputs{Binding: b, Env: env, Platform: tenantplan.ExpectedPlatformOutputs(env)},
		tenantplan.Layers(isolation.LayerCompute, isolation.LayerSecrets))
	if err != nil {
		t.Fatal(err)
	}
	var out []unstructured.Unstructured
	for _, m := range []map[string]any{pl.Identity.ServiceAccount.Manifest(), pl.Identity.Role.Manifest(), pl.Identity.RoleBinding.Manifest()} {
		out = append(out, unstructured.Unstructured{Object: m})
	}
	return out
}

// TestPlannedBindingsAreDeclared: the shared tenant's own RoleBinding, as its plan makes it, is
// declared and opens nothing, even where what its Role names belongs to another tenant (here the
// synced Secret its reference resolves to, labelled by umbrella). The same binding with a Role or
// a subject the plan does not give is analysed like any other.
func TestPlannedBindingsAreDeclared(t *testing.T) {
	fleet := tenants()
	initech := fleet[2]
	initech.Spec.Secrets = []isolation.SecretBinding{{Name: "db", KeyVaultRef: "kv-shared", SecretName: "initech-db"}}
	name := tenantplan.TenantObjectName("initech")
	secretObject := tenantplan.SharedSecretObjectName("initech", "db")
	base := append(Cluster(), planned(t, initech)...)
	base = append(base, Secret(SharedNamespace, secretObject, Tenant("umbrella")),
		ServiceAccount(SharedNamespace, tenantplan.TenantObjectName("umbrella"), Tenant("umbrella")))
	morePower := Role(SharedNamespace, name, Tenant("initech"),
		Rule(S("get"), S(""), S("secrets"), secretObject), Rule(S("get"), S(""), S("secrets")))
	extraSubject := RoleBinding(SharedNamespace, name, "Role/"+name, Tenant("initech"),
		SA(SharedNamespace, name), SA(SharedNamespace, tenantplan.TenantObjectName("umbrella")))
	tests := []struct {
		name string
		swap *unstructured.Unstructured
		want []string
	}{
		{name: "as planned"},
		{name: "the Role grants more than planned", swap: &morePower,
			want: []string{"initech→platform identity-rbac", "initech→umbrella identity-rbac"}},
		// analysed again, the binding shows what the plan's Role reaches: the Secret umbrella labelled
		{name: "the binding names another tenant's account", swap: &extraSubject,
			want: []string{"initech→umbrella identity-rbac"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]unstructured.Unstructured(nil), base...)
			if tc.swap != nil {
				for i, o := range objs {
					if o.GetKind() == tc.swap.GetKind() && o.GetNamespace() == tc.swap.GetNamespace() && o.GetName() == tc.swap.GetName() {
						objs[i] = *tc.swap
					}
				}
			}
			g, _ := analyzeFleet(t, Env(), fleet, &inventory.Snapshot{Kubernetes: objs})
			if diff := cmp.Diff(tc.want, edges(g)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
		})
	}
}
