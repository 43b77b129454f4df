package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
)

func policyObj(ns, name string, spec map[string]any) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec,
	}}
}

// crossTenantSnapshot writes the dev environment as the programs create it plus a policy pair
// opening acme → globex on TCP 5432, as an inventory file.
func crossTenantSnapshot(t *testing.T) string {
	t.Helper()
	st, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := reach.PlannedSnapshot(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	tenant := func(id string) map[string]any {
		return map[string]any{"matchLabels": map[string]any{"tenantctl.io/tenant": id}}
	}
	snap.Kubernetes = append(snap.Kubernetes,
		policyObj("t-globex", "from-acme", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": tenant("acme")}}}}}),
		policyObj("t-acme", "to-globex", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"namespaceSelector": tenant("globex")}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(5432)}}}}}))
	path := filepath.Join(t.TempDir(), "snapshot.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := inventory.Write(f, snap); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIsolationVerify(t *testing.T) {
	snap := crossTenantSnapshot(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"desired state of the examples is isolated", []string{"isolation", "verify", "-d", examplesDir, "--desired-only"}, exitcode.OK,
			[]string{"environment dev (desired", "0 unexpected, 0 unknown, 6 allowed", "allowed     platform → acme networkpolicy * (platform route: platform ingress)"}},
		{"a cross-tenant policy pair fails with its evidence", []string{"isolation", "verify", "-d", examplesDir, "--inventory", snap}, exitcode.Findings,
			[]string{"UNEXPECTED  acme → globex networkpolicy TCP/5432", "networking.k8s.io/v1/NetworkPolicy t-globex/from-acme", "networking.k8s.io/v1/NetworkPolicy t-acme/to-globex", "← opens the route"}},
		{"inventory and desired-only exclude each other", []string{"isolation", "verify", "-d", examplesDir, "--inventory", snap, "--desired-only"}, exitcode.Invalid, nil},
		{"missing inventory file", []string{"isolation", "verify", "-d", examplesDir, "--inventory", filepath.Join(t.TempDir(), "nope.json")}, exitcode.Invalid, nil},
		{"invalid desired state", []string{"isolation", "verify", "-d", invalidExamplesDir, "--desired-only"}, exitcode.Invalid, nil},
		{"unknown environment", []string{"isolation", "verify", "-d", examplesDir, "--desired-only", "--env", "staging"}, exitcode.Invalid, nil},
		{"unsupported output", []string{"isolation", "verify", "-d", examplesDir, "--desired-only", "-o", "yaml"}, exitcode.Invalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runTenantctl(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestIsolationVerifyJSON(t *testing.T) {
	out, code := runTenantctl(t, "isolation", "verify", "-d", examplesDir, "--inventory", crossTenantSnapshot(t), "-o", "json")
	if code != exitcode.Findings {
		t.Fatalf("exit code = %d, want %d", code, exitcode.Findings)
	}
	var r struct {
		Failing bool           `json:"failing"`
		Graphs  []*reach.Graph `json:"graphs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !r.Failing || len(r.Graphs) != 1 || r.Graphs[0].Environment != "dev" {
		t.Fatalf("report: failing=%v graphs=%d", r.Failing, len(r.Graphs))
	}
	var unexpected []string
	for _, e := range r.Graphs[0].Edges {
		if e.Verdict == reach.VerdictUnexpected {
			unexpected = append(unexpected, e.From+"→"+e.To+" "+e.Ports.String())
		}
	}
	if strings.Join(unexpected, ";") != "acme→globex TCP/5432" {
		t.Errorf("unexpected edges = %v", unexpected)
	}
}

func TestIsolationGraph(t *testing.T) {
	snap := crossTenantSnapshot(t)
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		file   string
		prefix string
	}{
		{"dot to stdout", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "-o", "dot"}, exitcode.OK, "", "digraph reachability {"},
		{"svg to stdout", []string{"isolation", "graph", "-d", examplesDir, "--inventory", snap, "-o", "svg"}, exitcode.OK, "", "<svg xmlns="},
		{"html by default, to a file", []string{"isolation", "graph", "-d", examplesDir, "--inventory", snap, "--out", filepath.Join(dir, "g.html")}, exitcode.OK, filepath.Join(dir, "g.html"), "<!DOCTYPE html>"},
		{"text is not a picture", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "-o", "text"}, exitcode.Invalid, "", ""},
		{"one environment only", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "--env", "dev", "--env", "prod"}, exitcode.Invalid, "", ""},
		{"focus on a tenant", []string{"isolation", "graph", "-d", examplesDir, "--inventory", snap, "--tenant", "acme", "--out", filepath.Join(dir, "focus.html")}, exitcode.OK, filepath.Join(dir, "focus.html"), "<!DOCTYPE html>"},
		{"matrix view", []string{"isolation", "graph", "-d", examplesDir, "--inventory", snap, "--view", "matrix", "--out", filepath.Join(dir, "matrix.html")}, exitcode.OK, filepath.Join(dir, "matrix.html"), "<!DOCTYPE html>"},
		{"focus svg", []string{"isolation", "graph", "-d", examplesDir, "--inventory", snap, "--tenant", "globex", "-o", "svg"}, exitcode.OK, "", "<svg xmlns="},
		{"unknown view", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "--view", "pie"}, exitcode.Invalid, "", ""},
		{"focus needs a tenant", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "--view", "focus"}, exitcode.Invalid, "", ""},
		{"focus on a tenant the graph lacks", []string{"isolation", "graph", "-d", examplesDir, "--desired-only", "--tenant", "nobody"}, exitcode.Invalid, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runTenantctl(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code = %d, want %d; output:\n%.500s", code, tc.code, out)
			}
			if tc.file != "" {
				b, err := os.ReadFile(tc.file)
				if err != nil {
					t.Fatal(err)
				}
				out = string(b)
			}
			if !strings.HasPrefix(out, tc.prefix) {
				t.Errorf("output starts %.80q, want %q", out, tc.prefix)
			}
			if strings.Contains(tc.name, "focus on a tenant") && tc.code == exitcode.OK && !strings.Contains(out, `data-default-view="focus"`) {
				t.Errorf("the page does not open on the focus view")
			}
			for _, u := range regexp.MustCompile(`https?://[^\s"'<>]+`).FindAllString(out, -1) {
				if u != "http://www.w3.org/2000/svg" {
					t.Errorf("output references %s", u)
				}
			}
		})
	}
}
