package kubernetes

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestPlatformProgramResourceTree(t *testing.T) {
	const (
		root      = "tenantctl:platform:Platform dev"
		ingress   = "tenantctl:network:PlatformIngress dev"
		shared    = "tenantctl:compute:SharedTenancy dev"
		admission = "tenantctl:admission:TenantAdmission dev"
	)
	want := []string{
		tProvider + " k8s <- ",
		root + " <- ",
		ingress + " <- " + root,
		shared + " <- " + root,
		admission + " <- " + root,
		tNamespace + " platform-ingress <- " + ingress,
		tNamespace + " shared-tenants <- " + shared,
		tLimitRange + " shared-tenants/tenantctl-defaults <- " + shared,
		tNetworkPolicy + " shared-tenants/default-deny <- " + shared,
		tNetworkPolicy + " shared-tenants/allow-dns <- " + shared,
		tNetworkPolicy + " shared-tenants/allow-from-ingress <- " + shared,
	}
	for _, name := range tenantplan.AdmissionPolicyNames {
		want = append(want, tVAP+" "+name+" <- "+admission, tVAPBinding+" "+name+" <- "+admission)
	}
	sort.Strings(want)

	rec, err := run(t, "platform.dev", testConfig, PlatformProgram(testEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, tree(rec)); d != "" {
		t.Errorf("resource tree (-want +got):\n%s", d)
	}
	platformLabels := map[string]string{tenantplan.LabelOwner: "platform", tenantplan.LabelEnvironment: "dev", tenantplan.LabelManagedBy: tenantplan.ManagedBy}
	pss := func(level string) map[string]string {
		return map[string]string{
			"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": "latest",
			"pod-security.kubernetes.io/audit": level, "pod-security.kubernetes.io/warn": level,
		}
	}
	wantNS := map[string]map[string]string{
		"platform-ingress": tenantplan.Merge(platformLabels, pss("baseline"), map[string]string{tenantplan.LabelRole: "ingress"}),
		"shared-tenants": tenantplan.Merge(platformLabels, pss("restricted"), map[string]string{
			tenantplan.LabelRole: "shared-tenants", "tenantctl.io/compute": "shared-namespace", "tenantctl.io/network": "shared-with-policy",
		}),
	}
	for _, r := range rec.All() {
		if !r.Custom || r.Type == tProvider {
			continue
		}
		if r.Provider != "urn:pulumi:platform.dev::tenantctl::pulumi:providers:kubernetes::k8s::k8s-id" {
			t.Errorf("%s %s uses provider %q", r.Type, r.Name, r.Provider)
		}
		if wantRetain := r.Type == tNamespace && r.Name == "platform-ingress"; r.Retain != wantRetain {
			t.Errorf("%s %s retainOnDelete = %v, want %v", r.Type, r.Name, r.Retain, wantRetain)
		}
		want := platformLabels
		if r.Type == tNamespace {
			want = wantNS[r.Name]
		}
		if d := cmp.Diff(want, stackstest.StringMap(stackstest.Path(r.Inputs, "metadata.labels"))); d != "" {
			t.Errorf("%s %s labels (-want +got):\n%s", r.Type, r.Name, d)
		}
	}
}

func TestPlatformSharedNamespacePolicies(t *testing.T) {
	rec, err := run(t, "platform.dev", testConfig, PlatformProgram(testEnv()))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]any{}
	// No allow-same-namespace: shared tenants reach only their own pods, through their stacks'
	// allow-same-tenant policies.
	want := map[string]any{
		"default-deny": map[string]any{"podSelector": all, "policyTypes": []any{"Ingress", "Egress"}},
		"allow-dns": map[string]any{"podSelector": all, "policyTypes": []any{"Egress"}, "egress": []any{map[string]any{
			"to": []any{map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
			}},
			"ports": []any{map[string]any{"protocol": "UDP", "port": float64(53)}, map[string]any{"protocol": "TCP", "port": float64(53)}},
		}}},
		"allow-from-ingress": map[string]any{"podSelector": all, "policyTypes": []any{"Ingress"}, "ingress": []any{map[string]any{"from": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "platform-ingress"}},
		}}}}},
	}
	got := map[string]any{}
	for _, np := range rec.OfType(tNetworkPolicy) {
		got[stackstest.Path(np.Inputs, "metadata.name").(string)] = np.Inputs["spec"]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("shared namespace policies (-want +got):\n%s", d)
	}
	lr := rec.Get(t, tLimitRange, "shared-tenants/tenantctl-defaults")
	wantLimits := []any{map[string]any{"type": "Container",
		"default":        map[string]any{"cpu": "500m", "memory": "512Mi"},
		"defaultRequest": map[string]any{"cpu": "100m", "memory": "128Mi"},
		"max":            map[string]any{"cpu": "8", "memory": "16Gi"}}}
	if d := cmp.Diff(wantLimits, stackstest.Path(lr.Inputs, "spec.limits")); d != "" {
		t.Errorf("shared limit range (-want +got):\n%s", d)
	}
}

