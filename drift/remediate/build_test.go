package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
)

var planTime = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func reportOfFindings(fs ...finding.Finding) *report.Report {
	r := report.New("abc123", report.WithGeneratedAt(planTime))
	r.Add(fs...)
	r.Finalize()
	return r
}

func buildPlan(t *testing.T, c *fakeCluster, d fakeDesired, opts []PlanOption, fs ...finding.Finding) *Plan {
	t.Helper()
	opts = append([]PlanOption{WithClock(func() time.Time { return planTime })}, opts...)
	p, err := NewPlanner(c, d, devEnvs, opts...).Build(context.Background(), reportOfFindings(fs...), ModeReview, "sha256:d")
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("built plan is invalid: %v", err)
	}
	return p
}

// TestBuildScenario is the integration scenario in miniature: (a) a managed field taken by
// kubectl-patch is restored, (b) an unmanaged route in the tenant's namespace is deleted (its
// unmanaged-resource finding goes with it), (c) an unmanaged ConfigMap is reported.
func TestBuildScenario(t *testing.T) {
	c := newFakeCluster(defaultDeny(), networkPolicy("t-globex", "let-acme-in", nil), configMap("t-globex", "cache"))
	p := buildPlan(t, c, globexDesired(t), nil, findingC, findingBUnmanaged, findingBRoute, findingA)
	dd := c.objs[objKey(defaultDeny().GroupVersionKind().GroupKind(), "t-globex", "default-deny")]
	letIn := c.objs[objKey(defaultDeny().GroupVersionKind().GroupKind(), "t-globex", "let-acme-in")]
	want := &Plan{
		APIVersion: SchemaVersion, Commit: "abc123", DesiredDigest: "sha256:d", CreatedAt: planTime, Mode: ModeReview,
		Actions: []Action{
			{ID: "A1", Kind: ActionRestore, Tenant: "globex", Environment: "dev", Stack: "tenant.globex.dev",
				Fingerprints: []string{findingA.Fingerprint()}, FindingKinds: []finding.Kind{finding.KindFieldConflict},
				Target: Target{Provider: finding.ProviderKubernetes, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Type: npType,
					Namespace: "t-globex", Name: "default-deny", ID: "t-globex/default-deny", URN: findingA.Resource.URN,
					UID: string(dd.GetUID()), ResourceVersion: dd.GetResourceVersion()},
				FieldManager: pulumiManager, Engine: EngineUp,
				Fields: []FieldChange{{Path: "spec.policyTypes", Desired: json.RawMessage(`["Ingress"]`),
					Live: json.RawMessage(`["Ingress","Egress"]`), Manager: "kubectl-patch"}}},
			{ID: "A2", Kind: ActionDelete, Tenant: "globex", Environment: "dev",
				Fingerprints: []string{findingBRoute.Fingerprint(), findingBUnmanaged.Fingerprint()},
				FindingKinds: []finding.Kind{finding.KindCrossTenantRoute, finding.KindUnmanagedResource},
				Target: Target{Provider: finding.ProviderKubernetes, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Type: npType,
					Namespace: "t-globex", Name: "let-acme-in", ID: "t-globex/let-acme-in",
					UID: string(letIn.GetUID()), ResourceVersion: letIn.GetResourceVersion()}},
			{ID: "A3", Kind: ActionReport, Tenant: "globex", Environment: "dev",
				Fingerprints: []string{findingC.Fingerprint()}, FindingKinds: []finding.Kind{finding.KindUnmanagedResource},
				Target: Target{Provider: finding.ProviderKubernetes, APIVersion: "v1", Kind: "ConfigMap", Type: "v1/ConfigMap",
					Namespace: "t-globex", Name: "cache", ID: "t-globex/cache"}},
		},
	}
	if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(Action{}, "Reason")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	for _, a := range p.Actions {
		if a.Reason == "" {
			t.Errorf("%s has no reason", a.ID)
		}
	}
}

func withResource(f finding.Finding, ns, name string) finding.Finding {
	f.Resource.Namespace, f.Resource.Name, f.Resource.ID = ns, name, ""
	return f
}

func pulumiOwned(u *unstructured.Unstructured) *unstructured.Unstructured {
	u.SetManagedFields([]metav1.ManagedFieldsEntry{managedEntry(pulumiManager, metav1.ManagedFieldsOperationApply, `{"f:data":{"f:mode":{}}}`)})
	return u
}

