package finding

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		{"invalid json redacted whole", deploy, "spec.replicas", `{"a":`, `"[redacted]"`},
		{"trailing garbage redacted whole", deploy, "spec.replicas", `1 2`, `"[redacted]"`},
		{"secret-named field redacted whole", deploy, "spec.template.metadata.annotations.apiToken", `"abc"`, `"[redacted]"`},
		{"env value by path", deploy, "spec.template.spec.containers[0].env[2].value", `"hunter2"`, `"[redacted]"`},
		{"reference field visible", deploy, "spec.secrets[0].secretName", `"db-pass"`, `"db-pass"`},
		{"boolean under token field visible", deploy, "spec.template.spec.automountServiceAccountToken", `true`, `true`},
		{"last-applied annotation", deploy, "metadata.annotations[\"kubectl.kubernetes.io/last-applied-configuration\"]", `"{}"`, `"[redacted]"`},
		{"env var object by name", deploy, "spec.template.spec.containers[0].env",
			`[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"},{"name":"API_KEY","valueFrom":{"secretKeyRef":{"name":"api","key":"key"}}}]`,
			`[{"name":"DB_PASSWORD","value":"[redacted]"},{"name":"LOG_LEVEL","value":"debug"},{"name":"API_KEY","valueFrom":{"secretKeyRef":{"key":"key","name":"api"}}}]`},
		{"nested secret keys, references kept", deploy, "",
			`{"spec":{"credentials":{"username":"u","password":"p","passwordSecretRef":"kv/pw"},"accountKey":"xyz","port":5432}}`,
			`{"spec":{"accountKey":"[redacted]","credentials":{"password":"[redacted]","passwordSecretRef":"kv/pw","username":"u"},"port":5432}}`},
		{"connection string sniffed", deploy, "data.conn",
			`"Server=tcp:db;User ID=app;Password=hunter2;"`, `"[redacted]"`},
		{"storage key in value sniffed", deploy, "", `{"x":"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=="}`, `{"x":"[redacted]"}`},
		{"jwt sniffed", deploy, "", `["eyJhbGciOi.eyJzdWIiOi.sig"]`, `["[redacted]"]`},
		{"url with password sniffed", deploy, "", `{"url":"postgres://app:hunter2@db:5432/x","ok":"https://db:5432/x"}`, `{"ok":"https://db:5432/x","url":"[redacted]"}`},
		{"kubernetes secret data whole object", secret, "",
			`{"metadata":{"name":"db","labels":{"tenant":"acme"}},"type":"Opaque","data":{"password":"aHVudGVyMg==","user":"YXBw"}}`,
			`{"data":{"password":"[redacted]","user":"[redacted]"},"metadata":{"labels":{"tenant":"acme"},"name":"db"},"type":"Opaque"}`},
		{"kubernetes secret data field", secret, "data.user", `"YXBw"`, `"[redacted]"`},
		{"kubernetes secret label visible", secret, "metadata.labels.tenant", `"acme"`, `"acme"`},
		{"key vault secret value", kvSecret, "", `{"properties":{"value":"hunter2","contentType":"text/plain"}}`,
			`{"properties":{"contentType":"text/plain","value":"[redacted]"}}`},
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
	if string(got.Desired) != `"[redacted]"` || string(got.Live) != `"[redacted]"` {
		t.Errorf("Redacted() = desired %s live %s", got.Desired, got.Live)
	}
	if string(f.Desired) != `"one"` {
		t.Error("Redacted modified the original finding")
	}
	if _, err := Value(res, "", func() {}); err == nil {
		t.Error("Value of an unmarshalable value did not fail")
	}
}
