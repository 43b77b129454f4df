package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
)

// TestSummaryOfIncrementalRun: unchanged stacks show with their reason, stacks that ran with why,
// and the counts close the text and the JSON.
func TestSummaryOfIncrementalRun(t *testing.T) {
	o := fleet.Outcome{Operation: automation.OpUp, Commit: "3f2c0000000000000000",
		Platform: []automation.Result{{Stack: "platform.dev", Operation: automation.OpUp, Unchanged: true, Reason: "digest matches", Changes: map[string]int{}}},
		Tenants: []automation.Result{
			{Stack: "tenant.acme.dev", Operation: automation.OpUp, Unchanged: true, Reason: "digest matches", Changes: map[string]int{}},
			{Stack: "tenant.globex.dev", Operation: automation.OpUp, Reason: "binding changed", Changes: map[string]int{"update": 1, "same": 9}},
		}}
	var buf bytes.Buffer
	printSummary(&buf, o)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	want := []string{
		"up of desired state 3f2c00000000",
		"STACK RESULT TIME CHANGES",
		"platform.dev unchanged 0s digest matches",
		"tenant.acme.dev unchanged 0s digest matches",
		"tenant.globex.dev ok 0s same=9 update=1 (binding changed)",
		"1 stack(s) ran, 2 unchanged (inputs digest matches their last successful update; --force runs them)",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	j := outcomeJSON(o)
	if j["ran"] != 1 || j["unchanged"] != 2 {
		t.Errorf("JSON counts ran=%v unchanged=%v, want 1 and 2", j["ran"], j["unchanged"])
	}
}

// TestIncrementalFlags: up and preview take --force and --refresh; refresh and destroy do not.
func TestIncrementalFlags(t *testing.T) {
	for _, tc := range []struct {
		op   automation.Operation
		want bool
	}{{automation.OpUp, true}, {automation.OpPreview, true}, {automation.OpRefresh, false}, {automation.OpDestroy, false}} {
		cmd := newOpCmd(&globalOptions{}, tc.op)
		for _, name := range []string{"force", "refresh"} {
			if got := cmd.Flags().Lookup(name) != nil; got != tc.want {
				t.Errorf("%s --%s defined = %v, want %v", tc.op, name, got, tc.want)
			}
		}
	}
}
