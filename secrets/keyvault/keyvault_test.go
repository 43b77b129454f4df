package keyvault_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/secrets/keyvault"
	"github.com/connectsoft/tenantctl/secrets/keyvault/keyvaulttest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestVersionsThroughTheSDK: versions come back through azsecrets' pager (several pages), with
// their attributes, oldest first, and no value is ever read.
func TestVersionsThroughTheSDK(t *testing.T) {
	vaults := keyvaulttest.New(t0)
	v1 := vaults.Put("kv-acme", "db", "canary-1")
	v2 := vaults.Put("kv-acme", "db", "canary-2", keyvaulttest.Expires(t0.Add(time.Hour)))
	v3 := vaults.Put("kv-acme", "db", "canary-3", keyvaulttest.Disabled())
	vaults.Put("kv-other", "db", "canary-4")
	c := vaults.Client()
	ctx := context.Background()
	for _, ref := range []string{"kv-acme", "https://kv-acme.vault.azure.net", "https://KV-ACME.vault.azure.net/"} {
		got, err := c.Versions(ctx, ref, "db")
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		exp := t0.Add(time.Hour)
		want := []keyvault.Version{
			{ID: v1, Enabled: true, Created: t0.Add(time.Minute), Updated: t0.Add(time.Minute)},
			{ID: v2, Enabled: true, Created: t0.Add(2 * time.Minute), Updated: t0.Add(2 * time.Minute), Expires: &exp},
			{ID: v3, Enabled: false, Created: t0.Add(3 * time.Minute), Updated: t0.Add(3 * time.Minute)},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s versions (-want +got):\n%s", ref, d)
		}
	}
	if n := vaults.ValueReads(); n != 0 {
		t.Errorf("%d value reads; listing versions must never read a value", n)
	}
}

func TestVersionsErrors(t *testing.T) {
	vaults := keyvaulttest.New(t0)
	vaults.Put("kv-acme", "db", "x")
	vaults.Fail("kv-acme", "db", http.StatusForbidden)
	c := vaults.Client()
	ctx := context.Background()
	if _, err := c.Versions(ctx, "kv-acme", "missing"); !errors.Is(err, keyvault.ErrSecretNotFound) {
		t.Errorf("missing secret: %v, want ErrSecretNotFound", err)
	}
	if _, err := c.Versions(ctx, "kv-acme", "db"); err == nil || errors.Is(err, keyvault.ErrSecretNotFound) {
		t.Errorf("forbidden: %v, want an error that is not not-found", err)
	}
	if _, err := c.Versions(ctx, "not a vault!", "db"); err == nil {
		t.Error("a malformed vault reference was accepted")
	}
}

// TestCurrent: the current version is the newest one Key Vault serves: enabled, unexpired, past
// its not-before date.
func TestCurrent(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	v := func(id string, created time.Duration, enabled bool, expires, notBefore *time.Time) keyvault.Version {
		return keyvault.Version{ID: id, Enabled: enabled, Created: t0.Add(created), Expires: expires, NotBefore: notBefore}
	}
	tests := []struct {
		name     string
		versions []keyvault.Version
		want     string
	}{
		{"newest enabled", []keyvault.Version{v("a", 1, true, nil, nil), v("b", 2, true, nil, nil)}, "b"},
		{"newest disabled", []keyvault.Version{v("a", 1, true, nil, nil), v("b", 2, false, nil, nil)}, "a"},
		{"newest expired", []keyvault.Version{v("a", 1, true, nil, nil), v("b", 2, true, &past, nil)}, "a"},
		{"newest not yet valid", []keyvault.Version{v("a", 1, true, nil, nil), v("b", 2, true, nil, &future)}, "a"},
		{"expiring later is still current", []keyvault.Version{v("a", 1, true, nil, nil), v("b", 2, true, &future, nil)}, "b"},
		{"none usable", []keyvault.Version{v("a", 1, false, nil, nil)}, ""},
		{"order of the list does not matter", []keyvault.Version{v("b", 2, true, nil, nil), v("a", 1, true, nil, nil)}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := keyvault.Current(tc.versions, now)
			if got.ID != tc.want || ok != (tc.want != "") {
				t.Errorf("Current = %q, %v; want %q", got.ID, ok, tc.want)
			}
		})
	}
}
