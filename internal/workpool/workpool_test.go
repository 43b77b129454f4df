package workpool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachRunsEveryIndexWithinTheLimit(t *testing.T) {
	for _, tt := range []struct{ limit, n, wantMax int }{
		{limit: 1, n: 5, wantMax: 1},
		{limit: 3, n: 20, wantMax: 3},
		{limit: 0, n: 4, wantMax: 1}, // below one means one
		{limit: 8, n: 0, wantMax: 0},
	} {
		var running, peak atomic.Int32
		seen := make([]int, tt.n)
		// The first wantMax calls wait for each other: the pool must run that many at once
		// (a serial pool would never get past the barrier, and the test times out saying so).
		var barrier sync.WaitGroup
		barrier.Add(tt.wantMax)
		var first atomic.Int32
		Each(context.Background(), tt.limit, tt.n, func(i int) {
			cur := running.Add(1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			if first.Add(1) <= int32(tt.wantMax) {
				barrier.Done()
				barrier.Wait()
			}
			seen[i]++
			running.Add(-1)
		}, func(i int) { t.Errorf("index %d skipped without cancellation", i) })
		for i, c := range seen {
			if c != 1 {
				t.Errorf("limit %d n %d: index %d ran %d times", tt.limit, tt.n, i, c)
			}
		}
		if int(peak.Load()) != tt.wantMax {
			t.Errorf("limit %d n %d: %d ran at once, want %d", tt.limit, tt.n, peak.Load(), tt.wantMax)
		}
	}
}

func TestEachStartsNothingAfterCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran, skipped [6]bool
	Each(ctx, 1, 6, func(i int) {
		ran[i] = true
		if i == 2 {
			cancel() // the third call cancels: 3, 4 and 5 must not start
		}
	}, func(i int) { skipped[i] = true })
	for i := range 6 {
		if want := i <= 2; ran[i] != want || skipped[i] == want {
			t.Errorf("index %d: ran %v, skipped %v; want ran %v", i, ran[i], skipped[i], want)
		}
	}
}
