package check

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation"
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
	// Pinned: a tenant must land in the same shard in every release, or shard reports of
	// different versions would double-check some tenants and skip others.
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

func binding(env, id string) *isolation.RuntimeTenantBinding {
	b := &isolation.RuntimeTenantBinding{}
	b.Spec.TenantID, b.Spec.Environment = id, env
	return b
}

func TestRunScope(t *testing.T) {
	dev := []*isolation.RuntimeTenantBinding{binding("dev", "acme"), binding("dev", "globex")}
	probes := []report.TenantRef{{Environment: "dev", TenantID: "acme"}, {Environment: "dev", TenantID: "globex"},
		{Environment: "dev", TenantID: "platform"}, {Environment: "dev", TenantID: "rogue"}, {Environment: "prod", TenantID: "acme"}}
	shard := report.Shard{Index: ShardOf("acme", 2), Count: 2}
	in := func(id string) bool { return ShardOf(id, 2) == shard.Index }
	tests := []struct {
		name     string
		sel      fleet.Selection
		shard    *report.Shard
		bindings []*isolation.RuntimeTenantBinding
		want     []bool // per probe
	}{
		// --all also reports the platform and tenant scopes without a binding (rogue)
		{"all", fleet.Selection{All: true}, nil, dev, []bool{true, true, true, true, true}},
		{"all of one env", fleet.Selection{All: true, Env: "dev"}, nil, dev, []bool{true, true, true, true, false}},
		// --tenant reports only the selected tenants, not the platform
		{"selected tenant", fleet.Selection{Tenants: []string{"acme"}}, nil, dev[:1], []bool{true, false, false, false, false}},
		{"shard of all", fleet.Selection{All: true}, &shard, dev, []bool{true, in("globex"), in("platform"), in("rogue"), true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRunScope(tt.sel, tt.shard, tt.bindings)
			var got []bool
			for _, p := range probes {
				got = append(got, s.includes(p.Environment, p.TenantID))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("includes %v (-want +got):\n%s", probes, diff)
			}
		})
	}
}
