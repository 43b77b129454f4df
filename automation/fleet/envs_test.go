package fleet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
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
