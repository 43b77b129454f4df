package fleet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestSelectionEnvironments(t *testing.T) {
	tests := []struct {
		name string
		sel  Selection
		want []string
		in   map[string]bool
	}{
		{"none is every environment", Selection{}, nil, map[string]bool{"dev": true, "prod": true}},
		{"Env alone", Selection{Env: "dev"}, []string{"dev"}, map[string]bool{"dev": true, "prod": false}},
		{"Envs repeat", Selection{Envs: []string{"dev", "prod", "dev"}}, []string{"dev", "prod"}, map[string]bool{"dev": true, "prod": true, "qa": false}},
		{"Env and Envs together", Selection{Env: "qa", Envs: []string{"", "prod"}}, []string{"qa", "prod"}, map[string]bool{"dev": false, "qa": true, "prod": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.sel.Environments()); diff != "" {
				t.Errorf("Environments (-want +got):\n%s", diff)
			}
			for env, want := range tt.in {
				if got := tt.sel.InEnv(env); got != want {
					t.Errorf("InEnv(%s) = %v, want %v", env, got, want)
				}
			}
		})
	}
}

func TestSelectWithSeveralEnvironments(t *testing.T) {
	st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(nil, st, "")
	bs, envs, err := f.Select(Selection{All: true, Envs: []string{"dev", "dev"}})
	if err != nil || len(bs) != len(st.Bindings) || len(envs) != 1 || envs[0].Name() != "dev" {
		t.Fatalf("Select(dev, dev) = %d binding(s), %v, %v", len(bs), envs, err)
	}
	// prod has no tenants: with --all its platform stack is still selected
	bs, envs, err = f.Select(Selection{All: true, Envs: []string{"prod", "dev"}})
	var names []string
	for _, e := range envs {
		names = append(names, e.Name())
	}
	if err != nil || len(bs) != len(st.BindingsIn("dev"))+len(st.BindingsIn("prod")) || !cmp.Equal(names, []string{"dev", "prod"}) {
		t.Fatalf("Select(prod, dev) = %d binding(s), %v, %v", len(bs), names, err)
	}
	_, _, err = f.Select(Selection{All: true, Envs: []string{"dev", "qa"}})
	if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "--env qa: no such environment") {
		t.Errorf("an unknown environment among several: %v", err)
	}
}

// Tenant stacks share provider processes only with stacks whose providers are configured from
// the same environment, config and platform outputs; platform stacks never do.
func TestProviderScope(t *testing.T) {
	st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(&automation.Engine{}, st, "/kube/config")
	dev := st.BindingsIn("dev")
	if len(dev) < 2 {
		t.Fatalf("examples have %d dev tenants, the test needs two", len(dev))
	}
	platform := tenantplan.ExpectedPlatformOutputs(st.Environment("dev"))
	a, b := f.TenantTarget(dev[0], platform), f.TenantTarget(dev[1], platform)
	if a.ProviderScope == "" || a.ProviderScope != b.ProviderScope {
		t.Fatalf("two dev tenants: scopes %q and %q, want one non-empty scope", a.ProviderScope, b.ProviderScope)
	}
	if !strings.HasPrefix(a.ProviderScope, "tenants/dev/") {
		t.Errorf("scope %q does not name its environment", a.ProviderScope)
	}
	if p := f.PlatformTarget(st.Environment("dev")); p.ProviderScope != "" {
		t.Errorf("platform stack scope %q, want none", p.ProviderScope)
	}
	changed := platform
	changed.SharedNamespace += "-new"
	otherCluster := New(&automation.Engine{}, st, "/other/kubeconfig")
	for name, got := range map[string]string{
		"other platform outputs": f.TenantTarget(dev[0], changed).ProviderScope,
		"other kubeconfig":       otherCluster.TenantTarget(dev[0], platform).ProviderScope,
	} {
		if got == a.ProviderScope {
			t.Errorf("%s: same scope %q", name, got)
		}
	}
	if prod := st.BindingsIn("prod"); len(prod) > 0 {
		if got := f.TenantTarget(prod[0], tenantplan.ExpectedPlatformOutputs(st.Environment("prod"))).ProviderScope; got == a.ProviderScope {
			t.Errorf("prod tenant shares dev's scope %q", got)
		}
	}
}
