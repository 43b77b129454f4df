package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// TestGeneratedStateIsValid loads the generated folder through the real loader and validator: the
// benchmark must provision what a user could commit.
func TestGeneratedStateIsValid(t *testing.T) {
	for _, n := range []int{1, 6, 40} {
		dir := t.TempDir()
		if err := writeDesiredState(dir, "../../examples/tenants", n); err != nil {
			t.Fatal(err)
		}
		s, err := isolation.Load(context.Background(), dir)
		if err != nil {
			t.Fatalf("n=%d: generated desired state does not validate: %v", n, err)
		}
		var got, want []string
		for i := 1; i <= n; i++ {
			want = append(want, stacks.TenantStackName(tenantID(i), "dev")+" pool")
		}
		for _, b := range s.BindingsIn("dev") {
			got = append(got, stacks.TenantStackName(b.Spec.TenantID, b.Spec.Environment)+" "+string(b.Spec.Tier))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("n=%d: bindings (-want +got):\n%s", n, diff)
		}
	}
}