func TestPlatformAdmissionPolicies(t *testing.T) {
	rec, err := run(t, "platform.dev", testConfig, PlatformProgram(testEnv()))
	if err != nil {
		t.Fatal(err)
	}
	selector := func(op string, values ...any) map[string]any {
		req := map[string]any{"key": "tenantctl.io/compute", "operator": op}
		if len(values) > 0 {
			req["values"] = values
		}
		return map[string]any{"matchExpressions": []any{req}}
	}
	wantSelectors := map[string]map[string]any{
		tenantplan.PolicySiloNodePinning:      selector("In", "dedicated-node-pool"),
		tenantplan.PolicyTenantScheduling:     selector("Exists"),
		tenantplan.PolicySharedTenantIdentity: selector("In", "shared-namespace"),
		tenantplan.PolicyTenantSecrets:        selector("Exists"),
	}
	for _, ap := range tenantplan.AdmissionPolicies() {
		pol := rec.Get(t, tVAP, ap.Name)
		vals := []any{}
		for _, v := range ap.Validations {
			vals = append(vals, map[string]any{"expression": v.Expression, "message": v.Message})
		}
		wantSpec := map[string]any{
			"failurePolicy": "Fail",
			"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
				"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"},
			}}},
			"variables":   []any{map[string]any{"name": "tenant", "expression": tenantplan.CELTenant}},
			"validations": vals,
		}
		if d := cmp.Diff(wantSpec, pol.Inputs["spec"]); d != "" {
			t.Errorf("%s spec (-want +got):\n%s", ap.Name, d)
		}
		b := rec.Get(t, tVAPBinding, ap.Name)
		wantBinding := map[string]any{
			"policyName":        ap.Name,
			"validationActions": []any{"Deny"},
			"matchResources":    map[string]any{"namespaceSelector": wantSelectors[ap.Name]},
		}
		if d := cmp.Diff(wantBinding, b.Inputs["spec"]); d != "" {
			t.Errorf("%s binding (-want +got):\n%s", ap.Name, d)
		}
	}
}

func TestPlatformOutputs(t *testing.T) {
	named := testEnv()
	unnamed := testEnv()
	unnamed.Spec.SharedCluster.IngressNamespace, unnamed.Spec.SharedCluster.SharedNamespace = "", ""
	tests := []struct {
		name string
		env  *isolation.Environment
		want tenantplan.PlatformOutputs
	}{
		{"namespaces from the environment", named, testPlatform()},
		{"default namespaces", unnamed, tenantplan.PlatformOutputs{
			Environment: "dev", IngressNamespace: "tenantctl-ingress", SharedNamespace: "tenantctl-shared", AdmissionPolicies: tenantplan.AdmissionPolicyNames,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *tenantplan.PlatformOutputs
			if _, err := run(t, "platform.dev", testConfig, platformProgram(tc.env, func(o *tenantplan.PlatformOutputs) { got = o })); err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("program exported nothing")
			}
			if d := cmp.Diff(tc.want, *got); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
			// What the platform exports is what a tenant stack of the environment accepts.
			if err := got.Check(tc.env); err != nil {
				t.Errorf("tenant stacks would reject the platform's own outputs: %v", err)
			}
		})
	}
}

func TestPlatformProgramRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		cfg     map[string]string
		mutate  func(*isolation.Environment) *isolation.Environment
		wantErr string
	}{
		{name: "no kubeconfig", cfg: map[string]string{}, wantErr: "tenantctl:kubeconfig is not set"},
		{name: "nil environment", mutate: func(*isolation.Environment) *isolation.Environment { return nil }, wantErr: "environment is nil"},
		{name: "environment name", mutate: func(e *isolation.Environment) *isolation.Environment { e.Metadata.Name = "Dev Env"; return e },
			wantErr: "not a DNS label"},
		{name: "one namespace for both", mutate: func(e *isolation.Environment) *isolation.Environment {
			e.Spec.SharedCluster.SharedNamespace = e.Spec.SharedCluster.IngressNamespace
			return e
		}, wantErr: "ingress and shared namespace are both"},
		{name: "namespace a tenant could claim", mutate: func(e *isolation.Environment) *isolation.Environment {
			e.Spec.SharedCluster.SharedNamespace = "t-shared"
			return e
		}, wantErr: `uses the tenant namespace prefix "t-"`},
		{name: "capacity that does not parse", mutate: func(e *isolation.Environment) *isolation.Environment { e.Spec.Capacity.CPU = "lots"; return e },
			wantErr: `capacity.cpu "lots"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			if tc.mutate != nil {
				env = tc.mutate(env)
			}
			cfg := testConfig
			if tc.cfg != nil {
				cfg = tc.cfg
			}
			rec, err := run(t, "platform.dev", cfg, PlatformProgram(env))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			for _, r := range rec.All() {
				if strings.HasPrefix(r.Type, "kubernetes:") {
					t.Errorf("bad input still registered %s %s", r.Type, r.Name)
				}
			}
		})
	}
}
