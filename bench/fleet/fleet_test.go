package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"50,200,1000", []int{50, 200, 1000}, false},
		{" 2 ", []int{2}, false},
		{"200,50", nil, true},
		{"50,50", nil, true},
		{"1", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := parseSizes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSizes(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseSizes(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSample(t *testing.T) {
	tests := []struct {
		n, k int
		want []int
	}{
		{5, 0, []int{1, 2, 3, 4, 5}},
		{5, 9, []int{1, 2, 3, 4, 5}},
		{10, 4, []int{1, 2, 3, 6}},
		{1000, 3, []int{1, 2, 334}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, sample(tt.n, tt.k)); diff != "" {
			t.Errorf("sample(%d, %d) (-want +got):\n%s", tt.n, tt.k, diff)
		}
	}
	// Evenly spread and always k distinct tenants, with the drifted two.
	got := sample(1000, 100)
	if len(got) != 100 || got[0] != 1 || got[1] != 2 || got[len(got)-1] < 950 {
		t.Errorf("sample(1000, 100) = %d entries from %d to %d", len(got), got[0], got[len(got)-1])
	}
}

func TestCompare(t *testing.T) {
	c := &modeResult{Mode: "c", Flagged: []string{"bench0001", "bench0002"},
		Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3"}}
	tests := []struct {
		name    string
		a, b    *modeResult
		wantErr string
		want    agreement
	}{{
		name: "agree; (a) misses the tenant with unmanaged objects only",
		a:    &modeResult{Flagged: []string{"bench0002"}},
		b:    &modeResult{Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3"}},
		want: agreement{EngineFast: "identical (3 findings)",
			BaselineFast: "(a) flags [bench0002]; (c) flags [bench0001 bench0002]; (a) cannot see [bench0001] (unmanaged objects, routes, images)"},
	}, {
		name:    "engine finds one the fast path misses",
		b:       &modeResult{Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3", "bench0003 f4"}},
		wantErr: "only (b): [bench0003 f4]",
	}, {
		name: "sampled engine run compares on its sample only",
		b:    &modeResult{Sample: []string{"bench0002"}, Fingerprints: []string{"bench0002 f2", "bench0002 f3"}},
		want: agreement{EngineFast: "identical (2 findings)"},
	}, {
		name:    "(a) flags a tenant (c) finds clean",
		a:       &modeResult{Flagged: []string{"bench0002", "bench0007"}},
		wantErr: "(a) flags [bench0007], which (c) does not",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes := map[string]*modeResult{"c": c}
			if tt.a != nil {
				modes["a"] = tt.a
			}
			if tt.b != nil {
				modes["b"] = tt.b
			}
			got := compare(modes)
			if tt.wantErr != "" {
				if got.Err == nil || !strings.Contains(got.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", got.Err, tt.wantErr)
				}
				return
			}
			if got.Err != nil {
				t.Fatal(got.Err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTableScalesSampledRuns: a sampled baseline is reported at fleet scale, with the measured
// figure beside it, and the ratio uses the fleet-scale time.
func TestTableScalesSampledRuns(t *testing.T) {
	a := &modeResult{Mode: "a", Stacks: 1001, Ran: 101, Wall: 101 * time.Second, FleetWall: 1001 * time.Second, Flagged: []string{"bench0002"}}
	c := &modeResult{Mode: "c", Stacks: 1001, Ran: 1001, Wall: 10 * time.Second, FleetWall: 10 * time.Second,
		Fingerprints: []string{"x", "y"}, Flagged: []string{"bench0001", "bench0002"}}
	var b strings.Builder
	writeTable(&b, environment{Machine: "m", Load: "1", LoadAfter: "2"}, []sizeResult{{N: 1000, Modes: map[string]*modeResult{"a": a, "c": c}}})
	for _, want := range []string{
		"| 1000 | (a) shell loop of `pulumi preview --refresh --expect-no-changes` | 101 of 1001 | 16.7 min (measured 101.0 s on 101) |",
		"| 1 | — | 100.1 |",
		"| 1000 | (c) `tenantctl drift check` (fast path) | 1001 | 10.0 s |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
