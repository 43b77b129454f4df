//go:build !unix

package audit

import (
	"context"
	"errors"
	"fmt"
)

// lockPath is unix-only: without flock, appends from two processes could interleave and break the
// chain, so the log refuses to work rather than risk it.
func lockPath(_ context.Context, path string, _ bool) (func(), error) {
	return nil, fmt.Errorf("lock %s: %w", path, errors.ErrUnsupported)
}
