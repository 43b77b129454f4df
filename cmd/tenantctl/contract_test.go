package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// exampleStacks are the stacks of examples/tenants.
var exampleStacks = []string{"platform.dev", "tenant.acme.dev", "tenant.globex.dev", "tenant.initech.dev"}

// offlineEnv is a machine without the tools and without any passphrase: the tool cache is an
// empty folder, PULUMI_CONFIG_PASSPHRASE(_FILE) and TENANTCTL_PASSPHRASE_FILE are unset, no
// kubeconfig and no local cluster exist, and config, state and data live in the test's folders.
// It returns the data dir (its file:// backend is the default backend).
func offlineEnv(t *testing.T) string {
	t.Helper()
	work := t.TempDir()
	tools := filepath.Join(work, "tools")
	if err := os.Mkdir(tools, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TENANTCTL_TOOLS_DIR", tools)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(work, "data"))
	t.Setenv("HOME", filepath.Join(work, "home"))
	t.Setenv("TENANTCTL_DATA_DIR", "")
	t.Setenv("TENANTCTL_AUDIT_SIGNING_KEY_FILE", "")
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "TENANTCTL_PASSPHRASE_FILE", "KUBECONFIG", "TENANTCTL_POSTGRES_CONNECTION", "TENANTCTL_OUTPUT"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	if err := toolchain.Default().CheckEngine(); err == nil {
		t.Fatal("the tool cache is not empty")
	}
	return filepath.Join(work, "data", "tenantctl")
}

// deployment is a recorded deployment of stack: its root resource with outputs, and a Namespace
// for tenant stacks (so a live namespace of the tenant is managed).
func deployment(stack string) map[string]any {
	root := map[string]any{"urn": "urn:pulumi:" + stack + "::tenantctl::pulumi:pulumi:Stack::tenantctl-" + stack,
		"custom": false, "type": "pulumi:pulumi:Stack", "outputs": map[string]any{"stack": stack}}
	return map[string]any{
		"manifest":  map[string]any{"time": "2026-01-02T03:04:05Z", "magic": "", "version": ""},
		"resources": []any{root},
	}
}

// writeCheckpoints fills the file:// backend under dataDir with a checkpoint of each stack, in
// Pulumi's project-scoped layout.
func writeCheckpoints(t *testing.T, dataDir string, stacks ...string) {
	t.Helper()
	dir := filepath.Join(dataDir, "state", ".pulumi", "stacks", "tenantctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		cp := map[string]any{"version": 3, "checkpoint": map[string]any{"stack": "organization/tenantctl/" + s, "latest": deployment(s)}}
		writeJSONFile(t, filepath.Join(dir, s+".json"), cp)
	}
}

// writeExports writes a `pulumi stack export` document per stack into a new folder.
func writeExports(t *testing.T, stacks ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range stacks {
		writeJSONFile(t, filepath.Join(dir, "export-"+s+".json"), map[string]any{"version": 3, "deployment": deployment(s)})
	}
	return dir
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// driftSnapshot is a live snapshot with one namespace no stack manages: a drift finding.
func driftSnapshot(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "snap.json")
	writeJSONFile(t, p, map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "stray", "namespace": "t-acme"}},
	}})
	return p
}

