package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

const (
	examplesDir        = "../../examples/tenants"
	invalidExamplesDir = "../../examples/invalid"
)

// runTenantctl executes tenantctl in-process with a private config location, returning stdout and the
// exit code main would use.
func runTenantctl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), exitCodeOf(err)
}

func TestValidateExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		summary string
	}{
		{"valid folder as argument", []string{"validate", examplesDir}, exitcode.OK, examplesDir + ": valid: 2 environment(s), 3 binding(s)"},
		{"valid folder from --dir", []string{"validate", "-d", examplesDir}, exitcode.OK, examplesDir + ": valid:"},
		{"argument overrides --dir", []string{"-d", invalidExamplesDir, "validate", examplesDir}, exitcode.OK, examplesDir + ": valid:"},
		{"invalid folder", []string{"validate", invalidExamplesDir}, exitcode.Invalid, invalidExamplesDir + ": invalid: "},
		{"missing folder", []string{"validate", "../../examples/nope"}, exitcode.Invalid, ""},
		{"unsupported output", []string{"validate", "-o", "yaml", examplesDir}, exitcode.Invalid, ""},
		{"too many arguments", []string{"validate", examplesDir, invalidExamplesDir}, exitcode.Invalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runTenantctl(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			if tc.summary != "" && !strings.Contains(out, tc.summary) {
				t.Errorf("output lacks %q:\n%s", tc.summary, out)
			}
		})
	}
}

var validateErrorLine = regexp.MustCompile(`^[^:]+:\d+: ([A-Za-z0-9_.\[\]"/-]+: )?\S.*$`)

func TestValidateTextOutput(t *testing.T) {
	out, code := runTenantctl(t, "validate", invalidExamplesDir)
	if code != exitcode.Invalid {
		t.Fatalf("exit code = %d, want %d", code, exitcode.Invalid)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	errLines, summary := lines[:len(lines)-1], lines[len(lines)-1]

	_, err := isolation.Load(context.Background(), invalidExamplesDir)
	verrs, ok := isolation.AsValidationErrors(err)
	if !ok {
		t.Fatalf("Load(%s): %v", invalidExamplesDir, err)
	}
	var want []string
	for _, e := range verrs {
		want = append(want, e.Error())
	}
	if diff := cmp.Diff(want, errLines); diff != "" {
		t.Errorf("error lines (-Load +validate):\n%s", diff)
	}
	for _, l := range errLines {
		if !validateErrorLine.MatchString(l) {
			t.Errorf("line is not file:line: field: message: %q", l)
		}
	}
	if !sort.SliceIsSorted(verrs, func(i, j int) bool {
		a, b := verrs[i], verrs[j]
		return a.File < b.File || (a.File == b.File && a.Line < b.Line)
	}) {
		t.Error("errors are not sorted by file and line")
	}
	if !strings.HasPrefix(summary, invalidExamplesDir+": invalid: "+strconv.Itoa(len(verrs))+" error(s) (revision ") {
		t.Errorf("summary = %q", summary)
	}
}

func TestValidateJSONOutput(t *testing.T) {
	for _, dir := range []string{examplesDir, invalidExamplesDir} {
		t.Run(dir, func(t *testing.T) {
			out, code := runTenantctl(t, "validate", "-o", "json", dir)
			var got struct {
				Valid  bool                        `json:"valid"`
				Commit string                      `json:"commit"`
				Dirty  bool                        `json:"dirty"`
				Errors []isolation.ValidationError `json:"errors"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			state, err := isolation.Load(context.Background(), dir)
			verrs, _ := isolation.AsValidationErrors(err)
			if got.Valid != (err == nil) || (code == exitcode.OK) != got.Valid {
				t.Errorf("valid = %v, exit code %d, Load error %v", got.Valid, code, err)
			}
			if got.Commit != state.Commit || got.Dirty != state.Dirty {
				t.Errorf("commit, dirty = %q, %v; want %q, %v", got.Commit, got.Dirty, state.Commit, state.Dirty)
			}
			want := []isolation.ValidationError(verrs)
			if want == nil {
				want = []isolation.ValidationError{}
			}
			if diff := cmp.Diff(want, got.Errors); diff != "" {
				t.Errorf("errors (-Load +validate):\n%s", diff)
			}
			if !strings.Contains(out, `"errors": [`) {
				t.Errorf("errors must be a list, even when empty:\n%s", out)
			}
		})
	}
}

func TestValidateJSONForMissingFolder(t *testing.T) {
	out, code := runTenantctl(t, "validate", "-o", "json", "../../examples/nope")
	if code != exitcode.Invalid {
		t.Errorf("exit code = %d, want %d", code, exitcode.Invalid)
	}
	var got struct {
		Valid  bool                        `json:"valid"`
		Errors []isolation.ValidationError `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Valid || len(got.Errors) != 1 || got.Errors[0].File != "../../examples/nope" {
		t.Errorf("report = %+v", got)
	}
}
