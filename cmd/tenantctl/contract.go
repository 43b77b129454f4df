package main

// The CLI contract CI pipelines script against (docs/cli-contract.md): one meaning per flag
// across commands, and one envelope for every JSON document a command prints.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/inventory/kube"
)

// apiVersion is the envelope of every JSON document tenantctl prints with -o json: the group-less
// tenantctl.io/v1 that `tenantctl version -o json` (kind Version) started with. Files with a
// format of their own keep theirs (inventory snapshots: inventory.tenantctl.io/v1 Snapshot).
// Additive changes keep v1; removing or renaming a field bumps it.
const apiVersion = "tenantctl.io/v1"

// The kinds of the documents, one per command output (docs/cli-contract.md lists them).
const (
	kindValidation        = "ValidationReport"
	kindTenantList        = "TenantList"
	kindStatus            = "StackStatusList"
	kindOutputs           = "StackOutputs"
	kindTiers             = "TierMatrix"
	kindOperation         = "OperationResult"
	kindIsolationReport   = "IsolationReport"
	kindProbeReport       = "ProbeReport"
	kindAuditVerification = "AuditVerification"
	kindAuditHead         = "AuditHead"
	kindAuditRecords      = "AuditRecordList"
	kindSecretsStatus     = "SecretStatus"
	kindRotation          = "RotationResult"
	kindBaseline          = "DriftBaseline"
	kindRemediation       = "RemediationResult"
	kindRemediationPlan   = "RemediationPlanSummary"
)

// writeDocument writes v as one indented JSON document whose first fields are apiVersion and
// kind, followed by v's own fields in their order. v must encode as a JSON object: lists are
// wrapped by the caller (items), so every document can grow fields without breaking readers.
func writeDocument(w io.Writer, kind string, v any) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("encode %s: %w", kind, err))
	}
	raw := bytes.TrimSpace(body.Bytes())
	if len(raw) < 2 || raw[0] != '{' {
		return exitcode.With(exitcode.Failed, fmt.Errorf("encode %s: a document must be a JSON object", kind))
	}
	head, err := json.Marshal(struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}{apiVersion, kind})
	if err != nil {
		return exitcode.With(exitcode.Failed, err)
	}
	// {"apiVersion":…,"kind":…  then  ,"field":…}  or  }
	doc := append([]byte{}, head[:len(head)-1]...)
	if inner := bytes.TrimSpace(raw[1 : len(raw)-1]); len(inner) > 0 {
		doc = append(doc, ',')
	}
	doc = append(doc, raw[1:]...)
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("encode %s: %w", kind, err))
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// revisionFields are the desired-state revision every document about the desired state carries:
// the Git commit and whether the working tree had uncommitted changes.
type revisionFields struct {
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
}

// addEnvFlag adds --env with the one rule every command follows: repeatable and comma-separated,
// none meaning every environment.
func addEnvFlag(cmd *cobra.Command, envs *[]string) {
	cmd.Flags().StringSliceVar(envs, "env", nil, "only these environments (repeatable or comma-separated; default every environment)")
}

// outputFormat checks -o against the formats a command writes and returns it; "" (from an empty
// TENANTCTL_OUTPUT) is the command's first format.
func outputFormat(cmd *cobra.Command, g *globalOptions, formats ...string) (string, error) {
	f := g.output
	if f == "" {
		return formats[0], nil
	}
	if !slices.Contains(formats, f) {
		return "", exitcode.With(exitcode.Invalid, fmt.Errorf("%s: unsupported output %q (want %s)", cmd.CommandPath(), f, strings.Join(formats, ", ")))
	}
	return f, nil
}

// legacyOutFile keeps `-o FILE` of commands where -o used to name a file (inventory export, drift
// baseline) working for one release: a value given on the command line that is none of the
// command's formats and looks like a path (has a dot or a slash) is taken as the --out file,
// with a warning. It returns the file ("" when -o
// is a format) and clears g.output to the default then.
func legacyOutFile(cmd *cobra.Command, g *globalOptions, formats ...string) string {
	if !cmd.Flags().Changed("output") || slices.Contains(formats, g.output) || g.output == "" {
		return ""
	}
	// a bare word (-o xml) is a mistyped format, not a file
	if !strings.ContainsAny(g.output, "./"+string(filepath.Separator)) {
		return ""
	}
	file := g.output
	fmt.Fprintf(cmd.ErrOrStderr(), "Flag -o/--output as a file name is deprecated: -o is the output format (%s); use --out %s (the old form stops working in the next release)\n",
		strings.Join(formats, "|"), file)
	g.output = ""
	return file
}

// clusterConfig is the live cluster of the commands that read one directly (isolation verify and
// graph, inventory export): --kubeconfig/--context, else $KUBECONFIG, ~/.kube/config or the
// in-cluster config, else the running local cluster. With none of these, the error names the
// flags and variables that give a cluster (and the offline alternatives, when the command has
// them) instead of client-go's "try setting KUBERNETES_MASTER".
func clusterConfig(cmd *cobra.Command, kubeconfig, kubeContext, offline string) (*rest.Config, error) {
	cfg, err := kube.RESTConfig(kubeconfig, kubeContext)
	if err == nil || !emptyKubeconfig(err) {
		return cfg, err
	}
	if kc, ok := localcluster.Running(cmd.Context(), defaultClusterDir()); ok {
		return kube.RESTConfig(kc, kubeContext)
	}
	msg := "no cluster to read: pass --kubeconfig FILE, set KUBECONFIG, or start the local cluster with `tenantctl local-cluster up` (it is not running)"
	if offline != "" {
		msg += "; " + offline
	}
	return nil, exitcode.With(exitcode.Invalid, errors.New(msg))
}

// emptyKubeconfig reports whether err says that no kubeconfig was found at all (clientcmd's
// ErrEmptyConfig, which it does not expose to errors.Is).
func emptyKubeconfig(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if clientcmd.IsEmptyConfig(err) {
			return true
		}
	}
	return false
}
