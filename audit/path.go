package audit

import (
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
