package report

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGitHubEscaping(t *testing.T) {
	tests := []struct {
		in, data, property string
	}{
		{"plain text", "plain text", "plain text"},
		{"100%", "100%25", "100%25"},
		{"a\nb", "a%0Ab", "a%0Ab"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"key: a, b", "key: a, b", "key%3A a%2C b"},
		{"%0A literal", "%250A literal", "%250A literal"},
		{"::error::injected", "::error::injected", "%3A%3Aerror%3A%3Ainjected"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := EscapeGitHubData(tt.in); got != tt.data {
			t.Errorf("EscapeGitHubData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := EscapeGitHubProperty(tt.in); got != tt.property {
			t.Errorf("EscapeGitHubProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

func TestGitHub(t *testing.T) {
	tests := []struct {
		name  string
		build func() *Report
		want  []string
	}{
		{
			name: "finding with location, error, summary",
			build: func() *Report {
				r := New("4f1c2e9", WithDirty(true), WithGeneratedAt(fixtureTime))
				r.Add(replicasDrift())
				r.Fail("prod", "globex", "azure", errors.New("GET https://management.azure.com: 503,\nretry later"))
				return r
			},
			want: []string{
				"::error title=tenantctl drift%3A not checked (azure)::prod/globex could not be checked: azure: GET https://management.azure.com: 503,%0Aretry later",
				"::warning file=tenants/prod/acme.yaml,line=1,title=[medium] managed-drift%3A apps/v1/Deployment tenant-acme/api spec.replicas (prod/acme)::" +
					"replicas changed outside Pulumi%0Aseverity: medium%0Atenant: prod/acme%0Aresource: apps/v1/Deployment tenant-acme/api%0A" +
					"resource id: tenant-acme/api%0Aurn: urn:pulumi:prod-acme::tenant::kubernetes:apps/v1:Deployment::api%0Afield: spec.replicas%0A" +
					"desired: 3%0Alive: 5%0Adesired state: tenants/prod/acme.yaml:1%0Aremediation: restore%0Afingerprint: " + replicasDrift().Fingerprint(),
				"::notice title=tenantctl drift summary::commit 4f1c2e9 (dirty): 2 tenants checked (0 clean, 1 drifted, 1 error), 1 findings (1 medium), 0 ignored, exit 1",
			},
		},
		{
			name: "finding without location, file name needing escapes",
			build: func() *Report {
				r := New("4f1c2e9", WithGeneratedAt(fixtureTime))
				f := labelConflict()
				r.Add(f)
				g := cacheConfigMap()
				g.Location.File = "tenants/a,b:c.yaml"
				g.Message = "100% unmanaged"
				r.Add(g)
				return r
			},
			want: []string{
				"::notice file=tenants/a%2Cb%3Ac.yaml,title=[low] unmanaged-resource%3A v1/ConfigMap tenant-acme/cache-7f9c (prod/acme)::" +
					"100%25 unmanaged%0Aseverity: low%0Atenant: prod/acme%0Aresource: v1/ConfigMap tenant-acme/cache-7f9c%0Aresource id: tenant-acme/cache-7f9c%0A" +
					"desired state: tenants/a,b:c.yaml%0Aremediation: report%0Afingerprint: " + cacheConfigMap().Fingerprint(),
				"::error title=[high] field-conflict%3A v1/Namespace tenant-globex metadata.labels.tenant (prod/globex)::" +
					"label changed by another field manager%0Aseverity: high%0Atenant: prod/globex%0Aresource: v1/Namespace tenant-globex%0A" +
					"resource id: tenant-globex%0Afield: metadata.labels.tenant%0Adesired: \"globex\"%0Alive: \"acme\"%0Afield manager: kubectl-label%0A" +
					"remediation: restore%0Afingerprint: " + labelConflict().Fingerprint(),
				"::notice title=tenantctl drift summary::commit 4f1c2e9: 2 tenants checked (0 clean, 2 drifted, 0 error), 2 findings (1 high, 1 low), 0 ignored, exit 2",
			},
		},
		{
			name:  "clean",
			build: func() *Report { r := New("4f1c2e9"); r.AddTenant("prod", "acme"); return r },
			want:  []string{"::notice title=tenantctl drift summary::commit 4f1c2e9: 1 tenants checked (1 clean, 0 drifted, 0 error), 0 findings, 0 ignored, exit 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := GitHub(&b, tt.build(), WithExitCodes(cliExitCodes)); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GitHub (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitHubFleetInSummary(t *testing.T) {
	var b strings.Builder
	if err := GitHub(&b, fixtureReport(), WithExitCodes(cliExitCodes)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	want := "::notice title=tenantctl drift summary::commit 4f1c2e9: 5 tenants checked (1 clean, 3 drifted, 1 error), 5 findings (3 critical, 1 high, 1 medium), 1 ignored, exit 1" +
		"%0A2 tenants: same NSG rule allow-10.0.0.0-8 (cross-tenant-route, critical)"
	if last != want {
		t.Errorf("summary line:\n got %q\nwant %q", last, want)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "::") {
			t.Errorf("line is not a workflow command: %q", l)
		}
	}
}
