package isolation

import "testing"

func TestSecretHeuristics(t *testing.T) {
	tests := []struct {
		value  string
		secret bool
	}{
		// References that must pass.
		{"acme-db-connection", false},
		{"globex-db-connection-string-primary", false},
		{"acme-sk-encryption-key-primary", false},
		{"kv-connectsoft-dev", false},
		{"https://kv-connectsoft-dev.vault.azure.net", false},
		{"3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c", false},
		{"00000000-0000-0000-0000-000000000000", false},
		{"Standard_D4s_v5", false},
		{"AcmeProductionDatabaseConnection2024", false},
		{"StorageAccountKeyPrimary01", false},
		{"GlobexPaymentsGatewayApiKeySecondary", false},
		{"Acme-Db-Conn-V2-Primary-West-EU-01", false},
		{"acme-prod-sql-admin-password-2024-rotated", false},
		// Values that must not.
		{"-----BEGIN " + "CERTIFICATE-----", true},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl", true},
		{"Server=tcp:x;Database=y;User ID=u;Password=p", true},
		{"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k", true},
		{"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", true},
		{"https://acct.blob.core.windows.net/c?sv=2022&sig=abc", true},
		{"postgres://app:pa55word@db:5432/app", true},
		{"AKIA" + "ABCDEFGHIJKLMNOP", true},
		{"ghp_" + "abcdefghijklmnopqrstuvwxyz0123", true},
		{"Qm9sZ2VyLXNlY3JldC1rZXktZXhhbXBsZTEyMzQ1", true},
		{"t-Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MHh5eg", true},
		{"x7Kp2mQ9vL4nR8sT1wY6zB3c", true},
		{"dGhpcy1pcy1ub3QtYS1yZWFsLWtleQ==", true},
	}
	for _, tc := range tests {
		if got := looksLikeSecretValue(tc.value); got != tc.secret {
			t.Errorf("looksLikeSecretValue(%.20q…) = %v, want %v", tc.value, got, tc.secret)
		}
	}
}

func TestVaultName(t *testing.T) {
	tests := []struct {
		ref, name string
		ok        bool
	}{
		{"kv-acme-dev", "kv-acme-dev", true},
		{"https://kv-acme-dev.vault.azure.net", "kv-acme-dev", true},
		{"https://KV-Acme-Dev.vault.azure.net/", "kv-acme-dev", true},
		{"https://kv-acme.vault.usgovcloudapi.net", "kv-acme", true},
		{"http://kv-acme-dev.vault.azure.net", "", false},
		{"https://kv-acme-dev.vault.azure.net/secrets/x", "", false},
		{"https://kv-acme-dev.vault.azure.net.evil.com", "", false},
		{"https://user:pw@kv-acme-dev.vault.azure.net", "", false},
		{"kv", "", false},
		{"kv--double", "", false},
		{"1kv-starts-with-digit", "", false},
		{"kv-ends-with-hyphen-", "", false},
		{"kv-this-name-is-far-too-long-for-a-vault", "", false},
	}
	for _, tc := range tests {
		name, ok := VaultName(tc.ref)
		if name != tc.name || ok != tc.ok {
			t.Errorf("VaultName(%q) = %q, %v; want %q, %v", tc.ref, name, ok, tc.name, tc.ok)
		}
	}
}

func TestReservedTenantIDs(t *testing.T) {
	for _, id := range append([]string{"kube-anything"}, ReservedTenantIDs...) {
		if !IsReservedTenantID(id) {
			t.Errorf("IsReservedTenantID(%q) = false", id)
		}
	}
	for _, id := range []string{"acme", "platforms", "kubernetes-fans", "shared2"} {
		if IsReservedTenantID(id) {
			t.Errorf("IsReservedTenantID(%q) = true", id)
		}
	}
}

func TestStackName(t *testing.T) {
	b := &RuntimeTenantBinding{Spec: BindingSpec{TenantID: "acme", Environment: "dev"}}
	if got := StackName(b); got != "tenant.acme.dev" {
		t.Errorf("StackName = %q, want acme-dev", got)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	tests := []struct {
		err  ValidationError
		want string
	}{
		{ValidationError{Source{"t.yaml", 7}, "spec.tier", "unknown tier"}, "t.yaml:7: spec.tier: unknown tier"},
		{ValidationError{Source{"t.yaml", 3}, "", "invalid YAML"}, "t.yaml:3: invalid YAML"},
		{ValidationError{Source{"link.yaml", 0}, "", "symbolic links are not followed"}, "link.yaml: symbolic links are not followed"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	two := ValidationErrors{tests[0].err, tests[1].err}
	if got, want := two.Error(), "2 validation errors:\n  t.yaml:7: spec.tier: unknown tier\n  t.yaml:3: invalid YAML"; got != want {
		t.Errorf("ValidationErrors.Error() = %q, want %q", got, want)
	}
}
