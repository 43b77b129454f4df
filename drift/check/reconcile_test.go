package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

func TestReconcile(t *testing.T) {
	np := finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy", Namespace: "t-globex", Name: "default-deny"}
	vap := finding.Resource{Provider: finding.ProviderKubernetes, Type: "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy", Name: "tenantctl-silo-node-pinning"}
	peering := finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", Name: "to-hub"}
	f := func(kind finding.Kind, det finding.Detector, r finding.Resource, field, manager string, evidence ...string) finding.Finding {
		return finding.Finding{Kind: kind, TenantID: "globex", Environment: "dev", Resource: r, Field: field, Manager: manager,
			Detector: det, Evidence: evidence, Message: string(det) + " " + string(kind) + " " + field}
	}
	liveConflict := f(finding.KindFieldConflict, finding.DetectorLive, np, "spec.policyTypes", "kubectl-patch", "managedFields: kubectl-patch (Update) owns spec.policyTypes")
	snap := &inventory.Snapshot{Coverage: &inventory.Coverage{Types: []string{"v1/Namespace", "networking.k8s.io/v1/NetworkPolicy"}, AllNamespaces: true},
		Kubernetes: []unstructured.Unstructured{}}

	type row struct {
		Kind     finding.Kind
		Detector finding.Detector
		Resource string
		Field    string
		Evidence []string
	}
	rows := func(fs []finding.Finding) []row {
		var out []row
		for _, f := range fs {
			out = append(out, row{f.Kind, f.Detector, f.Resource.Ref(), f.Field, f.Evidence})
		}
		return out
	}
	tests := []struct {
		name   string
		live   []finding.Finding
		engine []finding.Finding
		want   []row
	}{
		{
			name: "the engine's conflict, refresh and plan of a covered object join the live conflict",
			live: []finding.Finding{liveConflict},
			engine: []finding.Finding{
				f(finding.KindFieldConflict, finding.DetectorEngine, np, "spec.policyTypes", "kubectl-patch", "server-side apply conflict with field manager kubectl-patch"),
				f(finding.KindManagedDrift, finding.DetectorEngine, np, "spec.policyTypes", ""),
				f(finding.KindManagedDrift, finding.DetectorEngine, np, "spec.policyTypes[1]", ""),
			},
			want: []row{{finding.KindFieldConflict, finding.DetectorLive, np.Ref(), "spec.policyTypes", []string{
				"managedFields: kubectl-patch (Update) owns spec.policyTypes",
				"engine: server-side apply conflict with field manager kubectl-patch",
				"engine: engine managed-drift spec.policyTypes",
				"engine: engine managed-drift spec.policyTypes[1]",
			}}},
		},
		{
			name:   "field drift the provider reports beyond the inputs of a covered object is not drift",
			engine: []finding.Finding{f(finding.KindManagedDrift, finding.DetectorEngine, np, `metadata.annotations["other/owner"]`, "")},
		},
		{
			name: "what the live read did not cover stays, and so does a resource the program no longer declares",
			engine: []finding.Finding{
				f(finding.KindManagedDrift, finding.DetectorEngine, vap, "spec.failurePolicy", ""),
				f(finding.KindManagedDrift, finding.DetectorEngine, peering, "properties.allowForwardedTraffic", ""),
				f(finding.KindManagedDrift, finding.DetectorEngine, np, "", ""),
			},
			want: []row{
				{finding.KindManagedDrift, finding.DetectorEngine, vap.Ref(), "spec.failurePolicy", nil},
				{finding.KindManagedDrift, finding.DetectorEngine, peering.Ref(), "properties.allowForwardedTraffic", nil},
				{finding.KindManagedDrift, finding.DetectorEngine, np.Ref(), "", nil},
			},
		},
		{
			name:   "a missing resource both saw is one finding",
			live:   []finding.Finding{f(finding.KindMissingResource, finding.DetectorLive, np, "", "")},
			engine: []finding.Finding{f(finding.KindMissingResource, finding.DetectorEngine, np, "", "")},
			want: []row{{finding.KindMissingResource, finding.DetectorLive, np.Ref(), "",
				[]string{"engine: engine missing-resource "}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rows(tt.live)
			got := Reconcile(tt.live, tt.engine, snap)
			if diff := cmp.Diff(tt.want, rows(got)); diff != "" {
				t.Errorf("reconciled (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, rows(tt.live)); diff != "" {
				t.Errorf("Reconcile changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"spec.policyTypes", "spec.policyTypes", true},
		{"spec.policyTypes", "spec.policyTypes[1]", true},
		{"metadata.labels.tier", "metadata.labels", true},
		{"spec.policyTypes", "spec.policy", false},
		{"spec.podSelector", "spec.policyTypes", false},
		{"", "spec", false},
	}
	for _, tt := range tests {
		if got := overlaps(tt.a, tt.b); got != tt.want {
			t.Errorf("overlaps(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
