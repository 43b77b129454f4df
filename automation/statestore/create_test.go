package statestore

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/internal/testenv/statedb"
)

// TestCreateStackFile: a stack is created only in a store Pulumi has initialised in the
// project-scoped layout, only when no checkpoint of it exists in any form, and reads back as a
// stack that holds nothing.
func TestCreateStackFile(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr error
	}{
		{name: "initialised store", files: map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}},
		{name: "other stacks beside it", files: map[string][]byte{
			".pulumi/meta.yaml":                       []byte("version: 1\n"),
			".pulumi/stacks/tenantctl/other.json":     checkpoint(t, "other", 2, at),
			".pulumi/stacks/tenantctlx/t.dev.json":    checkpoint(t, "t.dev", 2, at), // another project
			".pulumi/stacks/tenantctl/t.dev.json.bak": checkpoint(t, "t.dev", 2, at), // a backup is no stack
		}},
		{name: "store never written by pulumi", files: map[string][]byte{}, wantErr: ErrUnsupported},
		{name: "legacy layout", files: map[string][]byte{".pulumi/meta.yaml": []byte("version: 0\n")}, wantErr: ErrUnsupported},
		{name: "exists as json", files: map[string][]byte{
			".pulumi/meta.yaml":                   []byte("version: 1\n"),
			".pulumi/stacks/tenantctl/t.dev.json": checkpoint(t, "t.dev", 3, at),
		}, wantErr: ErrStackExists},
		{name: "exists compressed", files: map[string][]byte{
			".pulumi/meta.yaml":                       []byte("version: 1\n"),
			".pulumi/stacks/tenantctl/t.dev.json.zst": zst(t, checkpoint(t, "t.dev", 3, at)),
		}, wantErr: ErrStackExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for k, v := range tt.files {
				p := filepath.Join(dir, k)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, v, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			r, err := Open(ctx, "file://"+dir)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, ".pulumi/stacks/tenantctl/t.dev.json"))
			err = r.CreateStack(ctx, "tenantctl", "t.dev", nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("CreateStack: %v, want %v", err, tt.wantErr)
				}
				after, _ := os.ReadFile(filepath.Join(dir, ".pulumi/stacks/tenantctl/t.dev.json"))
				if string(after) != string(before) {
					t.Errorf("a refused create changed the checkpoint")
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateStack: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, ".pulumi/stacks/tenantctl/t.dev.json"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "{\"version\":0,\"checkpoint\":{\"stack\":\"organization/tenantctl/t.dev\"}}"; string(got) != want {
				t.Errorf("checkpoint %q, want %q", got, want)
			}
			st, err := r.Stack(ctx, "tenantctl", "t.dev")
			if err != nil || st.Resources != 0 || len(st.Deployment) != 0 {
				t.Errorf("created stack reads back as %+v, %v; want an empty stack", st, err)
			}
			all, err := r.Stacks(ctx, "tenantctl")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := all["t.dev"]; !ok {
				t.Errorf("Stacks lists %v without the created stack", all)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, ".pulumi/stacks/tenantctl"))
			for _, e := range entries {
				if filepath.Ext(e.Name()) != ".json" && filepath.Ext(e.Name()) != ".bak" {
					t.Errorf("left behind %s", e.Name())
				}
			}
			if err := r.CreateStack(ctx, "tenantctl", "t.dev", nil); !errors.Is(err, ErrStackExists) {
				t.Errorf("second CreateStack: %v, want ErrStackExists", err)
			}
		})
	}
}

// TestCreateStackRace: of many processes creating one stack at once exactly one succeeds.
func TestCreateStackRace(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) string{
		"file": func(t *testing.T) string {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, ".pulumi"), 0o755)
			os.WriteFile(filepath.Join(dir, ".pulumi/meta.yaml"), []byte("version: 1\n"), 0o600)
			return "file://" + dir
		},
		"postgres": func(t *testing.T) string { return postgresStoreURL(t) },
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			backend := mk(t)
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := Open(ctx, backend)
					if err != nil {
						errs[i] = err
						return
					}
					defer r.Close()
					errs[i] = r.CreateStack(ctx, "tenantctl", "race.dev", nil)
				}()
			}
			wg.Wait()
			created := 0
			for _, err := range errs {
				switch {
				case err == nil:
					created++
				case !errors.Is(err, ErrStackExists):
					t.Errorf("CreateStack: %v", err)
				}
			}
			if created != 1 {
				t.Errorf("%d creates succeeded, want exactly 1", created)
			}
		})
	}
}

