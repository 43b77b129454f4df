package finding

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func routeFinding() Finding {
	return Finding{
		Kind:        KindCrossTenantRoute,
		TenantID:    "acme",
		PeerTenant:  "globex",
		Environment: "prod",
		Resource: Resource{Provider: ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy",
			Namespace: "tenant-acme", Name: "allow-globex"},
		Message: "NetworkPolicy admits namespace tenant-globex",
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Finding
		want Finding
	}{
		{
			name: "route is forced to critical and gets kubernetes id",
			in:   func() Finding { f := routeFinding(); f.Severity = SeverityLow; return f }(),
			want: func() Finding {
				f := routeFinding()
				f.Severity = SeverityCritical
				f.Remediation = RemediationDelete
				f.Resource.ID = "tenant-acme/allow-globex"
				return f
			}(),
		},
		{
			name: "defaults from kind, explicit values kept",
			in: Finding{Kind: KindManagedDrift, Severity: SeverityHigh, TenantID: "acme",
				Resource: Resource{Provider: ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups", Name: "nsg", ID: "/subscriptions/s/nsg"}},
			want: Finding{Kind: KindManagedDrift, Severity: SeverityHigh, TenantID: "acme", Remediation: RemediationRestore,
				Message:  "Managed resource drifted",
				Resource: Resource{Provider: ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups", Name: "nsg", ID: "/subscriptions/s/nsg"}},
		},
		{
			name: "cluster-scoped kubernetes id is the name",
			in:   Finding{Kind: KindUnmanagedResource, Resource: Resource{Provider: ProviderKubernetes, Type: "v1/Namespace", Name: "stray"}, Message: "m"},
			want: Finding{Kind: KindUnmanagedResource, Severity: SeverityLow, Remediation: RemediationReport, Message: "m",
				Resource: Resource{Provider: ProviderKubernetes, Type: "v1/Namespace", Name: "stray", ID: "stray"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.in.Normalize()); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Finding
		wantErr string // substring; empty means valid
	}{
		{"valid route", routeFinding(), ""},
		{"route without peer", func() Finding { f := routeFinding(); f.PeerTenant = ""; return f }(), "needs both tenantId and peerTenant"},
		{"route to itself", func() Finding { f := routeFinding(); f.PeerTenant = "acme"; return f }(), "to itself"},
		{"route not critical", func() Finding { f := routeFinding(); f.Severity = SeverityHigh; return f }(), "must be critical"},
		{"no kind", Finding{Resource: Resource{Provider: ProviderAzure, ID: "/x"}}, "kind is empty"},
		{"bad provider", Finding{Kind: KindManagedDrift, Resource: Resource{Provider: "aws", Type: "x"}}, `provider "aws"`},
		{"bad severity", Finding{Kind: KindManagedDrift, Severity: "urgent", Resource: Resource{Provider: ProviderAzure, Type: "x"}}, `severity "urgent"`},
		{"no resource identity", Finding{Kind: KindManagedDrift, Resource: Resource{Provider: ProviderAzure}}, "neither type nor id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSeverityRankAndKinds(t *testing.T) {
	got := []int{SeverityCritical.Rank(), SeverityHigh.Rank(), SeverityMedium.Rank(), SeverityLow.Rank(), SeverityInfo.Rank(), Severity("bogus").Rank()}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5}, got); diff != "" {
		t.Errorf("Rank (-want +got):\n%s", diff)
	}
	for _, k := range Kinds() {
		info := k.Info()
		if !k.Known() || info.Title == "" || info.Description == "" || info.Fix == "" || !info.Severity.Valid() || info.Remediation == "" {
			t.Errorf("kind %s has incomplete info %+v", k, info)
		}
	}
	if KindCrossTenantRoute.Info().Severity != SeverityCritical {
		t.Errorf("cross-tenant-route default severity = %s, want critical", KindCrossTenantRoute.Info().Severity)
	}
	if Kind("future-kind").Known() || Kind("future-kind").Info().Title != "future-kind" {
		t.Errorf("unknown kind info = %+v", Kind("future-kind").Info())
	}
}

func TestTitle(t *testing.T) {
	f := Finding{Kind: KindManagedDrift, Field: "spec.replicas",
		Resource: Resource{Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api"}}
	if got, want := f.Title(), "managed-drift: apps/v1/Deployment tenant-acme/api spec.replicas"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
	azure := Finding{Kind: KindMissingResource, Resource: Resource{Provider: ProviderAzure, ID: "/subscriptions/s/resourceGroups/rg"}}
	if got, want := azure.Title(), "missing-resource: /subscriptions/s/resourceGroups/rg"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
	if got, want := routeFinding().Title(), "cross-tenant-route: networking.k8s.io/v1/NetworkPolicy tenant-acme/allow-globex → globex"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
}

func TestFindingJSONOmitsEmpty(t *testing.T) {
	f := Finding{Kind: KindUnmanagedResource, Severity: SeverityLow, TenantID: "acme", Message: "m",
		Resource: Resource{Provider: ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "n", Name: "c"}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"unmanaged-resource","severity":"low","tenantId":"acme","resource":{"provider":"kubernetes","type":"v1/ConfigMap","namespace":"n","name":"c"},"message":"m"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}
