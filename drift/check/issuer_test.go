package check

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	azurestacks "github.com/connectsoft/tenantctl/stacks/azure"
)

// TestPlatformIssuerIsTrusted: a federated credential on globex's identity trusting acme's
// ServiceAccount is an identity route when its issuer is the one the platform stack recorded
// (oidcIssuerUrl), and an opening to anyone when it is another issuer.
func TestPlatformIssuerIsTrusted(t *testing.T) {
	st, _ := crossTenant(t)
	env := st.Environment("prod")
	var bindings []*isolation.RuntimeTenantBinding
	for _, b := range st.BindingsIn("dev") {
		c := *b
		c.Spec.Environment = "prod"
		bindings = append(bindings, &c)
	}
	snap, err := reach.PlannedSnapshot(env, bindings)
	if err != nil {
		t.Fatal(err)
	}
	const sub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
	const cluster = "https://westeurope.oic.prod-aks.azurenet.com/tenant/cluster/"
	doc := `[
	{"id": "` + sub + `rg-acme-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acme-prod", "name": "id-acme-prod",
	 "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "properties": {"principalId": "11111111-0000-0000-0000-000000000001"}},
	{"id": "` + sub + `rg-globex-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-globex-prod", "name": "id-globex-prod",
	 "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "properties": {"principalId": "11111111-0000-0000-0000-000000000002"}},
	{"id": "` + sub + `rg-globex-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-globex-prod/federatedIdentityCredentials/partner",
	 "name": "partner", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	 "properties": {"issuer": "` + cluster + `", "subject": "system:serviceaccount:t-acme:t-acme", "audiences": ["api://AzureADTokenExchange"]}}
	]`
	var az []inventory.AzureResource
	if err := json.Unmarshal([]byte(doc), &az); err != nil {
		t.Fatal(err)
	}
	snap.Azure = append(snap.Azure, az...)
	platform := []apitype.ResourceV3{{Type: rootStackType, Outputs: map[string]any{azurestacks.OutputOIDCIssuerURL: cluster}}}
	other := []apitype.ResourceV3{{Type: rootStackType, Outputs: map[string]any{azurestacks.OutputOIDCIssuerURL: "https://issuer.example/other/"}}}
	state := *st
	state.Bindings = bindings
	for name, outputs := range map[string][]apitype.ResourceV3{"platform": platform, "other": other} {
		ra := ReachAnalyzers(env, &state).(platformAware).withPlatformOutputs(stackOutputs(outputs))
		fs, err := ra.Routes(context.Background(), env, snap)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			if f.Resource.Provider == finding.ProviderAzure {
				got = append(got, f.TenantID+"→"+f.PeerTenant+" "+f.Resource.Name+" "+string(f.Remediation))
			}
		}
		slices.Sort(got)
		want := []string{"globex→acme partner delete"}
		if name == "other" {
			want = []string{"globex→* partner delete"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s issuer: findings (-want +got):\n%s", name, diff)
		}
	}
}
