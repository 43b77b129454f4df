package secretversions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault/keyvaulttest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func binding(id string, secrets ...isolation.SecretBinding) *isolation.RuntimeTenantBinding {
	return &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: id, Environment: "dev", Secrets: secrets},
		Source: isolation.Source{File: "tenants/" + id + ".yaml", Line: 1}}
}

// TestEvaluate judges every kind of pin against vault versions served through the SDK's fake.
func TestEvaluate(t *testing.T) {
	vaults := keyvaulttest.New(t0)
	now := t0.Add(30 * 24 * time.Hour)
	old := vaults.Put("kv-acme", "current", "v")
	cur := vaults.Put("kv-acme", "current", "v")
	lagOld := vaults.Put("kv-acme", "lagging", "v")
	recent := vaults.Put("kv-acme", "lagging", "v", keyvaulttest.Created(now.Add(-time.Hour)))
	staleOld := vaults.Put("kv-acme", "stale", "v")
	staleNew := vaults.Put("kv-acme", "stale", "v", keyvaulttest.Created(now.Add(-10*24*time.Hour)))
	disabled := vaults.Put("kv-acme", "disabled", "v", keyvaulttest.Disabled())
	vaults.Put("kv-acme", "disabled", "v")
	expired := vaults.Put("kv-acme", "expired", "v", keyvaulttest.Expires(now.Add(-time.Minute)))
	vaults.Put("kv-acme", "expired", "v")
	vaults.Put("kv-acme", "latest", "v")
	vaults.Put("kv-acme", "broken", "v")
	vaults.Fail("kv-acme", "broken", http.StatusForbidden)
	b := binding("acme",
		isolation.SecretBinding{Name: "a", KeyVaultRef: "kv-acme", SecretName: "current", CurrentVersion: cur},
		isolation.SecretBinding{Name: "b", KeyVaultRef: "kv-acme", SecretName: "lagging", CurrentVersion: lagOld},
		isolation.SecretBinding{Name: "c", KeyVaultRef: "https://kv-acme.vault.azure.net", SecretName: "stale", CurrentVersion: staleOld},
		isolation.SecretBinding{Name: "d", KeyVaultRef: "kv-acme", SecretName: "disabled", CurrentVersion: disabled},
		isolation.SecretBinding{Name: "e", KeyVaultRef: "kv-acme", SecretName: "expired", CurrentVersion: expired},
		isolation.SecretBinding{Name: "f", KeyVaultRef: "kv-acme", SecretName: "latest"},
		isolation.SecretBinding{Name: "g", KeyVaultRef: "kv-acme", SecretName: "current", CurrentVersion: strings.Repeat("0", 32)},
		isolation.SecretBinding{Name: "h", KeyVaultRef: "kv-acme", SecretName: "gone"},
		isolation.SecretBinding{Name: "i", KeyVaultRef: "kv-acme", SecretName: "broken"},
		isolation.SecretBinding{Name: "j", KeyVaultRef: "kv-acme", SecretName: "current", CurrentVersion: old},
	)
	refs, err := secretversions.Evaluate(context.Background(), nil, []*isolation.RuntimeTenantBinding{b}, vaults.Client(), now, 7*24*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("error = %v, want the unreadable secret named", err)
	}
	type view struct {
		State   secretversions.State
		Current string
	}
	got := map[string]view{}
	for _, r := range refs {
		v := view{State: r.State}
		if r.Current != nil {
			v.Current = r.Current.ID
		}
		got[r.Name] = v
	}
	want := map[string]view{
		"a": {secretversions.StateCurrent, cur},
		"b": {secretversions.StateLagging, recent},
		"c": {secretversions.StateStale, staleNew},
		"d": {secretversions.StateDisabled, vaultsCurrent(t, refs, "d")},
		"e": {secretversions.StateExpired, vaultsCurrent(t, refs, "e")},
		"f": {secretversions.StateLatest, vaultsCurrent(t, refs, "f")},
		"g": {secretversions.StateMissing, cur},
		"h": {secretversions.StateNoUsableVersion, ""},
		"i": {secretversions.StateError, ""},
		"j": {secretversions.StateStale, cur},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("states (-want +got):\n%s", d)
	}
	var kinds []string
	for _, f := range secretversions.Findings(refs) {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		if f.Kind != finding.KindStaleSecretVersion || f.Location.File != "tenants/acme.yaml" || f.TenantID != "acme" {
			t.Errorf("finding %+v", f)
		}
		kinds = append(kinds, f.Field+" "+string(f.Severity))
	}
	wantFindings := []string{
		"spec.secrets[2].currentVersion medium", "spec.secrets[3].currentVersion high", "spec.secrets[4].currentVersion high",
		"spec.secrets[6].currentVersion high", "spec.secrets[7].secretName high", "spec.secrets[9].currentVersion medium",
	}
	if d := cmp.Diff(wantFindings, kinds); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if vaults.ValueReads() != 0 {
		t.Errorf("%d values read", vaults.ValueReads())
	}
}

func vaultsCurrent(t *testing.T, refs []secretversions.Reference, name string) string {
	t.Helper()
	for _, r := range refs {
		if r.Name == name && r.Current != nil {
			return r.Current.ID
		}
	}
	t.Fatalf("reference %s has no current version", name)
	return ""
}
