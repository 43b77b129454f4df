package sdkgen_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/blang/semver"
	"github.com/google/go-cmp/cmp"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"

	"github.com/connectsoft/tenantctl/provider/sdkgen"
	"github.com/connectsoft/tenantctl/provider/tenantpg"
)

// TestSDKMatchesSchema: the SDK committed under sdk/go/tenantpg is what the generator makes of the
// provider's current schema. Regenerate with `make sdk-tenantpg` when this fails.
func TestSDKMatchesSchema(t *testing.T) {
	prov, err := tenantpg.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := integration.NewServer(context.Background(), tenantpg.Name, semver.MustParse(tenantpg.Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := s.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := sdkgen.Generate([]byte(schema.Schema))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "sdk", "go", "tenantpg")
	got := map[string][]byte{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		got[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names(want), names(got)); diff != "" {
		t.Fatalf("sdk/go/tenantpg files differ from the schema's (-generated +committed); run `make sdk-tenantpg`:\n%s", diff)
	}
	for n, w := range want {
		if diff := cmp.Diff(string(w), string(got[n])); diff != "" {
			t.Errorf("sdk/go/tenantpg/%s is stale (-generated +committed); run `make sdk-tenantpg`:\n%s", n, diff)
		}
	}
}

func names(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
