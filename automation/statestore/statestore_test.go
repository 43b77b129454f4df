package statestore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/connectsoft/tenantctl/internal/testenv/statedb"
)

// checkpoint is a versioned checkpoint as Pulumi's DIY backend writes it, with n resources.
func checkpoint(t *testing.T, stack string, n int, at time.Time) []byte {
	t.Helper()
	var resources []any
	for i := range n {
		resources = append(resources, map[string]any{"urn": fmt.Sprintf("urn:pulumi:%s::tenantctl::t::r%d", stack, i), "type": "t", "custom": true})
	}
	latest := map[string]any{"manifest": map[string]any{"time": at.Format(time.RFC3339Nano), "magic": "m", "version": "v3.274.1"}, "resources": resources}
	if n < 0 {
		latest = nil
	}
	b, err := json.Marshal(map[string]any{"version": 3, "checkpoint": map[string]any{"stack": stack, "latest": latest}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

type summary struct {
	Resources  int
	LastUpdate time.Time
	Locked     bool
	HasState   bool
}

func summarize(stacks map[string]Stack) map[string]summary {
	out := map[string]summary{}
	for name, s := range stacks {
		out[name] = summary{s.Resources, s.LastUpdate, s.Locked, len(s.Deployment) > 0}
	}
	return out
}

// TestFileLayouts: checkpoints in every form Pulumi writes, beside files that are not
// checkpoints, in the project-scoped and the legacy layout.
func TestFileLayouts(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		files   map[string][]byte
		want    map[string]summary
		wantErr string
	}{{
		name: "project-scoped, plain, gzip, zstd, never updated, locked; backups and other projects ignored",
		files: map[string][]byte{
			".pulumi/meta.yaml":                                                     []byte("version: 1\n"),
			".pulumi/stacks/tenantctl/platform.dev.json":                            checkpoint(t, "platform.dev", 16, at),
			".pulumi/stacks/tenantctl/platform.dev.json.bak":                        []byte("not json"),
			".pulumi/stacks/tenantctl/tenant.a.dev.json.gz":                         gz(t, checkpoint(t, "tenant.a.dev", 3, at)),
			".pulumi/stacks/tenantctl/tenant.b.dev.json.zst":                        zst(t, checkpoint(t, "tenant.b.dev", 2, at)),
			".pulumi/stacks/tenantctl/tenant.c.dev.json":                            checkpoint(t, "tenant.c.dev", -1, at),
			".pulumi/stacks/other/tenant.x.dev.json":                                checkpoint(t, "tenant.x.dev", 1, at),
			".pulumi/locks/organization/tenantctl/tenant.a.dev/1234.json":           []byte("{}"),
			".pulumi/locks/organization/other/tenant.b.dev/1234.json":               []byte("{}"), // another project's stack of that name
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-1.checkpoint.json": []byte("{}"),
		},
		want: map[string]summary{
			"platform.dev": {16, at, false, true},
			"tenant.a.dev": {3, at, true, true},
			"tenant.b.dev": {2, at, false, true},
			"tenant.c.dev": {0, time.Time{}, false, false},
		},
	}, {
		name: "legacy layout (meta version 0)",
		files: map[string][]byte{
			".pulumi/meta.yaml":                    []byte("version: 0\n"),
			".pulumi/stacks/platform.dev.json":     checkpoint(t, "platform.dev", 1, at),
			".pulumi/stacks/tenant.a.dev.json":     checkpoint(t, "tenant.a.dev", 1, at),
			".pulumi/locks/tenant.a.dev/1234.json": []byte("{}"),
		},
		want: map[string]summary{"platform.dev": {1, at, false, true}, "tenant.a.dev": {1, at, true, true}},
	}, {
		name:  "empty store",
		files: map[string][]byte{},
		want:  map[string]summary{},
	}, {
		name:    "store from a newer Pulumi",
		files:   map[string][]byte{".pulumi/meta.yaml": []byte("version: 2\n")},
		wantErr: "version 2 is newer",
	}, {
		name: "corrupt checkpoint names its stack",
		files: map[string][]byte{
			".pulumi/meta.yaml":                          []byte("version: 1\n"),
			".pulumi/stacks/tenantctl/tenant.a.dev.json": []byte("{"),
		},
		wantErr: "checkpoint of tenant.a.dev",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for key, data := range tt.files {
				p := filepath.Join(root, filepath.FromSlash(key))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Open(context.Background(), "file://"+root)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.Stacks(context.Background(), "tenantctl")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarize(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// One stack read alone is the same checkpoint (without the lock, which Stacks adds).
			for name, want := range tt.want {
				one, err := r.Stack(context.Background(), "tenantctl", name)
				if err != nil {
					t.Fatalf("Stack(%s): %v", name, err)
				}
				want.Locked = false
				if diff := cmp.Diff(map[string]summary{name: want}, summarize(map[string]Stack{name: one})); diff != "" {
					t.Errorf("Stack(%s) (-want +got):\n%s", name, diff)
				}
			}
			if _, err := r.Stack(context.Background(), "tenantctl", "tenant.none.dev"); !errors.Is(err, ErrNoStack) {
				t.Errorf("Stack of a stack the store lacks: %v, want ErrNoStack", err)
			}
		})
	}
}

// TestDeploymentIsTheLatestVerbatim: the deployment is the checkpoint's "latest" as stored.
func TestDeploymentIsTheLatestVerbatim(t *testing.T) {
	root := t.TempDir()
	cp := checkpoint(t, "tenant.a.dev", 2, time.Now().UTC())
	p := filepath.Join(root, ".pulumi", "stacks", "tenantctl", "tenant.a.dev.json")
	os.MkdirAll(filepath.Dir(p), 0o700)
	os.WriteFile(p, cp, 0o600)
	r, _ := Open(context.Background(), "file://"+root)
	got, err := r.Stacks(context.Background(), "tenantctl")
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		Checkpoint struct {
			Latest json.RawMessage `json:"latest"`
		} `json:"checkpoint"`
	}
	json.Unmarshal(cp, &whole)
	if diff := cmp.Diff(string(whole.Checkpoint.Latest), string(got["tenant.a.dev"].Deployment)); diff != "" {
		t.Errorf("deployment (-want +got):\n%s", diff)
	}
}

func TestUnsupportedBackends(t *testing.T) {
	for _, u := range []string{"azblob://state", "https://api.pulumi.com", "s3://bucket"} {
		if _, err := Open(context.Background(), u); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open(%s) error = %v, want ErrUnsupported", u, err)
		}
	}
	if _, err := Open(context.Background(), "postgres://user:hunter2@127.0.0.1:1/x?sslmode=disable"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable postgres: error %v must exist and not carry the password", err)
	}
}

// TestPostgresRows: the rows Pulumi's postgres backend writes (base64 in a JSON document, keys
// under the URL's path), read by one query, against the machine's PostgreSQL.
func TestPostgresRows(t *testing.T) {
	dbURL, db := statedb.New(t, "statestore_rows")
	ctx := context.Background()
	const table = "pulumi_state_test"
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (key TEXT PRIMARY KEY, data JSON NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	prefix := dbURL[strings.LastIndex(dbURL, "/")+1:]
	prefix, _, _ = strings.Cut(prefix, "?")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	put := func(key string, data []byte) {
		doc, _ := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(data)})
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (key, data) VALUES ($1, $2)", key, string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	// The backend URL's path (the database) prefixes every key.
	put(prefix+"/.pulumi/meta.yaml", []byte("version: 1\n"))
	put(prefix+"/.pulumi/stacks/tenantctl/tenant.a_b.dev.json", checkpoint(t, "tenant.a_b.dev", 4, at))
	put(prefix+"/.pulumi/stacks/tenantctl/platform.dev.json.gz", gz(t, checkpoint(t, "platform.dev", 16, at)))
	put(prefix+"/.pulumi/stacks/tenantctlx/tenant.z.dev.json", checkpoint(t, "tenant.z.dev", 1, at))
	put(prefix+"/.pulumi/locks/organization/tenantctl/platform.dev/1.json", []byte("{}"))
	put("other/.pulumi/stacks/tenantctl/tenant.q.dev.json", checkpoint(t, "tenant.q.dev", 1, at))

	r, err := Open(ctx, dbURL+"&table="+table)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Stacks(ctx, "tenantctl")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]summary{
		"tenant.a_b.dev": {4, at, false, true},
		"platform.dev":   {16, at, true, true},
	}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// History: the latest entry per stack, in two queries; '_' in a key is no wildcard.
	put(prefix+"/.pulumi/history/tenantctl/tenant.a_b.dev/tenant.a_b.dev-1700000000000000000.history.json", historyInfo(t, "update", "succeeded", 10))
	put(prefix+"/.pulumi/history/tenantctl/tenant.a_b.dev/tenant.a_b.dev-1700000000000000000.checkpoint.json", []byte("{}"))
	put(prefix+"/.pulumi/history/tenantctl/tenant.a_b.dev/tenant.a_b.dev-1700000000000000009.history.json.gz", gz(t, historyInfo(t, "update", "failed", 20)))
	put(prefix+"/.pulumi/history/tenantctl/platform.dev/platform.dev-1700000000000000000.history.json", historyInfo(t, "update", "succeeded", 30))
	put(prefix+"/.pulumi/history/tenantctlx/tenant.z.dev/tenant.z.dev-1700000000000000000.history.json", historyInfo(t, "update", "succeeded", 40))
	put(prefix+"/.pulumi/history/tenantctl/tenant.aXb.dev/tenant.aXb.dev-1700000000000000000.historyXjson", historyInfo(t, "update", "succeeded", 50))
	put("other/.pulumi/history/tenantctl/tenant.q.dev/tenant.q.dev-1700000000000000000.history.json", historyInfo(t, "update", "succeeded", 60))
	updates, err := r.LastUpdates(ctx, "tenantctl")
	if err != nil {
		t.Fatal(err)
	}
	wantUpdates := map[string]Update{
		"tenant.a_b.dev": {"update", "failed", time.Unix(20, 0).UTC(), time.Unix(0, 1700000000000000009).UTC()},
		"platform.dev":   {"update", "succeeded", time.Unix(30, 0).UTC(), time.Unix(0, 1700000000000000000).UTC()},
	}
	if diff := cmp.Diff(wantUpdates, updates); diff != "" {
		t.Errorf("LastUpdates (-want +got):\n%s", diff)
	}

	// Before Pulumi's first write the table does not exist: no stacks, no error.
	fresh, err := Open(ctx, dbURL+"&table="+table+"_none")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got, err := fresh.Stacks(ctx, "tenantctl"); err != nil || len(got) != 0 {
		t.Errorf("Stacks without a table: %v, %v; want none", got, err)
	}
	if got, err := fresh.LastUpdates(ctx, "tenantctl"); err != nil || len(got) != 0 {
		t.Errorf("LastUpdates without a table: %v, %v; want none", got, err)
	}
}