// TestOfflineCommandsNeedNoToolsNorPassphrase: read-only commands and the drift fast path read the
// state backend (or export files, or a snapshot) directly, so they work on a machine with neither
// the pulumi CLI, its plugins nor a passphrase, and never mention them.
func TestOfflineCommandsNeedNoToolsNorPassphrase(t *testing.T) {
	snap := driftSnapshot(t)
	exports := writeExports(t, exampleStacks...)
	tests := []struct {
		name      string
		args      []string
		backend   bool // the backend holds the example stacks
		wantCode  int
		wantInOut string
	}{
		{"status", []string{"status"}, true, exitcode.OK, "tenant.acme.dev"},
		{"status of an empty backend", []string{"status", "-o", "json"}, false, exitcode.OK, `"exists": false`},
		{"outputs", []string{"outputs", "--all", "-o", "json"}, true, exitcode.OK, `"stack": "tenant.globex.dev"`},
		{"drift check of a snapshot", []string{"drift", "check", "--inventory", snap}, true, exitcode.Findings, "stray"},
		{"drift check of a snapshot against state files", []string{"drift", "check", "--inventory", snap, "--state-file", exports, "-o", "json"}, false, exitcode.Findings, `"name": "stray"`},
		{"drift check against one state file", []string{"drift", "check", "--inventory", snap, "--tenant", "acme", "--state-file", filepath.Join(exports, "export-tenant.acme.dev.json")}, false, exitcode.Findings, "stray"},
		{"drift baseline", []string{"drift", "baseline", "--inventory", snap, "--out", filepath.Join(t.TempDir(), "ignore")}, true, exitcode.OK, ""},
		{"isolation verify of a snapshot", []string{"isolation", "verify", "--inventory", snap}, false, exitcode.OK, "environment dev"},
		{"isolation graph of a snapshot", []string{"isolation", "graph", "--inventory", snap, "-o", "dot"}, false, exitcode.OK, "digraph"},
		{"isolation verify of the desired state", []string{"isolation", "verify", "--desired-only"}, false, exitcode.OK, "environment dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := offlineEnv(t)
			if tt.backend {
				writeCheckpoints(t, dataDir, exampleStacks...)
			}
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantInOut) {
				t.Fatalf("exit %d (want %d), stdout should contain %q:\n%s\nstderr:\n%s", code, tt.wantCode, tt.wantInOut, stdout, stderr)
			}
			for _, bad := range []string{"passphrase", "tool missing", "make ", "pulumi CLI", "never been provisioned"} {
				if strings.Contains(stdout+stderr, bad) {
					t.Errorf("output mentions %q:\n%s\n%s", bad, stdout, stderr)
				}
			}
		})
	}
}

// TestEngineCommandsCheckToolsAtTheirPointOfUse: commands that run the engine say what is
// missing, and how to get it without this repository's Makefile.
func TestEngineCommandsCheckToolsAtTheirPointOfUse(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig") // never read: the engine is refused first
	pass := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(pass, []byte("p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"up without a passphrase", []string{"up", "--all", "--kubeconfig", kubeconfig}, exitcode.Invalid,
			[]string{"--passphrase-file", "PULUMI_CONFIG_PASSPHRASE"}},
		{"up without the tools", []string{"up", "--all", "--kubeconfig", kubeconfig, "--passphrase-file", pass}, exitcode.Failed,
			[]string{"tool missing", "pulumi-v" + strings.TrimPrefix(toolchain.PulumiVersion, "v"), "TENANTCTL_TOOLS_DIR", "tenantctl version"}},
		{"preview without the tools", []string{"preview", "--all", "--kubeconfig", kubeconfig, "--passphrase-file", pass, "-o", "json"}, exitcode.Failed,
			[]string{"tool missing", "TENANTCTL_TOOLS_DIR"}},
		{"drift check --engine-only without the tools", []string{"drift", "check", "--engine-only", "--kubeconfig", kubeconfig, "--passphrase-file", pass}, exitcode.Failed,
			[]string{"tool missing", "TENANTCTL_TOOLS_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offlineEnv(t)
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "make ") {
				t.Errorf("a released binary tells the user to run make:\n%s", stderr)
			}
		})
	}
}

// TestErrorsSayWhatToDo: the messages of issue 19 item 4 name the real cause and the command or
// flag that fixes it.
func TestErrorsSayWhatToDo(t *testing.T) {
	snap := driftSnapshot(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		notWant  []string
	}{
		{"a stack never provisioned", []string{"drift", "check", "--inventory", snap, "-o", "github"}, exitcode.Failed,
			[]string{"stack tenant.acme.dev has never been provisioned (run tenantctl up --tenant acme --env dev)",
				"stack platform.dev has never been provisioned (run tenantctl up --all --env dev)", "not checked (pulumi)"},
			[]string{"unreachable"}},
		{"a stack never provisioned, as text", []string{"drift", "check", "--inventory", snap}, exitcode.Failed,
			[]string{"has never been provisioned (run tenantctl up --tenant globex --env dev)"}, []string{"unreachable"}},
		{"isolation verify without a cluster", []string{"isolation", "verify"}, exitcode.Invalid,
			[]string{"--kubeconfig", "KUBECONFIG", "tenantctl local-cluster up", "not running", "--inventory", "--desired-only"},
			[]string{"KUBERNETES_MASTER"}},
		{"isolation graph without a cluster", []string{"isolation", "graph", "-o", "dot"}, exitcode.Invalid,
			[]string{"--kubeconfig", "tenantctl local-cluster up"}, []string{"KUBERNETES_MASTER"}},
		{"inventory export without a cluster", []string{"inventory", "export"}, exitcode.Invalid,
			[]string{"--kubeconfig", "KUBECONFIG", "tenantctl local-cluster up"}, []string{"KUBERNETES_MASTER"}},
		{"up without a cluster", []string{"up", "--all"}, exitcode.Invalid,
			[]string{"tenantctl local-cluster up", "--kubeconfig"}, []string{"make "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offlineEnv(t)
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output does not say %q:\n%s\n%s", w, stdout, stderr)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(stdout+stderr, w) {
					t.Errorf("output says %q:\n%s\n%s", w, stdout, stderr)
				}
			}
		})
	}
}

