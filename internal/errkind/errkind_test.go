package errkind

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// pathErr is an error type of its own, to check errors.As still sees through a mark.
type pathErr struct{ path string }

func (e *pathErr) Error() string { return "bad path " + e.path }

func TestMark(t *testing.T) {
	if err := Mark(Invalid, nil); err != nil {
		t.Errorf("Mark(Invalid, nil) = %v, want nil", err)
	}
	inner := &pathErr{"a.yaml"}
	err := Mark(Conflict, fmt.Errorf("load: %w", inner))
	if got, want := err.Error(), "load: bad path a.yaml"; got != want {
		t.Errorf("message = %q, want %q: a mark never changes what the user reads", got, want)
	}
	if !errors.Is(err, Conflict) || errors.Is(err, Invalid) {
		t.Errorf("errors.Is: Conflict %v, Invalid %v; want true, false", errors.Is(err, Conflict), errors.Is(err, Invalid))
	}
	var pe *pathErr
	if !errors.As(err, &pe) || pe != inner {
		t.Errorf("errors.As did not reach the wrapped error")
	}
	wrapped := Mark(Invalid, fs.ErrNotExist)
	if !errors.Is(wrapped, fs.ErrNotExist) {
		t.Errorf("errors.Is(Mark(Invalid, fs.ErrNotExist), fs.ErrNotExist) = false")
	}
}

func TestOf(t *testing.T) {
	plain := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil", nil, nil},
		{"no kind", fmt.Errorf("write: %w", plain), nil},
		{"marked", Mark(Invalid, plain), Invalid},
		{"a bare kind", NotFound, NotFound},
		{"a kind wrapped with context", fmt.Errorf("stack dev: %w", Unreachable), Unreachable},
		{"marked, then wrapped", fmt.Errorf("drift merge: %w", Mark(Invalid, plain)), Invalid},
		{"outermost mark wins", Mark(Conflict, fmt.Errorf("apply: %w", Mark(Invalid, plain))), Conflict},
		{"outermost mark wins, other order", Mark(Invalid, fmt.Errorf("apply: %w", Mark(Conflict, plain))), Invalid},
		{"joined: the first with a kind", errors.Join(plain, Mark(Conflict, plain), Mark(Invalid, plain)), Conflict},
		{"joined without kinds", errors.Join(plain, fmt.Errorf("x: %w", plain)), nil},
		{"a multi-%w wrapper", fmt.Errorf("%w; %w", plain, Mark(Unreachable, plain)), Unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