// historyInfo is a history entry as Pulumi's DIY backend writes it (backend.UpdateInfo).
func historyInfo(t *testing.T, kind, result string, end int64) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"kind": kind, "startTime": end - 5, "message": "", "environment": map[string]string{},
		"config": map[string]any{}, "result": result, "endTime": end, "resourceChanges": map[string]int{"same": 3}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLastUpdates: the latest history entry of each stack, whatever its compression, beside the
// checkpoint copies and other projects' history; numeric order of the timestamps, not lexical.
func TestLastUpdates(t *testing.T) {
	end := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	tests := []struct {
		name  string
		files map[string][]byte
		want  map[string]Update
	}{{
		name: "project-scoped",
		files: map[string][]byte{
			".pulumi/meta.yaml": []byte("version: 1\n"),
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-1700000000000000000.history.json":    historyInfo(t, "update", "succeeded", 100),
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-1700000000000000000.checkpoint.json": []byte("{}"),
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-1800000000000000000.history.json.gz": gz(t, historyInfo(t, "update", "failed", 200)),
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-1800000000000000000.checkpoint.json": []byte("{}"),
			// 999… is lexically after 18… but numerically before it
			".pulumi/history/tenantctl/tenant.a.dev/tenant.a.dev-999999999.history.json":                 historyInfo(t, "update", "succeeded", 50),
			".pulumi/history/tenantctl/platform.dev/platform.dev-1700000000000000001.history.json.zst":   zst(t, historyInfo(t, "update", "succeeded", 300)),
			".pulumi/history/tenantctl/tenant.b.dev/tenant.b.dev-1700000000000000002.history.json":       historyInfo(t, "update", "succeeded", 400),
			".pulumi/history/tenantctl/tenant.b.dev/tenant.b.dev-1700000000000000003.history.json":       historyInfo(t, "refresh", "succeeded", 500),
			".pulumi/history/other/tenant.x.dev/tenant.x.dev-1700000000000000000.history.json":           historyInfo(t, "update", "succeeded", 1),
			".pulumi/history/tenantctl/tenant.c.dev/not-a-history-file.json":                             []byte("{"),
			".pulumi/history/tenantctl/tenant.d.dev/tenant.other.dev-1700000000000000000.history.json":   historyInfo(t, "update", "failed", 1),
			".pulumi/stacks/tenantctl/tenant.a.dev.json":                                                 checkpoint(t, "tenant.a.dev", 1, end(200)),
			".pulumi/history/tenantctl/tenant.e.dev/tenant.e.dev-1700000000000000000.checkpoint.json.gz": gz(t, []byte("{}")),
		},
		want: map[string]Update{
			"tenant.a.dev": {"update", "failed", end(200), time.Unix(0, 1800000000000000000).UTC()},
			"platform.dev": {"update", "succeeded", end(300), time.Unix(0, 1700000000000000001).UTC()},
			"tenant.b.dev": {"refresh", "succeeded", end(500), time.Unix(0, 1700000000000000003).UTC()},
		},
	}, {
		name: "legacy layout",
		files: map[string][]byte{
			".pulumi/meta.yaml": []byte("version: 0\n"),
			".pulumi/history/platform.dev/platform.dev-1700000000000000000.history.json": historyInfo(t, "destroy", "succeeded", 7),
		},
		want: map[string]Update{"platform.dev": {"destroy", "succeeded", end(7), time.Unix(0, 1700000000000000000).UTC()}},
	}, {
		name:  "no history yet",
		files: map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")},
		want:  map[string]Update{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for key, data := range tt.files {
				p := filepath.Join(root, filepath.FromSlash(key))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Open(context.Background(), "file://"+root)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.LastUpdates(context.Background(), "tenantctl")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
