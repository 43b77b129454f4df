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
		Up:      phase{Wall: time.Duration(upSecs) * time.Second, Stacks: 7, Resources: 112},
		Destroy: phase{Wall: time.Duration(downSecs) * time.Second, Stacks: 7, Resources: 112},
	}
}

func TestTableUsesMedianRuns(t *testing.T) {
	by := map[int][]measurement{
		1: {fakeRun(90, 60), fakeRun(30, 50), fakeRun(40, 70)},
		2: {fakeRun(20, 30), fakeRun(25, 90)},
	}
	var b strings.Builder
	writeTable(&b, 6, []int{1, 2}, by)
	// p1 medians: up 40 s, destroy 60 s; p2 (even count, faster middle): up 20 s, destroy 30 s.
	for _, want := range []string{
		"| up | 6 | 7 | 112 | 40.0 s | 20.0 s | 2.00 |",
		"| destroy | 6 | 7 | 112 | 60.0 s | 30.0 s | 2.00 |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
