// Package errkind names what kind of failure an error is, so that libraries can say it in their
// own terms and each entrypoint decides what it means there: cmd/tenantctl maps kinds to exit
// codes (cmd/tenantctl/exitcodes.go), an HTTP handler could map them to statuses. An error without
// a kind is a plain failure.
package errkind

import (
	"errors"
	"slices"
)

// The kinds. Compare with errors.Is, or ask Of for the one that decides.
var (
	// Invalid: the input (bindings, flags, a plan or report file, a selection) is invalid; nothing
	// was changed.
	Invalid = errors.New("invalid input: nothing was changed")
	// Conflict: a stack or object is locked, being updated by another process, or moved since it
	// was planned.
	Conflict = errors.New("conflict: locked, being updated, or moved since planned")
	// NotFound: something the caller named does not exist.
	NotFound = errors.New("not found")
	// Unreachable: an API or server could not be reached.
	Unreachable = errors.New("unreachable")
)

var kinds = []error{Invalid, Conflict, NotFound, Unreachable}

// marked is an error tagged with a kind. Its message is err's alone: a kind never changes what
// the user reads.
type marked struct {
	kind error
	err  error
}

func (m *marked) Error() string { return m.err.Error() }

// Unwrap lists the kind before err, so that walking the chain meets a mark's own kind before any
// kind err carries inside it (see Of).
func (m *marked) Unwrap() []error { return []error{m.kind, m.err} }

// Mark tags err with kind, one of the kinds above; errors.Is(Mark(kind, err), kind) holds and errors.Is/As still see
// everything err wraps. A nil err stays nil.
func Mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &marked{kind: kind, err: err}
}

// Of is the kind that decides for err, nil when it has none. The outermost kind wins: the chain is
// walked in the order errors.Is and errors.As walk it (depth first, a mark's kind before what it
// wraps) and the first kind met decides, so the layer that added the most context has the last
// word. This is the rule exit codes always had (the outermost code won), so moving the codes out
// of the libraries changed none.
func Of(err error) error {
	for err != nil {
		if slices.Contains(kinds, err) {
			return err
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if k := Of(e); k != nil {
					return k
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}
