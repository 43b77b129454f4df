//go:build unix

package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockPath takes an advisory flock on the file at path, shared or exclusive, through a descriptor
// of its own, and returns the function that releases it.
//
// The wait is a blocking flock, so the kernel wakes waiters as soon as the holder releases;
// polling with LOCK_NB starves a process that competes with one appending in a loop. A blocking
// flock cannot be interrupted, so on cancellation it is left to finish in the background, and
// because the descriptor is private its late lock is released by closing it, without touching the
// lock of a later attempt.
func lockPath(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	fd := int(f.Fd())
	release := func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		_ = f.Close()
	}
	if err := syscall.Flock(fd, how|syscall.LOCK_NB); err == nil {
		return release, nil
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(fd, how)
			if !errors.Is(err, syscall.EINTR) {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return release, nil
	case <-ctx.Done():
		go func() {
			<-done
			_ = f.Close() // drops the lock if the flock got it after all
		}()
		return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
	}
}
