package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/buildinfo"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func init() { register(newVersionCmd) }

func newVersionCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tenantctl's version, commit and the tool versions it expects",
		Example: `  tenantctl version
  tenantctl version -o json | jq -r .commit`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Get()
			w := cmd.OutOrStdout()
			switch opts.output {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			case "text", "":
				dirty := ""
				if in.Dirty {
					dirty = " (dirty)"
				}
				fmt.Fprintf(w, "tenantctl %s\n", in.Version)
				fmt.Fprintf(w, "commit:   %s%s\n", orUnknown(in.Commit), dirty)
				fmt.Fprintf(w, "built:    %s\n", orUnknown(in.Date))
				fmt.Fprintf(w, "go:       %s %s\n", in.Go, in.Platform)
				fmt.Fprintf(w, "expects:  pulumi %s, kubernetes provider %s, tenantpg provider %s, azure-native %s, kube-apiserver %s\n",
					in.Expects.Pulumi, in.Expects.KubernetesProvider, in.Expects.TenantPGProvider, in.Expects.AzureNative, in.Expects.Kubernetes)
				return nil
			default:
				return exitcode.With(exitcode.Invalid, fmt.Errorf("output format %q: version prints text or json", opts.output))
			}
		},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
