package finding

import (
	"encoding/json"
	"testing"
)

func TestFingerprintStableAcrossRunValues(t *testing.T) {
	base := Finding{Kind: KindManagedDrift, TenantID: "acme", Environment: "prod", Field: "spec.replicas",
		Resource: Resource{Provider: ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api"},
		Desired:  json.RawMessage(`3`), Live: json.RawMessage(`5`), Message: "replicas changed"}
	same := []struct {
		name string
		mod  func(Finding) Finding
	}{
		{"different live value", func(f Finding) Finding { f.Live = json.RawMessage(`7`); return f }},
		{"different desired value", func(f Finding) Finding { f.Desired = json.RawMessage(`4`); return f }},
		{"different message and evidence", func(f Finding) Finding { f.Message = "other"; f.Evidence = []string{"x"}; return f }},
		{"different severity and detector", func(f Finding) Finding { f.Severity = SeverityHigh; f.Detector = DetectorLive; return f }},
		{"different location and urn", func(f Finding) Finding {
			f.Location.File = "t/acme.yaml"
			f.Location.Line = 4
			f.Resource.URN = "urn:pulumi:prod::acme::kubernetes:apps/v1:Deployment::api"
			return f
		}},
		{"explicit default kubernetes id", func(f Finding) Finding { f.Resource.ID = "tenant-acme/api"; return f }},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.mod(base).Fingerprint(), base.Fingerprint(); got != want {
				t.Errorf("fingerprint changed: %s != %s", got, want)
			}
		})
	}
	different := []struct {
		name string
		mod  func(Finding) Finding
	}{
		{"kind", func(f Finding) Finding { f.Kind = KindFieldConflict; return f }},
		{"tenant", func(f Finding) Finding { f.TenantID = "globex"; return f }},
		{"environment", func(f Finding) Finding { f.Environment = "dev"; return f }},
		{"namespace", func(f Finding) Finding { f.Resource.Namespace = "other"; return f }},
		{"name", func(f Finding) Finding { f.Resource.Name = "web"; return f }},
		{"type", func(f Finding) Finding { f.Resource.Type = "apps/v1/StatefulSet"; return f }},
		{"field", func(f Finding) Finding { f.Field = "spec.template"; return f }},
		{"peer", func(f Finding) Finding { f.PeerTenant = "globex"; return f }},
		{"field boundary shift", func(f Finding) Finding { f.Resource.Name = "ap"; f.Field = "ispec.replicas"; return f }},
	}
	for _, tt := range different {
		t.Run("differs by "+tt.name, func(t *testing.T) {
			if tt.mod(base).Fingerprint() == base.Fingerprint() {
				t.Errorf("fingerprint did not change when %s changed", tt.name)
			}
		})
	}
	if len(base.Fingerprint()) != 64 {
		t.Errorf("fingerprint %q is not a hex sha256", base.Fingerprint())
	}
}

func TestFingerprintAzureIDCaseInsensitive(t *testing.T) {
	a := Finding{Kind: KindCrossTenantRoute, TenantID: "acme", PeerTenant: "globex",
		Resource: Resource{Provider: ProviderAzure, Type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", Name: "to-globex",
			ID: "/subscriptions/S/resourceGroups/RG-acme/providers/Microsoft.Network/virtualNetworks/acme/virtualNetworkPeerings/to-globex"}}
	b := a
	b.Resource.Type = "microsoft.network/virtualnetworks/virtualnetworkpeerings"
	b.Resource.ID = "/subscriptions/s/resourcegroups/rg-acme/providers/microsoft.network/virtualnetworks/acme/virtualnetworkpeerings/to-globex"
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("Azure id case changed the fingerprint")
	}
}

func TestCauseKeyIgnoresTenant(t *testing.T) {
	rule := func(tenant, peer string) Finding {
		return Finding{Kind: KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: "prod",
			Resource: Resource{Provider: ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups/securityRules",
				Name: "allow-10.0.0.0-8", ID: "/subscriptions/s/resourceGroups/rg-" + tenant + "/nsg/rules/allow-10.0.0.0-8"}}
	}
	if rule("acme", "globex").CauseKey() != rule("initech", "acme").CauseKey() {
		t.Error("same rule in two tenants has different cause keys")
	}
	other := rule("acme", "globex")
	other.Resource.Name = "allow-any"
	if other.CauseKey() == rule("acme", "globex").CauseKey() {
		t.Error("different rules share a cause key")
	}
	if rule("acme", "globex").Fingerprint() == rule("initech", "acme").Fingerprint() {
		t.Error("fingerprints of different tenants collide")
	}
}
