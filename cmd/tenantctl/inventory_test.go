package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory"
)

// fakeCluster answers LISTs like kube-apiserver: namespaces and config maps hold objects, every
// other type is empty.
func fakeCluster(t *testing.T) string {
	t.Helper()
	objects := map[string][]any{
		"/api/v1/namespaces": {
			map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "t-acme", "labels": map[string]any{"tenantctl.io/tenant": "acme"}}},
			map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "kube-system"}},
			map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "platform-ingress"}},
		},
		"/api/v1/configmaps": {
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cache", "namespace": "t-acme"}, "data": map[string]any{"size": "10"}},
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "coredns", "namespace": "kube-system"}},
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "proxy", "namespace": "platform-ingress"}},
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": objects[r.URL.Path]}
		if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList") {
			list["apiVersion"], list["kind"], list["items"] = "meta.k8s.io/v1", "PartialObjectMetadataList", []any{}
		}
		if list["items"] == nil {
			list["items"] = []any{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(srv.Close)
	return kubeconfigFor(t, srv.URL)
}

func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "` + server + `"}}]
users: [{name: u, user: {token: test}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

func snapshotNames(s *inventory.Snapshot) []string {
	var out []string
	for i := range s.Kubernetes {
		out = append(out, inventory.KeyOf(&s.Kubernetes[i]).String())
	}
	return out
}

func TestInventoryExport(t *testing.T) {
	kc := fakeCluster(t)
	dir := t.TempDir()
	arm := filepath.Join(dir, "arm.json")
	if err := os.WriteFile(arm, []byte(`{"value":[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v","name":"v","type":"Microsoft.Network/virtualNetworks"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// the dev environment in the examples names platform-ingress, which is unlabelled here
	out := filepath.Join(dir, "snap.yaml")
	if _, code := runTenantctl(t, "-d", examplesDir, "inventory", "export", "--kubeconfig", kc, "--types", "configmaps", "--azure", arm, "--out", out); code != exitcode.OK {
		t.Fatalf("export exit code %d", code)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file mode %v (%v), want 0600: it holds ConfigMap values", fi.Mode().Perm(), err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "apiVersion: inventory.tenantctl.io/v1") {
		t.Errorf("not a YAML snapshot:\n%s", raw)
	}
	snap, err := inventory.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ConfigMap platform-ingress/proxy", "ConfigMap t-acme/cache", "Namespace kube-system", "Namespace platform-ingress", "Namespace t-acme"}
	if diff := cmp.Diff(want, snapshotNames(snap)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(snap.Azure) != 1 || snap.Coverage == nil || !cmp.Equal(snap.Coverage.Types, []string{"v1/ConfigMap", "v1/Namespace"}) {
		t.Errorf("azure %d, coverage %+v", len(snap.Azure), snap.Coverage)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file mode: %v %v", info.Mode(), err)
	}

	// -o is the format, also for stdout; a file named with the old -o FILE still gets written
	stdout, code := runTenantctl(t, "-d", examplesDir, "inventory", "export", "--kubeconfig", kc, "--types", "configmaps", "-o", "yaml")
	if code != exitcode.OK || !strings.HasPrefix(stdout, "apiVersion: inventory.tenantctl.io/v1") {
		t.Errorf("-o yaml to stdout: exit %d\n%.200s", code, stdout)
	}
	legacy := filepath.Join(t.TempDir(), "legacy.json")
	if _, code := runTenantctl(t, "-d", examplesDir, "inventory", "export", "--kubeconfig", kc, "--types", "configmaps", "-o", legacy); code != exitcode.OK {
		t.Errorf("-o FILE: exit %d", code)
	} else if _, err := inventory.ReadFile(legacy); err != nil {
		t.Errorf("-o FILE: %v", err)
	}

	// without -o the JSON snapshot goes to stdout; TENANTCTL_OUTPUT is not a file name here
	t.Setenv("TENANTCTL_OUTPUT", "json")
	stdout, code = runTenantctl(t, "-d", examplesDir, "inventory", "export", "--kubeconfig", kc, "--types", "configmaps")
	if code != exitcode.OK {
		t.Fatalf("export to stdout: exit code %d", code)
	}
	fromStdout, err := inventory.Read(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("stdout is not a snapshot: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(want, snapshotNames(fromStdout)); diff != "" {
		t.Errorf("stdout objects (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("json"); err == nil {
		t.Errorf("TENANTCTL_OUTPUT became a file name")
	}
}

func TestInventoryExportErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	unreachable := kubeconfigFor(t, closed.URL)
	closed.Close()
	kc := fakeCluster(t)
	out := filepath.Join(t.TempDir(), "snap.json")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"unreachable cluster", []string{"inventory", "export", "--kubeconfig", unreachable, "--out", out}, exitcode.Failed},
		{"unknown type", []string{"inventory", "export", "--kubeconfig", kc, "--types", "widgets", "--out", out}, exitcode.Invalid},
		{"bad format", []string{"inventory", "export", "--kubeconfig", kc, "--format", "xml", "--out", out}, exitcode.Invalid},
		{"missing azure file", []string{"inventory", "export", "--kubeconfig", kc, "--azure", "nope.json", "--out", out}, exitcode.Invalid},
		{"missing desired-state dir given explicitly", []string{"-d", "nope", "inventory", "export", "--kubeconfig", kc, "--out", out}, exitcode.Invalid},
		{"arguments", []string{"inventory", "export", "extra"}, exitcode.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, code := runTenantctl(t, tt.args...); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed export wrote %s", out)
			}
		})
	}
}
