package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prodInput() Input {
	return Input{
		Principal:   Principal{Subject: "svc-devops", Issuer: "https://issuer", TenantID: "acme", Scopes: []string{"runtime.deployments.prod", "runtime.deployments.write"}},
		Tenant:      Tenant{ID: "acme", Tier: "pool"},
		Environment: Environment{Name: "prod", Production: true},
		Operation:   "up",
		Plan:        NewPlan(map[string]int{"create": 2, "update": 1, "same": 4}),
		Request:     Request{Ticket: "CHG-1234"},
	}
}

func TestDefaultPolicy(t *testing.T) {
	ev, err := Default(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   func(*Input)
		want   bool
		reason string
	}{
		{"production with scope and ticket", func(*Input) {}, true, "production change with ticket and scope"},
		{"non-production", func(in *Input) {
			in.Environment = Environment{Name: "dev"}
			in.Principal.Scopes = nil
			in.Request = Request{}
		}, true, "not a production environment"},
		{"missing prod scope", func(in *Input) { in.Principal.Scopes = []string{"runtime.deployments.write"} }, false, "the principal lacks the runtime.deployments.prod scope"},
		{"missing ticket", func(in *Input) { in.Request.Ticket = "" }, false, "a change ticket (request.ticket, e.g. CHG-1234) is required"},
		{"malformed ticket", func(in *Input) { in.Request.Ticket = "please" }, false, "a change ticket (request.ticket, e.g. CHG-1234) is required"},
		{"no plan", func(in *Input) { in.Plan = nil }, false, "the plan summary is missing"},
		{"replace without reason", func(in *Input) {
			in.Plan = NewPlan(map[string]int{"replace": 1, "create-replacement": 1, "delete-replaced": 1})
		}, false,
			"the plan deletes or replaces 1 resource(s): say why in request.reason"},
		{"replace with reason", func(in *Input) {
			in.Plan = NewPlan(map[string]int{"delete": 2})
			in.Request.Reason = "retire the old queue"
		}, true, "production change with ticket and scope"},
		{"destroy by tenant principal", func(in *Input) { in.Operation = "destroy" }, false, "destroying a production tenant is reserved to platform operators (runtime.tenants.all)"},
		{"destroy by operator", func(in *Input) {
			in.Operation = "destroy"
			in.Principal.Scopes = append(in.Principal.Scopes, "runtime.tenants.all")
		}, true, "production change with ticket and scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := prodInput()
			tc.edit(&in)
			d := ev.Decide(context.Background(), in)
			if d.Allowed != tc.want {
				t.Fatalf("allowed = %v, want %v (reasons %q)", d.Allowed, tc.want, d.Reasons)
			}
			if diff := cmp.Diff([]string{tc.reason}, d.Reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(d.Policy, "default@sha256:") {
				t.Errorf("policy = %q", d.Policy)
			}
		})
	}
}

// TestDenyByDefault: a policy set that cannot produce a well-formed decision denies, whatever
// the input.
func TestDenyByDefault(t *testing.T) {
	tests := []struct {
		name, rego, reason string
	}{
		{"undefined decision", "package other\nallow := true\n", "is undefined"},
		{"runtime error", "package tenantctl.authz\ndecision := {\"allow\": to_number(\"x\") > 0, \"reasons\": []}\n", "could not be evaluated"},
		{"allow not boolean", "package tenantctl.authz\ndecision := {\"allow\": \"yes\", \"reasons\": []}\n", "allow is not a boolean"},
		{"not an object", "package tenantctl.authz\ndecision := true\n", "is not an object"},
		{"reasons not strings", "package tenantctl.authz\ndecision := {\"allow\": true, \"reasons\": [1]}\n", "reasons must be strings"},
		{"deny without reasons", "package tenantctl.authz\ndecision := {\"allow\": false}\n", "denied by policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(tc.rego), 0o600); err != nil {
				t.Fatal(err)
			}
			ev, err := LoadDir(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			d := ev.Decide(context.Background(), prodInput())
			if d.Allowed {
				t.Fatalf("allowed; want a denial")
			}
			if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], tc.reason) {
				t.Errorf("reasons = %q, want one containing %q", d.Reasons, tc.reason)
			}
		})
	}
}

func TestLoadDirRejects(t *testing.T) {
	empty := t.TempDir()
	if _, err := LoadDir(context.Background(), empty); err == nil || !strings.Contains(err.Error(), "no .rego files") {
		t.Errorf("empty dir: err = %v", err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "p.rego"), []byte("package x\nallow if {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "compile policy") {
		t.Errorf("syntax error: err = %v", err)
	}
}

func TestNewPlan(t *testing.T) {
	got := NewPlan(map[string]int{"create": 2, "update": 1, "replace": 1, "create-replacement": 1, "delete-replaced": 1, "delete": 3, "same": 5})
	want := &Plan{
		Changes: map[string]int{"create": 2, "update": 1, "replace": 1, "create-replacement": 1, "delete-replaced": 1, "delete": 3, "same": 5},
		Creates: 2, Updates: 1, Deletes: 3, Replaces: 1, Total: 9,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}
