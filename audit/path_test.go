package audit

import (
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name, xdg, want string
	}{
		{"XDG_STATE_HOME", "/var/lib/me", "/var/lib/me/tenantctl/audit.jsonl"},
		{"unset", "", filepath.Join(home, ".local", "state", "tenantctl", "audit.jsonl")},
		// The XDG spec says relative paths are invalid and must be ignored.
		{"relative", "state", filepath.Join(home, ".local", "state", "tenantctl", "audit.jsonl")},
	}
	for _, tt := range tests {
		t.Setenv("HOME", home)
		t.Setenv("XDG_STATE_HOME", tt.xdg)
		got, err := DefaultPath()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: DefaultPath() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
