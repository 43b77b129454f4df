package reach_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
)

const examplesDir = "../../examples/tenants"

func loadExamples(t *testing.T) *isolation.DesiredState {
	t.Helper()
	st, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatalf("load %s: %v", examplesDir, err)
	}
	return st
}

// TestExamplesDesiredOnly proves the example bindings and the programs open no route between two
// different tenants, and that the platform routes they do open are the declared contracts.
func TestExamplesDesiredOnly(t *testing.T) {
	st := loadExamples(t)
	for name, env := range st.Environments {
		g, err := reach.AnalyzeDesired(context.Background(), env, st.BindingsIn(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g.Failing() {
			t.Errorf("%s: %d unexpected, %d unknown edges: %+v", name, g.Count(reach.VerdictUnexpected), g.Count(reach.VerdictUnknown), g.Edges)
		}
		if len(g.Exposures) > 0 {
			t.Errorf("%s: exposures %+v", name, g.Exposures)
		}
		for _, e := range g.Edges {
			if e.From != isolation.Platform && e.To != isolation.Platform {
				t.Errorf("%s: tenant-to-tenant edge %s→%s (%s)", name, e.From, e.To, e.Reason)
			}
		}
	}
	dev, err := reach.AnalyzeDesired(context.Background(), st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	var tiers []string
	for _, n := range dev.Nodes {
		tiers = append(tiers, n.ID+":"+string(n.Tier))
	}
	if diff := cmp.Diff([]string{"acme:silo", "globex:pool", "initech:shared", "platform:"}, tiers); diff != "" {
		t.Errorf("dev nodes (-want +got):\n%s", diff)
	}
	// Every tenant reaches cluster DNS and is reached by the platform ingress, nothing more.
	if got, want := dev.Count(reach.VerdictAllowed), 2*len(st.BindingsIn("dev")); got != want {
		t.Errorf("dev has %d allowed edges, want %d", got, want)
	}
}

// TestDesiredAzureHubAndSpoke proves the azure plans' network (names, NSG rules, peerings,
// firewall route) keeps silo tenants apart, including when the hub firewall's rules
// are unknown.
func TestDesiredAzureHubAndSpoke(t *testing.T) {
	env := f.Env("azure")
	bs := []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierSilo, "10.30.0.0/16"),
		f.Binding("hooli", isolation.TierSilo, "10.24.0.0/16"),
	}
	for _, b := range bs {
		b.Spec.Network.Subnets[1].Purpose = isolation.SubnetEndpoints
	}
	g, err := reach.AnalyzeDesired(context.Background(), env, bs)
	if err != nil {
		t.Fatal(err)
	}
	if g.Failing() || len(g.Exposures) > 0 || len(g.Unresolved) > 0 {
		t.Fatalf("edges %+v\nexposures %+v\nunresolved %v", g.Edges, g.Exposures, g.Unresolved)
	}
	var hub []string
	for _, e := range g.Edges {
		if e.Kind == reach.KindPeering {
			hub = append(hub, e.From+"→"+e.To)
		}
	}
	want := []string{"acme→platform", "globex→platform", "hooli→platform", "platform→acme", "platform→globex", "platform→hooli"}
	if diff := cmp.Diff(want, hub); diff != "" {
		t.Errorf("hub peering edges (-want +got):\n%s", diff)
	}
}
