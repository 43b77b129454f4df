package check

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// recordedStack is a stack's exported resources whose root records digest d and outputs.
func recordedStack(d tenantplan.Digest, outputs map[string]any) []apitype.ResourceV3 {
	out := map[string]any{tenantplan.OutputInputsDigest: d.Value}
	parts := map[string]any{}
	for k, v := range d.Parts {
		parts[k] = v
	}
	out[tenantplan.OutputInputsParts] = parts
	for k, v := range outputs {
		out[k] = v
	}
	return []apitype.ResourceV3{{Type: rootStackType, Outputs: out}, {Type: "kubernetes:core/v1:Namespace", Custom: true}}
}

// TestConfirmStaleness: confirm mode previews exactly the stacks whose recorded inputs digest is
// not the current one, or whose last update did not succeed; a stack updated from the current
// inputs is not previewed, however old its update.
func TestConfirmStaleness(t *testing.T) {
	load := func() *isolation.DesiredState {
		st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
		if err != nil {
			t.Fatal(err)
		}
		// The stacks' kubernetes target without the data layer: no connection file is needed.
		st.Environment("dev").Spec.SharedDatabase.Engine = ""
		return st
	}
	recordedState := load()
	env := recordedState.Environment("dev")
	f := fleet.New(&automation.Engine{}, recordedState, "", fleet.WithProgramVersion("v1"))
	platformOut := tenantplan.ExpectedPlatformOutputs(env)
	pd, err := f.PlatformDigest(env)
	if err != nil {
		t.Fatal(err)
	}
	desired := map[string][]apitype.ResourceV3{
		"platform.dev": recordedStack(pd, map[string]any{
			tenantplan.OutputEnvironment: platformOut.Environment, tenantplan.OutputIngressNamespace: platformOut.IngressNamespace,
			tenantplan.OutputSharedNamespace: platformOut.SharedNamespace, tenantplan.OutputAdmissionPolicies: anySlice(platformOut.AdmissionPolicies),
		}),
	}
	for _, b := range recordedState.BindingsIn("dev") {
		d, err := f.TenantDigest(b, platformOut)
		if err != nil {
			t.Fatal(err)
		}
		desired[tenantplan.TenantStackName(b.Spec.TenantID, "dev")] = recordedStack(d, nil)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	succeeded := func() map[string]automation.LastOperation {
		out := map[string]automation.LastOperation{}
		for s := range desired {
			out[s] = automation.LastOperation{Kind: "update", Result: "succeeded", End: old}
		}
		return out
	}

	for _, tc := range []struct {
		name     string
		edit     func(*isolation.DesiredState)
		history  func(map[string]automation.LastOperation)
		noHist   bool
		findings []finding.Finding
		want     map[string]string
	}{{
		name: "updated a month ago from the current inputs",
		want: map[string]string{},
	}, {
		name: "a binding changed since",
		edit: func(st *isolation.DesiredState) { st.Binding("dev", "initech").Spec.Quota.CPU = "400m" },
		want: map[string]string{"tenant.initech.dev": ReasonStale + ": " + tenantplan.ReasonBinding},
	}, {
		name: "an environment field one tenant reads, and one nothing reads",
		edit: func(st *isolation.DesiredState) {
			st.Environment("dev").Spec.WorkloadIdentity.ClientIDs["acme"] = "0a1c0000-0000-4000-8000-00000000ac3f"
			st.Environment("dev").Spec.PlatformPrincipals = []isolation.PlatformPrincipal{{Kind: "Group", Name: "sre"}}
		},
		want: map[string]string{"tenant.acme.dev": ReasonStale + ": " + tenantplan.ReasonEnvironment},
	}, {
		name: "the last update of one stack failed",
		history: func(h map[string]automation.LastOperation) {
			h["tenant.globex.dev"] = automation.LastOperation{Kind: "update", Result: "failed"}
		},
		want: map[string]string{"tenant.globex.dev": ReasonStale + ": " + fleet.ReasonLastFailed},
	}, {
		name:   "history unreadable (CLI path): digests decide",
		noHist: true,
		edit:   func(st *isolation.DesiredState) { st.Binding("dev", "globex").Spec.Quota.Pods = 12 },
		want:   map[string]string{"tenant.globex.dev": ReasonStale + ": " + tenantplan.ReasonBinding},
	}, {
		name:     "findings take precedence",
		edit:     func(st *isolation.DesiredState) { st.Binding("dev", "initech").Spec.Quota.CPU = "400m" },
		findings: []finding.Finding{{TenantID: "initech"}},
		want:     map[string]string{"tenant.initech.dev": ReasonFindings},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st := load()
			if tc.edit != nil {
				tc.edit(st)
			}
			c := New(&automation.Engine{}, st, "")
			ec := &envCheck{c: c, fleet: fleet.New(&automation.Engine{}, st, "", fleet.WithProgramVersion("v1")), env: st.Environment("dev"), desired: desired}
			present := []stackRef{platformRef(ec.env)}
			for _, b := range st.BindingsIn("dev") {
				present = append(present, tenantRef(ec.env, b))
			}
			hist := succeeded()
			if tc.history != nil {
				tc.history(hist)
			}
			if tc.noHist {
				hist = nil
			}
			reasons := map[string]string{}
			refs := ec.confirmCandidates(present, tc.findings, hist, reasons)
			if len(refs) != len(tc.want) {
				t.Errorf("%d candidates, want %d", len(refs), len(tc.want))
			}
			if diff := cmp.Diff(tc.want, reasons); diff != "" {
				t.Errorf("engine previews and reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
