package reach_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
	"github.com/connectsoft/tenantctl/stacks"
	kubestack "github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
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

// TestDesiredAzureHubAndSpoke proves the azure programs' network (stacks/azure names, NSG rules,
// peerings, firewall route) keeps silo tenants apart, including when the hub firewall's rules
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

// recorder keeps what the programs register, answering every registration with its inputs as
// a Kubernetes apply would.
type recorder struct {
	mu  sync.Mutex
	res []map[string]any
	typ []string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	r.res = append(r.res, args.Inputs.Mappable())
	r.typ = append(r.typ, args.TypeToken)
	r.mu.Unlock()
	return args.Name + "-id", args.Inputs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

func runProgram(t *testing.T, stack string, prog pulumi.RunFunc, rec *recorder) {
	t.Helper()
	cfg := map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): "/etc/tenantctl/kubeconfig"}
	err := pulumi.RunErr(prog, pulumi.WithMocks(tenantplan.ProjectName, stack, rec), func(info *pulumi.RunInfo) { info.Config = cfg })
	if err != nil {
		t.Fatalf("%s: %v", stack, err)
	}
}

// canonical reduces objects to "kind ns/name" → JSON of what decides reachability (namespace
// labels, policy specs), through a JSON round trip so number types compare equal.
func canonical(t *testing.T, objs []map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range objs {
		meta, _ := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		var v any
		switch o["kind"] {
		case "Namespace":
			// The API server adds this label to every namespace; the programs do not set it.
			labels := map[string]any{"kubernetes.io/metadata.name": name}
			for k, l := range meta["labels"].(map[string]any) {
				labels[k] = l
			}
			v = labels
		case "NetworkPolicy":
			v = o["spec"]
		default:
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[o["kind"].(string)+" "+ns+"/"+name] = string(b)
	}
	return out
}

// TestDesiredMatchesPrograms runs the kubernetes platform and tenant programs under Pulumi mocks
// and checks Desired synthesises exactly their namespaces' labels and their NetworkPolicies.
func TestDesiredMatchesPrograms(t *testing.T) {
	st := loadExamples(t)
	env := st.Environment("dev")
	rec := &recorder{}
	runProgram(t, tenantplan.PlatformStackName("dev"), kubestack.PlatformProgram(env), rec)
	platform := tenantplan.PlatformOutputs{Environment: "dev", IngressNamespace: tenantplan.IngressNamespace(env),
		SharedNamespace: tenantplan.SharedNamespace(env), AdmissionPolicies: tenantplan.AdmissionPolicyNames}
	for _, b := range st.BindingsIn("dev") {
		runProgram(t, tenantplan.TenantStackName(b.Spec.TenantID, "dev"), kubestack.TenantProgram(tenantplan.Inputs{Binding: b, Env: env, Platform: platform}), rec)
	}
	var programs []map[string]any
	for _, r := range rec.res {
		if _, ok := r["kind"]; ok {
			programs = append(programs, r)
		}
	}
	snap, err := reach.Desired(env, st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	var desired []map[string]any
	for _, u := range snap.Kubernetes {
		if u.GetName() == "kube-system" {
			continue // the cluster's own namespace, not created by the programs
		}
		desired = append(desired, u.Object)
	}
	want, got := canonical(t, programs), canonical(t, desired)
	if len(want) == 0 {
		t.Fatal("the programs registered no namespace or policy")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Desired differs from the programs (-programs +desired):\n%s", diff)
	}
}
