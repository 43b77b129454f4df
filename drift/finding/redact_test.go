package finding

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/secretclass/corpus"
)

func TestRedact(t *testing.T) {
	deploy := Resource{Provider: ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api"}
	secret := Resource{Provider: ProviderKubernetes, Type: "v1/Secret", Namespace: "tenant-acme", Name: "db"}
	kvSecret := Resource{Provider: ProviderAzure, Type: "Microsoft.KeyVault/vaults/secrets", Name: "db-password"}
	netpol := Resource{Provider: ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy", Namespace: "tenant-acme", Name: "p"}
	tests := []struct {
		name  string
		res   Resource
		field string
		in    string
		want  string
	}{
		{"plain value kept", deploy, "spec.replicas", `3`, `3`},
		{"empty stays empty", deploy, "spec.replicas", ``, ``},
		{"invalid json redacted whole", deploy, "spec.replicas", `{"a":`, `"[REDACTED]"`},
		{"trailing garbage redacted whole", deploy, "spec.replicas", `1 2`, `"[REDACTED]"`},
		{"secret-named field redacted whole", deploy, "spec.template.metadata.annotations.apiToken", `"abc"`, `"[REDACTED]"`},
		{"env value by path", deploy, "spec.template.spec.containers[0].env[2].value", `"hunter2"`, `"[REDACTED]"`},
		{"reference field visible", deploy, "spec.secrets[0].secretName", `"db-pass"`, `"db-pass"`},
		{"boolean under token field visible", deploy, "spec.template.spec.automountServiceAccountToken", `true`, `true`},
		{"last-applied annotation", deploy, "metadata.annotations[\"kubectl.kubernetes.io/last-applied-configuration\"]", `"{}"`, `"[REDACTED]"`},
		{"env var object by name", deploy, "spec.template.spec.containers[0].env",
			`[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"},{"name":"API_KEY","valueFrom":{"secretKeyRef":{"name":"api","key":"key"}}}]`,
			`[{"name":"DB_PASSWORD","value":"[REDACTED]"},{"name":"LOG_LEVEL","value":"debug"},{"name":"API_KEY","valueFrom":{"secretKeyRef":{"key":"key","name":"api"}}}]`},
		{"nested secret keys, references kept", deploy, "",
			`{"spec":{"credentials":{"username":"u","password":"p","passwordSecretRef":"kv/pw"},"accountKey":"xyz","port":5432}}`,
			`{"spec":{"accountKey":"[REDACTED]","credentials":{"password":"[REDACTED]","passwordSecretRef":"kv/pw","username":"u"},"port":5432}}`},
		{"connection string sniffed", deploy, "data.conn",
			`"Server=tcp:db;User ID=app;Password=hunter2;"`, `"[REDACTED]"`},
		{"storage key in value sniffed", deploy, "", `{"x":"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=="}`, `{"x":"[REDACTED]"}`},
		{"jwt sniffed", deploy, "", `["eyJhbGciOi.eyJzdWIiOi.sig"]`, `["[REDACTED]"]`},
		{"url with password sniffed", deploy, "", `{"url":"postgres://app:hunter2@db:5432/x","ok":"https://db:5432/x"}`, `{"ok":"https://db:5432/x","url":"[REDACTED]"}`},
		{"kubernetes secret data whole object", secret, "",
			`{"metadata":{"name":"db","labels":{"tenant":"acme"}},"type":"Opaque","data":{"password":"aHVudGVyMg==","user":"YXBw"}}`,
			`{"data":{"password":"[REDACTED]","user":"[REDACTED]"},"metadata":{"labels":{"tenant":"acme"},"name":"db"},"type":"Opaque"}`},
		{"kubernetes secret data field", secret, "data.user", `"YXBw"`, `"[REDACTED]"`},
		{"kubernetes secret label visible", secret, "metadata.labels.tenant", `"acme"`, `"acme"`},
		{"key vault secret value", kvSecret, "", `{"properties":{"value":"hunter2","contentType":"text/plain"}}`,
			`{"properties":{"contentType":"text/plain","value":"[REDACTED]"}}`},
		{"network policy selectors visible", netpol, "spec.ingress[0].from",
			`[{"namespaceSelector":{"matchExpressions":[{"key":"tenant","operator":"In","values":["globex"]}]}}]`,
			`[{"namespaceSelector":{"matchExpressions":[{"key":"tenant","operator":"In","values":["globex"]}]}}]`},
		{"html characters not escaped", deploy, "", `{"a":"<b>&"}`, `{"a":"<b>&"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Redact(tt.res, tt.field, json.RawMessage(tt.in)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Redact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValueAndRedactedFinding(t *testing.T) {
	res := Resource{Provider: ProviderKubernetes, Type: "v1/Secret", Namespace: "n", Name: "s"}
	raw, err := Value(res, "data", map[string]string{"token": "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "s3cr3t") {
		t.Fatalf("Value leaked the secret: %s", raw)
	}
	f := Finding{Kind: KindManagedDrift, Resource: res, Field: "stringData.token",
		Desired: json.RawMessage(`"one"`), Live: json.RawMessage(`"two"`)}
	got := f.Redacted()
	if string(got.Desired) != `"[REDACTED]"` || string(got.Live) != `"[REDACTED]"` {
		t.Errorf("Redacted() = desired %s live %s", got.Desired, got.Live)
	}
	if string(f.Desired) != `"one"` {
		t.Error("Redacted modified the original finding")
	}
	if _, err := Value(res, "", func() {}); err == nil {
		t.Error("Value of an unmarshalable value did not fail")
	}
}

// Issue 14.12: the cases drift printed in clear, and the shared corpus, through Redact.
func TestRedactTheSharedCorpus(t *testing.T) {
	cm := Resource{Provider: ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "t-acme", Name: "cfg"}
	deploy := Resource{Provider: ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "t-acme", Name: "api"}
	kv := Resource{Provider: ProviderAzure, Type: "azure-native:keyvault:Secret", Name: "db"}
	leaks := func(t *testing.T, res Resource, field string, v any) string {
		t.Helper()
		raw, err := Value(res, field, v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), corpus.Canary) {
			t.Errorf("%s %q: %s leaks the secret", res.Type, field, raw)
		}
		return string(raw)
	}
	// azure-native Key Vault secret: the value is masked, by field and in the whole object.
	leaks(t, kv, "properties.value", corpus.Canary)
	if got := leaks(t, kv, "", map[string]any{"properties": map[string]any{"value": corpus.Canary, "contentType": "text/plain"}}); !strings.Contains(got, "text/plain") {
		t.Errorf("Key Vault secret's contentType hidden: %s", got)
	}
	// ConfigMap keys, by field and in the data object.
	for _, k := range corpus.SecretKeys {
		leaks(t, cm, "data."+k, corpus.Canary)
		leaks(t, cm, "data", map[string]any{k: corpus.Canary, "LOG_LEVEL": "debug"})
	}
	// Argument lists, by field and inside a container.
	for i, args := range corpus.ArgLists {
		got := leaks(t, deploy, "spec.template.spec.containers[0].args", args)
		want, _ := json.Marshal(corpus.MaskedArgs[i])
		if got != string(want) {
			t.Errorf("args %q redacted as %s, want %s", args, got, want)
		}
		leaks(t, deploy, "spec.template.spec.containers", []any{map[string]any{"name": "app", "args": args}})
	}
	for _, v := range corpus.SecretValues {
		leaks(t, deploy, "metadata.annotations.note", v)
	}
	// Nothing benign is masked.
	for _, k := range corpus.BenignKeys {
		if got := leaks(t, cm, "data", map[string]any{k: "kept"}); strings.Contains(got, Redacted) {
			t.Errorf("benign ConfigMap key %q masked: %s", k, got)
		}
	}
	for _, p := range corpus.BenignPaths {
		if got := leaks(t, deploy, p, "kept"); got != `"kept"` {
			t.Errorf("benign path %q masked: %s", p, got)
		}
	}
	for _, v := range corpus.BenignValues {
		if got := leaks(t, deploy, "metadata.annotations.note", v); strings.Contains(got, Redacted) {
			t.Errorf("benign value %q masked: %s", v, got)
		}
	}
	for _, args := range corpus.BenignArgLists {
		if got := leaks(t, deploy, "spec.template.spec.containers[0].args", args); strings.Contains(got, Redacted) {
			t.Errorf("benign args %q masked: %s", args, got)
		}
	}
}
