package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// TestExitCodeTable pins the README's exit codes to what libraries say: kinds, a drift report's
// status and a fleet outcome.
func TestExitCodeTable(t *testing.T) {
	plain := errors.New("disk full")
	errs := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitcode.OK},
		{"no kind", fmt.Errorf("write: %w", plain), exitcode.Failed},
		{"invalid", errkind.Mark(errkind.Invalid, plain), exitcode.Invalid},
		{"invalid, wrapped by a caller", fmt.Errorf("drift merge: %w", errkind.Mark(errkind.Invalid, plain)), exitcode.Invalid},
		{"conflict", errkind.Mark(errkind.Conflict, plain), exitcode.Conflict},
		{"not found", fmt.Errorf("stack: %w", errkind.NotFound), exitcode.Failed},
		{"unreachable", errkind.Mark(errkind.Unreachable, plain), exitcode.Failed},
		{"a command's own code", exitcode.With(exitcode.Findings, plain), exitcode.Findings},
		{"a command's code outside a kind wins", exitcode.With(exitcode.Failed, fmt.Errorf("isolation: %w", errkind.Mark(errkind.Invalid, plain))), exitcode.Failed},
		{"a kind outside a command's code wins", errkind.Mark(errkind.Conflict, exitcode.With(exitcode.Invalid, plain)), exitcode.Conflict},
		{"joined: the first that decides", errors.Join(plain, errkind.Mark(errkind.Conflict, plain), exitcode.With(exitcode.Invalid, plain)), exitcode.Conflict},
	}
	for _, tt := range errs {
		if got := exitCodeOf(tt.err); got != tt.want {
			t.Errorf("exitCodeOf(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}

	drift := map[report.Status]int{}
	for _, s := range []report.Status{report.StatusClean, report.StatusDrifted, report.StatusError} {
		drift[s] = driftExitCode(s)
	}
	if diff := cmp.Diff(map[report.Status]int{report.StatusClean: 0, report.StatusDrifted: 2, report.StatusError: 1}, drift); diff != "" {
		t.Errorf("drift exit codes (-want +got):\n%s", diff)
	}

	ok := automation.Result{Stack: "tenant.acme.dev"}
	locked := automation.Result{Stack: "tenant.globex.dev", Conflict: true, Err: errors.New("locked")}
	failed := automation.Result{Stack: "platform.dev", Err: errors.New("boom")}
	outcomes := []struct {
		name string
		o    fleet.Outcome
		want int
	}{
		{"nothing ran", fleet.Outcome{}, exitcode.OK},
		{"every stack succeeded", fleet.Outcome{Platform: []automation.Result{ok}, Tenants: []automation.Result{ok}}, exitcode.OK},
		{"a stack locked", fleet.Outcome{Tenants: []automation.Result{ok, locked}}, exitcode.Conflict},
		{"a failure wins over a lock", fleet.Outcome{Platform: []automation.Result{failed}, Tenants: []automation.Result{locked}}, exitcode.Failed},
	}
	for _, tt := range outcomes {
		if got := fleetExitCode(tt.o); got != tt.want {
			t.Errorf("fleetExitCode(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
