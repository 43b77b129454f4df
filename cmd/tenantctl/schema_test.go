package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func TestSchemaCommand(t *testing.T) {
	committed := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	binding, environment := committed("runtime-tenant-binding.schema.json"), committed("environment.schema.json")
	tests := []struct {
		name string
		args []string
		code int
		out  string // the whole output when the command succeeds
	}{
		{"binding", []string{"schema", "binding"}, exitcode.OK, binding},
		{"environment as JSON", []string{"schema", "environment", "-o", "json"}, exitcode.OK, environment},
		{"kind name", []string{"schema", "RuntimeTenantBinding"}, exitcode.OK, binding},
		{"short name", []string{"schema", "env"}, exitcode.OK, environment},
		{"no document", []string{"schema"}, exitcode.Invalid, ""},
		{"unknown document", []string{"schema", "configmap"}, exitcode.Invalid, ""},
		{"two documents", []string{"schema", "binding", "environment"}, exitcode.Invalid, ""},
		{"unsupported output", []string{"schema", "binding", "-o", "yaml"}, exitcode.Invalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runTenantctl(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			if d := cmp.Diff(tc.out, out); d != "" {
				t.Errorf("output is not the committed schema (-want +got):\n%s", d)
			}
		})
	}
}
