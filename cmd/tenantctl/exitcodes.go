package main

import (
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// Exit codes are the CLI's contract (README, "Exit codes") and decided here, in one table: the
// libraries say what happened in their own terms — an error's kind, a drift report's status, a
// fleet operation's outcome — and never pick a number (internal/archcheck keeps
// internal/exitcode out of them). Commands may still wrap an error with exitcode.With for a
// decision of their own (a usage error, findings of a verify), which wins when it is outermost.

// kindExitCodes maps the kinds of library errors (internal/errkind).
var kindExitCodes = []struct {
	kind error
	code int
}{
	{errkind.Invalid, exitcode.Invalid},
	{errkind.Conflict, exitcode.Conflict},
	// Something that is not there, or did not answer, fails the run; where the user named what is
	// missing (a folder, a tenant), the library marks the error Invalid instead.
	{errkind.NotFound, exitcode.Failed},
	{errkind.Unreachable, exitcode.Failed},
}

// exitCodeOf is the code tenantctl exits with for err: 0 for nil; else that of the outermost
// decision in err's chain, an explicit exitcode.With or a kind, walked in errors.As order (as
// errkind.Of does); 1 (Failed) when there is none.
func exitCodeOf(err error) int {
	if err == nil {
		return exitcode.OK
	}
	if code, ok := decidedCode(err); ok {
		return code
	}
	return exitcode.Failed
}

func decidedCode(err error) (int, bool) {
	for err != nil {
		if e, ok := err.(*exitcode.Error); ok {
			return e.Code, true
		}
		for _, k := range kindExitCodes {
			if err == k.kind {
				return k.code, true
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if code, ok := decidedCode(e); ok {
					return code, true
				}
			}
			return 0, false
		default:
			return 0, false
		}
	}
	return 0, false
}

// driftExitCode is the code of a drift run: an error wins over findings (a run that could not
// read everything vouches for nothing), findings over clean.
func driftExitCode(s report.Status) int {
	switch s {
	case report.StatusError:
		return exitcode.Failed
	case report.StatusDrifted:
		return exitcode.Findings
	}
	return exitcode.OK
}

// fleetExitCode is the code of an up, preview, refresh or destroy: a failure wins over a stack
// locked by another process.
func fleetExitCode(o fleet.Outcome) int {
	switch {
	case o.Failed():
		return exitcode.Failed
	case o.Conflicted():
		return exitcode.Conflict
	}
	return exitcode.OK
}
