package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

var npGK = defaultDeny().GroupVersionKind().GroupKind()

type applyEnv struct {
	cluster *fakeCluster
	conv    *converger
	rec     *recorder
	plan    *Plan
}

func newApplyEnv(t *testing.T) *applyEnv {
	t.Helper()
	c := newFakeCluster(defaultDeny(), networkPolicy("t-globex", "let-acme-in", nil), configMap("t-globex", "cache"))
	return &applyEnv{cluster: c, conv: &converger{}, rec: &recorder{},
		plan: buildPlan(t, c, globexDesired(t), nil, findingA, findingBRoute, findingBUnmanaged, findingC)}
}

func (e *applyEnv) apply(digest string) (*Result, error) {
	ex := NewExecutor(e.cluster, e.conv, e.rec, devEnvs, digest, WithPrincipal("test:remediate"), WithPlanSource("plan.json"))
	return ex.Apply(context.Background(), e.plan)
}

func outcomes(r *Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, a := range r.Actions {
		out[a.ID] = a.Outcome
	}
	return out
}

type eventSummary struct {
	Tenant, Action, Kind string
	Outcome              audit.Outcome
	Op                   audit.Op
	Name                 string
	Fields               []audit.FieldChange
}

func summarize(evs []audit.Event) []eventSummary {
	var out []eventSummary
	for _, ev := range evs {
		if ev.Type != audit.TypeDriftRemediate || ev.Commit != "abc123" || ev.Principal != "test:remediate" || ev.Details["plan"] != "plan.json" {
			out = append(out, eventSummary{Action: "unexpected envelope: " + string(ev.Type) + " " + ev.Commit + " " + ev.Principal})
			continue
		}
		out = append(out, eventSummary{Tenant: ev.TenantID, Action: ev.Details["action"], Kind: ev.Details["kind"], Outcome: ev.Outcome,
			Op: ev.Changes[0].Op, Name: ev.Changes[0].Name, Fields: ev.Changes[0].Fields})
	}
	return out
}

func TestApplyScenario(t *testing.T) {
	e := newApplyEnv(t)
	planned := e.plan.Actions[0].Target.ResourceVersion
	res, err := e.apply("sha256:d")
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if diff := cmp.Diff(map[string]Outcome{"A1": OutcomeApplied, "A2": OutcomeApplied, "A3": OutcomeReported}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if res.Failed() || res.Refused() || res.Err() != nil {
		t.Errorf("failed %v, refused %v, err %v; want every action applied", res.Failed(), res.Refused(), res.Err())
	}
	if diff := cmp.Diff([]string{objKey(npGK, "t-globex", "let-acme-in")}, e.cluster.deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	// The body keeps what the stack's manager owns (its labels; spec as a member of its own, as
	// the API server leaves it when another manager takes spec.policyTypes) and sets exactly the
	// drifted field.
	wantBody := []appliedBody{{manager: pulumiManager, body: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "default-deny", "namespace": "t-globex", "resourceVersion": planned,
			"labels": map[string]any{"tenantctl.io/tenant": "globex", "app.kubernetes.io/managed-by": "tenantctl"}},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}},
	}}}
	if diff := cmp.Diff(wantBody, e.cluster.applied, cmp.AllowUnexported(appliedBody{})); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"up tenant.globex.dev"}, e.conv.calls); diff != "" {
		t.Errorf("engine (-want +got):\n%s", diff)
	}
	want := []eventSummary{
		{Tenant: "globex", Action: "A2", Kind: "delete", Outcome: audit.OutcomeSucceeded, Op: audit.OpDelete, Name: "t-globex/let-acme-in"},
		{Tenant: "globex", Action: "A1", Kind: "restore-fields", Outcome: audit.OutcomeSucceeded, Op: audit.OpUpdate, Name: "t-globex/default-deny",
			Fields: []audit.FieldChange{{Path: "spec.policyTypes", Old: `["Ingress","Egress"]`, New: `["Ingress"]`}}},
	}
	if diff := cmp.Diff(want, summarize(e.rec.events)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if got := e.rec.events[1].Details["engine"]; !strings.Contains(got, "up tenant.globex.dev: applied") {
		t.Errorf("restore audit engine detail = %q", got)
	}
}

