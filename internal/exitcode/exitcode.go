// Package exitcode holds tenantctl's process exit codes, the contract CI pipelines script against.
// They are documented in the README; never renumber one. Only cmd/ imports this package
// (internal/archcheck enforces it): libraries mark errors with internal/errkind kinds, and
// cmd/tenantctl/exitcodes.go maps kinds and outcomes to these codes.
package exitcode

import (
	"errors"
	"fmt"
)

const (
	OK = 0
	// Failed: an operation failed, or an API could not be reached (never reported as clean).
	Failed = 1
	// Findings: drift found, or isolation verify found an undeclared cross-tenant edge.
	Findings = 2
	// Invalid: the input (bindings, flags, plan file, token) is invalid; nothing was changed.
	Invalid = 3
	// Conflict: a stack is locked or being updated by another process.
	Conflict = 4
)

// Error carries an exit code through ordinary error returns up to main.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// With wraps err so main exits with code. A nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Code returns the exit code for err: 0 for nil, the carried code for an *Error, Failed otherwise.
// It knows no errkind kinds: tenantctl exits with cmd/tenantctl's exitCodeOf, which does.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failed
}
