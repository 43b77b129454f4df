package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// TestUsageErrorsExitInvalid: every way of calling the CLI wrongly exits with the invalid-input
// code (3), names what was wrong and points at --help, instead of cobra's exit 1 or, for an unknown
// subcommand of a group, printing help and exiting 0.
func TestUsageErrorsExitInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"misspelled command", []string{"valdate"}, []string{`unknown command "valdate"`, `did you mean "validate"`, "--help"}},
		{"unknown subcommand of a group", []string{"drift", "bogus"}, []string{`unknown command "bogus"`, `"tenantctl drift"`}},
		{"unknown flag", []string{"validate", "--bogus"}, []string{"unknown flag: --bogus", "tenantctl validate --help"}},
		{"flag value that does not parse", []string{"drift", "check", "--parallel", "x"}, []string{"--parallel", "tenantctl drift check --help"}},
		{"extra argument", []string{"version", "extra"}, []string{"extra", "tenantctl version --help"}},
		{"unknown output format", []string{"version", "-o", "xml"}, []string{`"xml"`}},
		{"malformed --postgres for drift check", []string{"drift", "check", "-d", examplesDir, "--postgres", "postgres://%zz"}, []string{"--postgres"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, msg, code := runAudit(t, tc.args...)
			if code != exitcode.Invalid {
				t.Fatalf("exit %d (%s), want %d", code, msg, exitcode.Invalid)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(out, "Usage:") {
				t.Errorf("a usage error printed help to stdout:\n%s", out)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	out, msg, code := runAudit(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	var v struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Version    string `json:"version"`
		Go         string `json:"go"`
		Expects    struct {
			Pulumi string `json:"pulumi"`
		} `json:"expects"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	if v.Kind != "Version" || v.APIVersion == "" || v.Version == "" || v.Go == "" {
		t.Errorf("incomplete version document: %+v", v)
	}
	if v.Expects.Pulumi != toolchain.PulumiVersion {
		t.Errorf("expects pulumi %q, the toolchain pins %q", v.Expects.Pulumi, toolchain.PulumiVersion)
	}
	text, _, code := runAudit(t, "--version")
	if code != 0 || !strings.Contains(text, v.Version) {
		t.Errorf("--version (exit %d) printed %q, want the version %q", code, text, v.Version)
	}
}
