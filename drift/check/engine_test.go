package check

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
)

const (
	denyURN = "urn:pulumi:tenant.globex.dev::tenantctl::tenantctl:tenant:Tenant$tenantctl:network:TenantNetwork$kubernetes:networking.k8s.io/v1:NetworkPolicy::t-globex/default-deny"
	nsURN   = "urn:pulumi:tenant.globex.dev::tenantctl::tenantctl:tenant:Tenant$tenantctl:compute:TenantCompute$kubernetes:core/v1:Namespace::t-globex"
	npType  = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	nsType  = "kubernetes:core/v1:Namespace"
)

func objState(urn, typ, id, ns, name string, spec map[string]any) *apitype.StepEventStateMetadata {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	inputs := map[string]any{"metadata": meta}
	if spec != nil {
		inputs["spec"] = spec
	}
	return &apitype.StepEventStateMetadata{URN: urn, Type: typ, Custom: true, ID: id, Inputs: inputs,
		Outputs: map[string]any{"metadata": meta}}
}

// The plan the engine made when kubectl-patch had taken default-deny's spec.policyTypes: the
// refresh read the policy back, the plan updates it, and the preview failed with the conflict.
func conflictPlan() []apitype.StepEventMetadata {
	ns := objState(nsURN, nsType, "t-globex", "", "t-globex", nil)
	deny := objState(denyURN, npType, "t-globex/default-deny", "t-globex", "default-deny", map[string]any{"policyTypes": []any{"Ingress", "Egress"}})
	return []apitype.StepEventMetadata{
		{Op: apitype.OpSame, URN: nsURN, Type: nsType, Old: ns, New: ns},
		{Op: apitype.OpUpdate, URN: denyURN, Type: npType, Old: deny, New: deny,
			DetailedDiff: map[string]apitype.PropertyDiff{"spec.policyTypes[1]": {Kind: apitype.DiffAdd}}},
	}
}

type conflictBrief struct {
	Kind     finding.Kind
	Tenant   string
	Resource string
	Field    string
	Manager  string
	Detector finding.Detector
}

func conflictBriefs(fs []finding.Finding) []conflictBrief {
	var out []conflictBrief
	for _, f := range fs {
		out = append(out, conflictBrief{f.Kind, f.TenantID, f.Resource.Ref(), f.Field, f.Manager, f.Detector})
	}
	return out
}

func TestFailureFindings(t *testing.T) {
	observed, err := os.ReadFile("testdata/preview-conflict.txt")
	if err != nil {
		t.Fatal(err)
	}
	denyConflict := conflictBrief{finding.KindFieldConflict, "globex", "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny",
		"spec.policyTypes", "kubectl-patch", finding.DetectorEngine}
	tests := []struct {
		name     string
		message  string
		want     []conflictBrief
		wantRest string
	}{
		{"observed preview --refresh failure", string(observed), []conflictBrief{denyConflict}, ""},
		{"several conflicts of one manager",
			"failed to run preview: exit status 1\nstderr: error: Preview failed: 1 error occurred:\n" +
				"\t* the Kubernetes API server reported that \"t-globex/default-deny\" failed: Apply failed with 2 conflicts: conflicts with \"kubectl\" using networking.k8s.io/v1:\n" +
				"- .spec.policyTypes\n- .spec.podSelector\n\nerror: preview failed\n",
			[]conflictBrief{
				{finding.KindFieldConflict, "globex", "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "spec.podSelector", "kubectl", finding.DetectorEngine},
				{finding.KindFieldConflict, "globex", "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny", "spec.policyTypes", "kubectl", finding.DetectorEngine},
			}, ""},
		{"a conflict and another error",
			"failed to run preview: exit status 1\nstderr: error: Preview failed: 2 errors occurred:\n" +
				"\t* the Kubernetes API server reported that \"t-globex/default-deny\" failed: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using networking.k8s.io/v1: .spec.policyTypes\n" +
				"\t* the Kubernetes API server reported that \"t-globex\" is\n  unreachable\n\nerror: preview failed\n",
			[]conflictBrief{denyConflict}, `the Kubernetes API server reported that "t-globex" is unreachable`},
		{"no conflict at all",
			"failed to run preview: exit status 255\ncode: 255\nstdout: \nstderr: error: could not load plugin kubernetes\n",
			nil, "could not load plugin kubernetes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, rest, err := failureFindings("tenant.globex.dev", conflictPlan(), tt.message)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, conflictBriefs(fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if rest != tt.wantRest {
				t.Errorf("rest = %q, want %q", rest, tt.wantRest)
			}
		})
	}
}

