// Command schemagen writes the JSON Schemas of the desired-state documents (RuntimeTenantBinding,
// Environment) into a folder, the repository's schema/ by default. `make schema` and
// `go generate ./isolation` run it; isolation's tests fail when the committed files differ from
// what the Go types generate.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/connectsoft/tenantctl/isolation"
)

func main() {
	out := flag.String("out", "schema", "folder to write the schema files into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, kind := range isolation.SchemaKinds {
		data, err := isolation.JSONSchema(kind)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, isolation.SchemaFile(kind))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Println("wrote", path)
	}
	return nil
}
