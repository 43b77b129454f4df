package detect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/drift/finding"
)

const (
	denyURN = "urn:pulumi:tenant.acme.dev::tenantctl::tenantctl:tenant:Tenant$tenantctl:network:TenantNetwork$kubernetes:networking.k8s.io/v1:NetworkPolicy::t-acme/default-deny"
	denyTyp = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
)

func npState(policyTypes []any, labels map[string]any, rv string) *apitype.StepEventStateMetadata {
	obj := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "default-deny", "namespace": "t-acme", "labels": labels, "resourceVersion": rv},
		"spec":     map[string]any{"podSelector": map[string]any{}, "policyTypes": policyTypes}}
	return &apitype.StepEventStateMetadata{Type: denyTyp, URN: denyURN, Custom: true, ID: "t-acme/default-deny", Inputs: obj, Outputs: obj}
}

func TestEngineFindingsRefresh(t *testing.T) {
	acme := map[string]any{"tenantctl.io/tenant": "acme"}
	steps := []apitype.StepEventMetadata{
		{Op: apitype.OpSame, URN: "urn:pulumi:tenant.acme.dev::tenantctl::pulumi:pulumi:Stack::tenantctl-tenant.acme.dev", Type: "pulumi:pulumi:Stack"},
		{Op: apitype.OpRefresh, URN: "urn:pulumi:tenant.acme.dev::tenantctl::pulumi:providers:kubernetes::dev", Type: "pulumi:providers:kubernetes",
			Old: &apitype.StepEventStateMetadata{Outputs: map[string]any{"a": "1"}}, New: &apitype.StepEventStateMetadata{Outputs: map[string]any{"a": "2"}}},
		// policyTypes patched and a label added out of band; resourceVersion moves on every write
		{Op: apitype.OpUpdate, URN: denyURN, Type: denyTyp,
			Old: npState([]any{"Ingress"}, acme, "1"),
			New: npState([]any{"Ingress", "Egress"}, map[string]any{"tenantctl.io/tenant": "acme", "debug": "on"}, "9")},
		{Op: apitype.OpRefresh, URN: denyURN, Type: denyTyp, Old: npState([]any{"Ingress"}, acme, "1"), New: npState([]any{"Ingress"}, acme, "1")},
		{Op: apitype.OpDelete, URN: strings.Replace(denyURN, "default-deny", "allow-dns", 1), Type: denyTyp,
			Old: &apitype.StepEventStateMetadata{Type: denyTyp, ID: "t-acme/allow-dns", Custom: true}},
	}
	fs, err := EngineFindings("tenant.acme.dev", SourceRefresh, steps)
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny", Field: "metadata.labels.debug",
			Live: `"on"`, Severity: finding.SeverityMedium},
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny", Field: "spec.policyTypes",
			Desired: `["Ingress"]`, Live: `["Ingress","Egress"]`, Severity: finding.SeverityMedium},
		{Kind: finding.KindMissingResource, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/allow-dns", Severity: finding.SeverityHigh},
	}
	if diff := cmp.Diff(want, briefs(t, fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range fs {
		if f.Detector != finding.DetectorEngine || f.Stack != "tenant.acme.dev" || f.Environment != "dev" {
			t.Errorf("%s: detector %q stack %q env %q", f.Title(), f.Detector, f.Stack, f.Environment)
		}
	}
}

func TestEngineFindingsPreview(t *testing.T) {
	cmURN := "urn:pulumi:tenant.acme.dev::tenantctl::kubernetes:core/v1:ConfigMap::t-acme/t-acme-secret-refs"
	cmTyp := "kubernetes:core/v1:ConfigMap"
	cm := func(data map[string]any) *apitype.StepEventStateMetadata {
		o := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "t-acme-secret-refs", "namespace": "t-acme"}, "data": data}
		return &apitype.StepEventStateMetadata{Type: cmTyp, URN: cmURN, Custom: true, ID: "t-acme/t-acme-secret-refs", Inputs: o, Outputs: o}
	}
	depURN := "urn:pulumi:tenant.acme.dev::tenantctl::kubernetes:apps/v1:Deployment::t-acme/web"
	depTyp := "kubernetes:apps/v1:Deployment"
	dep := func(password string) *apitype.StepEventStateMetadata {
		o := map[string]any{"metadata": map[string]any{"name": "web", "namespace": "t-acme"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "env": []any{map[string]any{"name": "DB_PASSWORD", "value": password}}}}}}}}
		return &apitype.StepEventStateMetadata{Type: depTyp, URN: depURN, Custom: true, ID: "t-acme/web", Inputs: o, Outputs: o}
	}
	steps := []apitype.StepEventMetadata{
		{Op: apitype.OpUpdate, URN: denyURN, Type: denyTyp,
			Old:          npState([]any{"Ingress", "Egress"}, map[string]any{"tenantctl.io/tenant": "acme"}, "9"),
			New:          npState([]any{"Ingress"}, map[string]any{"tenantctl.io/tenant": "acme"}, ""),
			DetailedDiff: map[string]apitype.PropertyDiff{"spec.policyTypes[1]": {Kind: apitype.DiffDelete}}},
		{Op: apitype.OpUpdate, URN: cmURN, Type: cmTyp, Old: cm(map[string]any{"db": "v1"}), New: cm(map[string]any{"db": "v2"}), Diffs: []string{"data"}},
		{Op: apitype.OpUpdate, URN: depURN, Type: depTyp, Old: dep("old-pass"), New: dep("new-pass"),
			DetailedDiff: map[string]apitype.PropertyDiff{"spec.template.spec.containers[0].env[0].value": {Kind: apitype.DiffUpdate, InputDiff: true}}},
		{Op: apitype.OpCreate, URN: strings.Replace(denyURN, "default-deny", "allow-dns", 1), Type: denyTyp,
			New: &apitype.StepEventStateMetadata{Type: denyTyp, Inputs: map[string]any{"metadata": map[string]any{"name": "allow-dns", "namespace": "t-acme"}}}},
		{Op: apitype.OpDelete, URN: strings.Replace(cmURN, "t-acme-secret-refs", "legacy", 1), Type: cmTyp,
			Old: &apitype.StepEventStateMetadata{Type: cmTyp, ID: "t-acme/legacy"}},
		// a replacement shows as replace plus create-replacement and delete-replaced: counted once
		{Op: apitype.OpCreateReplacement, URN: denyURN, Type: denyTyp, Diffs: []string{"spec"}},
		{Op: apitype.OpSame, URN: denyURN, Type: denyTyp},
	}
	fs, err := EngineFindings("tenant.acme.dev", SourcePreview, steps)
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web", Field: "spec.template.spec.containers[0].env[0].value",
			Desired: `"` + finding.Redacted + `"`, Live: `"` + finding.Redacted + `"`, Severity: finding.SeverityMedium},
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny", Field: "spec.policyTypes[1]",
			Live: `"Egress"`, Severity: finding.SeverityMedium},
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "v1/ConfigMap t-acme/legacy", Severity: finding.SeverityMedium},
		{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "v1/ConfigMap t-acme/t-acme-secret-refs", Field: "data",
			Desired: `{"db":"v2"}`, Live: `{"db":"v1"}`, Severity: finding.SeverityMedium},
		{Kind: finding.KindMissingResource, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/allow-dns", Severity: finding.SeverityHigh},
	}
	if diff := cmp.Diff(want, briefs(t, fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestEngineFindingsErrors(t *testing.T) {
	if _, err := EngineFindings("acme-dev", SourcePreview, nil); err == nil || !strings.Contains(err.Error(), "neither platform") {
		t.Errorf("bad stack name: err = %v", err)
	}
	if _, err := EngineFindings("tenant.acme.dev", "up", []apitype.StepEventMetadata{{Op: apitype.OpUpdate, URN: denyURN, Type: denyTyp}}); err == nil {
		t.Errorf("unknown source accepted")
	}
	_, err := EngineFindings("tenant.acme.dev", SourcePreview, []apitype.StepEventMetadata{{Op: apitype.OpUpdate, URN: denyURN, Type: denyTyp,
		DetailedDiff: map[string]apitype.PropertyDiff{"spec[": {Kind: apitype.DiffUpdate}}}})
	if err == nil || !strings.Contains(err.Error(), `diff path "spec["`) {
		t.Errorf("bad diff path: err = %v", err)
	}
}

func TestConflictFindings(t *testing.T) {
	nsURN := "urn:pulumi:tenant.acme.dev::tenantctl::tenantctl:tenant:Tenant$tenantctl:compute:TenantCompute$kubernetes:core/v1:Namespace::t-acme"
	depURN := "urn:pulumi:tenant.acme.dev::tenantctl::kubernetes:apps/v1:Deployment::t-acme/web"
	tests := []struct {
		name, urn, msg string
		want           []brief
	}{
		{"observed: label taken by kubectl-label", nsURN,
			`error: 1 error occurred: * Server-Side Apply field conflict detected. See https://www.pulumi.com/registry/packages/kubernetes/how-to-guides/managing-resources-with-server-side-apply/#handle-field-conflicts-on-existing-resources for troubleshooting help.
The resource managed by field manager "pulumi-kubernetes-4f3c2a1b" had an apply conflict: Apply failed with 1 conflict: conflict with "kubectl-label" using v1: .metadata.labels.tenant`,
			[]brief{{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "v1/Namespace t-acme", Field: "metadata.labels.tenant", Manager: "kubectl-label", Severity: finding.SeverityHigh}}},
		{"dotted label key", nsURN, `Apply failed with 1 conflict: conflict with "kubectl-label": .metadata.labels.tenantctl.io/tenant`,
			[]brief{{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "v1/Namespace t-acme", Field: `metadata.labels["tenantctl.io/tenant"]`, Manager: "kubectl-label", Severity: finding.SeverityHigh}}},
		{"several fields", depURN, "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"app\"].image",
			[]brief{
				{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web", Field: "spec.replicas", Manager: "kubectl-edit", Severity: finding.SeverityHigh},
				{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web", Field: "spec.template.spec.containers[name=app].image", Manager: "kubectl-edit", Severity: finding.SeverityHigh},
			}},
		{"not a conflict", depURN, "error: timed out waiting for the condition", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := ConflictFindings("tenant.acme.dev", tt.urn, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, briefs(t, fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ConflictFindings("tenant.acme.dev", "not-a-urn", "conflict"); err == nil {
		t.Errorf("invalid URN accepted")
	}
}

// TestEngineFindingsNeverCarrySecretResourceValues: a Kubernetes Secret's data and an azure-native
// Key Vault secret's value changed out of band are never read into a finding; the classifier
// decides which types are secret for both providers.
func TestEngineFindingsNeverCarrySecretResourceValues(t *testing.T) {
	const canary = "canary-7f3a9e21-secret-value"
	kvURN := "urn:pulumi:tenant.acme.dev::tenantctl::azure-native:keyvault:Secret::db-password"
	kvTyp := "azure-native:keyvault:Secret"
	kv := func(value string) *apitype.StepEventStateMetadata {
		o := map[string]any{"name": "db-password", "properties": map[string]any{"value": value, "contentType": "text/plain"}}
		return &apitype.StepEventStateMetadata{Type: kvTyp, URN: kvURN, Custom: true,
			ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-acme/secrets/db-password", Inputs: o, Outputs: o}
	}
	secURN := "urn:pulumi:tenant.acme.dev::tenantctl::kubernetes:core/v1:Secret::t-acme/db"
	secTyp := "kubernetes:core/v1:Secret"
	sec := func(value string) *apitype.StepEventStateMetadata {
		o := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db", "namespace": "t-acme"},
			"stringData": map[string]any{"password": value}}
		return &apitype.StepEventStateMetadata{Type: secTyp, URN: secURN, Custom: true, ID: "t-acme/db", Inputs: o, Outputs: o}
	}
	steps := []apitype.StepEventMetadata{
		{Op: apitype.OpUpdate, URN: kvURN, Type: kvTyp, Old: kv("old"), New: kv(canary)},
		{Op: apitype.OpUpdate, URN: secURN, Type: secTyp, Old: sec("old"), New: sec(canary)},
	}
	fs, err := EngineFindings("tenant.acme.dev", SourceRefresh, steps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) || strings.Contains(string(b), `"old"`) {
		t.Errorf("findings carry a secret resource's value: %s", b)
	}
}
