package finding

import (
	"bytes"
	"encoding/json"

	"github.com/connectsoft/tenantctl/internal/secretclass"
)

// Redacted replaces every secret value in a finding's desired and live values: the project's one
// mask (secretclass.Mask), the same the audit log writes.
const Redacted = secretclass.Mask

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

// Redact returns raw, the value of res at field, with secret values replaced by Redacted, as
// package secretclass classifies them:
//   - the whole value when the field path is secret (secretclass.IsSecretPath: a secret key such
//     as "password", "DB_PASS", "apiKey"; an env var's value; the last-applied-configuration
//     annotation),
//   - everything but metadata of a secret resource (Kubernetes Secret, Key Vault secret in its
//     ARM and azure-native forms),
//   - values under secret keys (ConfigMap keys such as DB_PASS or passwordFile included), env
//     entries whose name is secret, secret flags in argument lists ("--password", "x" and
//     "--password=x"), and strings that look like credentials.
//
// Keys that hold references (secretName, keyVaultRef, secretKeyRef, ...) stay visible, as do
// booleans and nulls, which cannot carry a secret. Redact never fails: a value that is not valid
// JSON is redacted whole.
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
	secretType := secretclass.IsSecretResourceType(res.Type)
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

// fieldIsSecret decides from the path alone whether the value at field must be hidden whole.
func fieldIsSecret(field string, secretType bool) bool {
	if field == "" {
		return false
	}
	if secretType {
		return !secretclass.VisibleFieldOfSecretResource(field)
	}
	return secretclass.IsSecretPath(field)
}

func redactWalk(v any, secretContext, secretType bool) any {
	switch t := v.(type) {
	case map[string]any:
		envSecret := false
		if n, ok := t["name"].(string); ok && secretclass.IsSecretKey(n) {
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
			case secretclass.IsReferenceKey(k):
				t[k] = redactWalk(child, false, secretType)
			case secretclass.IsSecretKey(k):
				t[k] = redactWalk(child, true, secretType)
			default:
				t[k] = redactWalk(child, secretContext, secretType)
			}
		}
		return t
	case []any:
		if args, ok := stringList(t); ok && !secretContext {
			if masked, changed := secretclass.MaskArgs(args); changed {
				for i := range t {
					t[i] = masked[i]
				}
			}
		}
		for i, child := range t {
			t[i] = redactWalk(child, secretContext, secretType)
		}
		return t
	case string:
		if secretContext || secretclass.LooksLikeCredential(t) {
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

// stringList returns l as strings when every element is one (an argument list or command).
func stringList(l []any) ([]string, bool) {
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, len(out) > 0
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