// TestJSONEnvelope: every document a command prints with -o json is valid JSON carrying the
// envelope (apiVersion tenantctl.io/v1 and its kind) and, where it is about the desired state,
// the revision (commit, dirty). Commands that need a cluster, a vault or the engine are covered by
// their integration tests; this table runs every one that works offline.
func TestJSONEnvelope(t *testing.T) {
	snap := driftSnapshot(t)
	auditLog, _ := auditFixture(t)
	shard := shardReport(t, t.TempDir(), "c1", nil, "acme")
	tests := []struct {
		name     string
		args     []string
		backend  bool
		wantCode int
		kind     string
		revision bool // carries commit and dirty
	}{
		// the binary's own commit and dirty; a test binary has no VCS stamp, so commit is omitted
		{"version", []string{"version"}, false, exitcode.OK, "Version", false},
		{"validate", []string{"validate", examplesDir}, false, exitcode.OK, kindValidation, true},
		{"validate invalid", []string{"validate", "../../examples/nope"}, false, exitcode.Invalid, kindValidation, true},
		{"list", []string{"list"}, false, exitcode.OK, kindTenantList, true},
		{"tiers", []string{"tiers"}, false, exitcode.OK, kindTiers, false},
		{"status", []string{"status"}, true, exitcode.OK, kindStatus, true},
		{"outputs", []string{"outputs", "--all"}, true, exitcode.OK, kindOutputs, true},
		{"isolation verify", []string{"isolation", "verify", "--inventory", snap}, false, exitcode.OK, kindIsolationReport, true},
		{"drift check", []string{"drift", "check", "--inventory", snap}, true, exitcode.Findings, "DriftReport", true},
		{"drift merge", []string{"drift", "merge", shard}, false, exitcode.OK, "DriftReport", true},
		{"drift baseline", []string{"drift", "baseline", "--inventory", snap, "--out", filepath.Join(t.TempDir(), "ignore")}, true, exitcode.OK, kindBaseline, true},
		{"audit verify", []string{"audit", "verify", auditLog}, false, exitcode.OK, kindAuditVerification, false},
		{"audit head", []string{"audit", "head", auditLog}, false, exitcode.OK, kindAuditHead, false},
		{"audit query", []string{"audit", "query", "--file", auditLog}, false, exitcode.OK, kindAuditRecords, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := offlineEnv(t)
			if tt.backend {
				writeCheckpoints(t, dataDir, exampleStacks...)
			}
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir, "-o", "json"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			requireEnvelope(t, stdout, tt.kind, tt.revision)
		})
	}
}

