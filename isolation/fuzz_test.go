package isolation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through the decoder and every validation: no input may panic,
// every error must name the file, and no message may repeat a PEM block from the input.
//
//	go test -run x -fuzz FuzzDecode -fuzztime 30s ./isolation/
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"../examples/tenants", "../examples/invalid"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && IsDesiredStateFile(filepath.ToSlash(path[len(dir)+1:])) {
				if data, err := os.ReadFile(path); err == nil {
					f.Add(data)
				}
			}
			return nil
		})
	}
	for _, seed := range []string{
		devEnv + "---\n" + header + poolBody,
		header + siloBody,
		"",
		"---\n---\n",
		"&a [*a]",
		"a: &a {b: *a}\n",
		"kind: RuntimeTenantBinding\nspec: &s\n  tenantId: *s\n",
		"kind: Environment\nspec:\n  capacity: {cpu: 1e309, memory: 99999999999999999999Ei, pods: 0x7fffffffffffffffff}\n",
		"kind: RuntimeTenantBinding\nspec:\n  overrides: {? [a]: b}\n  labels: {1: 2, null: ~}\n",
		"kind: RuntimeTenantBinding\nspec:\n  network: {addressSpace: [::/0, 0.0.0.0/0, '10.0.0.0/8%eth0']}\n",
		"!!binary aGVsbG8=",
		"kind: !!binary UnVudGltZVRlbmFudEJpbmRpbmc=\n",
		"{kind: Environment, spec: {allowedRoutes: [{from: platform, to: platform}]}}",
		strings.Repeat("[", 2000),
		"kind: RuntimeTenantBinding\nspec:\n  secrets:\n    - keyVaultRef: \"-----BEGIN PRIVATE KEY-----\"\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		docs, errs := decodeFile(file, data)
		_, _, more := validateDocuments(docs)
		for _, e := range append(errs, more...) {
			if e.File != file {
				t.Errorf("error without its file: %v", e)
			}
			if e.Message == "" {
				t.Errorf("error without a message: %+v", e)
			}
			if strings.Contains(e.Error(), "-----BEGIN") {
				t.Errorf("secret-looking input echoed: %v", e)
			}
		}
	})
}
