package automation

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
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
