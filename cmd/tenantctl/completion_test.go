package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// complete runs cobra's hidden __complete command, as the shell scripts of `tenantctl completion`
// do, and returns the offered values (descriptions cut off) and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("__complete %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %v: no directive in %q", args, out.String())
	}
	d, err := strconv.Atoi(last[1:])
	if err != nil {
		t.Fatalf("__complete %v: directive %q", args, last)
	}
	var values []string
	for _, l := range lines[:len(lines)-1] {
		if l == "" {
			continue
		}
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, cobra.ShellCompDirective(d)
}

func TestCompletion(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"drift check formats", nil, []string{"drift", "check", "-o", ""}, []string{"text", "json", "sarif", "junit", "github"}},
		{"drift merge formats, long flag", nil, []string{"drift", "merge", "--output", ""}, []string{"text", "json", "sarif", "junit", "github"}},
		{"isolation graph pictures", nil, []string{"isolation", "graph", "-o", ""}, []string{"html", "svg", "dot"}},
		{"up text or json", nil, []string{"up", "-o", ""}, []string{"text", "json"}},
		{"-o before the command", nil, []string{"-o", ""}, nil},
		{"a command without formats", nil, []string{"serve", "-o", ""}, nil},
		{"isolation graph views", nil, []string{"isolation", "graph", "--view", ""}, []string{"attention", "matrix", "focus", "full"}},

		{"environments", nil, []string{"-d", examplesDir, "up", "--env", ""}, []string{"dev", "prod"}},
		{"environments not given yet", nil, []string{"-d", examplesDir, "drift", "check", "--env", "dev", "--env", ""}, []string{"prod"}},
		{"environments of isolation verify", nil, []string{"isolation", "verify", "-d", examplesDir, "--env", ""}, []string{"dev", "prod"}},
		{"environments from TENANTCTL_DIR", map[string]string{"TENANTCTL_DIR": examplesDir}, []string{"status", "--env", ""}, []string{"dev", "prod"}},
		{"no desired state, no environments", nil, []string{"-d", t.TempDir(), "up", "--env", ""}, nil},

		{"tenants once each, sorted", nil, []string{"-d", examplesDir, "status", "--tenant", ""}, []string{"acme", "globex", "initech"}},
		{"tenants not given yet", nil, []string{"-d", examplesDir, "preview", "--tenant", "globex", "--tenant", ""}, []string{"acme", "initech"}},
		{"tenants of isolation graph", nil, []string{"-d", examplesDir, "isolation", "graph", "--tenant", ""}, []string{"acme", "globex", "initech"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, directive := complete(t, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("__complete %v (-want +got):\n%s", tc.args, diff)
			}
			if directive&cobra.ShellCompDirectiveNoFileComp == 0 {
				t.Errorf("__complete %v: directive %d offers file names", tc.args, directive)
			}
		})
	}
}

// TestCompletionOfTenantsFollowsEnv: a tenant bound in two environments is offered once, and with
// --env only the tenants bound there are offered.
func TestCompletionOfTenantsFollowsEnv(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := testenv.CopyDir(t, examplesDir)
	// A pool binding of acme in prod, as the API tests use.
	const acmeProd = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: RuntimeTenantBinding
metadata:
  name: acme-prod
spec:
  tenantId: acme
  environment: prod
  tier: pool
  quota:
    cpu: "1"
    memory: 2Gi
    pods: 10
  data:
    schema: acme
  secrets:
    - name: db-connection
      keyVaultRef: kv-connectsoft-prod
      secretName: acme-db-connection
`
	if err := os.WriteFile(filepath.Join(dir, "tenants", "acme-prod.yaml"), []byte(acmeProd), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, code := runTenantctl(t, "validate", dir); code != 0 {
		t.Fatalf("the test's desired state is invalid (exit %d)", code)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--tenant", ""}, []string{"acme", "globex", "initech"}},
		{[]string{"status", "--env", "prod", "--tenant", ""}, []string{"acme"}},
		{[]string{"status", "--env", "dev", "--tenant", ""}, []string{"acme", "globex", "initech"}},
		{[]string{"drift", "check", "--env", "prod", "--tenant", ""}, []string{"acme"}},
	} {
		got, _ := complete(t, append([]string{"-d", dir}, tc.args...)...)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("__complete %v (-want +got):\n%s", tc.args, diff)
		}
	}
}

// TestOutputCompletionMatchesCommands: every command path of outputFormats exists, and the
// commands that check -o before touching anything refuse a bad -o with exit 3 naming exactly the
// formats completion offers.
func TestOutputCompletionMatchesCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	root := newRootCmd()
	for path := range outputFormats {
		c, _, err := root.Find(strings.Fields(path)[1:])
		if err != nil || c.CommandPath() != path {
			t.Errorf("outputFormats names %q, which is not a command", path)
		}
	}
	report := shardReport(t, t.TempDir(), "c1", nil, "acme")
	// Never read: -o is checked first. It only gets past the check that a cluster is named.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"validate", examplesDir},
		{"tiers"},
		{"version"},
		{"schema", "binding"},
		{"drift", "check", "-d", examplesDir},
		{"drift", "merge", report},
		{"isolation", "verify", "-d", examplesDir, "--desired-only"},
		{"isolation", "graph", "-d", examplesDir, "--desired-only"},
		{"up", "-d", examplesDir, "--all", "--kubeconfig", kubeconfig},
		{"preview", "-d", examplesDir, "--all", "--kubeconfig", kubeconfig},
	} {
		path := "tenantctl " + strings.Join(args[:commandDepth(root, args)], " ")
		code, _, stderr := execTenantctl(t, context.Background(), append(args, "-o", "zz-bogus")...)
		if code != exitcode.Invalid {
			t.Errorf("%s -o zz-bogus: exit %d, want %d: %s", path, code, exitcode.Invalid, stderr)
			continue
		}
		formats := outputFormats[path]
		if len(formats) == 0 {
			t.Errorf("%s checks -o but outputFormats has no formats for it: %s", path, stderr)
		}
		for _, f := range formats {
			if !regexp.MustCompile(`\b` + f + `\b`).MatchString(stderr) {
				t.Errorf("%s: completion offers %q, which its error for a bad -o does not name: %s", path, f, stderr)
			}
		}
	}
}

// commandDepth is how many of args name commands (the rest are arguments and flags).
func commandDepth(root *cobra.Command, args []string) int {
	_, rest, err := root.Find(args)
	if err != nil {
		return 0
	}
	return len(args) - len(rest)
}
