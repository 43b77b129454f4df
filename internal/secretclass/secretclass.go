// Package secretclass is tenantctl's one secret classifier: it decides which keys, field paths,
// resource types, values and command-line arguments hold secret material, and masks them. The
// audit log, drift findings and reports, and the API all redact through it, so they agree on what
// a secret is and on the mask that replaces it. Its corpus (package corpus) is the shared test of
// that agreement, with the benign names and values that must stay readable.
package secretclass

import (
	"regexp"
	"strings"
	"unicode"
)

// Mask replaces every secret value.
const Mask = "[REDACTED]"

// secretWords are words that, as the last word of a key, name a secret value ("dbPassword",
// "DB_PASS", "clientSecret", "accessToken").
var secretWords = set("password", "passwords", "passwd", "pass", "pwd", "passphrase", "secret", "secrets",
	"token", "tokens", "credential", "credentials", "cookie", "cookies", "authorization", "signature",
	"sig", "apikey", "apikeys", "privatekey", "connectionstring", "connstr", "sastoken", "pat")

// keyQualifiers make a final "key" a secret ("apiKey", "AZURE_STORAGE_KEY", "tls.key"); a bare
// "key" (selectors, secretKeyRef.key) or "publicKey" is not.
var keyQualifiers = set("api", "access", "account", "storage", "shared", "private", "primary", "secondary",
	"master", "encryption", "signing", "client", "subscription", "admin", "sas", "tls", "ssh", "host",
	"function", "auth", "secret", "webhook", "hmac")

// strongSuffixes catch keys written as one lowercase word ("pgpassword", "dbpassword").
var strongSuffixes = []string{"password", "passwd", "passphrase", "secret", "token", "credentials",
	"credential", "apikey", "privatekey", "connectionstring", "accesskey", "accountkey"}

// referenceWords end keys that point at a secret or describe one instead of holding it
// ("secretName", "keyVaultRef", "passwordSecretRef", "tokenExpiry", "secretVersion").
var referenceWords = set("name", "names", "ref", "refs", "reference", "references", "id", "ids", "uri",
	"path", "paths", "version", "versions", "type", "kind", "expiry", "expires", "expiration", "ttl",
	"length", "size", "policy", "policies", "mode", "format", "enabled", "required", "count", "lifetime",
	"algorithm", "alg", "header", "selector", "provider", "rotation", "store", "vault", "location", "url",
	"hash", "digest", "fingerprint", "mount", "volume", "filepath", "dir", "directory", "env",
	// who, not the secret: a user name beside a password stays readable
	"username", "user", "login", "email")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Words splits a key into lowercase words at separators, case changes and digit boundaries:
// "AZURE_STORAGE_KEY" → [azure storage key], "apiKeyRef" → [api key ref], "APIKey" → [api key].
func Words(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case i > 0 && unicode.IsUpper(r) && unicode.IsLower(rs[i-1]),
			i > 0 && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]),
			i > 0 && unicode.IsDigit(r) != unicode.IsDigit(rs[i-1]):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// IsSecretKey reports whether a map key, field name, environment variable or flag name names a
// secret value. Keys that end in a reference word (name, ref, id, version, expiry, ...) stay
// readable: they point at a secret, they do not hold it. Any key with the word "sas" is secret
// (SAS URLs carry their signature).
func IsSecretKey(key string) bool {
	words := Words(key)
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if w == "sas" {
			return true
		}
	}
	last := words[len(words)-1]
	if referenceWords[last] {
		return false
	}
	if secretWords[last] {
		return true
	}
	if (last == "key" || last == "keys") && len(words) > 1 && keyQualifiers[words[len(words)-2]] {
		return true
	}
	if len(words) > 1 {
		switch pair := words[len(words)-2] + " " + last; pair {
		case "connection string", "connection strings", "conn str":
			return true
		}
	}
	if last == "file" || last == "files" { // a file's content: ConfigMap keys such as passwordFile
		for _, w := range words[:len(words)-1] {
			if secretWords[w] {
				return true
			}
		}
		return false
	}
	if len(words) == 1 {
		for _, s := range strongSuffixes {
			if strings.HasSuffix(last, s) {
				return true
			}
		}
	}
	return false
}

// IsReferenceKey reports whether a key points at or describes a secret instead of holding it
// (secretName, keyVaultRef, secretKeyRef, tokenExpiry): values below it are not secret because of
// a secret key above them.
func IsReferenceKey(key string) bool {
	words := Words(key)
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if w == "sas" {
			return false
		}
	}
	return referenceWords[words[len(words)-1]]
}

