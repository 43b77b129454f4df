package isolation

import (
	"context"
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDocuments(t *testing.T) {
	valid := header + poolBody
	tests := []struct {
		name  string
		files map[string]string
		want  []wantErr
	}{
		{"unknown kind names the file", map[string]string{"x/widget.yaml": "apiVersion: runtime.connectsoft.io/v1alpha1\nkind: Widget\n"},
			[]wantErr{{"x/widget.yaml", "kind", `unknown kind "Widget"; want RuntimeTenantBinding or Environment`, 2}}},
		{"missing kind and apiVersion", map[string]string{"x/a.yaml": "metadata:\n  name: x\n"},
			[]wantErr{
				{"x/a.yaml", "apiVersion", "required; want runtime.connectsoft.io/v1alpha1", 1},
				{"x/a.yaml", "kind", "required; want RuntimeTenantBinding or Environment", 1},
			}},
		{"other apiVersion is refused but the document is still checked", map[string]string{
			"environments/dev.yaml": devEnv,
			"tenants/t.yaml":        sub(t, valid, "runtime.connectsoft.io/v1alpha1", "runtime.connectsoft.io/v2", "tier: pool", "tier: gold"),
		}, []wantErr{
			{"tenants/t.yaml", "apiVersion", `unsupported apiVersion "runtime.connectsoft.io/v2"`, 1},
			{"tenants/t.yaml", "spec.tier", `unknown tier "gold"`, 8},
		}},
		{"document must be a mapping", map[string]string{"x/list.yaml": "- a\n- b\n"},
			[]wantErr{{"x/list.yaml", "", "document must be a mapping", 1}}},
		{"several documents, empty ones skipped", map[string]string{
			"all.yaml": "# everything in one file\n---\n" + devEnv + "---\n---\n" + valid + "---\n",
		}, nil},
		{"errors in several documents of one file", map[string]string{
			"all.yml": devEnv + "---\n" + sub(t, valid, "tier: pool", "tier: gold") + "---\nkind: Widget\n",
		}, []wantErr{
			{"all.yml", "spec.tier", `unknown tier "gold"`, 39},
			{"all.yml", "apiVersion", "required", 54},
			{"all.yml", "kind", `unknown kind "Widget"`, 54},
		}},
		{"dotfiles, dot-directories and other files are skipped", map[string]string{
			"environments/dev.yaml":       devEnv,
			".git/config.yaml":            "kind: [",
			".hidden/x.yaml":              "kind: [",
			"tenants/.draft.yaml":         "kind: [",
			".tenantctl-driftignore":      "kind: [",
			"README.md":                   "kind: [",
			"tenants/notes.txt":           "kind: [",
			"tenants/comment-only.yaml":   "# nothing here yet\n",
			"tenants/nested/deep/t.yaml":  valid,
			"tenants/nested/deep/e.YAML":  "",
			"tenants/nested/deep/e2.yaml": "",
		}, nil},
		{"syntax errors keep the true line", map[string]string{
			"a.yaml": "apiVersion: x\nkind: y\nspec:\n  tenantId: [open\n  tier: pool\n",
			"b.yaml": "a: 1\nb: c: d\n",
			"c.yaml": "a: 1\n- b\n",
		}, []wantErr{
			{"a.yaml", "", "invalid YAML: did not find expected ',' or ']'", 4},
			{"b.yaml", "", "invalid YAML: mapping values are not allowed in this context", 2},
			{"c.yaml", "", "invalid YAML: did not find expected key", 2},
		}},
		{"an error in one file does not hide another's", map[string]string{
			"environments/dev.yaml": devEnv,
			"tenants/a.yaml":        "kind: [",
			"tenants/b.yaml":        sub(t, valid, "tier: pool", "tier: gold"),
		}, []wantErr{
			{"tenants/a.yaml", "", "invalid YAML", 1},
			{"tenants/b.yaml", "spec.tier", `unknown tier "gold"`, 8},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, writeTree(t, tc.files), tc.want)
		})
	}
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	dir := writeTree(t, map[string]string{"environments/dev.yaml": devEnv, "elsewhere/t.yaml": header + poolBody})
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x.yaml"), []byte(devEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "t.yaml"), filepath.Join(dir, "t-link.yaml")); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "t.yaml"), filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal(err)
	}
	checkErrors(t, dir, []wantErr{
		{"linked-dir", "", "symbolic links are not followed", 0},
		{"t-link.yaml", "", "symbolic links are not followed", 0},
	})
}

