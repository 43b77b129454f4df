package toolchain

import (
	"os"
	"regexp"
	"testing"
)

// TestVersionsAgree: the CLI the engine runs, the constant and the Automation API SDK this binary
// was built with are one version.
func TestVersionsAgree(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github.com/pulumi/pulumi/sdk/v3 (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/pulumi/pulumi/sdk/v3")
	}
	sdk := string(m[1])
	if sdk != PulumiVersion {
		t.Errorf("go.mod has pulumi sdk %q, toolchain pins CLI %q", sdk, PulumiVersion)
	}
	tc := Default()
	if err := tc.CheckEngine(); err != nil {
		if os.Getenv("TENANTCTL_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true" {
			t.Skipf("skipped by TENANTCTL_SKIP_INTEGRATION=1: %v", err)
		}
		t.Fatal(err)
	}
	v, err := tc.PulumiCLIVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v != PulumiVersion {
		t.Errorf("pulumi CLI in the cache reports %q, want %q", v, PulumiVersion)
	}
}
