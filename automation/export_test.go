package automation

// MaskSecretsForTest exposes maskSecrets to the external test package.
func MaskSecretsForTest(v any) any { return maskSecrets(v) }