// TestBuildDecisions covers which findings become which actions, and the scope rule: a delete
// only ever lands in the offending tenant's own namespace (or its labelled objects in the shared
// namespace), never in the peer's scope or the platform's.
func TestBuildDecisions(t *testing.T) {
	type want struct {
		kind   ActionKind
		target string
		reason string // substring
	}
	azureRoute := finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: "globex", PeerTenant: "acme", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
			Name: "globex-to-acme", ID: "/subscriptions/s/resourceGroups/rg-globex/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/globex-to-acme"}}
	azureDrift := finding.Finding{Kind: finding.KindManagedDrift, TenantID: "globex", Environment: "dev", Stack: "tenant.globex.dev",
		Field: "properties.securityRules", Resource: finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups",
			Name: "nsg", ID: "/subscriptions/s/resourceGroups/rg-globex/providers/Microsoft.Network/networkSecurityGroups/nsg"}}
	possible := findingBRoute
	possible.Remediation = finding.RemediationReport
	secret := finding.Finding{Kind: finding.KindManagedDrift, TenantID: "globex", Environment: "dev", Stack: "tenant.globex.dev",
		Field: `data.password`, Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "t-globex", Name: "settings"}}
	extra := findingA
	extra.Field, extra.Kind = "spec.ingress", finding.KindManagedDrift
	missing := finding.Finding{Kind: finding.KindMissingResource, TenantID: "globex", Environment: "dev", Stack: "tenant.globex.dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: npType, Namespace: "t-globex", Name: "default-deny"}}
	image := finding.Finding{Kind: finding.KindUntrustedImage, TenantID: "globex", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "t-globex", Name: "web"}}
	managedRoute := findingBRoute
	managedRoute.Resource.Name = "default-deny"

	tests := []struct {
		name     string
		objs     []*unstructured.Unstructured
		opts     []PlanOption
		findings []finding.Finding
		want     []want
	}{
		{"route in the peer's namespace is never deleted",
			[]*unstructured.Unstructured{networkPolicy("t-acme", "let-acme-in", nil)}, nil,
			[]finding.Finding{withResource(findingBRoute, "t-acme", "let-acme-in"), withResource(findingBUnmanaged, "t-acme", "let-acme-in")},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-acme/let-acme-in", "namespace t-acme is not tenant globex's own"}}},
		{"route in a platform namespace is never deleted",
			[]*unstructured.Unstructured{networkPolicy("platform-ingress", "open", nil)}, nil,
			[]finding.Finding{withResource(findingBRoute, "platform-ingress", "open")},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy platform-ingress/open", "never deleted automatically"}}},
		{"route in the shared namespace labelled with the tenant is deleted",
			[]*unstructured.Unstructured{networkPolicy("shared-tenants", "t-globex-open", map[string]any{"tenantctl.io/tenant": "globex"})}, nil,
			[]finding.Finding{withResource(findingBRoute, "shared-tenants", "t-globex-open")},
			[]want{{ActionDelete, "networking.k8s.io/v1/NetworkPolicy shared-tenants/t-globex-open", "delete it"}}},
		{"route in the shared namespace labelled with another tenant is not",
			[]*unstructured.Unstructured{networkPolicy("shared-tenants", "t-acme-open", map[string]any{"tenantctl.io/tenant": "acme"})}, nil,
			[]finding.Finding{withResource(findingBRoute, "shared-tenants", "t-acme-open")},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy shared-tenants/t-acme-open", "without the label tenantctl.io/tenant=globex"}}},
		{"route opened by a managed object is reported",
			[]*unstructured.Unstructured{defaultDeny()}, nil,
			[]finding.Finding{managedRoute},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "managed by a stack"}}},
		{"possible route is reported",
			[]*unstructured.Unstructured{networkPolicy("t-globex", "let-acme-in", nil)}, nil,
			[]finding.Finding{possible},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-globex/let-acme-in", "could not decide"}}},
		{"already deleted route is reported",
			nil, nil, []finding.Finding{findingBRoute, findingBUnmanaged},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-globex/let-acme-in", "already gone"}}},
		{"Azure route is a delete the executor does not support yet",
			nil, nil, []finding.Finding{azureRoute},
			[]want{{ActionDelete, azureRoute.Resource.Ref(), "not supported"}}},
		{"Azure drift is restored by the engine",
			nil, nil, []finding.Finding{azureDrift},
			[]want{{ActionRestore, azureDrift.Resource.Ref(), "refresh and up tenant.globex.dev"}}},
		{"a secret desired value is never planned",
			[]*unstructured.Unstructured{pulumiOwned(configMap("t-globex", "settings"))}, nil,
			[]finding.Finding{secret},
			[]want{{ActionReport, "v1/ConfigMap t-globex/settings", "secret"}}},
		{"a field the desired state does not set is reported",
			[]*unstructured.Unstructured{defaultDeny()}, nil,
			[]finding.Finding{extra, findingA},
			[]want{{ActionRestore, "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "spec.policyTypes (taken by kubectl-patch)"},
				{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "does not set spec.ingress"}}},
		{"a drifted object deleted since the check is reported",
			nil, nil, []finding.Finding{findingA},
			[]want{{ActionReport, "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "no longer exists"}}},
		{"a missing object is recreated by the engine",
			nil, nil, []finding.Finding{missing},
			[]want{{ActionRestore, "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "refresh and up"}}},
		{"images are reported",
			nil, nil, []finding.Finding{image},
			[]want{{ActionReport, "apps/v1/Deployment t-globex/web", "trusted registr"}}},
		{"--import still reports unmanaged resources, saying why",
			[]*unstructured.Unstructured{configMap("t-globex", "cache")}, []PlanOption{WithImport(true)},
			[]finding.Finding{findingC},
			[]want{{ActionReport, "v1/ConfigMap t-globex/cache", "adoption (--import) is not supported"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buildPlan(t, newFakeCluster(tt.objs...), globexDesired(t), tt.opts, tt.findings...)
			var got []want
			for _, a := range p.Actions {
				got = append(got, want{a.Kind, a.Target.Ref(), a.Reason})
			}
			cmpReason := cmp.Comparer(func(w, g want) bool {
				return w.kind == g.kind && w.target == g.target && (strings.Contains(g.reason, w.reason) || strings.Contains(w.reason, g.reason))
			})
			if diff := cmp.Diff(tt.want, got, cmpReason); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildFailsWhenTheClusterIsUnreadable(t *testing.T) {
	c := newFakeCluster()
	c.getErr = errors.New("connection refused")
	_, err := NewPlanner(c, globexDesired(t), devEnvs).Build(context.Background(), reportOfFindings(findingA), ModeAuto, "sha256:d")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Build = %v, want the read error", err)
	}
}
