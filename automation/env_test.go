package automation

import "testing"

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
