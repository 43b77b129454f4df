package kubernetes

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// manifests reduces objects to "apiVersion kind ns/name" → the object as JSON, through a JSON
// round trip so number and map types compare equal.
func manifests(t *testing.T, objs []map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, o := range objs {
		meta, _ := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		key := o["apiVersion"].(string) + " " + o["kind"].(string) + " " + ns + "/" + name
		if _, dup := out[key]; dup {
			t.Errorf("%s twice", key)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out[key] = v
	}
	return out
}

// kubernetesObjects are the inputs of every Kubernetes object a mocked run registered (patches
// and the provider aside).
// The data layer's credential Secret is not a Kubernetes-layer object of the plan: its data is
// the generated password, which exists only once the stack ran (tenantplan.Postgres names it).
func kubernetesObjects(rec *recorder) []map[string]any {
	var out []map[string]any
	for _, r := range rec.All() {
		if r.Type == tSecret && strings.HasSuffix(r.Name, "-db") {
			continue
		}
		if strings.HasPrefix(r.Type, "kubernetes:") && !strings.HasSuffix(r.Type, "Patch") {
			out = append(out, r.Inputs)
		}
	}
	return out
}

// TestProgramsRenderThePlan runs the platform and tenant programs of the example environment
// under Pulumi mocks and checks that they create exactly the plan's objects, field for field:
// what reachability and drift read from the plan is what the programs create.
func TestProgramsRenderThePlan(t *testing.T) {
	st, err := isolation.Load(context.Background(), "../../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	env := st.Environment("dev")
	platform, err := tenantplan.ForPlatform(env)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pgConfig(t)
	rec, err := run(t, platform.Stack, cfg, PlatformProgram(env))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(manifests(t, platform.KubernetesObjects()), manifests(t, kubernetesObjects(rec))); d != "" {
		t.Errorf("platform program differs from the plan (-plan +program):\n%s", d)
	}
	if len(st.BindingsIn("dev")) < 3 {
		t.Fatalf("the examples have %d dev tenants; the test wants one per tier", len(st.BindingsIn("dev")))
	}
	for _, b := range st.BindingsIn("dev") {
		in := tenantplan.Inputs{Binding: b, Env: env, Platform: platform.Outputs()}
		pl, err := tenantplan.ForTenant(in)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := run(t, pl.Stack, cfg, TenantProgram(in))
		if err != nil {
			t.Fatal(err)
		}
		want, got := manifests(t, pl.KubernetesObjects()), manifests(t, kubernetesObjects(rec))
		if len(want) < 5 {
			t.Errorf("%s: the plan has %d objects", pl.Stack, len(want))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: tenant program differs from the plan (-plan +program):\n%s", pl.Stack, d)
		}
	}
}
