package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseParallels(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,2", []int{1, 2}, false},
		{" 2, 1 ,4", []int{2, 1, 4}, false},
		{"1", nil, true},
		{"1,1", nil, true},
		{"0,2", nil, true},
		{"1,x", nil, true},
	}
	for _, tt := range tests {
		got, err := parseParallels(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseParallels(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseParallels(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func fakeRun(upSecs, downSecs int) measurement {
	return measurement{
		Up:      phase{Wall: time.Duration(upSecs) * time.Second, CPU: time.Duration(upSecs) * 100 * time.Millisecond, Stacks: 7, Resources: 112, Busy: 1.25},
		Destroy: phase{Wall: time.Duration(downSecs) * time.Second, CPU: time.Duration(downSecs) * 100 * time.Millisecond, Stacks: 7, Resources: 112},
	}
}

func TestTableUsesMedianRuns(t *testing.T) {
	by := map[int][]measurement{
		1: {fakeRun(90, 60), fakeRun(30, 50), fakeRun(40, 70)},
		2: {fakeRun(20, 30), fakeRun(25, 90)},
	}
	var b strings.Builder
	numCPU = func() int { return 2 }
	writeTable(&b, 6, []int{1, 2}, by)
	// p1 medians: up 40 s, destroy 60 s; p2 (even count, faster middle): up 20 s, destroy 30 s.
	// CPU is a tenth of the wall time here, per stack a seventh of that.
	for _, want := range []string{
		"| up | 6 | 7 | 112 | 40.0 s | 20.0 s | 2.00 | 4.0 s | 2.0 s | 0.57 s | 0.29 s |",
		"| destroy | 6 | 7 | 112 | 60.0 s | 30.0 s | 2.00 | 6.0 s | 3.0 s | 0.86 s | 0.43 s |",
		// 1.25 of 2 cores busy at p1: p2 can at best be 1.6x faster.
		"machine's 2 cores were 1.25 busy at p1 (the engine with the control plane and PostgreSQL serving it): a CPU-bound p2 is at most 1.60x faster",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunsListCPUPerStack: every run's up CPU per stack is listed, so the spread of the
// provisioning goal's figure shows.
func TestRunsListCPUPerStack(t *testing.T) {
	var b strings.Builder
	writeRuns(&b, []int{1, 2}, map[int][]measurement{1: {fakeRun(35, 60)}, 2: {fakeRun(14, 30)}})
	for _, want := range []string{"| 1 | 1 | 35.0 s | 60.0 s | 3.5 s | 6.0 s | 0.50 s | 1.25 |", "| 2 | 1 | 14.0 s | 30.0 s | 1.4 s | 3.0 s | 0.20 s | 1.25 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("runs lack %q:\n%s", want, b.String())
		}
	}
	if got := cpuPerStack(phase{}); got != "—" {
		t.Errorf("cpuPerStack of no stack = %q, want —", got)
	}
}
