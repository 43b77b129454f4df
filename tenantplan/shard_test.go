package tenantplan

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// fnv1a32 is FNV-1a as its specification gives it (offset basis 2166136261, prime 16777619),
// written out so the test does not trust the implementation it checks.
func fnv1a32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func TestShardOf(t *testing.T) {
	// Pinned: a tenant must land in the same shard in every release, or shard runs of different
	// versions would process some tenants twice and skip others.
	pinned := map[string]int{}
	for _, id := range []string{"acme", "globex", "initech", "platform"} {
		pinned[id] = int(fnv1a32(id)%4) + 1
	}
	got := map[string]int{}
	for id := range pinned {
		got[id] = ShardOf(id, 4)
	}
	if diff := cmp.Diff(pinned, got); diff != "" {
		t.Errorf("ShardOf(id, 4) (-FNV-1a +got):\n%s", diff)
	}
	counts := make([]int, 8)
	for i := range 8000 {
		id := fmt.Sprintf("tenant-%d", i)
		s := ShardOf(id, 8)
		if s < 1 || s > 8 {
			t.Fatalf("ShardOf(%s, 8) = %d, outside 1..8", id, s)
		}
		if s != ShardOf(id, 8) {
			t.Fatalf("ShardOf(%s, 8) is not stable", id)
		}
		counts[s-1]++
	}
	for i, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d of 8 holds %d of 8000 tenants: the hash does not spread", i+1, n)
		}
	}
	if got := ShardOf("acme", 1); got != 1 {
		t.Errorf("ShardOf(acme, 1) = %d, want 1", got)
	}
}

func TestShardHolds(t *testing.T) {
	ids := []string{"acme", "globex", "initech", "umbrella", "hooli", "tenant-7"}
	for _, n := range []int{1, 2, 3, 5} {
		held := map[string]int{}
		for i := 0; i <= n; i++ {
			sh := Shard{Index: i, Count: n}
			for _, id := range ids {
				if sh.Holds(id) {
					if sh.Platform() {
						t.Errorf("platform shard %s holds tenant %s", sh, id)
					}
					held[id]++
				}
			}
		}
		for _, id := range ids {
			if held[id] != 1 {
				t.Errorf("N=%d: tenant %s held by %d shards, want exactly 1", n, id, held[id])
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"1/1", Shard{1, 1}, false},
		{"2/4", Shard{2, 4}, false},
		{" 3 / 4 ", Shard{3, 4}, false},
		{"0/4", Shard{0, 4}, false},
		{"0+1/4", Shard{1, 4}, false},
		{"3+1/4", Shard{4, 4}, false},
		{"4+1/4", Shard{}, true},
		{"-1+1/4", Shard{}, true},
		{"5/4", Shard{}, true},
		{"-1/4", Shard{}, true},
		{"4", Shard{}, true},
		{"a/b", Shard{}, true},
		{"1/0", Shard{}, true},
		{"0/0", Shard{}, true},
		{"$(JOB_COMPLETION_INDEX)+1/4", Shard{}, true},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, errkind.Invalid) {
			t.Errorf("ParseShard(%q) error %v is not errkind.Invalid", tt.in, err)
		}
	}
}
