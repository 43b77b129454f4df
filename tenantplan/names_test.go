package tenantplan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

func TestStackNamesRoundTrip(t *testing.T) {
	tests := []struct {
		id   StackID
		name string
	}{
		{StackID{Kind: StackPlatform, Environment: "dev"}, "platform.dev"},
		{StackID{Kind: StackTenant, TenantID: "acme", Environment: "prod-eu"}, "tenant.acme.prod-eu"},
		// A tenant called "platform" cannot collide with the platform stack.
		{StackID{Kind: StackTenant, TenantID: "platform", Environment: "dev"}, "tenant.platform.dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.id.Name(); got != tc.name {
				t.Errorf("Name() = %q, want %q", got, tc.name)
			}
			got, err := ParseStackName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.id, got); d != "" {
				t.Errorf("ParseStackName (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseStackNameRejects(t *testing.T) {
	for _, name := range []string{"", "dev", "platform.", "platform.dev.x", "tenant.acme", "tenant..dev", "tenant.acme.", "stack.acme.dev"} {
		if id, err := ParseStackName(name); err == nil {
			t.Errorf("ParseStackName(%q) = %+v, want an error", name, id)
		}
	}
}

func TestTenantLabelsCannotBeForged(t *testing.T) {
	b := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{
		TenantID: "acme", Environment: "dev", Tier: isolation.TierPool,
		Labels: map[string]string{
			"cost-center":                        "42",
			LabelTenant:                          "globex",
			"tenantctl.io/compute":               "dedicated-node-pool",
			LabelManagedBy:                       "someone-else",
			"pod-security.kubernetes.io/enforce": "privileged",
		},
	}}
	want := map[string]string{
		"cost-center":    "42",
		LabelTenant:      "acme",
		LabelTier:        "pool",
		LabelEnvironment: "dev",
		LabelManagedBy:   ManagedBy,
	}
	if d := cmp.Diff(want, TenantLabels(b)); d != "" {
		t.Errorf("TenantLabels (-want +got):\n%s", d)
	}
	env := &isolation.Environment{Metadata: isolation.ObjectMeta{Name: "dev"}, Spec: isolation.EnvironmentSpec{Labels: map[string]string{"team": "platform", LabelTenant: "acme"}}}
	wantPlatform := map[string]string{"team": "platform", LabelOwner: OwnerPlatform, LabelEnvironment: "dev", LabelManagedBy: ManagedBy}
	if d := cmp.Diff(wantPlatform, PlatformLabels(env)); d != "" {
		t.Errorf("PlatformLabels (-want +got):\n%s", d)
	}
}

func TestPlatformOutputsFromMap(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]any
		want    PlatformOutputs
		wantErr string
	}{
		{name: "as the Automation API returns them", in: map[string]any{
			"environment": "dev", "ingressNamespace": "ing", "sharedNamespace": "shared",
			"admissionPolicies": []any{"a", "b"},
		}, want: PlatformOutputs{Environment: "dev", IngressNamespace: "ing", SharedNamespace: "shared", AdmissionPolicies: []string{"a", "b"}}},
		{name: "typed list", in: map[string]any{
			"environment": "dev", "ingressNamespace": "ing", "sharedNamespace": "shared", "admissionPolicies": []string{"a"},
		}, want: PlatformOutputs{Environment: "dev", IngressNamespace: "ing", SharedNamespace: "shared", AdmissionPolicies: []string{"a"}}},
		{name: "missing key", in: map[string]any{"environment": "dev", "ingressNamespace": "ing"}, wantErr: `"sharedNamespace" is missing`},
		{name: "wrong type", in: map[string]any{"environment": 3, "ingressNamespace": "ing", "sharedNamespace": "s"}, wantErr: `"environment" is int`},
		{name: "policy not a string", in: map[string]any{"environment": "dev", "ingressNamespace": "ing", "sharedNamespace": "s", "admissionPolicies": []any{1}},
			wantErr: `"admissionPolicies"[0] is int`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlatformOutputsFromMap(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSecretRefsCarryNoValue(t *testing.T) {
	b := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: "acme", Secrets: []isolation.SecretBinding{
		{Name: "db", KeyVaultRef: "https://kv-acme.vault.azure.net/", SecretName: "db-password", CurrentVersion: "0a1b"},
		{Name: "api", KeyVaultRef: "kv-shared", SecretName: "acme-api"},
	}}}
	got, err := SecretRefs(b, func(n string) string { return SharedSecretObjectName("acme", n) })
	if err != nil {
		t.Fatal(err)
	}
	want := []SecretRef{
		{Name: "db", KeyVaultRef: "https://kv-acme.vault.azure.net/", SecretName: "db-password", Version: "0a1b", SecretObject: "t-acme.db"},
		{Name: "api", KeyVaultRef: "kv-shared", SecretName: "acme-api", SecretObject: "t-acme.api"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("SecretRefs (-want +got):\n%s", d)
	}
	none, err := SecretRefs(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if none[0].SecretObject != "" {
		t.Errorf("target without in-cluster Secrets got SecretObject %q", none[0].SecretObject)
	}
}

func TestPlatformOutputsCheck(t *testing.T) {
	env := &isolation.Environment{Metadata: isolation.ObjectMeta{Name: "dev"}}
	ok := PlatformOutputs{Environment: "dev", IngressNamespace: DefaultIngressNamespace, SharedNamespace: DefaultSharedNamespace}
	if err := ok.Check(env); err != nil {
		t.Errorf("defaults: %v", err)
	}
	env.Spec.SharedCluster.IngressNamespace = "ingress-nginx"
	if err := ok.Check(env); err == nil || !strings.Contains(err.Error(), `declares "ingress-nginx"`) {
		t.Errorf("stale ingress namespace: %v", err)
	}
}
