package automation

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blang/semver"
	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

func TestCheckpointOutputs(t *testing.T) {
	secret := map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"}
	deployment := map[string]any{
		"resources": []any{
			map[string]any{"type": "pulumi:pulumi:Stack", "urn": "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s",
				"outputs": map[string]any{
					"namespace": "t-acme",
					"count":     float64(3),
					"password":  secret,
					"nested":    map[string]any{"ok": "x", "key": secret},
					"list":      []any{"a", secret},
					"plainMap":  map[string]any{"a": []any{"b"}},
				}},
			// a component of the same type lower in the tree is not the stack
			map[string]any{"type": "pulumi:pulumi:Stack", "parent": "urn:x", "outputs": map[string]any{"namespace": "other"}},
			map[string]any{"type": "kubernetes:core/v1:Namespace", "outputs": map[string]any{"namespace": "wrong"}},
		},
	}
	raw, _ := json.Marshal(deployment)
	got, err := checkpointOutputs(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := auto.OutputMap{
		"namespace": {Value: "t-acme"},
		"count":     {Value: float64(3)},
		"password":  {Secret: true},
		"nested":    {Secret: true},
		"list":      {Secret: true},
		"plainMap":  {Value: map[string]any{"a": []any{"b"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		in   string
		want int
	}{
		{"never updated", "", 0},
		{"no resources", `{"resources":[]}`, 0},
	} {
		got, err := checkpointOutputs(json.RawMessage(tc.in))
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: got %v, %v", tc.name, got, err)
		}
	}
	if _, err := checkpointOutputs(json.RawMessage(`{"resources":`)); err == nil {
		t.Error("a broken checkpoint gave no error")
	}
}

// noCLI satisfies auto.PulumiCommand and fails the test if anything runs it: writing config must
// not start a process.
type noCLI struct{ t *testing.T }

func (n noCLI) Run(_ context.Context, _ string, _ io.Reader, _, _ []io.Writer, _ []string, args ...string) (string, string, int, error) {
	n.t.Errorf("pulumi %s was run", strings.Join(args, " "))
	return "", "", 1, nil
}
func (noCLI) Version() semver.Version { return semver.MustParse("3.274.1") }

func TestWriteStackConfig(t *testing.T) {
	ctx := context.Background()
	proj := workspace.Project{Name: "tenantctl", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	tests := []struct {
		name     string
		existing string // Pulumi.dev.yaml before, "" for none
		cfg      auto.ConfigMap
		written  bool
		wantErr  bool
		want     []string // lines the file must hold afterwards
		unwanted []string
	}{
		{
			name:    "new settings file",
			cfg:     auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/k/config"}},
			written: true,
			want:    []string{"tenantctl:kubeconfig: /k/config"},
		},
		{
			name:     "keeps the salt stack init wrote and updates a value",
			existing: "encryptionsalt: v1:c2FsdA==:v1:abc:def\nconfig:\n  tenantctl:kubeconfig: /old\n  tenantctl:other: keep\n",
			cfg:      auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/new"}, "tenantctl:postgres": {Value: "/pg.json"}},
			written:  true,
			want: []string{"encryptionsalt: v1:c2FsdA==:v1:abc:def", "tenantctl:kubeconfig: /new",
				"tenantctl:other: keep", "tenantctl:postgres: /pg.json"},
			unwanted: []string{"/old"},
		},
		{
			name:     "an unreadable settings file is an error, not a fresh start",
			existing: "config: [unclosed\n",
			cfg:      auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/new"}},
			wantErr:  true,
			want:     []string{"config: [unclosed"},
			unwanted: []string{"/new"},
		},
		{
			name:     "a secret value is left to the CLI",
			existing: "config:\n  tenantctl:kubeconfig: /old\n",
			cfg:      auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/new"}, "tenantctl:token": {Value: "canary-s3cret", Secret: true}},
			written:  false,
			want:     []string{"tenantctl:kubeconfig: /old"},
			unwanted: []string{"canary-s3cret", "/new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "Pulumi.dev.yaml")
			if tt.existing != "" {
				if err := os.WriteFile(file, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ws, err := auto.NewLocalWorkspace(ctx, auto.Project(proj), auto.WorkDir(dir), auto.Pulumi(noCLI{t}))
			if err != nil {
				t.Fatal(err)
			}
			written, err := writeStackConfig(ctx, ws, "dev", tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if written != tt.written {
				t.Errorf("written = %v, want %v", written, tt.written)
			}
			data, _ := os.ReadFile(file)
			for _, l := range tt.want {
				if !strings.Contains(string(data), l) {
					t.Errorf("settings lack %q:\n%s", l, data)
				}
			}
			for _, l := range tt.unwanted {
				if strings.Contains(string(data), l) {
					t.Errorf("settings hold %q:\n%s", l, data)
				}
			}
		})
	}
}

func TestWriteStackConfigUnchangedDoesNotRewrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "Pulumi.dev.yaml")
	const body = "config:\n  tenantctl:kubeconfig: /k\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(file)
	proj := workspace.Project{Name: "tenantctl", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	ws, err := auto.NewLocalWorkspace(ctx, auto.Project(proj), auto.WorkDir(dir), auto.Pulumi(noCLI{t}))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := writeStackConfig(ctx, ws, "dev", auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/k"}}); !ok || err != nil {
		t.Fatalf("writeStackConfig = %v, %v", ok, err)
	}
	after, _ := os.Stat(file)
	data, _ := os.ReadFile(file)
	if string(data) != body || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("unchanged config rewrote the file:\n%s", data)
	}
}

func TestLatestHistoryQuery(t *testing.T) {
	tests := []struct {
		args  []string
		stack string
		ok    bool
	}{
		{[]string{"stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack", "t-acme"}, "t-acme", true},
		// --show-secrets asks for decrypted config: only the CLI answers that
		{[]string{"stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "t-acme"}, "", false},
		{[]string{"stack", "history", "--json", "--page-size", "2", "--page", "1", "--stack", "t-acme"}, "", false},
		{[]string{"stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack", ""}, "", false},
		{[]string{"stack", "output", "--json", "--stack", "t-acme"}, "", false},
		{[]string{"up", "--yes"}, "", false},
	}
	for _, tt := range tests {
		stack, ok := latestHistoryQuery(tt.args)
		if stack != tt.stack || ok != tt.ok {
			t.Errorf("latestHistoryQuery(%v) = %q, %v; want %q, %v", tt.args, stack, ok, tt.stack, tt.ok)
		}
	}
}

func TestHistoryJSON(t *testing.T) {
	tests := []struct {
		name    string
		entry   string
		want    []auto.UpdateSummary
		wantErr bool
	}{
		{
			name: "succeeded update with plain, secure and object config",
			entry: `{"kind":"update","startTime":1765000000,"endTime":1765000003,"message":"m","result":"succeeded",
				"environment":{"exec.kind":"auto.inline"},"resourceChanges":{"create":3},
				"config":{"tenantctl:kubeconfig":"/k","tenantctl:token":{"secure":"v1:abc"},"tenantctl:obj":{"a":1}}}`,
			want: []auto.UpdateSummary{{
				Kind: "update", StartTime: "2025-12-06T05:46:40.000Z", Message: "m", Result: "succeeded",
				Environment: map[string]string{"exec.kind": "auto.inline"},
				EndTime:     ptr("2025-12-06T05:46:43.000Z"), ResourceChanges: &map[string]int{"create": 3},
				Config: auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/k"}, "tenantctl:token": {Secret: true},
					"tenantctl:obj": {Value: `{"a":1}`}},
			}},
		},
		{
			name:  "in progress has no end",
			entry: `{"kind":"update","startTime":1765000000,"result":"in-progress"}`,
			want: []auto.UpdateSummary{{Kind: "update", StartTime: "2025-12-06T05:46:40.000Z", Result: "in-progress",
				Config: auto.ConfigMap{}}},
		},
		{name: "no result", entry: `{"kind":"update"}`, wantErr: true},
		{name: "not JSON", entry: `{"kind":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := historyJSON([]byte(tt.entry))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var got []auto.UpdateSummary
			if err := json.Unmarshal([]byte(js), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if strings.Contains(js, "v1:abc") {
				t.Errorf("ciphertext in the history JSON: %s", js)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
