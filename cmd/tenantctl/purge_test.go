package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

// TestPurgeNeedsItsOwnApproval: dropping retained data in production takes an approval that says
// so; --yes, which approves an ordinary destroy, does not, and neither does a destroy approval
// without purgeData.
func TestPurgeNeedsItsOwnApproval(t *testing.T) {
	dir, commit := productionExamples(t)
	state, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	envs := []*isolation.Environment{state.Environment("dev")}
	approval := func(purge bool) string {
		p := filepath.Join(t.TempDir(), "approval.yaml")
		doc := fmt.Sprintf("apiVersion: %s\nkind: Approval\napprovedBy: jane@example.com\noperation: destroy\nenvironment: dev\ntenants: [globex]\ncommit: %s\nreason: CHG-2\npurgeData: %v\n",
			isolation.APIVersion, commit, purge)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		o       opOptions
		wantErr string // "" for approved
	}{
		{"destroy with --yes", opOptions{yes: true}, ""},
		{"purge with --yes", opOptions{yes: true, purgeData: true}, "--yes does not approve dropping data"},
		{"purge with nothing", opOptions{purgeData: true}, "--yes does not approve dropping data"},
		{"purge with a destroy approval", opOptions{purgeData: true, approvalFile: approval(false)}, "purgeData: the approval does not approve"},
		{"purge with a purge approval", opOptions{purgeData: true, approvalFile: approval(true)}, ""},
		{"purge approved, --yes beside it", opOptions{yes: true, purgeData: true, approvalFile: approval(true)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkApproval(&tt.o, automation.OpDestroy, state, state.Bindings, envs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			case tt.wantErr != "" && exitCodeOf(err) != exitcode.Invalid:
				t.Fatalf("exit code %d, want %d (invalid input: nothing ran)", exitCodeOf(err), exitcode.Invalid)
			}
		})
	}
}