func TestFieldPaths(t *testing.T) {
	tests := []struct{ path, parent string }{
		{"spec.quota.cpu", "spec.quota"},
		{"spec.secrets[3]", "spec.secrets"},
		{"spec.secrets[3].name", "spec.secrets[3]"},
		{`spec.labels["app.kubernetes.io/name"]`, "spec.labels"},
		{`spec.labels["a[\"b"]`, "spec.labels"},
		{"spec", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := fieldpath.Parent(tc.path); got != tc.parent {
			t.Errorf("fieldpath.Parent(%q) = %q, want %q", tc.path, got, tc.parent)
		}
	}
	idx := fieldIndex{"": 1, "spec": 5, "spec.quota": 9}
	for path, want := range map[string]int{"spec.quota.cpu": 9, "spec.data.schema": 5, "kind": 1, "spec.quota": 9} {
		if got := idx.line(path, 1); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestDecodedValues(t *testing.T) {
	dir := writeTree(t, map[string]string{"environments/dev.yaml": devEnv, "tenants/s.yaml": header + siloBody + "  labels:\n    app.kubernetes.io/part-of: runtime\n"})
	s, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Binding("dev", "s")
	want := &RuntimeTenantBinding{
		APIVersion: APIVersion, Kind: KindBinding,
		Metadata: ObjectMeta{Name: "t-dev"},
		Spec: BindingSpec{
			TenantID: "s", Environment: "dev", Tier: TierSilo,
			Network: &NetworkSpec{
				AddressSpace: []string{"10.20.0.0/16"},
				Subnets: []SubnetSpec{
					{Name: "nodes", AddressPrefix: "10.20.0.0/22", Purpose: SubnetNodes},
					{Name: "endpoints", AddressPrefix: "10.20.8.0/24", Purpose: SubnetEndpoints},
				},
			},
			Quota:   QuotaSpec{CPU: "2", Memory: "4Gi", Pods: 20, NodePool: &NodePoolSpec{Min: 1, Max: 3}},
			Data:    DataSpec{Database: "s"},
			Secrets: []SecretBinding{{Name: "db", KeyVaultRef: "kv-s-dev", SecretName: "s-db"}},
			Labels:  map[string]string{"app.kubernetes.io/part-of": "runtime"},
		},
		Source: Source{File: filepath.Join(dir, "tenants", "s.yaml"), Line: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded binding (-want +got):\n%s", diff)
	}
	for field, line := range map[string]int{
		"spec.quota.nodePool.max":                  25,
		"spec.network.subnets[1].addressPrefix":    17,
		`spec.labels["app.kubernetes.io/part-of"]`: 33,
		"spec.overrides.data":                      5, // absent: its nearest parent, spec
	} {
		if got := s.FieldSource(got, field); got.Line != line || got.File != want.Source.File {
			t.Errorf("FieldSource(%s) = %v, want line %d", field, got, line)
		}
	}
}

func TestSecretValuesAreNeverEchoed(t *testing.T) {
	secrets := []string{
		"-----BEGIN " + "RSA PRIVATE KEY-----",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"Server=tcp:x;Password=correct-horse-battery",
		"https://user:s3cr3tpass@example.com/db",
		"ghp_" + strings.Repeat("A1b2C3d4", 5),
	}
	for _, secret := range secrets {
		body := header + poolBody + "  " + yamlQuote(secret) + ": x\n"
		body = sub(t, body, "secretName: t-db", "secretName: "+yamlQuote(secret), "team: payments", "team: "+yamlQuote(secret))
		dir := writeTree(t, map[string]string{
			"environments/dev.yaml": devEnv,
			"t.yaml":                body,
			"w.yaml":                "apiVersion: " + yamlQuote(secret) + "\nkind: " + yamlQuote(secret) + "\n",
		})
		_, err := Load(context.Background(), dir)
		if err == nil {
			t.Fatalf("secret %.12q…: Load accepted it", secret)
		}
		verrs, _ := AsValidationErrors(err)
		if len(verrs) == 0 {
			t.Fatalf("secret %.12q…: %v", secret, err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:16]) {
			t.Errorf("secret %.12q… echoed in:\n%v", secret, err)
		}
	}
}

func yamlQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
