package automation

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIEnvironment(t *testing.T) {
	e, err := New(WithDataDir(t.TempDir()), WithEnv(map[string]string{"PULUMI_CONFIG_PASSPHRASE": "p"}))
	if err != nil {
		t.Fatal(err)
	}
	env := e.env()
	for k, want := range map[string]string{
		// a workspace whose settings lack the stack's salt reuses the checkpoint's key instead of
		// minting a new one and re-encrypting the state with it
		"PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
		"PULUMI_IGNORE_AMBIENT_PLUGINS":            "true",
		"PULUMI_CONFIG_PASSPHRASE":                 "p",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
}

// A provider plugin the engine keeps running sees what a plugin the CLI starts would inherit,
// but never the passphrase, its file or the backend URL (which may hold credentials), wherever
// they come from.
func TestPluginEnvironment(t *testing.T) {
	const canary = "canary-7d3f9a"
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/run/secrets/"+canary)
	t.Setenv("TENANTCTL_PASSPHRASE_FILE", "/run/secrets/"+canary)
	t.Setenv("PULUMI_DEBUG_PROVIDERS", "kubernetes:1")
	t.Setenv("KUBE_EDITOR", "vi")
	e, err := New(WithDataDir(t.TempDir()), WithBackend("postgres://admin:"+canary+"@db/state"),
		WithEnv(map[string]string{"PULUMI_CONFIG_PASSPHRASE": canary, "AZURE_STORAGE_ACCOUNT": "acct"}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range e.pluginEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.Contains(v, canary) {
			t.Errorf("%s carries the canary", k)
		}
		got[k] = v
	}
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "TENANTCTL_PASSPHRASE_FILE", "PULUMI_BACKEND_URL", "PULUMI_DEBUG_PROVIDERS"} {
		if _, ok := got[k]; ok {
			t.Errorf("plugin environment has %s", k)
		}
	}
	for k, want := range map[string]string{"KUBE_EDITOR": "vi", "AZURE_STORAGE_ACCOUNT": "acct", "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
		"PULUMI_HOME": filepath.Join(e.DataDir(), "pulumi-home")} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q (inherited as by a plugin the CLI starts)", k, got[k], want)
		}
	}
}
