package main

import (
	"context"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// TestOpShardRefusals: shard values and combinations that cannot mean anything are invalid input
// (exit 3) before the desired state, a cluster, the tools or the backend are touched.
func TestOpShardRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not I/N", []string{"up", "--all", "--shard", "2"}, "want I/N"},
		{"index beyond the count", []string{"preview", "--all", "--shard", "5/4"}, "want I/N"},
		{"no shards", []string{"refresh", "--all", "--shard", "0/0"}, "want I/N"},
		{"tenant shard destroying platforms", []string{"destroy", "--all", "--include-platform", "--shard", "2/4"}, "a tenant shard never touches the platform stacks"},
		{"platform shard destroy without --include-platform", []string{"destroy", "--all", "--shard", "0/4"}, "add --include-platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := execTenantctl(t, context.Background(), append(tt.args, "-d", "/nonexistent-desired-state")...)
			if code != exitcode.Invalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr, exitcode.Invalid, tt.want)
			}
		})
	}
}
