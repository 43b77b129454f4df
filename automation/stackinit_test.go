package automation

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/connectsoft/tenantctl/automation/statestore"
)

// TestCLIPassphrase: the engine finds the passphrase the CLI will use, by the CLI's rules.
func TestCLIPassphrase(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "phrase")
	os.WriteFile(abs, []byte("  from-file\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "rel"), []byte("relative\n"), 0o600)
	tests := []struct {
		name    string
		secrets SecretsConfig
		env     map[string]string
		want    string
		wantOK  bool
		wantErr bool
	}{
		{name: "file, trimmed", secrets: SecretsConfig{PassphraseFile: abs}, want: "from-file", wantOK: true},
		{name: "value", secrets: SecretsConfig{Passphrase: "v"}, want: "v", wantOK: true},
		{name: "the variable wins over the file, as in the CLI", secrets: SecretsConfig{PassphraseFile: abs},
			env: map[string]string{"PULUMI_CONFIG_PASSPHRASE": "env"}, want: "env", wantOK: true},
		{name: "an empty passphrase is a passphrase", env: map[string]string{"PULUMI_CONFIG_PASSPHRASE": ""}, want: "", wantOK: true},
		{name: "relative file from the workspace", env: map[string]string{"PULUMI_CONFIG_PASSPHRASE_FILE": "rel"}, want: "relative", wantOK: true},
		{name: "missing file", secrets: SecretsConfig{PassphraseFile: filepath.Join(dir, "none")}, wantErr: true},
		{name: "none", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
			os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
			t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
			os.Unsetenv("PULUMI_CONFIG_PASSPHRASE_FILE")
			e := &Engine{secrets: tt.secrets, extraEnv: map[string]string{}}
			for k, v := range tt.env {
				e.extraEnv[k] = v
			}
			got, ok, err := e.cliPassphrase(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (got != tt.want || ok != tt.wantOK) {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestPassphraseSalt: the salt state opens with the passphrase as the CLI checks it (the word
// "pulumi" decrypts under the derived key), is minted once per passphrase, and a new passphrase
// gets a new one.
func TestPassphraseSalt(t *testing.T) {
	e := &Engine{}
	s1, err := e.passphraseSalt("one")
	if err != nil {
		t.Fatal(err)
	}
	check := func(state, phrase string) string {
		parts := strings.SplitN(state, ":", 3)
		if len(parts) != 3 || parts[0] != "v1" {
			t.Fatalf("state %q is not v1:<salt>:<message>", state)
		}
		salt, err := base64.StdEncoding.DecodeString(parts[1])
		if err != nil || len(salt) != 8 {
			t.Fatalf("salt %q: %v", parts[1], err)
		}
		got, err := config.NewSymmetricCrypterFromPassphrase(phrase, salt).DecryptValue(context.Background(), parts[2])
		if err != nil {
			return "error: " + err.Error()
		}
		return got
	}
	if got := check(s1, "one"); got != "pulumi" {
		t.Errorf("message decrypts to %q, want pulumi", got)
	}
	if got := check(s1, "two"); got == "pulumi" {
		t.Errorf("another passphrase opens the salt")
	}
	if again, _ := e.passphraseSalt("one"); again != s1 {
		t.Errorf("same passphrase minted a new salt")
	}
	s2, _ := e.passphraseSalt("two")
	if s2 == s1 || check(s2, "two") != "pulumi" {
		t.Errorf("new passphrase: salt %q", s2)
	}
}

// TestInitStackInProcessFallbacks: the engine creates a stack itself only when the backend, the
// secrets provider, the passphrase and the workspace allow; otherwise it leaves the stack to
// `pulumi stack init` and writes nothing. No CLI runs either way.
func TestInitStackInProcessFallbacks(t *testing.T) {
	ctx := context.Background()
	proj := workspace.Project{Name: "tenantctl", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	tests := []struct {
		name     string
		secrets  SecretsConfig
		meta     string // .pulumi/meta.yaml, "" for none
		settings string // Pulumi.dev.yaml before, "" for none
		noReader bool
		wantErr  error // nil: created
	}{
		{name: "created", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 1\n"},
		{name: "created, settings without secrets state kept", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 1\n",
			settings: "config:\n  tenantctl:kubeconfig: /k\n"},
		{name: "backend not read in-process", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 1\n", noReader: true, wantErr: errInitByCLI},
		{name: "store not initialised by pulumi", secrets: SecretsConfig{Passphrase: "p"}, wantErr: errInitByCLI},
		{name: "legacy layout", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 0\n", wantErr: errInitByCLI},
		{name: "cloud secrets provider", secrets: SecretsConfig{Provider: "azurekeyvault://v.vault.azure.net/keys/k"}, meta: "version: 1\n", wantErr: errInitByCLI},
		{name: "no passphrase", meta: "version: 1\n", wantErr: errInitByCLI},
		{name: "settings left with a salt", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 1\n",
			settings: "encryptionsalt: v1:c2FsdA==:v1:abc:def\n", wantErr: errInitByCLI},
		{name: "settings with another provider", secrets: SecretsConfig{Passphrase: "p"}, meta: "version: 1\n",
			settings: "secretsprovider: azurekeyvault://v/keys/k\nencryptedkey: abc\n", wantErr: errInitByCLI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			dir, state := t.TempDir(), t.TempDir()
			settingsFile := filepath.Join(dir, "Pulumi.dev.yaml")
			if tt.settings != "" {
				os.WriteFile(settingsFile, []byte(tt.settings), 0o600)
			}
			if tt.meta != "" {
				os.MkdirAll(filepath.Join(state, ".pulumi"), 0o700)
				os.WriteFile(filepath.Join(state, ".pulumi", "meta.yaml"), []byte(tt.meta), 0o600)
			}
			var r *statestore.Reader
			if !tt.noReader {
				var err error
				if r, err = statestore.Open(ctx, "file://"+state); err != nil {
					t.Fatal(err)
				}
			}
			ws, err := auto.NewLocalWorkspace(ctx, auto.Project(proj), auto.WorkDir(dir), auto.Pulumi(noCLI{t}))
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{secrets: tt.secrets, extraEnv: map[string]string{}, project: proj}
			err = e.initStackInProcess(ctx, ws, r, "dev")
			checkpoint := filepath.Join(state, ".pulumi", "stacks", "tenantctl", "dev.json")
			_, statErr := os.Stat(checkpoint)
			after, _ := os.ReadFile(settingsFile)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				if statErr == nil {
					t.Errorf("a fallback wrote the checkpoint")
				}
				if string(after) != tt.settings {
					t.Errorf("a fallback changed the settings file:\n%s", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("init: %v", err)
			}
			if statErr != nil {
				t.Errorf("no checkpoint: %v", statErr)
			}
			ps, err := ws.StackSettings(ctx, "dev")
			if err != nil || !strings.HasPrefix(ps.EncryptionSalt, "v1:") {
				t.Errorf("settings %+v, %v: want a v1 salt", ps, err)
			}
			if tt.settings != "" && !strings.Contains(string(after), "tenantctl:kubeconfig: /k") {
				t.Errorf("existing config lost:\n%s", after)
			}
		})
	}
}
