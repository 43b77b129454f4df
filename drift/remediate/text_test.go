package remediate

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, scenarioPlan(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Remediation plan (review) for desired state abc123: 2 change(s), 0 review-only, 1 report(s)",
		"A1 restore-fields networking.k8s.io/v1/NetworkPolicy t-globex/default-deny [dev/globex]",
		`spec.policyTypes: ["Ingress","Egress"] -> ["Ingress"] (held by kubectl-patch)`,
		"then up tenant.globex.dev",
		"A2 delete networking.k8s.io/v1/NetworkPolicy t-globex/let-acme-in [dev/globex]",
		"findings: cross-tenant-route, unmanaged-resource (2)",
		"A3 report v1/ConfigMap t-globex/cache [dev/globex]",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteResultText(t *testing.T) {
	res := &Result{Actions: []ActionResult{
		{ID: "A1", Kind: ActionRestore, Target: "x", Outcome: OutcomeApplied},
		{ID: "A2", Kind: ActionDelete, Target: "y", Outcome: OutcomeRefused, Error: "moved"},
		{ID: "A3", Kind: ActionReport, Target: "z", Outcome: OutcomeReported},
	}}
	var b bytes.Buffer
	if err := WriteResultText(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A2   delete         refused     y: moved", "1 applied, 1 refused, 0 failed, 0 unsupported, 0 review-only, 0 not run, 1 reported"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("result text lacks %q:\n%s", want, b.String())
		}
	}
}
