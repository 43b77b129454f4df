package ignore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
)

var baselineMeta = BaselineMeta{Commit: "0123abc", Dirty: true, GeneratedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))}

func TestBaselineRoundTrip(t *testing.T) {
	var all []finding.Finding
	for _, name := range fixtureNames() {
		all = append(all, fixtures[name])
	}
	odd := finding.Finding{Kind: finding.KindManagedDrift, TenantID: "acme", Environment: "prod", Field: "metadata.labels[\"a b#c\tx\x01\"]",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "tenant-acme", Name: `we*ird?"name\`}}
	all = append(all, odd, fixtures["cm-cache"]) // a duplicate must not produce a second rule

	out := Baseline(all, baselineMeta)
	rs, err := Parse("baseline", bytes.NewReader(out))
	if err != nil {
		t.Fatalf("baseline does not parse: %v\n%s", err, out)
	}
	if got, want := len(rs.List()), len(all)-1; got != want {
		t.Errorf("baseline has %d rules, want %d (one per distinct finding)", got, want)
	}
	kept, ignored := rs.Apply(all)
	if len(kept) != 0 {
		t.Errorf("baseline then apply kept %d findings: %+v", len(kept), kept)
	}
	if len(ignored) != len(all) {
		t.Errorf("ignored %d, want %d", len(ignored), len(all))
	}

	// Exactness: neighbours of baselined findings stay visible.
	neighbours := map[string]finding.Finding{}
	n := fixtures["cm-cache"]
	n.Resource.Name = "cache-other"
	neighbours["other name"] = n
	n = fixtures["replicas-acme"]
	n.Field = "spec.template"
	neighbours["other field"] = n
	n = fixtures["replicas-acme"]
	n.Field = "spec.replicasX"
	neighbours["field prefix"] = n
	n = fixtures["route-acme-globex"]
	n.PeerTenant = "initech"
	neighbours["other peer"] = n
	n = fixtures["route-acme-globex"]
	n.Environment = "dev"
	neighbours["other environment"] = n
	n = fixtures["nsg"]
	n.Resource.ID = strings.Replace(n.Resource.ID, "RG-initech", "rg-other", 1)
	neighbours["other azure resource group"] = n
	n = fixtures["cm-cache"]
	n.Kind = finding.KindManagedDrift
	neighbours["other kind"] = n
	for name, f := range neighbours {
		if rule, ign := rs.Match(f); ign {
			t.Errorf("%s: ignored by baseline rule %s %q", name, rule.Where(), rule.Text)
		}
	}
}

func TestBaselineText(t *testing.T) {
	fs := []finding.Finding{fixtures["route-acme-globex"], fixtures["nsg"], fixtures["cm-cache"]}
	got := string(Baseline(fs, baselineMeta))
	want := `# .tenantctl-driftignore — baseline written by ` + "`tenantctl drift baseline`" + `.
# commit: 0123abc (dirty working tree)
# generated: 2026-03-01T11:00:00Z
# 3 finding(s) accepted as they are. Each rule matches one finding exactly;
# delete a rule to report its finding again.

# critical cross-tenant-route: networking.k8s.io/v1/NetworkPolicy tenant-acme/allow-globex → globex
kind=cross-tenant-route env=prod tenant=acme peer=globex type=networking.k8s.io/v1/NetworkPolicy namespace=tenant-acme name=allow-globex

# low unmanaged-resource: v1/ConfigMap tenant-acme/cache-7f9c
kind=unmanaged-resource env=prod tenant=acme type=v1/ConfigMap namespace=tenant-acme name=cache-7f9c

# medium managed-drift: Microsoft.Network/networkSecurityGroups nsg-initech properties.securityRules
kind=managed-drift env=prod tenant=initech type=Microsoft.Network/networkSecurityGroups name=nsg-initech id=/subscriptions/s/resourceGroups/RG-initech/providers/Microsoft.Network/networkSecurityGroups/nsg-initech field=properties.securityRules
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("baseline (-want +got):\n%s", diff)
	}
}

func TestBaselineEmpty(t *testing.T) {
	out := Baseline(nil, BaselineMeta{GeneratedAt: baselineMeta.GeneratedAt})
	rs, err := Parse("b", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.List()) != 0 || !bytes.Contains(out, []byte("# commit: unknown\n")) {
		t.Errorf("empty baseline:\n%s", out)
	}
}
