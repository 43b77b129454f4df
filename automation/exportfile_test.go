package automation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func exportDoc(stack, project string, secret bool) string {
	out := `{"stack": "` + stack + `"}`
	if secret {
		out = `{"token": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "\"hunter2\""}}`
	}
	return `{"version": 3, "deployment": {"manifest": {"time": "2026-01-02T03:04:05Z", "magic": "", "version": ""},
  "resources": [{"urn": "urn:pulumi:` + stack + `::` + project + `::pulumi:pulumi:Stack::` + project + `-` + stack + `", "custom": false,
    "type": "pulumi:pulumi:Stack", "outputs": ` + out + `}]}}`
}

func TestReadStateExports(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := write("one/a.json", exportDoc("tenant.acme.dev", "tenantctl", false))
	write("one/b.json", exportDoc("platform.dev", "tenantctl", true))
	write("one/notes.txt", "not a stack")
	write("dup/a.json", exportDoc("platform.dev", "tenantctl", false))
	write("dup/b.json", exportDoc("platform.dev", "tenantctl", false))
	other := write("other.json", exportDoc("platform.dev", "someone-else", false))
	notJSON := write("bad.json", "stack: yes")
	checkpoint := write("checkpoint.json", `{"version": 3, "checkpoint": {"latest": {}}}`)
	empty := write("tenant.globex.dev.json", `{"version": 3, "deployment": {"manifest": {"time": "2026-01-02T03:04:05Z"}}}`)
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	tests := []struct {
		name    string
		path    string
		want    map[string]int // stack -> resources
		wantErr string
	}{
		{"one file", one, map[string]int{"tenant.acme.dev": 1}, ""},
		{"a folder of exports", filepath.Join(dir, "one"), map[string]int{"tenant.acme.dev": 1, "platform.dev": 1}, ""},
		{"an export without resources is named by its file", empty, map[string]int{"tenant.globex.dev": 0}, ""},
		{"a stack exported twice", filepath.Join(dir, "dup"), nil, "stack platform.dev is exported by both"},
		{"another project's stack", other, nil, `belongs to project "someone-else", not "tenantctl"`},
		{"not JSON", notJSON, nil, "not a pulumi stack export"},
		{"a checkpoint is no export", checkpoint, nil, "want a `pulumi stack export` document"},
		{"a folder without exports", emptyDir, nil, "holds no *.json stack export"},
		{"missing", filepath.Join(dir, "nope.json"), nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadStateExports(tt.path, "tenantctl")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrStateFile) {
					t.Fatalf("err = %v, want ErrStateFile saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int{}
			for name, st := range got {
				if st.Name != name || !st.LastUpdate.Equal(at) {
					t.Errorf("%s: name %q, last update %s", name, st.Name, st.LastUpdate)
				}
				counts[name] = st.Resources
			}
			if diff := cmp.Diff(tt.want, counts); diff != "" {
				t.Errorf("stacks (-want +got):\n%s", diff)
			}
		})
	}
	// secrets of a --show-secrets export never leave the engine
	got, err := ReadStateExports(filepath.Join(dir, "one"), "tenantctl")
	if err != nil {
		t.Fatal(err)
	}
	if v := got["platform.dev"].Deployment.Resources[0].Outputs["token"]; v != SecretMask {
		t.Errorf("secret output = %v, want %q", v, SecretMask)
	}
}

// TestEngineRequiresToolsAndPassphraseLazily: building an engine and reading state straight from
// the backend need neither the tools nor a passphrase; the first CLI call checks both and says
// what is missing.
func TestEngineRequiresToolsAndPassphraseLazily(t *testing.T) {
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	emptyTools := t.TempDir()
	fakeTools := t.TempDir()
	tc := toolchain.Toolchain{PulumiRoot: filepath.Join(fakeTools, "pulumi"), ProviderDir: filepath.Join(fakeTools, "k8s"), TenantPGDir: filepath.Join(fakeTools, "pg")}
	for _, p := range []string{tc.PulumiBin(), tc.ProviderBin(), tc.TenantPGBin()} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		opts    []Option
		wantErr error
	}{
		{"no tools", []Option{WithToolchain(toolchain.Toolchain{PulumiRoot: emptyTools, ProviderDir: emptyTools, TenantPGDir: emptyTools})}, toolchain.ErrMissing},
		{"no passphrase", []Option{WithToolchain(tc)}, ErrNoPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(append(tt.opts, WithDataDir(t.TempDir()))...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			states, err := e.StackStates(context.Background())
			if err != nil || len(states) != 0 {
				t.Fatalf("StackStates = %v, %v; want none and no error", states, err)
			}
			if _, err := e.ListStacks(context.Background()); !errors.Is(err, tt.wantErr) {
				t.Errorf("ListStacks err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
