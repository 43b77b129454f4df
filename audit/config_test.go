package audit

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestNewFromConfig(t *testing.T) {
	rc := &receiver{statuses: []int{200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const key = "config-test-key-0123456789"
	tests := []struct {
		name        string
		cfg         func(dir string) Config
		env         string
		wantErr     bool
		wantSigned  bool
		wantWebhook bool
	}{
		{name: "log and stdout only", cfg: func(dir string) Config { return Config{Path: filepath.Join(dir, "a.jsonl")} }},
		{name: "no signing key is refused unless unsigned is chosen", wantErr: true,
			cfg: func(dir string) Config { return Config{Path: filepath.Join(dir, "a.jsonl"), SigningKeyFile: "-"} }},
		{name: "webhook signed from env", env: key, wantSigned: true, wantWebhook: true,
			cfg: func(dir string) Config { return Config{Path: filepath.Join(dir, "a.jsonl"), WebhookURL: srv.URL} }},
		{name: "webhook without a key is refused", wantErr: true,
			cfg: func(dir string) Config { return Config{Path: filepath.Join(dir, "a.jsonl"), WebhookURL: srv.URL} }},
		{name: "webhook unsigned when allowed", wantWebhook: true,
			cfg: func(dir string) Config {
				return Config{Path: filepath.Join(dir, "a.jsonl"), WebhookURL: srv.URL, WebhookUnsigned: true}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(SigningKeyEnv, tt.env)
			rc.bodies, rc.headers = nil, nil
			var stdout bytes.Buffer
			cfg := tt.cfg(t.TempDir())
			cfg.Stdout, cfg.NoFsync, cfg.HeadFile = &stdout, true, true
			keyFile := filepath.Join(t.TempDir(), "signing.key")
			switch cfg.SigningKeyFile {
			case "-":
				cfg.SigningKeyFile = ""
			default:
				cfg.SigningKeyFile, cfg.CheckpointFile = keyFile, filepath.Join(t.TempDir(), "second.checkpoint")
			}
			aud, err := NewFromConfig(cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewFromConfig error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer aud.Close()
			rec, err := aud.Record(context.Background(), sampleEvent(1))
			if err != nil {
				t.Fatal(err)
			}
			line, _ := rec.Line()
			if !bytes.Equal(stdout.Bytes(), line) {
				t.Errorf("stdout got %q, want the record line", stdout.String())
			}
			if got := len(rc.bodies) == 1; got != tt.wantWebhook {
				t.Fatalf("webhook delivered %d records, want delivery %v", len(rc.bodies), tt.wantWebhook)
			}
			if tt.wantWebhook {
				sig := rc.headers[0].Get(SignatureHeader)
				if signed := sig != ""; signed != tt.wantSigned {
					t.Errorf("signature header %q, want signed %v", sig, tt.wantSigned)
				}
				if tt.wantSigned && !VerifySignature([]byte(key), rc.bodies[0], sig) {
					t.Error("signature does not verify with the key from the environment")
				}
			}
			if !rec.Signed() {
				t.Errorf("record written through NewFromConfig is not signed: %+v", rec)
			}
			keys, err := LoadPublicKeys(keyFile + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			cp, _, found, err := LatestCheckpoint(keys, HeadPath(cfg.Path), cfg.CheckpointFile)
			if err != nil || !found || cp.Head() != rec.Head() || !cp.Signed() {
				t.Errorf("checkpoint = %+v found %v err %v, want a signed one at %v", cp, found, err, rec.Head())
			}
			res, err := VerifyFile(context.Background(), cfg.Path, VerifyOptions{Keys: keys, Checkpoint: &cp})
			if err != nil || !res.OK || res.Records != 1 {
				t.Errorf("verify with the public key and the checkpoint: %+v %v", res, err)
			}
		})
	}
}