// PathSegments splits a field path such as `spec.containers[0].env[1].value` or
// `data["tls.key"]` into its keys; quoted keys stay whole.
func PathSegments(path string) []string {
	var segs []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			segs = append(segs, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '.', '/', '[', ']':
			flush()
		case '"', '\'':
			end := strings.IndexByte(path[i+1:], c)
			if end < 0 {
				cur.WriteString(path[i+1:])
				i = len(path)
				continue
			}
			cur.WriteString(path[i+1 : i+1+end])
			i += end + 1
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return segs
}

// IsSecretPath reports whether the value at a field path is secret: the path's last key is a
// secret key, or an earlier key is one and the last is not a reference ("credentials.password",
// "spec.credentials.user"), or it is an environment variable's value (env[i].value: the variable's
// name decides, and the path does not carry it), or the last-applied-configuration annotation
// (a copy of everything, secrets included).
func IsSecretPath(path string) bool {
	if strings.Contains(path, "last-applied-configuration") {
		return true
	}
	segs := nonIndex(PathSegments(path))
	if len(segs) == 0 {
		return false
	}
	last := segs[len(segs)-1]
	if last == "value" && len(segs) > 1 && (segs[len(segs)-2] == "env" || strings.EqualFold(segs[len(segs)-2], "envVars")) {
		return true
	}
	if IsSecretKey(last) || len(segs) > 1 && IsSecretKey(segs[len(segs)-2]+"."+last) {
		return true
	}
	if lw := Words(last); len(lw) > 0 && referenceWords[lw[len(lw)-1]] {
		return false
	}
	for _, s := range segs[:len(segs)-1] {
		if IsSecretKey(s) {
			return true
		}
	}
	return false
}

func nonIndex(segs []string) []string {
	out := segs[:0:0]
	for _, s := range segs {
		if strings.Trim(s, "0123456789*") != "" {
			out = append(out, s)
		}
	}
	return out
}

// IsSecretResourceType reports whether every value of a resource type is secret material apart
// from its metadata: Kubernetes Secrets, Key Vault secrets and the data layer's generated
// passwords, in the type forms the engine, the inventory and Azure use.
func IsSecretResourceType(t string) bool {
	l := strings.ToLower(t)
	switch {
	case l == "secret", l == "v1/secret", strings.HasSuffix(l, "/v1/secret"), strings.HasSuffix(l, "/v1:secret"):
		return true
	case l == "microsoft.keyvault/vaults/secrets":
		return true
	case strings.HasPrefix(l, "azure-native:keyvault") && strings.HasSuffix(l, ":secret"):
		return true
	case strings.HasPrefix(l, "azure:keyvault") && strings.HasSuffix(l, ":secret"):
		return true
	case l == "tenantpg:index:password", l == "random:index/randompassword:randompassword":
		return true
	}
	return false
}

// VisibleFieldOfSecretResource reports the fields of a secret resource that hold no secret:
// metadata, type, tags and Key Vault attributes.
func VisibleFieldOfSecretResource(path string) bool {
	segs := nonIndex(PathSegments(path))
	if len(segs) == 0 {
		return false
	}
	switch segs[0] {
	case "metadata", "type", "immutable", "tags", "kind", "apiVersion", "id", "name":
		return true
	case "properties":
		return len(segs) > 1 && (segs[1] == "attributes" || segs[1] == "contentType" || segs[1] == "secretUri" ||
			segs[1] == "secretUriWithVersion")
	}
	return false
}

// credentialPairs find key=value pairs of secret keys inside connection strings, query strings
// and similar text.
var credentialPairs = regexp.MustCompile(`(?i)(^|[^a-z0-9_]|\\u00[0-9a-f]{2})(password|pwd|passwd|accountkey|sharedaccesskey|sharedaccesssignature|sig|client_secret|clientsecret|access_token|refresh_token|id_token|api_?key|apikey|token|secret)=([^;&\s"',\\]+)`)

var (
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s:@"']*):([^@/?#\s"']+)@`)
	jwtPattern  = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)
	pemPattern  = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[^-"']*(-----END [A-Z ]*PRIVATE KEY-----)?`)
	bearer      = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	flagPattern = regexp.MustCompile(`(^|\s)(--?[A-Za-z][A-Za-z0-9_.-]*)(=|\s+)("[^"]*"|'[^']*'|[^\s"']+)`)
)

// isSecretFlag: a flag's value is secret when its name is a secret key, except file flags
// (--password-file), whose value is a path.
func isSecretFlag(name string) bool {
	if w := Words(name); len(w) > 0 && (w[len(w)-1] == "file" || w[len(w)-1] == "files") {
		return false
	}
	return IsSecretKey(name)
}

// LooksLikeCredential reports whether a value carries a credential whatever key it sits under:
// a connection string with a password or key, a SAS signature, a JWT, a private key, a URL with
// user:password, a bearer header, or a secret command-line flag.
func LooksLikeCredential(s string) bool {
	return MaskText(s) != s
}

// MaskText masks the credentials inside free text (error messages, reasons, command lines,
// connection strings) and keeps the rest readable. No match spans a quote, so it is also safe on
// JSON text: a masked document is still the same JSON with masked strings.
func MaskText(s string) string {
	if s == "" {
		return s
	}
	s = pemPattern.ReplaceAllString(s, Mask)
	s = jwtPattern.ReplaceAllString(s, Mask)
	s = bearer.ReplaceAllString(s, "${1} "+Mask)
	s = credentialPairs.ReplaceAllString(s, "${1}${2}="+Mask)
	s = urlPassword.ReplaceAllString(s, "${1}:"+Mask+"@")
	s = flagPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := flagPattern.FindStringSubmatch(m)
		name, val := strings.TrimLeft(sub[2], "-"), sub[4]
		if !isSecretFlag(name) || strings.HasPrefix(val, "-") || val == Mask {
			return m
		}
		return sub[1] + sub[2] + sub[3] + Mask
	})
	return s
}

// MaskArgs masks the values of secret flags in an argument list: "--password", "x" and
// "--password=x" (also -p style single-dash long flags such as -password), and any argument that
// looks like a credential. It returns a new slice and whether anything was masked.
func MaskArgs(args []string) ([]string, bool) {
	out := make([]string, len(args))
	changed := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		out[i] = a
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if isSecretFlag(name) {
				switch {
				case hasVal && val != "":
					out[i], changed = a[:len(a)-len(val)]+Mask, true
					continue
				case !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
					out[i+1], changed = Mask, true
					i++
					continue
				}
			}
		}
		if m := MaskText(a); m != a {
			out[i], changed = m, true
		}
	}
	return out, changed
}