func TestApplyRefusesWhenLiveMoved(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *fakeCluster)
	}{
		{"the route was edited", func(c *fakeCluster) { c.touch(npGK, "t-globex", "let-acme-in") }},
		{"the route was deleted", func(c *fakeCluster) { delete(c.objs, objKey(npGK, "t-globex", "let-acme-in")) }},
		{"the restored object was edited", func(c *fakeCluster) { c.touch(npGK, "t-globex", "default-deny") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t)
			tt.change(e.cluster)
			res, err := e.apply("sha256:d")
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.Failed() || !res.Refused() || errkind.Of(res.Err()) != errkind.Conflict {
				t.Errorf("failed %v, refused %v, err %v; want a conflict", res.Failed(), res.Refused(), res.Err())
			}
			if diff := cmp.Diff(map[string]Outcome{"A1": OutcomeRefused, "A2": OutcomeRefused, "A3": OutcomeReported}, outcomes(res)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if len(e.cluster.applied)+len(e.cluster.deleted)+len(e.conv.calls) != 0 {
				t.Errorf("something changed: applied %d, deleted %v, engine %v", len(e.cluster.applied), e.cluster.deleted, e.conv.calls)
			}
			var got []audit.Outcome
			for _, ev := range e.rec.events {
				got = append(got, ev.Outcome)
			}
			if diff := cmp.Diff([]audit.Outcome{audit.OutcomeDenied, audit.OutcomeDenied}, got); diff != "" {
				t.Errorf("audit outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyRefusesAnotherDesiredState(t *testing.T) {
	e := newApplyEnv(t)
	res, err := e.apply("sha256:other")
	if err != nil {
		t.Fatal(err)
	}
	if errkind.Of(res.Err()) != errkind.Conflict || !strings.Contains(res.Err().Error(), "desired state changed") {
		t.Errorf("err %v; want a conflict naming the desired state", res.Err())
	}
	if len(e.cluster.applied)+len(e.cluster.deleted) != 0 {
		t.Error("a refused plan changed objects")
	}
}

// A race the preflight cannot see: the object moves between the preflight read and the apply;
// the API server's precondition refuses it.
func TestApplyRaceIsRefusedByTheAPIServer(t *testing.T) {
	e := newApplyEnv(t)
	e.cluster.onApply = func() { e.cluster.touch(npGK, "t-globex", "default-deny"); e.cluster.onApply = nil }
	res, err := e.apply("sha256:d")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]Outcome{"A1": OutcomeRefused, "A2": OutcomeApplied, "A3": OutcomeReported}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if errkind.Of(res.Err()) != errkind.Conflict {
		t.Errorf("err %v, want a conflict", res.Err())
	}
	if len(e.conv.calls) != 0 {
		t.Errorf("engine ran after a failed restore: %v", e.conv.calls)
	}
}

func TestApplyRefusesInvalidPlans(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *applyEnv)
		want string
	}{
		{"delete moved into the peer's namespace", func(e *applyEnv) {
			e.cluster.put(networkPolicy("t-acme", "let-acme-in", nil))
			e.plan.Actions[1].Target.Namespace = "t-acme"
		}, "outside tenant globex's own scope"},
		{"delete in the shared namespace of an object of another tenant", func(e *applyEnv) {
			e.cluster.put(networkPolicy("shared-tenants", "x", map[string]any{"tenantctl.io/tenant": "acme"}))
			o := e.cluster.objs[objKey(npGK, "shared-tenants", "x")]
			a := &e.plan.Actions[1]
			a.Target.Namespace, a.Target.Name, a.Target.UID, a.Target.ResourceVersion = "shared-tenants", "x", string(o.GetUID()), o.GetResourceVersion()
		}, "without the label tenantctl.io/tenant=globex"},
		{"unknown environment", func(e *applyEnv) { e.plan.Actions[2].Environment = "staging" }, `environment "staging" is not in the desired state`},
		{"structurally invalid", func(e *applyEnv) { e.plan.APIVersion = "v0" }, "apiVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t)
			tt.edit(e)
			_, err := e.apply("sha256:d")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply = %v, want error containing %q", err, tt.want)
			}
			if kind := errkind.Of(err); kind != errkind.Invalid {
				t.Errorf("kind = %v, want %v", kind, errkind.Invalid)
			}
			if len(e.cluster.applied)+len(e.cluster.deleted)+len(e.conv.calls) != 0 {
				t.Error("an invalid plan changed something")
			}
		})
	}
}

