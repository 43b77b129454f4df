package secretclass_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/secretclass"
	"github.com/connectsoft/tenantctl/internal/secretclass/corpus"
)

func TestKeysOfTheCorpus(t *testing.T) {
	for _, k := range corpus.SecretKeys {
		if !secretclass.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false, want true", k)
		}
	}
	for _, k := range corpus.BenignKeys {
		if secretclass.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true, want false (benign)", k)
		}
	}
}

func TestPathsOfTheCorpus(t *testing.T) {
	for _, p := range corpus.SecretPaths {
		if !secretclass.IsSecretPath(p) {
			t.Errorf("IsSecretPath(%q) = false, want true", p)
		}
	}
	for _, k := range corpus.SecretKeys {
		if p := "data." + k; !secretclass.IsSecretPath(p) {
			t.Errorf("IsSecretPath(%q) = false, want true", p)
		}
	}
	for _, p := range corpus.BenignPaths {
		if secretclass.IsSecretPath(p) {
			t.Errorf("IsSecretPath(%q) = true, want false (benign)", p)
		}
	}
}

func TestResourceTypesOfTheCorpus(t *testing.T) {
	for _, rt := range corpus.SecretResourceTypes {
		if !secretclass.IsSecretResourceType(rt) {
			t.Errorf("IsSecretResourceType(%q) = false", rt)
		}
	}
	for _, rt := range corpus.BenignResourceTypes {
		if secretclass.IsSecretResourceType(rt) {
			t.Errorf("IsSecretResourceType(%q) = true (benign)", rt)
		}
	}
}

func TestValuesOfTheCorpus(t *testing.T) {
	for _, v := range corpus.SecretValues {
		if !secretclass.LooksLikeCredential(v) {
			t.Errorf("LooksLikeCredential(%q) = false", v)
		}
		if m := secretclass.MaskText(v); strings.Contains(m, corpus.Canary) {
			t.Errorf("MaskText(%q) = %q still holds the secret", v, m)
		}
	}
	for _, v := range corpus.BenignValues {
		if secretclass.LooksLikeCredential(v) {
			t.Errorf("LooksLikeCredential(%q) = true (benign), masked as %q", v, secretclass.MaskText(v))
		}
	}
}

func TestArgListsOfTheCorpus(t *testing.T) {
	for i, args := range corpus.ArgLists {
		got, changed := secretclass.MaskArgs(args)
		if diff := cmp.Diff(corpus.MaskedArgs[i], got); diff != "" || !changed {
			t.Errorf("MaskArgs(%q) changed=%v (-want +got):\n%s", args, changed, diff)
		}
	}
	for _, args := range corpus.BenignArgLists {
		if got, changed := secretclass.MaskArgs(args); changed {
			t.Errorf("MaskArgs(%q) = %q, want it unchanged", args, got)
		}
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"AZURE_STORAGE_KEY": {"azure", "storage", "key"}, "apiKeyRef": {"api", "key", "ref"},
		"APIKey": {"api", "key"}, "tls.key": {"tls", "key"}, "db-password2": {"db", "password", "2"},
	} {
		if diff := cmp.Diff(want, secretclass.Words(in)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// MaskText keeps JSON valid: credentials inside JSON strings are masked, the structure stays.
func TestMaskTextKeepsJSON(t *testing.T) {
	for _, v := range append(append([]string{}, corpus.SecretValues...), corpus.BenignValues...) {
		doc, _ := json.Marshal(map[string]any{"a": v, "b": []string{v, "x"}, "url": "http://u:p", "c": "q@r"})
		masked := secretclass.MaskText(string(doc))
		if !json.Valid([]byte(masked)) {
			t.Errorf("MaskText broke the JSON of %q: %s", v, masked)
		}
		if strings.Contains(masked, corpus.Canary) {
			t.Errorf("MaskText left the secret in JSON: %s", masked)
		}
	}
}
