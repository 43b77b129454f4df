package remediate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

func scenarioPlan(t *testing.T) *Plan {
	t.Helper()
	c := newFakeCluster(defaultDeny(), networkPolicy("t-globex", "let-acme-in", nil), configMap("t-globex", "cache"))
	return buildPlan(t, c, globexDesired(t), nil, findingA, findingBRoute, findingBUnmanaged, findingC)
}

func TestPlanFileRoundTrip(t *testing.T) {
	p := scenarioPlan(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, want 0600", info.Mode().Perm())
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// mutate encodes the scenario plan, lets edit change its JSON form, and decodes it again.
func mutate(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, scenarioPlan(t)); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func action(m map[string]any, i int) map[string]any { return m["actions"].([]any)[i].(map[string]any) }

func TestDecodeRejectsInvalidPlans(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"other schema version", func(m map[string]any) { m["apiVersion"] = "tenantctl.remediation/v2" }, `apiVersion "tenantctl.remediation/v2" is not supported`},
		{"unknown field", func(m map[string]any) { m["force"] = true }, `unknown field "force"`},
		{"no commit", func(m map[string]any) { delete(m, "commit") }, "commit is empty"},
		{"unknown mode", func(m map[string]any) { m["mode"] = "yolo" }, `mode "yolo"`},
		{"unknown action kind", func(m map[string]any) { action(m, 0)["kind"] = "patch" }, `unknown kind "patch"`},
		{"import is not supported", func(m map[string]any) { action(m, 2)["kind"] = "import" }, "import actions are not supported"},
		{"restore without resourceVersion", func(m map[string]any) { delete(action(m, 0)["target"].(map[string]any), "resourceVersion") }, "no resourceVersion"},
		{"restore of a positional item", func(m map[string]any) {
			action(m, 0)["fields"].([]any)[0].(map[string]any)["path"] = "spec.policyTypes[0]"
		}, "cannot be applied alone"},
		{"restore of a server field", func(m map[string]any) {
			action(m, 0)["fields"].([]any)[0].(map[string]any)["path"] = "metadata.namespace"
		}, "never sets metadata.namespace"},
		{"restore of a redacted value", func(m map[string]any) {
			action(m, 0)["fields"].([]any)[0].(map[string]any)["desired"] = finding.Redacted
		}, "redacted"},
		{"restore into another tenant's stack", func(m map[string]any) { action(m, 0)["stack"] = "tenant.acme.dev" }, "is not tenant globex's"},
		{"delete of a cluster-scoped object", func(m map[string]any) { delete(action(m, 1)["target"].(map[string]any), "namespace") }, "cluster-scoped objects are never deleted"},
		{"delete without uid", func(m map[string]any) { delete(action(m, 1)["target"].(map[string]any), "uid") }, "uid and resourceVersion"},
		{"two changes of one object", func(m map[string]any) {
			action(m, 1)["target"] = action(m, 0)["target"]
		}, "is also changed by A1"},
		{"repeated id", func(m map[string]any) { action(m, 1)["id"] = "A1" }, "id is empty or repeated"},
		{"action without fingerprints", func(m map[string]any) { action(m, 2)["fingerprints"] = []any{} }, "no finding fingerprints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(mutate(t, tt.edit)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode = %v, want error containing %q", err, tt.want)
			}
			if kind := errkind.Of(err); kind != errkind.Invalid {
				t.Errorf("kind = %v, want %v", kind, errkind.Invalid)
			}
		})
	}
}

func TestDecodeRejectsNonJSON(t *testing.T) {
	for _, in := range []string{"", "not json", "[]", `{"apiVersion":"tenantctl.remediation/v1","actions":"x"}`} {
		_, err := Decode(strings.NewReader(in))
		if kind := errkind.Of(err); err == nil || kind != errkind.Invalid {
			t.Errorf("Decode(%q) = %v (kind %v), want %v", in, err, kind, errkind.Invalid)
		}
	}
}

func TestReadFileMissingIsInvalid(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.json"))
	if errkind.Of(err) != errkind.Invalid {
		t.Fatalf("ReadFile(missing) = %v, want %v", err, errkind.Invalid)
	}
}
