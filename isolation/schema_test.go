package isolation_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// TestCommittedSchemasAreGenerated keeps schema/ in step with the Go types: the committed files
// are exactly what JSONSchema generates.
func TestCommittedSchemasAreGenerated(t *testing.T) {
	for _, k := range isolation.SchemaKinds {
		t.Run(k, func(t *testing.T) {
			want, err := isolation.JSONSchema(k)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "schema", isolation.SchemaFile(k))
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run make schema)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s is not what the Go types generate; run make schema (-generated +committed):\n%s", path, d)
			}
		})
	}
	if _, err := isolation.JSONSchema("ConfigMap"); err == nil {
		t.Error("JSONSchema(ConfigMap): want an error")
	}
}

// schemas compiles both schemas with a JSON Schema validator, by kind.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	out := map[string]*jsonschema.Schema{}
	for _, k := range isolation.SchemaKinds {
		data, err := isolation.JSONSchema(k)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s schema is not JSON: %v", k, err)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		id := isolation.SchemaBaseURL + isolation.SchemaFile(k)
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("%s schema does not compile: %v", k, err)
		}
		out[k] = s
	}
	return out
}

// yamlDocuments decodes every document of a YAML stream into the JSON values a validator takes
// (what an editor or kubeconform validates).
func yamlDocuments(t *testing.T, data string) []any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(data))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("to JSON: %v", err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inst)
	}
}

