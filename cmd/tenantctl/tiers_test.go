package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

func TestTiersText(t *testing.T) {
	out, code := runTenantctl(t, "tiers")
	if code != exitcode.OK {
		t.Fatalf("exit code = %d", code)
	}
	lines := strings.Split(out, "\n")
	if got := strings.Fields(lines[0]); !cmp.Equal(got, []string{"LAYER", "SILO", "POOL", "SHARED"}) {
		t.Errorf("header = %q", lines[0])
	}
	// Each layer has a row of modes (in tier order) followed by a row of descriptions.
	for i, l := range isolation.Layers {
		modes := strings.Fields(lines[1+2*i])
		want := []string{string(l)}
		for _, tier := range isolation.Tiers {
			want = append(want, string(isolation.Matrix[tier][l].Mode))
		}
		if diff := cmp.Diff(want, modes); diff != "" {
			t.Errorf("row %s (-want +got):\n%s", l, diff)
		}
		for _, tier := range isolation.Tiers {
			if d := isolation.Matrix[tier][l].Description; !strings.Contains(lines[2+2*i], d) {
				t.Errorf("row %s lacks %q: %q", l, d, lines[2+2*i])
			}
		}
	}
	if !strings.Contains(out, "data (shared-row-filter < shared-partitioned < dedicated-database)") {
		t.Errorf("override rules missing:\n%s", out)
	}
}

func TestTiersJSON(t *testing.T) {
	out, code := runTenantctl(t, "tiers", "-o", "json")
	if code != exitcode.OK {
		t.Fatalf("exit code = %d", code)
	}
	var got tiersJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if diff := cmp.Diff(isolation.Matrix, got.Matrix); diff != "" {
		t.Errorf("matrix (-isolation.Matrix +tiers):\n%s", diff)
	}
	if diff := cmp.Diff(isolation.Tiers, got.Tiers); diff != "" {
		t.Errorf("tiers (-want +got):\n%s", diff)
	}
	for _, l := range isolation.Layers {
		_, listed := got.Overrides[l]
		if listed != isolation.Overridable(l) {
			t.Errorf("layer %s: listed in overrides = %v, overridable = %v", l, listed, isolation.Overridable(l))
		}
	}
	if _, code := runTenantctl(t, "tiers", "-o", "yaml"); code != exitcode.Invalid {
		t.Errorf("unsupported output: exit code = %d, want %d", code, exitcode.Invalid)
	}
}
