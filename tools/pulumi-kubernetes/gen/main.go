// Command gen writes schema-embed.json and terraform-mapping-embed.json, the files upstream's
// release build generates (provider/cmd/pulumi-resource-kubernetes/generate.go): the compacted
// schema with its version set, and the compacted terraform mapping.
//
// Usage: go run ./gen -src DIR -out DIR -version 4.25.0
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "", "provider cmd/pulumi-resource-kubernetes directory in the module cache")
	out := flag.String("out", ".", "directory to write the embed files into")
	version := flag.String("version", "", "provider version to stamp into the schema")
	flag.Parse()
	if err := run(*src, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out, version string) error {
	if src == "" || version == "" {
		return fmt.Errorf("-src and -version are required")
	}
	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		return err
	}
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(raw, &schema); err != nil {
		return fmt.Errorf("schema.json: %w", err)
	}
	v, _ := json.Marshal(version)
	schema["version"] = v
	compact, err := json.Marshal(schema)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "schema-embed.json"), compact, 0o644); err != nil {
		return err
	}
	raw, err = os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		return err
	}
	var mapping json.RawMessage
	if err := json.Unmarshal(raw, &mapping); err != nil {
		return fmt.Errorf("terraform-mapping.json: %w", err)
	}
	compact, err = json.Marshal(mapping)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "terraform-mapping-embed.json"), compact, 0o644)
}
