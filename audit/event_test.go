package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyDecision(t *testing.T) {
	details := map[string]string{"policy": "prod-gate", "rule": "needs-approval"}
	tests := []struct {
		allowed bool
		want    Event
	}{
		{false, Event{Type: TypePolicyDecision, TenantID: "acme", Principal: "sub:ci", Outcome: OutcomeDenied,
			Reason:  "production deploys need an approved change",
			Details: map[string]string{"policy": "prod-gate", "rule": "needs-approval", "action": "tenant.update prod"}}},
		{true, Event{Type: TypePolicyDecision, TenantID: "acme", Principal: "sub:ci", Outcome: OutcomeAllowed,
			Reason:  "production deploys need an approved change",
			Details: map[string]string{"policy": "prod-gate", "rule": "needs-approval", "action": "tenant.update prod"}}},
	}
	for _, tt := range tests {
		got := PolicyDecision("acme", "sub:ci", "tenant.update prod", tt.allowed, "production deploys need an approved change", details)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PolicyDecision(allowed=%v) (-want +got):\n%s", tt.allowed, diff)
		}
	}
	if _, changed := details["action"]; changed {
		t.Error("PolicyDecision wrote into the caller's details")
	}
}

func TestLocalPrincipal(t *testing.T) {
	t.Setenv("USER", "someone")
	if got := LocalPrincipal(); len(got) <= len("local:") || got[:6] != "local:" {
		t.Errorf("LocalPrincipal() = %q, want local:<user>", got)
	}
}
