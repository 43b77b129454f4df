package fleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestDecide(t *testing.T) {
	d := tenantplan.Digest{Value: "sha256:aa", Parts: map[string]string{tenantplan.PartBinding: "b1", tenantplan.PartPlan: "p1", tenantplan.PartProgram: "v1"}}
	recorded := func(dg tenantplan.Digest) map[string]any {
		parts := map[string]any{}
		for k, v := range dg.Parts {
			parts[k] = v
		}
		return map[string]any{tenantplan.OutputInputsDigest: dg.Value, tenantplan.OutputInputsParts: parts}
	}
	ok := &automation.LastOperation{Kind: "update", Result: "succeeded"}
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	up := func(r Recorded) Recorded {
		r.Exists, r.Resources, r.HistoryRead = true, 5, true
		if r.Last == nil {
			r.Last = ok
		}
		if r.Outputs == nil {
			r.Outputs = recorded(d)
		}
		return r
	}
	other := tenantplan.Digest{Value: "sha256:bb", Parts: map[string]string{tenantplan.PartBinding: "b0", tenantplan.PartPlan: "p0", tenantplan.PartProgram: "v1"}}
	envOnly := tenantplan.Digest{Value: "sha256:cc", Parts: map[string]string{tenantplan.PartBinding: "b1", tenantplan.PartPlan: "p0", tenantplan.PartProgram: "v1"}}
	planAndProgram := tenantplan.Digest{Value: "sha256:dd", Parts: map[string]string{tenantplan.PartBinding: "b1", tenantplan.PartPlan: "p0", tenantplan.PartProgram: "v0"}}
	tests := []struct {
		name   string
		derr   error
		rec    Recorded
		run    bool
		reason string
	}{
		{"same digest after a successful update", nil, up(Recorded{}), false, tenantplan.ReasonUnchanged},
		{"history not read (drift check on the CLI path): digests decide", nil, Recorded{Exists: true, Resources: 5, Outputs: recorded(d)}, false, tenantplan.ReasonUnchanged},
		{"inputs do not plan", errors.New("tier gold is unknown"), up(Recorded{}), true, "inputs do not plan: tier gold is unknown"},
		{"no stack", nil, Recorded{HistoryRead: true}, true, ReasonNeverProvisioned},
		{"stack without resources (created by a preview, or destroyed)", nil, Recorded{Exists: true, HistoryRead: true}, true, ReasonNeverProvisioned},
		{"locked by a running update", nil, up(Recorded{Locked: true}), true, ReasonInProgress},
		{"state written after the last recorded operation (a killed run)", nil,
			up(Recorded{StateTime: at.Add(time.Millisecond), Last: &automation.LastOperation{Kind: "update", Result: "succeeded", At: at}}), true, ReasonUnrecorded},
		{"state written before the last recorded operation", nil,
			up(Recorded{StateTime: at.Add(-time.Millisecond), Last: &automation.LastOperation{Kind: "update", Result: "succeeded", At: at}}), false, tenantplan.ReasonUnchanged},
		{"interrupted update", nil, up(Recorded{Pending: 2}), true, ReasonInterrupted},
		{"no history", nil, Recorded{Exists: true, Resources: 5, HistoryRead: true, Outputs: recorded(d)}, true, ReasonNoHistory},
		{"last update failed (it still recorded the digest)", nil, up(Recorded{Last: &automation.LastOperation{Kind: "update", Result: "failed"}}), true, ReasonLastFailed},
		{"refreshed since", nil, up(Recorded{Last: &automation.LastOperation{Kind: "refresh", Result: "succeeded"}}), true, "last operation was a refresh (succeeded), not an update"},
		{"no digest recorded", nil, up(Recorded{Outputs: map[string]any{"namespace": "t-a"}}), true, ReasonNoDigest},
		{"binding changed", nil, up(Recorded{Outputs: recorded(other)}), true, tenantplan.ReasonBinding},
		{"environment changed", nil, up(Recorded{Outputs: recorded(envOnly)}), true, tenantplan.ReasonEnvironment},
		{"plan and program changed: the program, not the environment", nil, up(Recorded{Outputs: recorded(planAndProgram)}), true, tenantplan.ReasonProgram},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, reason := Decide(d, tt.derr, tt.rec)
			if run != tt.run || reason != tt.reason {
				t.Errorf("Decide = %v, %q; want %v, %q", run, reason, tt.run, tt.reason)
			}
		})
	}
}

func TestRecordedFromDeployment(t *testing.T) {
	d := automation.Deployment{
		Resources: []apitype.ResourceV3{
			{Type: "pulumi:pulumi:Stack", Outputs: map[string]any{tenantplan.OutputInputsDigest: "sha256:aa"}},
			{Type: "kubernetes:core/v1:Namespace"},
		},
		PendingOperations: []apitype.OperationV2{{Type: apitype.OperationTypeCreating}},
	}
	want := Recorded{Exists: true, Resources: 2, Pending: 1, Outputs: map[string]any{tenantplan.OutputInputsDigest: "sha256:aa"}}
	if diff := cmp.Diff(want, RecordedFromDeployment(d)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestBuild: what a stack runs with beyond the desired state, per target; the data server only
// where the environment keeps data on PostgreSQL, and never its password.
func TestBuild(t *testing.T) {
	st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	conn := filepath.Join(dir, "connection.json")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conn, []byte(`{"host":"127.0.0.1","port":5433,"adminRole":"tenantctl_admin","passwordFile":"`+pw+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := New(&automation.Engine{}, st, "/kube/config", WithPostgres(conn), WithProgramVersion("v9+test"))
	dev, err := f.build(st.Environment("dev"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"postgres.host": "127.0.0.1", "postgres.port": "5433", "postgres.database": "postgres",
		"postgres.adminRole": "tenantctl_admin", "postgres.sslmode": "disable", "postgres.sslrootcert": "",
	}
	if diff := cmp.Diff(want, dev.Settings); diff != "" {
		t.Errorf("dev settings (-want +got):\n%s", diff)
	}
	if dev.Program != "v9+test" || dev.Providers["pulumi"] == "" {
		t.Errorf("dev build %+v: want the injected program version and the pulumi CLI version", dev)
	}
	prod, err := f.build(st.Environment("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if prod.Settings != nil {
		t.Errorf("prod (azure target) settings %v, want none", prod.Settings)
	}

	// A connection file that does not load makes the digest fail (the program fails the same way).
	broken := New(&automation.Engine{}, st, "/kube/config", WithPostgres(filepath.Join(dir, "missing.json")))
	if _, err := broken.PlatformDigest(st.Environment("dev")); err == nil {
		t.Error("digest with an unreadable connection file: no error")
	}
	if _, err := broken.PlatformDigest(st.Environment("prod")); err != nil {
		t.Errorf("prod does not read the connection file: %v", err)
	}
}

func TestProgramVersionIsStable(t *testing.T) {
	if a, b := ProgramVersion(), ProgramVersion(); a == "" || a != b {
		t.Errorf("ProgramVersion = %q then %q, want one non-empty value per process", a, b)
	}
}
