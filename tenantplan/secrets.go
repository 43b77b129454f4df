package tenantplan

import (
	"fmt"

	"github.com/connectsoft/tenantctl/isolation"
)

// SecretRef is what a program emits for one SecretBinding: where the value lives, never the value.
// Every field is a non-secret identifier, so a SecretRef may be a stack output and may be logged.
type SecretRef struct {
	Name        string `json:"name"`
	KeyVaultRef string `json:"keyVaultRef"`
	SecretName  string `json:"secretName"`
	Version     string `json:"version,omitempty"`
	// SecretObject is the in-cluster Secret the reference resolves to on the kubernetes target
	// (synced from Key Vault by the platform's secret store driver). Empty on targets that resolve
	// references directly.
	SecretObject string `json:"secretObject,omitempty"`
}

// SecretRefs turns a binding's SecretBindings into references. objectName maps a reference name
// to the in-cluster Secret name; pass nil on targets without one.
func SecretRefs(b *isolation.RuntimeTenantBinding, objectName func(refName string) string) ([]SecretRef, error) {
	out := make([]SecretRef, 0, len(b.Spec.Secrets))
	seen := map[string]bool{}
	for i, s := range b.Spec.Secrets {
		if err := CheckDNSLabel(fmt.Sprintf("secrets[%d].name", i), s.Name, 63); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", b.Spec.TenantID, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("tenant %s: secret %q is bound twice", b.Spec.TenantID, s.Name)
		}
		seen[s.Name] = true
		if s.KeyVaultRef == "" || s.SecretName == "" {
			return nil, fmt.Errorf("tenant %s: secret %q needs keyVaultRef and secretName", b.Spec.TenantID, s.Name)
		}
		r := SecretRef{Name: s.Name, KeyVaultRef: s.KeyVaultRef, SecretName: s.SecretName, Version: s.CurrentVersion}
		if objectName != nil {
			r.SecretObject = objectName(s.Name)
		}
		out = append(out, r)
	}
	return out, nil
}
