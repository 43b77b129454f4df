package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func binding(env, id string) *isolation.RuntimeTenantBinding {
	b := &isolation.RuntimeTenantBinding{}
	b.Spec.TenantID, b.Spec.Environment = id, env
	return b
}

func TestRunScope(t *testing.T) {
	dev := []*isolation.RuntimeTenantBinding{binding("dev", "acme"), binding("dev", "globex")}
	probes := []report.TenantRef{{Environment: "dev", TenantID: "acme"}, {Environment: "dev", TenantID: "globex"},
		{Environment: "dev", TenantID: "platform"}, {Environment: "dev", TenantID: "rogue"}, {Environment: "prod", TenantID: "acme"}}
	shard := report.Shard{Index: tenantplan.ShardOf("acme", 2), Count: 2}
	in := func(id string) bool { return tenantplan.ShardOf(id, 2) == shard.Index }
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
