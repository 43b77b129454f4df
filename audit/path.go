package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultPath is where tenantctl keeps its audit log: $XDG_STATE_HOME/tenantctl/audit.jsonl, or
// ~/.local/state/tenantctl/audit.jsonl when XDG_STATE_HOME is unset (the XDG base directory
// spec's default; state, not cache, because the log must survive).
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "tenantctl", "audit.jsonl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default audit log path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "tenantctl", "audit.jsonl"), nil
}

// CheckpointCopyPath is the conventional second checkpoint file of the log at logPath, kept under
// dir (tenantctl uses its data dir, beside the file state backend): one file per log, named by a
// hash of the log's absolute path, so several logs never share a checkpoint.
func CheckpointCopyPath(dir, logPath string) string {
	abs, err := filepath.Abs(logPath)
	if err != nil {
		abs = logPath
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "audit-checkpoints", hex.EncodeToString(sum[:8])+".checkpoint")
}
