package isolation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

func readExample(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "tenants", rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// DecodeStackDocuments must agree with Load on valid documents: same values, same sources
// (except the file name, which is the document's name).
func TestDecodeStackDocumentsMatchesLoad(t *testing.T) {
	state, err := Load(t.Context(), filepath.Join("..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex", "initech"} {
		t.Run(tenant, func(t *testing.T) {
			env, b, err := DecodeStackDocuments(
				Document{Name: "tenantctl:environment", Data: readExample(t, "environments/dev.yaml")},
				&Document{Name: "tenantctl:binding", Data: readExample(t, "tenants/"+tenant+".yaml")},
			)
			if err != nil {
				t.Fatal(err)
			}
			ignoreSource := cmpopts.IgnoreFields(RuntimeTenantBinding{}, "Source")
			if d := cmp.Diff(state.Binding("dev", tenant), b, ignoreSource); d != "" {
				t.Errorf("binding (-Load +DecodeStackDocuments):\n%s", d)
			}
			if d := cmp.Diff(state.Environment("dev"), env, cmpopts.IgnoreFields(Environment{}, "Source")); d != "" {
				t.Errorf("environment (-Load +DecodeStackDocuments):\n%s", d)
			}
			if b.Source.File != "tenantctl:binding" || env.Source.File != "tenantctl:environment" {
				t.Errorf("sources = %v, %v; want the document names", b.Source, env.Source)
			}
		})
	}
	env, b, err := DecodeStackDocuments(Document{Name: "tenantctl:environment", Data: readExample(t, "environments/prod.yaml")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b != nil || env.Name() != "prod" {
		t.Errorf("platform documents = %v, %v; want env prod and no binding", env.Name(), b)
	}
}

func TestDecodeStackDocumentsRejects(t *testing.T) {
	acme := string(readExample(t, "tenants/acme.yaml"))
	dev := string(readExample(t, "environments/dev.yaml"))
	prod := string(readExample(t, "environments/prod.yaml"))
	tests := []struct {
		name    string
		env     string
		binding *string
		want    string
	}{
		{name: "binding of another environment", env: prod, binding: &acme, want: "tenantctl:binding:8: spec.environment: unknown environment \"dev\"; declared: prod"},
		{name: "two environments", env: dev + "\n---\n" + prod, binding: &acme, want: "want exactly one Environment document, found 2"},
		{name: "no binding in the binding document", env: dev, binding: new(string), want: "want exactly one RuntimeTenantBinding document, found 0"},
		{name: "environment in the binding slot", env: acme, binding: &dev, want: "the Environment document came from tenantctl:binding"},
		{name: "binding for a platform stack", env: dev + "\n---\n" + acme, want: "a platform stack takes no RuntimeTenantBinding"},
		{name: "unknown field, same message as Load", env: dev, binding: ptr(strings.Replace(acme, "  tier: silo", "  tier: silo\n  colour: blue", 1)),
			want: `tenantctl:binding:10: spec.colour: unknown field "colour"`},
		{name: "secret value, same message as Load", env: dev, binding: ptr(strings.Replace(acme, "secretName: acme-db-connection", "secretName: \"Server=db;Password=hunter2\"", 1)),
			want: "looks like a secret value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bd *Document
			if tc.binding != nil {
				bd = &Document{Name: "tenantctl:binding", Data: []byte(*tc.binding)}
			}
			_, _, err := DecodeStackDocuments(Document{Name: "tenantctl:environment", Data: []byte(tc.env)}, bd)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if kind := errkind.Of(err); kind != errkind.Invalid {
				t.Errorf("kind = %v, want %v", kind, errkind.Invalid)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the secret value: %v", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
