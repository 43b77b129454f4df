// Package workpool runs a fixed set of independent calls with a bound on how many run at once:
// the engine's stack operations, state exports and checkpoint reads all need exactly this, and a
// cancelled context must leave the calls not yet started unstarted rather than queue them.
package workpool

import (
	"context"
	"sync"
)

// Each calls do(i) for every i in [0, n), at most limit at a time (limit < 1 means one), and
// returns when every call has returned. Once ctx is done, indexes not yet started are not run:
// skipped(i) is called for each instead (skipped may be nil). Calls run on their own goroutines;
// do and skipped must be safe for concurrent use, which writing to distinct indexes of a slice is.
func Each(ctx context.Context, limit, n int, do func(i int), skipped func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		// A done context wins over a free slot, so nothing starts after cancellation.
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			if skipped != nil {
				skipped(i)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			do(i)
		}()
	}
	wg.Wait()
}
