package fleet

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func shard(i, n int) *tenantplan.Shard { return &tenantplan.Shard{Index: i, Count: n} }

// TestSelectShard: the examples' dev tenants spread over shards by the FNV-1a hash drift check
// uses (pinned in tenantplan's TestShardOf: with N=4 acme is in 4, globex in 3, initech in 2 and
// shard 1 is empty); every shard sees the environments of the whole selection, and the platform
// shard 0/N no tenant.
func TestSelectShard(t *testing.T) {
	st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(nil, st, "")
	dev := Selection{All: true, Envs: []string{"dev"}}
	with := func(sel Selection, sh *tenantplan.Shard) Selection { sel.Shard = sh; return sel }
	tests := []struct {
		name        string
		sel         Selection
		wantTenants []string
		wantEnvs    []string
		wantErr     error
	}{
		{"no shard", dev, []string{"acme", "globex", "initech"}, []string{"dev"}, nil},
		{"platform shard", with(dev, shard(0, 4)), nil, []string{"dev"}, nil},
		{"empty tenant shard keeps the environments", with(dev, shard(1, 4)), nil, []string{"dev"}, nil},
		{"shard 2/4", with(dev, shard(2, 4)), []string{"initech"}, []string{"dev"}, nil},
		{"shard 3/4", with(dev, shard(3, 4)), []string{"globex"}, []string{"dev"}, nil},
		{"shard 4/4", with(dev, shard(4, 4)), []string{"acme"}, []string{"dev"}, nil},
		{"shard 1/2", with(dev, shard(1, 2)), []string{"globex"}, []string{"dev"}, nil},
		{"shard 2/2", with(dev, shard(2, 2)), []string{"acme", "initech"}, []string{"dev"}, nil},
		{"1/1 is everything but the platform", with(dev, shard(1, 1)), []string{"acme", "globex", "initech"}, []string{"dev"}, nil},
		{"--tenant in another shard", Selection{Tenants: []string{"acme"}, Shard: shard(3, 4)}, nil, []string{"dev"}, nil},
		{"--tenant in its shard", Selection{Tenants: []string{"acme", "globex"}, Shard: shard(4, 4)}, []string{"acme"}, []string{"dev"}, nil},
		{"prod without tenants: platform shard", with(Selection{All: true, Envs: []string{"prod"}}, shard(0, 2)), nil, []string{"prod"}, nil},
		{"tenant shard with --include-platform", Selection{All: true, IncludePlatform: true, Shard: shard(2, 4)}, nil, nil, errkind.Invalid},
		{"platform shard with --include-platform", Selection{All: true, Envs: []string{"dev"}, IncludePlatform: true, Shard: shard(0, 4)}, nil, []string{"dev"}, nil},
		{"platform shard for a tenants-only caller", Selection{All: true, TenantsOnly: true, Shard: shard(0, 4)}, nil, nil, errkind.Invalid},
		{"index beyond the count", with(dev, shard(5, 4)), nil, nil, errkind.Invalid},
		{"no count", with(dev, shard(0, 0)), nil, nil, errkind.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs, envs, err := f.Select(tt.sel)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Select error %v, want %v", err, tt.wantErr)
			}
			var tenants, envNames []string
			for _, b := range bs {
				tenants = append(tenants, b.Spec.TenantID)
			}
			for _, e := range envs {
				envNames = append(envNames, e.Name())
			}
			if diff := cmp.Diff(tt.wantTenants, tenants); diff != "" {
				t.Errorf("tenants (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEnvs, envNames); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShardsCoverTheSelection: for any N the tenant shards 1..N together select every binding of
// the unsharded selection exactly once, each in the shard drift check puts it in.
func TestShardsCoverTheSelection(t *testing.T) {
	st, err := isolation.Load(context.Background(), filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(nil, st, "")
	all, _, err := f.Select(Selection{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 7; n++ {
		seen := map[*isolation.RuntimeTenantBinding]int{}
		for i := 1; i <= n; i++ {
			bs, _, err := f.Select(Selection{All: true, Shard: shard(i, n)})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bs {
				seen[b]++
				if got := tenantplan.ShardOf(b.Spec.TenantID, n); got != i {
					t.Errorf("N=%d: shard %d selected %s, which drift check puts in shard %d", n, i, b.Spec.TenantID, got)
				}
			}
		}
		for _, b := range all {
			if seen[b] != 1 {
				t.Errorf("N=%d: %s/%s selected by %d shards, want 1", n, b.Spec.Environment, b.Spec.TenantID, seen[b])
			}
		}
	}
}

func TestCheckShardForDestroy(t *testing.T) {
	tests := []struct {
		name string
		sel  Selection
		op   automation.Operation
		want error
	}{
		{"platform shard destroys platforms only with --include-platform", Selection{All: true, Shard: shard(0, 3)}, automation.OpDestroy, errkind.Invalid},
		{"platform shard destroy", Selection{All: true, IncludePlatform: true, Shard: shard(0, 3)}, automation.OpDestroy, nil},
		{"platform shard up", Selection{All: true, Shard: shard(0, 3)}, automation.OpUp, nil},
		{"tenant shard destroy", Selection{All: true, Shard: shard(3, 3)}, automation.OpDestroy, nil},
		{"tenant shard never destroys a platform", Selection{All: true, IncludePlatform: true, Shard: shard(3, 3)}, automation.OpDestroy, errkind.Invalid},
		{"no shard", Selection{All: true}, automation.OpDestroy, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sel.CheckShard(tt.op)
			if !errors.Is(err, tt.want) || (err != nil) != (tt.want != nil) {
				t.Errorf("CheckShard(%s) = %v, want %v", tt.op, err, tt.want)
			}
		})
	}
}
