package stacks

import (
	"strings"
	"testing"
)

func TestCheckKubeconfigPath(t *testing.T) {
	tests := []struct {
		value   string
		wantErr string
	}{
		{"/home/ci/.kube/config", ""},
		{"relative/kubeconfig", ""},
		{"", "is not set"},
		{"  ", "is not set"},
		{"apiVersion: v1\nclusters: []", "must be a path"},
		{`{"apiVersion":"v1"}`, "must be a path"},
	}
	for _, tc := range tests {
		err := CheckKubeconfigPath(tc.value)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("CheckKubeconfigPath(%q) = %v", tc.value, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("CheckKubeconfigPath(%q) = %v, want one containing %q", tc.value, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "clusters"):
			t.Errorf("error repeats the config value: %v", err)
		}
	}
}
