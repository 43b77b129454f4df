package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

func init() { register(newSchemaCmd) }

// schemaKinds maps the names `tenantctl schema` takes (lowercase) to document kinds.
var schemaKinds = map[string]string{
	"binding":              isolation.KindBinding,
	"bindings":             isolation.KindBinding,
	"runtimetenantbinding": isolation.KindBinding,
	"environment":          isolation.KindEnvironment,
	"environments":         isolation.KindEnvironment,
	"env":                  isolation.KindEnvironment,
}

func newSchemaCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "schema binding|environment",
		Short: "Print the JSON Schema of tenant bindings or environments, for editors and kubeconform",
		Long: `Schema prints the JSON Schema (draft 2020-12) of RuntimeTenantBinding or Environment
documents, generated from the Go types the loader decodes into: required fields, enums (tier,
target, engine, subnet purpose, overrides), the loader's patterns (tenant ids, CIDRs, names) and
the rules that follow from the tier or the target. The same files are committed under schema/
in the repository.

The schema checks one document on its own; tenantctl validate checks the whole folder (the
environment a binding names, overlapping ranges, capacity, the shared vault) and stays the
authority. See docs/bindings.md for the editor modeline and kubeconform.

Output is JSON (-o json, the default).`,
		Example: `  tenantctl schema binding > schema/runtime-tenant-binding.schema.json
  tenantctl schema environment -o json`,
		ValidArgs: []string{"binding", "environment"},
		Args:      invalidArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := schemaKinds[strings.ToLower(args[0])]
			if !ok {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("schema: unknown document %q (want binding or environment)", args[0]))
			}
			// A schema has one form, JSON: -o json, or the default (text, or empty from an empty
			// TENANTCTL_OUTPUT). It is a document of its own format, without the apiVersion/kind
			// envelope of the reports, so that it is the committed file byte for byte.
			if opts.output != "json" && opts.output != "text" && opts.output != "" {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("schema: unsupported output %q (want json)", opts.output))
			}
			data, err := isolation.JSONSchema(kind)
			if err != nil {
				return fmt.Errorf("schema: %w", err)
			}
			if _, err := cmd.OutOrStdout().Write(data); err != nil {
				return fmt.Errorf("schema: write: %w", err)
			}
			return nil
		},
	}
}