// violations validates one document against the schema of its kind and returns the instance
// locations of the failing keywords, sorted ("/spec/tier").
func violations(t *testing.T, s map[string]*jsonschema.Schema, doc any) []string {
	t.Helper()
	docKind, _ := doc.(map[string]any)["kind"].(string)
	sch := s[docKind]
	if sch == nil {
		t.Fatalf("document of kind %q has no schema", docKind)
	}
	err := sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validate: %v", err)
	}
	// The leaves of the error tree are the keywords that failed; their ancestors only say that
	// an allOf or a property around them did. A failed contains is a leaf itself (its causes are
	// the items that did not match). The validator reports a propertyNames failure at a wrong
	// instance location (v6.0.3 keeps a slice it later overwrites), so those are placed by their
	// keyword location instead.
	var out []string
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.PropertyNames:
			return
		case *kind.Contains:
			out = append(out, "/"+strings.Join(e.InstanceLocation, "/"))
			return
		}
		if len(e.Causes) == 0 {
			out = append(out, "/"+strings.Join(e.InstanceLocation, "/"))
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	for _, u := range ve.BasicOutput().Errors {
		if u.Error != nil && strings.HasSuffix(u.KeywordLocation, "/propertyNames") {
			out = append(out, instanceOfKeyword(u.KeywordLocation))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// instanceOfKeyword turns the keyword location of a propertyNames keyword into the location of
// the object it constrains: "/properties/spec/properties/labels/propertyNames" is "/spec/labels".
func instanceOfKeyword(loc string) string {
	segs := strings.Split(strings.TrimPrefix(loc, "/"), "/")
	var out []string
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "properties":
			i++
			out = append(out, segs[i])
		case "items", "additionalProperties":
			out = append(out, "*")
		}
	}
	return "/" + strings.Join(out, "/")
}

// TestExamplesMatchSchema: every example environment and binding is valid under its schema.
func TestExamplesMatchSchema(t *testing.T) {
	s := schemas(t)
	n := 0
	err := filepath.WalkDir(filepath.Join("..", "examples", "tenants"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isolation.IsDesiredStateFile(d.Name()) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range yamlDocuments(t, string(data)) {
			n++
			if v := violations(t, s, doc); len(v) > 0 {
				t.Errorf("%s document %d: schema violations at %v:\n%v", path, i+1, v, s[doc.(map[string]any)["kind"].(string)].Validate(doc))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("validated %d example documents, want the 2 environments and 3 bindings", n)
	}
}

// exampleDocs returns the example environment dev and the bindings, as text.
func exampleDocs(t *testing.T) (env string, bindings map[string]string) {
	t.Helper()
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join("..", "examples", "tenants", rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return read("environments/dev.yaml"), map[string]string{
		"acme": read("tenants/acme.yaml"), "globex": read("tenants/globex.yaml"), "initech": read("tenants/initech.yaml"),
	}
}

func replace(t *testing.T, body string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(body, pairs[i]) != 1 {
			t.Fatalf("replace: %q occurs %d times", pairs[i], strings.Count(body, pairs[i]))
		}
		body = strings.Replace(body, pairs[i], pairs[i+1], 1)
	}
	return body
}

// loaderErrors decodes an environment and a binding as Load would and returns the fields of the
// validation errors.
func loaderErrors(t *testing.T, env, binding string) []string {
	t.Helper()
	_, err := isolation.DecodeDocuments(isolation.Document{Name: "env.yaml", Data: []byte(env)}, isolation.Document{Name: "binding.yaml", Data: []byte(binding)})
	if err == nil {
		return nil
	}
	verrs, ok := isolation.AsValidationErrors(err)
	if !ok {
		t.Fatalf("DecodeDocuments: %v", err)
	}
	var out []string
	for _, e := range verrs {
		out = append(out, fmt.Sprintf("%s: %s", e.Field, e.Message))
	}
	return out
}

// TestSchemaAgreesWithTheLoader: bad documents are refused by the schema at the field that is
// wrong, and by the loader too; documents the loader accepts in forms the examples do not use
// pass the schema.
func TestSchemaAgreesWithTheLoader(t *testing.T) {
	s := schemas(t)
	env, b := exampleDocs(t)
	acme, globex, initech := b["acme"], b["globex"], b["initech"]
	tests := []struct {
		name          string
		env, binding  string
		schemaRejects []string // instance locations; nil: the schema and the loader accept it
	}{
		{"unknown tier", env, replace(t, globex, "tier: pool", "tier: gold"), []string{"/spec/tier"}},
		{"tenant id that is not a DNS label", env, replace(t, globex, "tenantId: globex", "tenantId: Globex_Corp"), []string{"/spec/tenantId"}},
		{"reserved tenant id", env, replace(t, globex, "tenantId: globex", "tenantId: kube-system"), []string{"/spec/tenantId"}},
		{"missing required field", env, replace(t, globex, "  tenantId: globex\n", ""), []string{"/spec"}},
		{"missing metadata.name", env, replace(t, globex, "  name: globex-dev\n", "  labels: {team: a}\n"), []string{"/metadata"}},
		{"unknown field", env, replace(t, globex, "  tier: pool", "  tier: pool\n  colour: blue"), []string{"/spec"}},
		{"unknown field deep down", env, replace(t, acme, "      vmSize: Standard_D4s_v5", "      vmSize: Standard_D4s_v5\n      maxSurge: 1"), []string{"/spec/quota/nodePool"}},
		{"wrong type", env, replace(t, globex, "pods: 10", `pods: "10"`), []string{"/spec/quota/pods"}},
		{"wrong apiVersion", env, replace(t, globex, "runtime.connectsoft.io/v1alpha1", "runtime.connectsoft.io/v2"), []string{"/apiVersion"}},
		{"not a CIDR", env, replace(t, acme, "- 10.20.0.0/16", "- 10.20.0.0/33"), []string{"/spec/network/addressSpace/0"}},
		{"unknown subnet purpose", env, replace(t, acme, "purpose: endpoints", "purpose: gateways"), []string{"/spec/network/subnets/1/purpose"}},
		{"silo without a nodes subnet", env, replace(t, acme, "purpose: nodes", "purpose: workloads"), []string{"/spec/network/subnets"}},
		{"silo without a node pool", env, replace(t, acme, "    nodePool:\n      min: 1\n      max: 3\n      vmSize: Standard_D4s_v5\n", ""), []string{"/spec/quota"}},
		{"silo without a network", env, acme[:strings.Index(acme, "  network:")] + acme[strings.Index(acme, "  quota:"):], []string{"/spec"}},
		{"pool with a VNet", env, replace(t, globex, "  quota:", "  network:\n    addressSpace: [10.30.0.0/16]\n    subnets: [{name: nodes, addressPrefix: 10.30.0.0/22, purpose: nodes}]\n  quota:"), []string{"/spec/network"}},
		{"pool without pods", env, replace(t, globex, "    pods: 10\n", ""), []string{"/spec/quota"}},
		{"pool with a database but no override", env, replace(t, globex, "schema: globex", "schema: globex\n    database: globex"), []string{"/spec/data/database"}},
		{"pool without its schema", env, replace(t, globex, "schema: globex", "{}"), []string{"/spec/data"}},
		{"weaker override", env, replace(t, globex, "  tier: pool", "  tier: pool\n  overrides: {data: shared-row-filter}"), []string{"/spec/overrides/data"}},
		{"override of a layer that follows the tier", env, replace(t, globex, "  tier: pool", "  tier: pool\n  overrides: {network: dedicated-vnet}"), []string{"/spec/overrides"}},
		{"reserved label key", env, replace(t, acme, "cost-center: cc-1001", "tier: gold"), []string{"/spec/labels"}},
		{"bad secret version", env, replace(t, acme, "currentVersion: 3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c", "currentVersion: latest"), []string{"/spec/secrets/0/currentVersion"}},

		{"environment: unknown engine", replace(t, env, "engine: postgresql", "engine: oracle"), globex, []string{"/spec/sharedDatabase/engine"}},
		{"environment: unknown target", replace(t, env, "target: kubernetes", "target: gcp"), globex, []string{"/spec/target"}},
		{"environment: unknown field", replace(t, env, "    podCIDR:", "    nodeCount: 3\n    podCIDR:"), globex, []string{"/spec/sharedCluster"}},
		{"environment: no trusted registry", replace(t, env, "  trustedRegistries:\n    - connectsoft.azurecr.io\n", "  trustedRegistries: []\n"), globex, []string{"/spec/trustedRegistries"}},
		{"environment: azure target without azure", replace(t, env[:strings.Index(env, "  # The Microsoft Entra")], "target: kubernetes", "target: azure"), globex, []string{"/spec"}},
		{"environment: registry with a scheme", replace(t, env, "- connectsoft.azurecr.io", "- https://connectsoft.azurecr.io"), globex, []string{"/spec/trustedRegistries/0"}},
		{"environment: mixed-case table", replace(t, env, "- orders", "- Orders"), globex, []string{"/spec/sharedDatabase/tables/0"}},

		// Accepted by both.
		{"unquoted quantity", env, replace(t, globex, `cpu: "1"`, "cpu: 1"), nil},
		{"pool with a dedicated database", env, replace(t, globex, "  tier: pool", "  tier: pool\n  overrides: {data: dedicated-database}", "schema: globex", "database: globex"), nil},
		{"pool overriding to its own data mode", env, replace(t, globex, "  tier: pool", "  tier: pool\n  overrides: {data: shared-partitioned}"), nil},
		{"shared with a partition", env, replace(t, initech, "  tier: shared", "  tier: shared\n  overrides: {data: shared-partitioned}\n  data: {schema: initech}"), nil},
		{"vault URI", env, replace(t, acme, "keyVaultRef: kv-acme-dev", "keyVaultRef: https://kv-acme-dev.vault.azure.net/"), nil},
		{"latest secret version", env, replace(t, acme, "      currentVersion: 3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c\n", ""), nil},
		{"environment: SQL Server", replace(t, env, "engine: postgresql", "engine: sqlserver"), globex, nil},
		{"environment: IPv6 ranges", replace(t, env, "    podCIDR: 10.244.0.0/16", "    podCIDR: fd00:10:244::/56"), globex, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			binding := tc.binding
			var got []string
			for _, doc := range yamlDocuments(t, tc.env+"\n---\n"+binding) {
				got = append(got, violations(t, s, doc)...)
			}
			if d := cmp.Diff(tc.schemaRejects, got); d != "" {
				docs := yamlDocuments(t, tc.env+"\n---\n"+binding)
				t.Errorf("schema violations (-want +got):\n%s\n%v\n%v", d, s[isolation.KindEnvironment].Validate(docs[0]), s[isolation.KindBinding].Validate(docs[1]))
			}
			loader := loaderErrors(t, tc.env, binding)
			if tc.schemaRejects == nil && loader != nil {
				t.Errorf("the loader refuses what the schema accepts: %v", loader)
			}
			if tc.schemaRejects != nil && loader == nil {
				t.Error("the loader accepts what the schema refuses")
			}
		})
	}
}

// TestDatabaseEnginesAreThePlans: the loader accepts exactly the engines the plans know.
func TestDatabaseEnginesAreThePlans(t *testing.T) {
	for _, e := range append(slices.Clone(isolation.DatabaseEngines), "PostgreSQL", "SQLServer") {
		env := &isolation.Environment{Metadata: isolation.ObjectMeta{Name: "dev"}, Spec: isolation.EnvironmentSpec{SharedDatabase: isolation.DatabaseSpec{Engine: e}}}
		if _, err := tenantplan.DatabaseEngine(env); err != nil {
			t.Errorf("the loader accepts engine %q, the plans do not: %v", e, err)
		}
	}
	env := &isolation.Environment{Spec: isolation.EnvironmentSpec{SharedDatabase: isolation.DatabaseSpec{Engine: "oracle"}}}
	if _, err := tenantplan.DatabaseEngine(env); err == nil {
		t.Error("the plans accept engine oracle, which the loader refuses")
	}
}
