package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSigningKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "audit-signing.key")
	k, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, err %v; want 0600", fi.Mode().Perm(), err)
	}
	again, err := LoadOrCreateSigningKey(path)
	if err != nil || again.Public().ID != k.Public().ID {
		t.Fatalf("reloading the key: %v, id %s want %s", err, again.Public().ID, k.Public().ID)
	}
	keys, err := LoadPublicKeys(path + ".pub")
	if err != nil || len(keys) != 1 || keys[k.Public().ID].ID != k.Public().ID {
		t.Fatalf("public key file: %v %v", keys, err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigningKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a group-readable key was loaded: %v", err)
	}
	if err := WriteSigningKey(k, path); err == nil {
		t.Error("an existing key was overwritten")
	}
	if _, err := LoadPublicKeys(path); err == nil {
		t.Error("a private key file was read as a public key")
	}
}

// Two checkpoint copies that disagree on the same record are reported, never silently resolved.
func TestLatestCheckpointReportsDisagreeingCopies(t *testing.T) {
	s := newSignedLog(t, 3)
	cp, err := ReadCheckpoint(s.second)
	if err != nil {
		t.Fatal(err)
	}
	cp.Hash = strings.Repeat("a", 64)
	forged, err := signCheckpoint(s.key, cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCheckpoint(s.head, forged, false); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LatestCheckpoint(NewKeyring(s.key.Public()), s.head, s.second); err == nil || !strings.Contains(err.Error(), "disagree on record seq 3") {
		t.Errorf("disagreeing checkpoints: %v", err)
	}
}
