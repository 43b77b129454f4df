// Command gen-go-sdk writes the tenantpg Go SDK from a schema file (`pulumi package get-schema
// <plugin>` output) into a folder: hack/gen-tenantpg-sdk.sh runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/connectsoft/tenantctl/provider/sdkgen"
)

func main() {
	schemaFile := flag.String("schema", "", "schema JSON file")
	out := flag.String("out", "", "output folder (replaced)")
	flag.Parse()
	if *schemaFile == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen-go-sdk -schema FILE -out DIR")
		os.Exit(2)
	}
	if err := run(*schemaFile, *out); err != nil {
		fmt.Fprintf(os.Stderr, "gen-go-sdk: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaFile, out string) error {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	files, err := sdkgen.Generate(b)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(out, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
		fmt.Println(p)
	}
	return nil
}
