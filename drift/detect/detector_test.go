package detect

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
)

// TestOfflineCheck runs the whole detection on files: a kubectl List and an exported stack
// state, as `tenantctl drift check --inventory FILE` does.
func TestOfflineCheck(t *testing.T) {
	snap, err := inventory.ReadFile("testdata/acme-snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/tenant.acme.dev.state.json")
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []apitype.ResourceV3 `json:"resources"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	d := NewManaged()
	if err := d.AddStack("tenant.acme.dev", state.Resources); err != nil {
		t.Fatal(err)
	}
	fs, err := New(testEnv(), d).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny", Field: "spec.policyTypes",
			Desired: `["Ingress"]`, Live: `["Ingress","Egress"]`, Manager: "kubectl-patch", Severity: finding.SeverityHigh},
		// the snapshot holds ConfigMaps, so the missing one is known to be missing
		{Kind: finding.KindMissingResource, Tenant: "acme", Resource: "v1/ConfigMap t-acme/t-acme-secret-refs", Severity: finding.SeverityHigh},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/worker", Severity: finding.SeverityLow},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/ConfigMap t-acme/cache", Severity: finding.SeverityLow},
		{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/worker", Field: "spec.template.spec.containers[name=worker].image",
			Live: `"docker.io/someone/miner:latest"`, Severity: finding.SeverityMedium},
		{Kind: finding.KindUntrustedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/worker", Field: "spec.template.spec.containers[name=worker].image",
			Live: `"docker.io/someone/miner:latest"`, Severity: finding.SeverityHigh},
	}
	if diff := cmp.Diff(want, briefs(t, fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

type fakeRoutes struct {
	findings []finding.Finding
	err      error
	gotEnv   string
}

func (f *fakeRoutes) Routes(_ context.Context, env *isolation.Environment, _ *inventory.Snapshot) ([]finding.Finding, error) {
	f.gotEnv = env.Name()
	return f.findings, f.err
}

func TestCheckRoutesAndErrors(t *testing.T) {
	route := finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: "acme", PeerTenant: "globex",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy", Namespace: "t-acme", Name: "allow-globex"}}
	snap := snapshot(object(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t-acme"}}`))
	routes := &fakeRoutes{findings: []finding.Finding{route}}
	fs, err := New(testEnv(), NewManaged(), WithRouteAnalyzer(routes), WithBindings(testBinding("acme", "tenants/acme.yaml", 2))).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Kind: finding.KindCrossTenantRoute, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/allow-globex", Severity: finding.SeverityCritical},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: "v1/Namespace t-acme", Severity: finding.SeverityLow},
	}
	if diff := cmp.Diff(want, briefs(t, fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if routes.gotEnv != "dev" || fs[0].Environment != "dev" || fs[0].Location.File != "tenants/acme.yaml" {
		t.Errorf("route finding not completed: env %q, finding %+v", routes.gotEnv, fs[0])
	}

	tests := []struct {
		name    string
		d       *Detector
		snap    *inventory.Snapshot
		wantErr string
	}{
		{"route analyzer fails", New(testEnv(), NewManaged(), WithRouteAnalyzer(&fakeRoutes{err: errors.New("boom")})), snap, "drift check routes: boom"},
		{"no desired state", New(testEnv(), nil), snap, "drift check managed: no desired state"},
		{"no snapshot", New(testEnv(), NewManaged()), nil, "no inventory snapshot"},
		{"no environment", New(nil, NewManaged()), snap, "no environment"},
		{"unknown check", New(testEnv(), NewManaged(), WithChecks("typos")), snap, `unknown check "typos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.d.Check(context.Background(), tt.snap)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