func TestWriteDocument(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"fields keep their order", struct {
			B int `json:"b"`
			A int `json:"a"`
		}{1, 2}, `{"apiVersion":"tenantctl.io/v1","kind":"K","b":1,"a":2}`},
		{"empty object", struct{}{}, `{"apiVersion":"tenantctl.io/v1","kind":"K"}`},
		{"map", map[string]any{"z": "<x>"}, `{"apiVersion":"tenantctl.io/v1","kind":"K","z":"<x>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeDocument(&b, "K", tt.v); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, b.Bytes()); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b.String())
			}
			if compact.String() != tt.want {
				t.Errorf("got %s, want %s", compact.String(), tt.want)
			}
		})
	}
	if err := writeDocument(&bytes.Buffer{}, "K", []int{1}); exitCodeOf(err) != exitcode.Failed {
		t.Errorf("a list is no document: err %v", err)
	}
}

// TestOutputAndEnvFlagsHaveOneMeaning: -o is an output format on every command, --out names a file,
// and --env is repeatable and comma-separated wherever it exists.
func TestOutputAndEnvFlagsHaveOneMeaning(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if o := c.Flags().Lookup("output"); o != nil && o.Usage != "output format" {
			t.Errorf("%s: -o/--output is %q, not the output format", c.CommandPath(), o.Usage)
		}
		if e := c.Flags().Lookup("env"); e != nil && e.Value.Type() != "stringSlice" {
			t.Errorf("%s: --env is a %s, want repeatable (stringSlice)", c.CommandPath(), e.Value.Type())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd())

	// --env repeats and splits on commas; an unknown environment is invalid input wherever it is given
	for _, args := range [][]string{
		{"status", "--env", "dev", "--env", "nope"},
		{"status", "--env", "dev,nope"},
		{"drift", "check", "--inventory", driftSnapshot(t), "--env", "dev,nope"},
		{"outputs", "--all", "--env", "nope"},
	} {
		offlineEnv(t)
		code, _, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir}, args...)...)
		if code != exitcode.Invalid || !strings.Contains(stderr, "--env nope") {
			t.Errorf("%v: exit %d, want %d naming --env nope:\n%s", args, code, exitcode.Invalid, stderr)
		}
	}
	dataDir := offlineEnv(t)
	writeCheckpoints(t, dataDir, exampleStacks...)
	code, stdout, stderr := execTenantctl(t, context.Background(), "-d", examplesDir, "status", "--env", "dev,dev", "-o", "json")
	if code != exitcode.OK || strings.Count(stdout, `"stack": `) != len(exampleStacks) {
		t.Errorf("status --env dev,dev: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestLegacyOutputFileStillWorks: -o FILE of drift baseline keeps working for one release, with a
// deprecation warning, and -o is then no format; --format of inventory export is deprecated too.
func TestLegacyOutputFileStillWorks(t *testing.T) {
	dataDir := offlineEnv(t)
	writeCheckpoints(t, dataDir, exampleStacks...)
	file := filepath.Join(t.TempDir(), "ignore")
	code, _, stderr := execTenantctl(t, context.Background(), "-d", examplesDir, "drift", "baseline", "--inventory", driftSnapshot(t), "-o", file)
	if code != exitcode.OK || !strings.Contains(stderr, "deprecated") || !strings.Contains(stderr, "--out "+file) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "stray") {
		t.Errorf("baseline file: %v\n%s", err, b)
	}
	// a bare word is a mistyped format, never a file name
	for _, args := range [][]string{
		{"drift", "baseline", "--inventory", driftSnapshot(t), "-o", "xml"},
		{"inventory", "export", "-o", "xml"},
		{"inventory", "export", "-o", "text"},
	} {
		code, _, stderr := execTenantctl(t, context.Background(), append([]string{"-d", examplesDir}, args...)...)
		if code != exitcode.Invalid || strings.Contains(stderr, "deprecated") {
			t.Errorf("%v: exit %d, want %d without a deprecation:\n%s", args, code, exitcode.Invalid, stderr)
		}
		if _, err := os.Stat("xml"); err == nil {
			t.Errorf("%v wrote a file named xml", args)
		}
	}
	var flagOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"inventory", "export", "--format", "yaml"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	export, _, err := root.Find([]string{"inventory", "export"})
	if err != nil {
		t.Fatal(err)
	}
	export.Flags().SetOutput(&flagOut) // pflag prints deprecations to the flag set's output
	err = root.ExecuteContext(context.Background())
	if code = exitCodeOf(err); !strings.Contains(flagOut.String(), "--format has been deprecated, use -o json|yaml") {
		t.Errorf("inventory export --format: exit %d (%v), no deprecation warning: %q", code, err, flagOut.String())
	}
}

// TestUsageErrorsExitInvalidEverywhere: an unknown flag, and for a group an unknown subcommand,
// exit 3 on every command of the tree, before anything runs.
func TestUsageErrorsExitInvalidEverywhere(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Name() == "help" || c.Hidden {
			return
		}
		paths = append(paths, path)
		for _, s := range c.Commands() {
			walk(s, append(slices.Clone(path), s.Name()))
		}
	}
	walk(newRootCmd(), nil)
	if len(paths) < 30 {
		t.Fatalf("walked only %d commands", len(paths))
	}
	for _, p := range paths {
		cases := [][]string{append(slices.Clone(p), "--no-such-flag")}
		root := newRootCmd()
		c, _, err := root.Find(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.HasSubCommands() {
			cases = append(cases, append(slices.Clone(p), "no-such-command"))
		}
		for _, args := range cases {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				offlineEnv(t)
				code, stdout, stderr := execTenantctl(t, context.Background(), args...)
				if code != exitcode.Invalid {
					t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitcode.Invalid, stdout, stderr)
				}
				if !strings.Contains(stderr, "--help") {
					t.Errorf("the error does not point at --help:\n%s", stderr)
				}
			})
		}
	}
}
