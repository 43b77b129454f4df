package audit

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsSecretKey(t *testing.T) {
	tests := map[string]bool{
		"password": true, "dbPassword": true, "client_secret": true, "clientSecret": true,
		"apiKey": true, "api-keys": true, "accessToken": true, "connectionString": true,
		"AZURE_STORAGE_KEY": true, "sasToken": true, "Authorization": true,
		"spec.data.password": true, "stringData[db-password]": true, "credentials": true,
		// References and metadata stay readable.
		"secretName": false, "keyVaultRef": false, "currentVersion": false, "tokenExpiry": false,
		"secretRef.name": false, "policy": false, "rule": false, "tenantId": false, "": false,
		"metadata.labels.tenant": false,
	}
	for key, want := range tests {
		if got := IsSecretKey(key); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedactorEvent(t *testing.T) {
	const canary = "canary-Zq9-4711"
	r := NewRedactor(canary)
	in := Event{
		EventID: "evt-1", Reason: "rotated to " + canary, Error: "auth failed for " + canary,
		Details: map[string]string{
			"clientSecret": "not-registered-but-secret-key",
			"secretName":   "db-password",
			"note":         "base64 " + base64.StdEncoding.EncodeToString([]byte(canary)),
			canary:         "value under a key that is itself the secret",
			"emptyToken":   "",
		},
		Changes: []ResourceChange{
			{Type: "kubernetes:core/v1:ConfigMap", Name: "cfg", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.password", Old: "old-pass", New: "new-pass"},
				{Path: "data.mode", Old: "a", New: "b " + canary},
			}},
			{Type: "kubernetes:core/v1:Secret", Name: "db", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.host", Old: "h1", New: "h2"},
			}},
		},
	}
	want := Event{
		EventID: "evt-1", Reason: "rotated to " + Redacted, Error: "auth failed for " + Redacted,
		Details: map[string]string{
			"clientSecret": Redacted,
			"secretName":   "db-password",
			"note":         "base64 " + Redacted,
			Redacted:       "value under a key that is itself the secret",
			"emptyToken":   "",
		},
		Changes: []ResourceChange{
			{Type: "kubernetes:core/v1:ConfigMap", Name: "cfg", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.password", Old: Redacted, New: Redacted},
				{Path: "data.mode", Old: "a", New: "b " + Redacted},
			}},
			{Type: "kubernetes:core/v1:Secret", Name: "db", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.host", Old: Redacted, New: Redacted},
			}},
		},
	}
	before := in.clone()
	got := r.Event(in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Event() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("Event() modified its input (-before +after):\n%s", diff)
	}
}

func TestRedactorMasksLongestSecretWhole(t *testing.T) {
	r := NewRedactor("abc", "abcdef")
	if got, want := r.String("x abcdef y abc"), "x "+Redacted+" y "+Redacted; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !r.Leaks([]byte("..abc..")) || r.Leaks([]byte("ab c")) {
		t.Error("Leaks() disagrees with the registered values")
	}
}
