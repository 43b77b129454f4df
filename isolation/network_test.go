package isolation

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestFindOverlaps(t *testing.T) {
	tests := []struct {
		name  string
		spans []span
		want  []overlap
	}{
		{"disjoint", []span{{prefix: mustPrefix("10.0.0.0/16")}, {prefix: mustPrefix("10.1.0.0/16")}}, nil},
		{"nested reported against the container", []span{{prefix: mustPrefix("10.0.1.0/24")}, {prefix: mustPrefix("10.0.0.0/16")}}, []overlap{{outer: 1, inner: 0}}},
		{"identical", []span{{prefix: mustPrefix("10.0.0.0/16")}, {prefix: mustPrefix("10.0.0.0/16")}}, []overlap{{outer: 0, inner: 1}}},
		{"platform ranges may nest", []span{{prefix: mustPrefix("10.0.0.0/16"), platform: true}, {prefix: mustPrefix("10.0.0.0/22"), platform: true}}, nil},
		{"tenant inside tenant inside platform", []span{
			{prefix: mustPrefix("10.0.0.0/8"), platform: true},
			{prefix: mustPrefix("10.1.0.0/16")},
			{prefix: mustPrefix("10.1.0.0/24")},
		}, []overlap{{outer: 0, inner: 1}, {outer: 1, inner: 2}, {outer: 0, inner: 2}}},
		{"families never overlap", []span{{prefix: mustPrefix("::/0")}, {prefix: mustPrefix("10.0.0.0/8")}}, nil},
		{"chain unwinds past a sibling", []span{
			{prefix: mustPrefix("10.0.0.0/16")},
			{prefix: mustPrefix("10.0.0.0/24")},
			{prefix: mustPrefix("10.0.1.0/24")},
			{prefix: mustPrefix("10.1.0.0/24")},
		}, []overlap{{outer: 0, inner: 1}, {outer: 0, inner: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, findOverlaps(tc.spans), cmp.AllowUnexported(overlap{})); diff != "" {
				t.Errorf("overlaps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFindOverlapsMatchesBruteForce checks the sweep against the O(n²) definition on random
// fleets: every tenant range that overlaps another range (except platform with platform) takes
// part in a reported pair, and every reported pair really overlaps. Errors are attached to
// tenant ranges, so which platform ranges appear in pairs does not matter.
func TestFindOverlapsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		n := 2 + rng.IntN(40)
		spans := make([]span, n)
		for i := range spans {
			bits := 8 + rng.IntN(17)
			addr := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), 0})
			spans[i] = span{prefix: netip.PrefixFrom(addr, bits).Masked(), platform: rng.IntN(5) == 0}
		}
		flaggedWant := map[int]bool{}
		for i := range spans {
			for j := range spans {
				if i != j && !spans[i].platform && spans[i].prefix.Overlaps(spans[j].prefix) {
					flaggedWant[i] = true
				}
			}
		}
		flaggedGot := map[int]bool{}
		for _, o := range findOverlaps(spans) {
			a, b := spans[o.outer], spans[o.inner]
			if !a.prefix.Overlaps(b.prefix) || (a.platform && b.platform) || o.outer == o.inner {
				t.Fatalf("round %d: bogus overlap %v / %v", round, a, b)
			}
			for _, k := range []int{o.outer, o.inner} {
				if !spans[k].platform {
					flaggedGot[k] = true
				}
			}
		}
		if diff := cmp.Diff(keys(flaggedWant), keys(flaggedGot)); diff != "" {
			t.Fatalf("round %d: ranges involved in overlaps (-brute force +sweep):\n%s", round, diff)
		}
	}
}

func keys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// BenchmarkFindOverlaps shows the sweep stays near-linear for a big fleet of silo VNets.
func BenchmarkFindOverlaps(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		spans := make([]span, n)
		for i := range spans {
			spans[i] = span{prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if len(findOverlaps(spans)) != 0 {
					b.Fatal("unexpected overlap")
				}
			}
		})
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct{ in, problem string }{
		{"10.20.0.0/16", ""},
		{"fd00::/8", ""},
		{"10.20.0.1/16", "10.20.0.1/16 has host bits set; the network is 10.20.0.0/16"},
		{"10.20.0.0", `"10.20.0.0" is not a CIDR (want e.g. 10.20.0.0/16)`},
		{"", `"" is not a CIDR (want e.g. 10.20.0.0/16)`},
	}
	for _, tc := range tests {
		if _, got := parsePrefix(tc.in); got != tc.problem {
			t.Errorf("parsePrefix(%q) problem = %q, want %q", tc.in, got, tc.problem)
		}
	}
}
