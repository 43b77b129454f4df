package finding

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces every secret value in a finding's desired and live values.
const Redacted = "[redacted]"

// Value marshals v as a desired or live value of res at field with secret values redacted.
// Detectors build Desired and Live with it; compare values before redacting, never after.
func Value(res Resource, field string, v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Redact(res, field, raw), nil
}

// Redacted returns f with Desired and Live redacted. Reports call it on every finding they render,
// so a detector that forgot to redact still cannot leak a value.
func (f Finding) Redacted() Finding {
	f.Desired = Redact(f.Resource, f.Field, f.Desired)
	f.Live = Redact(f.Resource, f.Field, f.Live)
	return f
}

// Redact returns raw, the value of res at field, with secret values replaced by Redacted:
//   - the whole value when the field path names a secret (a segment like "password", "token",
//     "connectionString", "*Key"; an env var's value; the last-applied-configuration annotation),
//   - everything but metadata of a Kubernetes Secret or a Key Vault secret,
//   - values under secret-like keys, env entries whose name is secret-like, and strings that look
//     like credentials (connection strings with keys or passwords, JWTs, private keys, URLs with
//     user:password).
//
// Keys that hold references (secretName, keyVaultRef, secretKeyRef, *Id, *Uri, *Version) stay
// visible, as do booleans and nulls, which cannot carry a secret. Redact never fails: a value that
// is not valid JSON is redacted whole.
func Redact(res Resource, field string, raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return redactedJSON()
	}
	secretType := isSecretType(res)
	if fieldIsSecret(field, secretType) {
		switch v.(type) {
		case nil, bool:
			return raw
		}
		return redactedJSON()
	}
	v = redactWalk(v, false, secretType)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return redactedJSON()
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func redactedJSON() json.RawMessage { return json.RawMessage(`"` + Redacted + `"`) }

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func isSecretType(res Resource) bool {
	switch res.Provider {
	case ProviderKubernetes:
		return res.Type == "v1/Secret" || res.Type == "Secret" || strings.HasSuffix(res.Type, "/v1/Secret")
	case ProviderAzure:
		return strings.EqualFold(res.Type, "Microsoft.KeyVault/vaults/secrets")
	}
	return false
}

// fieldIsSecret decides from the path alone whether the value at field must be hidden whole.
func fieldIsSecret(field string, secretType bool) bool {
	if strings.Contains(field, "last-applied-configuration") {
		return true
	}
	if field == "" {
		return false
	}
	if secretType {
		for _, visible := range []string{"metadata.", "type", "immutable", "tags.", "properties.attributes."} {
			if field == visible || (strings.HasSuffix(visible, ".") && strings.HasPrefix(field, visible)) {
				return false
			}
		}
		return true
	}
	segs := pathSegments(field)
	last := segs[len(segs)-1]
	if last == "value" {
		for _, s := range segs[:len(segs)-1] {
			if s == "env" {
				return true
			}
		}
	}
	if isReferenceKey(last) {
		return false
	}
	for _, s := range segs {
		if isSecretKey(s) {
			return true
		}
	}
	return false
}

// pathSegments splits "spec.containers[0].env[1].value" or `data["tls.key"]` into its keys.
func pathSegments(field string) []string {
	return strings.Split(pathReplacer.Replace(field), ".")
}

var (
	pathReplacer = strings.NewReplacer("[", ".", "]", "", `"`, "", "'", "")
	keyReplacer  = strings.NewReplacer("-", "", "_", "", " ", "")
)

func redactWalk(v any, secretContext, secretType bool) any {
	switch t := v.(type) {
	case map[string]any:
		envSecret := false
		if n, ok := t["name"].(string); ok && isSecretKey(n) {
			envSecret = true
		}
		for k, child := range t {
			switch {
			case child == nil:
			case k == lastApplied:
				t[k] = Redacted
			case envSecret && k == "value":
				t[k] = redactScalars(child)
			case secretType && (k == "data" || k == "stringData" || k == "value"):
				t[k] = redactScalars(child)
			case isReferenceKey(k):
				t[k] = redactWalk(child, false, secretType)
			case isSecretKey(k):
				t[k] = redactWalk(child, true, secretType)
			default:
				t[k] = redactWalk(child, secretContext, secretType)
			}
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = redactWalk(child, secretContext, secretType)
		}
		return t
	case string:
		if secretContext || looksLikeCredential(t) {
			return Redacted
		}
		return t
	case json.Number:
		if secretContext {
			return Redacted
		}
		return t
	}
	return v
}

// redactScalars hides every string and number below v but keeps its shape (which keys a Secret
// has is useful; their values are not).
func redactScalars(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			t[k] = redactScalars(child)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = redactScalars(child)
		}
		return t
	case string, json.Number:
		return Redacted
	}
	return v
}

func normalizeKey(k string) string {
	return keyReplacer.Replace(strings.ToLower(k))
}

// isReferenceKey: keys that point at a secret rather than hold one.
func isReferenceKey(k string) bool {
	n := normalizeKey(k)
	if strings.Contains(n, "sas") {
		return false
	}
	for _, suffix := range []string{"name", "names", "ref", "refs", "reference", "id", "ids", "uri", "version", "path", "file", "type"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

func isSecretKey(k string) bool {
	n := normalizeKey(k)
	if n == "pwd" {
		return true
	}
	for _, part := range []string{"password", "passwd", "secret", "token", "credential", "connectionstring",
		"privatekey", "apikey", "accesskey", "sharedkey", "signature", "sastoken", "sasurl", "sasuri"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	// primaryKey, accountKey, tls.key — but not the bare "key" of selectors and secretKeyRef.
	return len(n) > len("key") && strings.HasSuffix(n, "key")
}

func looksLikeCredential(s string) bool {
	l := strings.ToLower(s)
	for _, marker := range []string{"password=", "pwd=", "accountkey=", "sharedaccesskey=", "sharedaccesssignature=",
		"sig=", "client_secret=", "access_token=", "private key-----"} {
		if strings.Contains(l, marker) {
			return true
		}
	}
	if strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2 {
		return true // JWT
	}
	return urlHasPassword(s)
}

// urlHasPassword finds scheme://user:password@host.
func urlHasPassword(s string) bool {
	i := strings.Index(s, "://")
	if i < 0 {
		return false
	}
	rest := s[i+3:]
	if end := strings.IndexAny(rest, "/?# "); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	return at > 0 && strings.Contains(rest[:at], ":")
}