func TestApplyFailures(t *testing.T) {
	azure := Action{ID: "A9", Kind: ActionDelete, Tenant: "globex", Environment: "dev", Fingerprints: []string{"f"},
		FindingKinds: []finding.Kind{finding.KindCrossTenantRoute}, Reason: "peering to acme",
		Target: Target{Provider: finding.ProviderAzure, Type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", ID: "/subscriptions/s/peering"}}
	tests := []struct {
		name     string
		edit     func(e *applyEnv)
		outcomes map[string]Outcome
		audited  []audit.Outcome
	}{
		{"engine up fails", func(e *applyEnv) { e.conv.err = errors.New("up failed") },
			map[string]Outcome{"A1": OutcomeFailed, "A2": OutcomeApplied, "A3": OutcomeReported},
			[]audit.Outcome{audit.OutcomeSucceeded, audit.OutcomeFailed}},
		{"Azure removal is not supported yet", func(e *applyEnv) { e.plan.Actions = append(e.plan.Actions, azure) },
			map[string]Outcome{"A1": OutcomeApplied, "A2": OutcomeApplied, "A3": OutcomeReported, "A9": OutcomeUnsupported},
			[]audit.Outcome{audit.OutcomeSucceeded, audit.OutcomeSkipped, audit.OutcomeSucceeded}},
		{"audit log fails: the run stops", func(e *applyEnv) { e.rec.err = errors.New("disk full") },
			map[string]Outcome{"A1": OutcomeNotRun, "A2": OutcomeApplied, "A3": OutcomeReported}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t)
			tt.edit(e)
			res, err := e.apply("sha256:d")
			if e.rec.err != nil {
				if err == nil || errkind.Of(err) != nil || !strings.Contains(err.Error(), "disk full") {
					t.Errorf("Apply err = %v, want the audit failure", err)
				}
				if len(e.cluster.applied)+len(e.conv.calls) != 0 {
					t.Error("actions ran after the audit log failed")
				}
			} else if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if diff := cmp.Diff(tt.outcomes, outcomes(res)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if !res.Failed() || res.Err() == nil || errkind.Of(res.Err()) != nil {
				t.Errorf("failed %v, err %v; want a plain failure", res.Failed(), res.Err())
			}
			var got []audit.Outcome
			for _, ev := range e.rec.events {
				got = append(got, ev.Outcome)
			}
			if diff := cmp.Diff(tt.audited, got); diff != "" {
				t.Errorf("audit outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

// With the desired check, a planned value that is not the stack's recorded desired value (a plan
// edited by hand, or one made before another up) is refused before anything changes.
func TestApplyChecksPlannedValuesAgainstTheStack(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"value edited", func(p *Plan) { p.Actions[0].Fields[0].Desired = raw([]string{"Egress"}) }, "is not stack tenant.globex.dev's desired value"},
		{"object the stack does not record", func(p *Plan) { p.Actions[0].Target.Name, p.Actions[0].Target.URN = "other", "" }, "no longer records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t)
			tt.edit(e.plan)
			ex := NewExecutor(e.cluster, e.conv, e.rec, devEnvs, "sha256:d", WithDesiredCheck(globexDesired(t)))
			res, err := ex.Apply(context.Background(), e.plan)
			if err != nil {
				t.Fatal(err)
			}
			if errkind.Of(res.Err()) != errkind.Conflict || !strings.Contains(res.Err().Error(), tt.want) {
				t.Errorf("err %v; want a conflict naming %q", res.Err(), tt.want)
			}
			if len(e.cluster.applied)+len(e.cluster.deleted)+len(e.conv.calls) != 0 {
				t.Error("a refused plan changed something")
			}
		})
	}
	// the unedited plan passes the check
	e := newApplyEnv(t)
	res, err := NewExecutor(e.cluster, e.conv, e.rec, devEnvs, "sha256:d", WithDesiredCheck(globexDesired(t))).Apply(context.Background(), e.plan)
	if err != nil || res.Err() != nil {
		t.Fatalf("Apply = %v, result %v; want every action applied", err, res.Err())
	}
}