// postgresStoreURL is a postgres:// backend URL on a fresh table in Pulumi's schema, holding
// the bookkeeping Pulumi writes on first use.
func postgresStoreURL(t *testing.T) string {
	t.Helper()
	dbURL, db := statedb.New(t, "statestore_create")
	ctx := context.Background()
	const table = "pulumi_state_test"
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (key TEXT PRIMARY KEY, data JSON NOT NULL, updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// The URL's path (the database) prefixes every key, as in Pulumi's backend.
	meta := strings.TrimLeft(u.Path, "/") + "/.pulumi/meta.yaml"
	if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (key, data) VALUES ($1, '{\"data\":\"dmVyc2lvbjogMQo=\"}')", meta); err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("table", table)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestCreateStackPostgres: the created row is in Pulumi's shape under the URL's prefix, reads
// back as an empty stack, and a table Pulumi has not created yet is left to the CLI.
func TestCreateStackPostgres(t *testing.T) {
	ctx := context.Background()
	url0 := postgresStoreURL(t)
	r, err := Open(ctx, url0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.CreateStack(ctx, "tenantctl", "t.dev", nil); err != nil {
		t.Fatal(err)
	}
	raw, err := r.s.read(ctx, ".pulumi/stacks/tenantctl/t.dev.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"version\":0,\"checkpoint\":{\"stack\":\"organization/tenantctl/t.dev\"}}"; string(raw) != want {
		t.Errorf("row %q, want %q", raw, want)
	}
	if st, err := r.Stack(ctx, "tenantctl", "t.dev"); err != nil || st.Resources != 0 {
		t.Errorf("created stack reads back as %+v, %v", st, err)
	}
	if err := r.CreateStack(ctx, "tenantctl", "t.dev", nil); !errors.Is(err, ErrStackExists) {
		t.Errorf("second CreateStack: %v, want ErrStackExists", err)
	}

	u, _ := url.Parse(url0)
	q := u.Query()
	q.Set("table", q.Get("table")+"_none")
	u.RawQuery = q.Encode()
	fresh, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.CreateStack(ctx, "tenantctl", "t.dev", nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("CreateStack without Pulumi's table: %v, want ErrUnsupported", err)
	}
}

// TestNewCheckpoint: the two forms of a new stack's checkpoint, byte for byte as the DIY backend
// writes them (the automation package compares the second with what `pulumi stack init` wrote).
func TestNewCheckpoint(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 34, 54, 46582171, time.UTC)
	tests := []struct {
		name   string
		latest *apitype.DeploymentV3
		want   string
	}{
		{name: "no secrets manager", want: `{"version":0,"checkpoint":{"stack":"organization/p/s"}}`},
		{name: "initial deployment", latest: &apitype.DeploymentV3{
			Manifest:         apitype.ManifestV1{Time: at, Magic: "m", Version: "v3.274.1"},
			SecretsProviders: &apitype.SecretsProvidersV1{Type: "passphrase", State: json.RawMessage(`{"salt":"v1:a<b>:c"}`)},
		}, want: `{"version":3,"checkpoint":{"stack":"organization/p/s","latest":{"manifest":{"time":"2026-12-06T08:34:54.046582171Z","magic":"m","version":"v3.274.1"},"secrets_providers":{"type":"passphrase","state":{"salt":"v1:a\u003cb\u003e:c"}},"metadata":{}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newCheckpoint("organization/p/s", tt.latest)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			st, err := decode("s", "s.json", got)
			if err != nil || st.Resources != 0 {
				t.Errorf("reads back as %+v, %v", st, err)
			}
			if tt.latest != nil && !st.LastUpdate.Equal(at) {
				t.Errorf("last update %v, want the manifest's time", st.LastUpdate)
			}
		})
	}
}
