package benchkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// TestGeneratedStateIsValid loads the generated folder through the real loader and validator: the
// benchmark must provision what a user could commit.
func TestGeneratedStateIsValid(t *testing.T) {
	for _, n := range []int{1, 6, 40} {
		dir := t.TempDir()
		if _, err := WriteDesiredState(dir, "../../../examples/tenants", n); err != nil {
			t.Fatal(err)
		}
		s, err := isolation.Load(context.Background(), dir)
		if err != nil {
			t.Fatalf("n=%d: generated desired state does not validate: %v", n, err)
		}
		var got, want []string
		for i := 1; i <= n; i++ {
			want = append(want, tenantplan.TenantStackName(TenantID(i), "dev")+" pool")
		}
		for _, b := range s.BindingsIn("dev") {
			got = append(got, tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)+" "+string(b.Spec.Tier))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("n=%d: bindings (-want +got):\n%s", n, diff)
		}
	}
}

// TestShrinkingRemovesExtraBindings: a folder reused for a smaller fleet holds exactly n bindings.
func TestShrinkingRemovesExtraBindings(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{5, 2} {
		if _, err := WriteDesiredState(dir, "../../../examples/tenants", n); err != nil {
			t.Fatal(err)
		}
	}
	s, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.BindingsIn("dev")); got != 2 {
		t.Errorf("after shrinking to 2: %d bindings", got)
	}
}

// TestUnchangedFilesKeepTheirTime: rewriting the same fleet changes nothing on disk.
func TestUnchangedFilesKeepTheirTime(t *testing.T) {
	dir := t.TempDir()
	if changed, err := WriteDesiredState(dir, "../../../examples/tenants", 3); err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	p := filepath.Join(dir, "tenants", TenantID(2)+".yaml")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteDesiredState(dir, "../../../examples/tenants", 3); err != nil || changed {
		t.Fatalf("same fleet again: changed=%v err=%v", changed, err)
	}
	if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("unchanged binding rewritten: %v %v", fi.ModTime(), err)
	}
	if changed, err := WriteDesiredState(dir, "../../../examples/tenants", 4); err != nil || !changed {
		t.Fatalf("grown fleet: changed=%v err=%v", changed, err)
	}
}

// TestDataLayerOption: the data engine line is removed by default and kept on request, so the
// generated environment provisions the data layer exactly when asked.
func TestDataLayerOption(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    DesiredOptions
		want bool
	}{{"default: Kubernetes layers only", DesiredOptions{}, false}, {"data layer kept", DesiredOptions{DataLayer: true}, true}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := WriteDesiredStateWith(dir, "../../../examples/tenants", 2, tt.o); err != nil {
				t.Fatal(err)
			}
			s, err := isolation.Load(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := tenantplan.UsesPostgres(s.Environment("dev")); got != tt.want {
				t.Errorf("UsesPostgres = %v, want %v", got, tt.want)
			}
		})
	}
}