func TestDesiredFromSteps(t *testing.T) {
	spec := func(types ...any) map[string]any { return map[string]any{"policyTypes": types} }
	recorded := objState(denyURN, npType, "t-globex/default-deny", "t-globex", "default-deny", spec("Ingress"))
	planned := objState(denyURN, npType, "", "t-globex", "default-deny", spec("Ingress", "Egress"))
	planned.Outputs = nil
	ns := objState(nsURN, nsType, "t-globex", "", "t-globex", nil)
	gone := "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:core/v1:ConfigMap::t-globex/old"
	oldCM := objState(gone, "kubernetes:core/v1:ConfigMap", "t-globex/old", "t-globex", "old", nil)
	read := "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:core/v1:Namespace::kube-system"
	readNS := objState(read, nsType, "kube-system", "", "kube-system", nil)

	type res struct {
		URN      string
		ID       string
		Types    any
		External bool
		Outputs  bool
	}
	brief := func(rs []apitype.ResourceV3) []res {
		var out []res
		for _, r := range rs {
			spec, _ := r.Inputs["spec"].(map[string]any)
			out = append(out, res{string(r.URN), string(r.ID), spec["policyTypes"], r.External, r.Outputs != nil})
		}
		return out
	}
	tests := []struct {
		name  string
		steps []apitype.StepEventMetadata
		want  []res
	}{
		{"planned update keeps the recorded id and outputs", []apitype.StepEventMetadata{
			{Op: apitype.OpRefresh, URN: denyURN, Old: recorded, New: recorded},
			{Op: apitype.OpRefresh, URN: nsURN, Old: ns, New: ns},
			{Op: apitype.OpUpdate, URN: denyURN, Old: recorded, New: planned},
			{Op: apitype.OpSame, URN: nsURN, Old: ns, New: ns},
		}, []res{{denyURN, "t-globex/default-deny", []any{"Ingress", "Egress"}, false, true}, {nsURN, "t-globex", nil, false, true}}},
		{"a plan cut short keeps the recorded state of what it did not reach", []apitype.StepEventMetadata{
			{Op: apitype.OpRefresh, URN: denyURN, Old: recorded, New: recorded},
			{Op: apitype.OpRefresh, URN: nsURN, Old: ns, New: ns},
			{Op: apitype.OpSame, URN: nsURN, Old: ns, New: ns},
		}, []res{{denyURN, "t-globex/default-deny", []any{"Ingress"}, false, true}, {nsURN, "t-globex", nil, false, true}}},
		{"deleted resources are no longer declared; reads are external", []apitype.StepEventMetadata{
			{Op: apitype.OpRefresh, URN: gone, Old: oldCM, New: oldCM},
			{Op: apitype.OpDelete, URN: gone, Old: oldCM},
			{Op: apitype.OpRead, URN: read, New: readNS},
		}, []res{{read, "kube-system", nil, true, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, brief(desiredFromSteps(tt.steps))); diff != "" {
				t.Errorf("desired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEngineOutcome(t *testing.T) {
	observed, err := os.ReadFile("testdata/preview-conflict.txt")
	if err != nil {
		t.Fatal(err)
	}
	ref := stackRef{name: "tenant.globex.dev", tenant: "globex"}
	plan := conflictPlan()
	refresh := []apitype.StepEventMetadata{
		{Op: apitype.OpRefresh, URN: nsURN, Type: nsType, Old: plan[0].Old, New: plan[0].Old},
		{Op: apitype.OpRefresh, URN: denyURN, Type: npType, Old: plan[1].Old, New: plan[1].Old},
	}
	type outcome struct {
		Findings []conflictBrief
		Evidence []string
		Err      string
	}
	brief := func(er engineResult) outcome {
		o := outcome{Findings: conflictBriefs(er.findings)}
		for _, f := range er.findings {
			if f.Kind == finding.KindFieldConflict {
				o.Evidence = f.Evidence
			}
		}
		if er.err != nil {
			o.Err = er.err.Error()
		}
		return o
	}
	deny := "networking.k8s.io/v1/NetworkPolicy t-globex/default-deny"
	conflict := conflictBrief{finding.KindFieldConflict, "globex", deny, "spec.policyTypes", "kubectl-patch", finding.DetectorEngine}
	planned := conflictBrief{finding.KindManagedDrift, "globex", deny, "spec.policyTypes[1]", "", finding.DetectorEngine}
	tests := []struct {
		name   string
		result automation.Result
		want   outcome
	}{
		{"a conflict after planning everything is drift, not an error",
			automation.Result{Details: append(append([]apitype.StepEventMetadata{}, refresh...), plan...), Err: errors.New(string(observed))},
			outcome{Findings: []conflictBrief{planned, conflict}, Evidence: []string{"server-side apply conflict with field manager kubectl-patch"}}},
		{"a conflict that stopped the plan says what was not planned",
			automation.Result{Details: append(append([]apitype.StepEventMetadata{}, refresh...), plan[1]), Err: errors.New(string(observed))},
			outcome{Findings: []conflictBrief{planned, conflict}, Evidence: []string{"server-side apply conflict with field manager kubectl-patch",
				"the preview stopped at this conflict: 1 other resource(s) were not planned and are compared with their recorded state"}}},
		{"any other failure is an error of the stack",
			automation.Result{Details: refresh, Err: errors.New("failed to run preview: exit status 255\nstderr: error: could not load plugin kubernetes\n")},
			outcome{Err: "preview --refresh of tenant.globex.dev: could not load plugin kubernetes"}},
		{"a skipped preview is an error of the stack",
			automation.Result{Skipped: "stack does not exist"},
			outcome{Err: "preview --refresh of tenant.globex.dev was skipped: stack does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, brief(engineOutcome(ref, tt.result))); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMaskedSecretsAreNotCompared: automation.Export masks secret values; the live comparison must
// skip them, not report the mask against the live value.
func TestMaskedSecretsAreNotCompared(t *testing.T) {
	const cmURN = "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:core/v1:ConfigMap::t-globex/settings"
	exported := []apitype.ResourceV3{{URN: cmURN, Custom: true, ID: "t-globex/settings", Type: "kubernetes:core/v1:ConfigMap",
		Inputs: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "settings", "namespace": "t-globex"},
			"data":     map[string]any{"token": automation.SecretMask, "mode": "strict"}}}}
	live := unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "t-globex"},
		"data":     map[string]any{"token": "the-live-value", "mode": "lenient"}}}
	env := &isolation.Environment{}
	env.Metadata.Name = "dev"
	d := detect.NewManaged()
	if err := d.AddStack("tenant.globex.dev", markSecrets(exported)); err != nil {
		t.Fatal(err)
	}
	fs, err := detect.New(env, d, detect.WithChecks(detect.CheckManaged)).Check(context.Background(),
		&inventory.Snapshot{Kubernetes: []unstructured.Unstructured{live}})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range fs {
		fields = append(fields, f.Field)
	}
	if diff := cmp.Diff([]string{"data.mode"}, fields); diff != "" {
		t.Errorf("drifted fields (-want +got):\n%s", diff)
	}
}
