package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
)

func TestText(t *testing.T) {
	tests := []struct {
		name  string
		build func() *Report
		want  string
	}{
		{
			name:  "fixture: drift, error, clean and a shared cause",
			build: fixtureReport,
			want: `Drift report for commit 4f1c2e9, generated 2026-03-01 12:30:00Z
Environments: prod
Tenants: 5 checked: 1 clean, 3 drifted, 1 error
Findings: 5 (3 critical, 1 high, 1 medium); ignored: 1; errors: 1

prod/acme  drifted  (1 ignored)  tenants/prod/acme.yaml
  SEVERITY  KIND                RESOURCE                                                     FIELD          DETAIL
  critical  cross-tenant-route  networking.k8s.io/v1/NetworkPolicy tenant-acme/allow-globex  -              reaches tenant globex; NetworkPolicy admits pods of tenant globex
  medium    managed-drift       apps/v1/Deployment tenant-acme/api                           spec.replicas  desired 3, live 5; replicas changed outside Pulumi

prod/globex  error
  ERROR  kubernetes: list networkpolicies: dial tcp 10.0.0.1:443: connect: connection refused
  SEVERITY  KIND            RESOURCE                    FIELD                   DETAIL
  high      field-conflict  v1/Namespace tenant-globex  metadata.labels.tenant  owned by kubectl-label; desired "globex", live "acme"; label changed by another field manager

prod/hooli  clean

prod/initech  drifted  tenants/prod/initech.yaml
  SEVERITY  KIND                RESOURCE                                                                FIELD  DETAIL
  critical  cross-tenant-route  Microsoft.Network/networkSecurityGroups/securityRules allow-10.0.0.0-8  -      reaches tenant acme; NSG rule allows 10.0.0.0/8, which covers tenant acme's address space

prod/umbrella  drifted  tenants/prod/umbrella.yaml
  SEVERITY  KIND                RESOURCE                                                                FIELD  DETAIL
  critical  cross-tenant-route  Microsoft.Network/networkSecurityGroups/securityRules allow-10.0.0.0-8  -      reaches tenant hooli; NSG rule allows 10.0.0.0/8, which covers tenant hooli's address space

Same cause in several tenants (fix once at the source):
  2 tenants: same NSG rule allow-10.0.0.0-8 (cross-tenant-route, critical): initech, umbrella

Result: ERROR (exit 1): 1 tenant(s) could not be checked completely; a tenant that could not be checked is never reported as clean.
`,
		},
		{
			name: "clean, dirty, sharded",
			build: func() *Report {
				r := New("4f1c2e9", WithDirty(true), WithShard(2, 4), WithGeneratedAt(fixtureTime))
				r.AddTenant("dev", "acme")
				return r
			},
			want: `Drift report for commit 4f1c2e9 (dirty: uncommitted changes), generated 2026-03-01 12:30:00Z
Environments: dev  (shard 2/4)
Tenants: 1 checked: 1 clean, 0 drifted, 0 error
Findings: 0; ignored: 0; errors: 0

dev/acme  clean

Result: CLEAN (exit 0).
`,
		},
		{
			name: "unattributed finding and error, long values, control characters",
			build: func() *Report {
				r := New("4f1c2e9", WithGeneratedAt(fixtureTime))
				r.Add(finding.Finding{Kind: finding.KindUnmanagedResource, Environment: "prod", Message: "namespace without tenant label\x1b[2J",
					Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/Namespace", Name: "scratch"}})
				r.Add(finding.Finding{Kind: finding.KindManagedDrift, TenantID: "acme", Environment: "prod", Field: "data.settings",
					Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "tenant-acme", Name: "app"},
					Desired:  []byte(`"` + strings.Repeat("a", 80) + `"`), Message: "value removed"})
				r.AddError(Error{API: "merge", Message: "shard 2/2 is missing from the merge; its tenants were not checked"})
				return r
			},
			want: `Drift report for commit 4f1c2e9, generated 2026-03-01 12:30:00Z
Environments: prod
Tenants: 1 checked: 0 clean, 0 drifted, 1 error
Findings: 2 (1 medium, 1 low); ignored: 0; errors: 1

prod/acme  error
  ERROR  merge: shard 2/2 is missing from the merge; its tenants were not checked
  SEVERITY  KIND           RESOURCE                      FIELD          DETAIL
  medium    managed-drift  v1/ConfigMap tenant-acme/app  data.settings  desired "` + strings.Repeat("a", 58) + `…, live (absent); value removed

(no tenant)
  SEVERITY  KIND                RESOURCE              FIELD  DETAIL
  low       unmanaged-resource  v1/Namespace scratch  -      namespace without tenant label\x1b[2J

Result: ERROR (exit 1): 1 tenant(s) could not be checked completely; a tenant that could not be checked is never reported as clean.
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Text(&b, tt.build(), WithExitCodes(cliExitCodes)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("Text (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTextFleetOfFortyTenants(t *testing.T) {
	r := New("4f1c2e9", WithGeneratedAt(fixtureTime))
	for i := range 40 {
		r.Add(nsgRoute(fmt.Sprintf("t%02d", i), "acme"))
	}
	other := nsgRoute("t00", "t01")
	other.Resource.Name = "allow-any"
	r.Add(other)
	var b strings.Builder
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "\nSame cause in several tenants (fix once at the source):\n" +
		"  40 tenants: same NSG rule allow-10.0.0.0-8 (cross-tenant-route, critical): t00, t01, t02, t03, t04, … +35 more\n\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("fleet section missing; got:\n%s", b.String()[strings.Index(b.String(), "Same cause"):])
	}
}
