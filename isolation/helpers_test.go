package isolation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// devEnv is a valid environment the binding tests land in; its line numbers are referenced by
// expectations (capacity at lines 27-31, addressSpace at 7, platformAddressSpace at 9).
const devEnv = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: Environment
metadata:
  name: dev
spec:
  target: kubernetes
  addressSpace:
    - 10.16.0.0/12
  platformAddressSpace:
    - 10.16.0.0/16
  hub:
    vnetName: vnet-hub-dev
    addressSpace: [10.16.0.0/22]
  sharedCluster:
    name: aks-shared-dev
    ingressNamespace: platform-ingress
    sharedNamespace: shared-tenants
  sharedVault:
    name: kv-shared-dev
  sharedDatabase:
    server: psql-dev
  trustedRegistries:
    - connectsoft.azurecr.io
  allowedRoutes: []
  capacity:
    cpu: "4"
    memory: 8Gi
    pods: 50
    storage: 20Gi
    maxNodes: 3
`

// header is the start of every binding in the tests; the spec's first field is on line 6.
const header = `apiVersion: runtime.connectsoft.io/v1alpha1
kind: RuntimeTenantBinding
metadata:
  name: t-dev
spec:
`

// writeTree writes files (slash paths relative to a new temp dir) and returns the dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantErr is an expected validation error: file relative to the folder, line, field, and a
// fragment the message must contain.
type wantErr struct {
	File, Field, Msg string
	Line             int
}

// loadErrors loads dir and returns its validation errors in wantErr form. A message that
// contains the fragment expected at the same position is replaced by that fragment so cmp.Diff
// shows only real differences.
func loadErrors(t *testing.T, dir string, want []wantErr) []wantErr {
	t.Helper()
	_, err := Load(context.Background(), dir)
	if err == nil {
		return nil
	}
	verrs, ok := AsValidationErrors(err)
	if !ok {
		t.Fatalf("Load: want ValidationErrors, got %v", err)
	}
	if kind := errkind.Of(err); kind != errkind.Invalid {
		t.Errorf("kind = %v, want %v", kind, errkind.Invalid)
	}
	var out []wantErr
	for i, e := range verrs {
		rel, rerr := filepath.Rel(dir, e.File)
		if rerr != nil {
			t.Fatal(rerr)
		}
		g := wantErr{File: filepath.ToSlash(rel), Line: e.Line, Field: e.Field, Msg: e.Message}
		if i < len(want) && want[i].Msg != "" && strings.Contains(e.Message, want[i].Msg) {
			g.Msg = want[i].Msg
		}
		out = append(out, g)
	}
	return out
}

func checkErrors(t *testing.T, dir string, want []wantErr) {
	t.Helper()
	got := loadErrors(t, dir, want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validation errors (-want +got):\n%s", diff)
	}
}
