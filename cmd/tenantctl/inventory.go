package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func init() { register(newInventoryCmd) }

func newInventoryCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Read the live objects of the tenant scopes into a snapshot file (for offline drift checks and audits)",
	}
	cmd.AddCommand(newInventoryExportCmd(opts))
	return cmd
}

type exportOptions struct {
	kubeconfig, kubeContext string
	file, format            string
	namespaces, types       []string
	azureFiles              []string
	allNamespaces           bool
	pageSize                int64
	parallel                int
}

func newInventoryExportCmd(opts *globalOptions) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export [--out FILE] [-o json|yaml]",
		Short: "Write an inventory snapshot of the cluster's tenant scopes",
		Long: `Export lists every inventoried Kubernetes type once across all namespaces (paginated, in
parallel) and keeps the tenant scopes: every Namespace, the objects of namespaces named t-<tenantId>
or labelled by tenantctl, the shared and ingress namespaces of the environments in --dir, and
cluster-scoped objects labelled by tenantctl. Secrets are listed metadata-only: their data never
leaves the API server. ARM JSON files given with --azure (az resource list, or {"value": [...]}
pages) are merged in.

The snapshot (apiVersion inventory.tenantctl.io/v1, kind Snapshot; see docs/drift-detection.md)
goes to --out FILE, else to stdout; -o json or -o yaml chooses the format (default: by FILE's
extension, else json). It is what "tenantctl drift check --inventory FILE" reads.

Exit codes: 0 written, 1 the cluster could not be read (nothing is written), 3 invalid flags.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if legacy := legacyOutFile(cmd, opts, "json", "yaml", "text"); legacy != "" && o.file == "" {
				o.file = legacy
			}
			// -o given (on the command line, or json/yaml from TENANTCTL_OUTPUT or the config
			// file) chooses the format; the global default "text" means "by the file's extension".
			switch {
			case opts.output != "" && opts.output != "text" && opts.output != "json" && opts.output != "yaml":
				return exitcode.With(exitcode.Invalid, fmt.Errorf("inventory export: unsupported output %q (want json or yaml)", opts.output))
			case cmd.Flags().Changed("output") && opts.output == "text":
				return exitcode.With(exitcode.Invalid, errors.New("inventory export: -o text: a snapshot is json or yaml"))
			case o.format == "" && (opts.output == "json" || opts.output == "yaml"):
				o.format = opts.output
			}
			return runInventoryExport(cmd, opts, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "out", "", "snapshot file (default: stdout)")
	f.StringVar(&o.format, "format", "", "json or yaml (default: by the file's extension, else json)")
	_ = f.MarkDeprecated("format", "use -o json|yaml")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&o.kubeContext, "context", "", "kubeconfig context (default: the current one)")
	f.StringSliceVar(&o.namespaces, "namespace", nil, "additional namespaces to keep, whatever their labels (repeatable)")
	f.BoolVar(&o.allNamespaces, "all-namespaces", false, "keep every namespace's objects, not only the tenant scopes")
	f.StringSliceVar(&o.types, "types", nil, "resource types to list (default: all inventoried types), e.g. networkpolicies,configmaps")
	f.StringSliceVar(&o.azureFiles, "azure", nil, "ARM JSON file to merge in (repeatable)")
	f.Int64Var(&o.pageSize, "page-size", 500, "objects per LIST page")
	f.IntVar(&o.parallel, "parallel", 4, "types listed at once")
	return cmd
}

func runInventoryExport(cmd *cobra.Command, g *globalOptions, o exportOptions) error {
	format, err := snapshotFormat(o.format, o.file)
	if err != nil {
		return err
	}
	readerOpts := []kube.Option{kube.WithPageSize(o.pageSize), kube.WithParallel(o.parallel), kube.WithNamespaces(o.namespaces...)}
	if o.allNamespaces {
		readerOpts = append(readerOpts, kube.WithAllNamespaces())
	}
	if len(o.types) > 0 {
		types, err := kube.ParseTypes(o.types)
		if err != nil {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("inventory export: --types: %w", err))
		}
		readerOpts = append(readerOpts, kube.WithTypes(types...))
	}
	platformNS, err := platformNamespaces(cmd, g.dir)
	if err != nil {
		return err
	}
	readerOpts = append(readerOpts, kube.WithNamespaces(platformNS...))
	var azure []*inventory.Snapshot
	for _, file := range o.azureFiles {
		s, err := inventory.ReadFile(file)
		if err != nil {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("inventory export: --azure: %w", err))
		}
		azure = append(azure, &inventory.Snapshot{Azure: s.Azure})
	}

	cfg, err := clusterConfig(cmd, o.kubeconfig, o.kubeContext, "")
	if err != nil {
		if exitCodeOf(err) == exitcode.Invalid {
			return fmt.Errorf("inventory export: %w", err)
		}
		return exitcode.With(exitcode.Failed, fmt.Errorf("inventory export: %w", err))
	}
	r, err := kube.NewReader(cfg, readerOpts...)
	if err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("inventory export: %w", err))
	}
	snap, err := r.Read(cmd.Context())
	if err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("inventory export from %s: %w", cfg.Host, err))
	}
	if len(azure) > 0 {
		collected, coverage := snap.CollectedAt, snap.Coverage
		snap = inventory.Merge(append([]*inventory.Snapshot{snap}, azure...)...)
		snap.CollectedAt, snap.Coverage = collected, coverage
	}
	write := inventory.Write
	if format == "yaml" {
		write = inventory.WriteYAML
	}
	if o.file == "" {
		return write(cmd.OutOrStdout(), snap)
	}
	if err := writeFileAtomic(o.file, privateFile, func(w io.Writer) error { return write(w, snap) }); err != nil {
		return fmt.Errorf("inventory export: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d Kubernetes object(s) of %d type(s) and %d Azure resource(s) to %s\n",
		len(snap.Kubernetes), len(snap.Coverage.Types), len(snap.Azure), o.file)
	return nil
}

func snapshotFormat(format, file string) (string, error) {
	switch strings.ToLower(format) {
	case "json", "yaml":
		return strings.ToLower(format), nil
	case "":
		switch strings.ToLower(filepath.Ext(file)) {
		case ".yaml", ".yml":
			return "yaml", nil
		}
		return "json", nil
	}
	return "", exitcode.With(exitcode.Invalid, fmt.Errorf("inventory export: --format %q: want json or yaml", format))
}

// platformNamespaces are the shared and ingress namespaces of the environments in dir: they stay
// in scope even if someone strips their labels. A dir that does not exist (the default outside a
// desired-state checkout) adds nothing unless it was given explicitly.
func platformNamespaces(cmd *cobra.Command, dir string) ([]string, error) {
	explicit := cmd.Flags().Changed("dir")
	if _, err := os.Stat(dir); err != nil && !explicit {
		return nil, nil
	}
	state, err := isolation.Load(cmd.Context(), dir)
	if err != nil {
		return nil, fmt.Errorf("inventory export: %w", err)
	}
	var out []string
	for _, env := range state.Environments {
		out = append(out, tenantplan.SharedNamespace(env), tenantplan.IngressNamespace(env))
	}
	return out, nil
}
