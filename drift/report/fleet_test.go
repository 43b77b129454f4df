package report

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/ignore"
)

func TestFleet(t *testing.T) {
	conflict := func(env, tenant string) finding.Finding {
		f := labelConflict()
		f.Environment, f.TenantID = env, tenant
		f.Resource.Name = "tenant-ns" // the same namespace name in each cluster
		return f
	}
	lowRoute := nsgRoute("c", "a")
	lowRoute.Severity = finding.SeverityLow // normalized to critical: routes are always critical
	fs := []finding.Finding{
		nsgRoute("a", "b"), nsgRoute("b", "c"), lowRoute, nsgRoute("a", "c"), // a twice: three tenants
		conflict("prod", "x"), conflict("dev", "x"), // same tenant id in two environments: two tenants
		replicasDrift(), // alone: no group
	}
	type view struct {
		Summary string
		Tenants []string
		Count   int
	}
	var got []view
	for _, g := range Fleet(fs) {
		v := view{Summary: g.Summary(), Count: len(g.Fingerprints)}
		for _, tr := range g.Tenants {
			v.Tenants = append(v.Tenants, tr.String())
		}
		got = append(got, v)
	}
	want := []view{
		{"3 tenants: same NSG rule allow-10.0.0.0-8 (cross-tenant-route, critical)", []string{"prod/a", "prod/b", "prod/c"}, 4},
		{"2 tenants: same field metadata.labels.tenant of Namespace tenant-ns taken by kubectl-label (field-conflict, high)", []string{"dev/x", "prod/x"}, 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fleet (-want +got):\n%s", diff)
	}
}

func TestFriendlyType(t *testing.T) {
	tests := map[string]string{
		"Microsoft.Network/networkSecurityGroups/securityRules":    "NSG rule",
		"microsoft.network/virtualnetworks/virtualnetworkpeerings": "VNet peering",
		"Microsoft.Network/routeTables/routes":                     "route",
		"Microsoft.Network/privateEndpoints":                       "private endpoint",
		"networking.k8s.io/v1/NetworkPolicy":                       "NetworkPolicy",
		"v1/ConfigMap":                                             "ConfigMap",
		"Widget":                                                   "Widget",
	}
	for in, want := range tests {
		if got := FriendlyType(in); got != want {
			t.Errorf("FriendlyType(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBaselineClearsReport is the round trip a team runs once: write a baseline from the current
// report, then every later run with it is clean until something new appears.
func TestBaselineClearsReport(t *testing.T) {
	current := New("4f1c2e9", WithGeneratedAt(fixtureTime))
	current.Add(replicasDrift(), routeNetpol(), labelConflict(), nsgRoute("initech", "acme"), cacheConfigMap())
	current.Finalize()
	base := ignore.Baseline(current.Findings, ignore.BaselineMeta{Commit: current.Commit, GeneratedAt: fixtureTime})
	rules, err := ignore.Parse(ignore.DefaultFile, bytes.NewReader(base))
	if err != nil {
		t.Fatalf("baseline does not parse: %v\n%s", err, base)
	}

	next := New("5a6b7c8", WithGeneratedAt(fixtureTime))
	next.Add(replicasDrift(), routeNetpol(), labelConflict(), nsgRoute("initech", "acme"), cacheConfigMap())
	next.ApplyIgnore(rules)
	next.Finalize()
	if next.Status() != StatusClean || next.Ignored != 5 || len(next.Findings) != 0 {
		t.Fatalf("after baseline: %s, %d ignored, findings %v", next.Status(), next.Ignored, next.Findings)
	}

	fresh := nsgRoute("initech", "globex") // a new peer: not covered by the baseline
	next.Add(fresh)
	next.ApplyIgnore(rules)
	if next.Status() != StatusDrifted || len(next.Findings) != 1 || next.Findings[0].PeerTenant != "globex" {
		t.Errorf("new route hidden by baseline: %s, findings %v", next.Status(), next.Findings)
	}
}
