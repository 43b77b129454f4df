package isolation

import (
	"math"
	"net/url"
	"regexp"
	"strings"
)

// Secret-value heuristics. A binding holds references to Key Vault secrets (seed: Secret
// Handling); these checks catch a value pasted where a reference belongs. A false positive costs
// a rename, a false negative puts a secret into Git, so they lean towards refusing.

var (
	// jwtLike matches three base64url segments whose header starts like a JSON object ("{" is "eyJ").
	jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
	// tokenPrefixes are well-known credential formats (GitHub, Slack, AWS, OpenAI-style keys).
	tokenPrefixes = regexp.MustCompile(`(^|[^A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk-(proj-)?[A-Za-z0-9_]{20,})`)
	// connKeys are connection-string and SAS parts that carry a credential.
	connKeys  = regexp.MustCompile(`(?i)(^|[;&?\s])(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|sig|client_secret|clientsecret)\s*=`)
	base64ish = regexp.MustCompile(`^[A-Za-z0-9+/]+={0,2}$`)
)

// strongSecretPattern reports values that are a credential whatever field they sit in: PEM
// blocks, JWTs, connection strings with a password or key, URLs with a password, known tokens.
func strongSecretPattern(s string) bool {
	if strings.Contains(s, "-----BEGIN") || jwtLike.MatchString(s) || tokenPrefixes.MatchString(s) || connKeys.MatchString(s) {
		return true
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				return true
			}
		}
	}
	return false
}

// highEntropy reports random-looking tokens (generated keys, base64 secrets) inside s. Each run
// between '-', '_' and '.' of 20 or more characters is judged on its own: random text mixes at
// least three character classes, switches class between neighbours about 60% of the time and
// has high Shannon entropy, whereas CamelCase names switch only at word boundaries (about 25%)
// and hyphenated names have short runs. Key Vault version ids (lowercase hex) never qualify: two
// classes.
func highEntropy(s string) bool {
	for _, run := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if randomLooking(run) {
			return true
		}
	}
	return false
}

func randomLooking(s string) bool {
	if len(s) < 20 || !base64ish.MatchString(s) {
		return false
	}
	class := func(r rune) int {
		switch {
		case r >= 'a' && r <= 'z':
			return 0
		case r >= 'A' && r <= 'Z':
			return 1
		case r >= '0' && r <= '9':
			return 2
		}
		return 3
	}
	var seen [4]bool
	switches := 0
	for i, r := range s {
		seen[class(r)] = true
		if i > 0 && class(r) != class(rune(s[i-1])) {
			switches++
		}
	}
	classes := 0
	for _, b := range seen {
		if b {
			classes++
		}
	}
	return classes >= 3 && float64(switches)/float64(len(s)-1) >= 0.4 && shannon(s) >= 3.5
}

func shannon(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// looksLikeSecretValue is the full heuristic applied to the fields of a SecretBinding.
func looksLikeSecretValue(s string) bool { return strongSecretPattern(s) || highEntropy(s) }

var (
	vaultName      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$`)
	kvSecretName   = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)
	kvVersion      = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	secretBindName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)
)

// vaultDNSSuffixes are the Key Vault endpoints of the Azure clouds.
var vaultDNSSuffixes = []string{".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net"}

// VaultName returns the Key Vault name a keyVaultRef designates: the ref itself when it is a
// vault name, or the host label of an https://<name>.vault.azure.net URI. ok is false when the
// ref is neither.
func VaultName(ref string) (name string, ok bool) {
	if isVaultName(ref) {
		return ref, true
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		return "", false
	}
	if u.Path != "" && u.Path != "/" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	for _, suffix := range vaultDNSSuffixes {
		if label, found := strings.CutSuffix(host, suffix); found && isVaultName(label) {
			return label, true
		}
	}
	return "", false
}

// isVaultName checks Key Vault's naming rule: 3–24 characters, letters, digits and single
// hyphens, starting with a letter and ending with a letter or digit.
func isVaultName(s string) bool { return vaultName.MatchString(s) && !strings.Contains(s, "--") }
