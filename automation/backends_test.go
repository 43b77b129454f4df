package automation_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/lib/pq" // the driver Pulumi's postgres:// backend uses too

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/azurite"
	"github.com/connectsoft/tenantctl/internal/testenv/statedb"
)

// stateBackend is one state backend under test: the URL and environment the engine gets, and a
// reader of everything the backend stored, as the bytes Pulumi wrote.
type stateBackend struct {
	url  string // empty: the engine's default (file:// under its data dir)
	env  map[string]string
	read func(ctx context.Context) (map[string][]byte, error)
}

// backendSetups are the three backends the engine supports, each started for real.
var backendSetups = []struct {
	name  string
	setup func(t *testing.T, dataDir string) stateBackend
}{
	{"file", fileBackend},
	{"azblob", azblobBackend},
	{"postgres", postgresBackend},
}

func fileBackend(t *testing.T, dataDir string) stateBackend {
	root := filepath.Join(dataDir, "state")
	return stateBackend{read: func(context.Context) (map[string][]byte, error) { return readTree(root) }}
}

// azblobBackend starts Azurite on loopback and points the azblob:// backend at a fresh container.
func azblobBackend(t *testing.T, _ string) stateBackend {
	s := azurite.ForTest(t)
	const container = "tenantctl-state"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateContainer(ctx, container); err != nil {
		t.Fatal(err)
	}
	return stateBackend{
		url:  s.BackendURL(container),
		env:  s.Env(),
		read: func(ctx context.Context) (map[string][]byte, error) { return s.ReadAll(ctx, container) },
	}
}

// postgresBackend creates a fresh database for the test and drops it at cleanup.
func postgresBackend(t *testing.T, _ string) stateBackend {
	dbURL, _ := statedb.New(t, "tenantctl_test")
	return stateBackend{
		url: dbURL,
		read: func(ctx context.Context) (map[string][]byte, error) {
			return readPostgresState(ctx, dbURL)
		},
	}
}

// readPostgresState decodes Pulumi's pulumi_state table: one row per object, its bytes base64 in
// a JSON document ({"data": "..."}), so grepping the raw rows would prove nothing.
func readPostgresState(ctx context.Context, dsn string) (map[string][]byte, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT key, data::text FROM pulumi_state")
	if err != nil {
		return nil, fmt.Errorf("read pulumi_state: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var key, doc string
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, err
		}
		var row struct {
			Data string `json:"data"`
		}
		if err := json.Unmarshal([]byte(doc), &row); err != nil {
			return nil, fmt.Errorf("row %s: %w", key, err)
		}
		data, err := base64.StdEncoding.DecodeString(row.Data)
		if err != nil {
			return nil, fmt.Errorf("row %s: %w", key, err)
		}
		out[key] = data
	}
	return out, rows.Err()
}

// readTree returns every regular file under root, by slash-separated relative path.
func readTree(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	return out, err
}

func TestMaskSecrets(t *testing.T) {
	in := map[string]any{
		"plain":  "visible",
		"nested": map[string]any{"list": []any{map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": `"hunter2"`}}},
		"top":    map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": `"s3cret"`},
	}
	got := automation.MaskSecretsForTest(in)
	want := map[string]any{"plain": "visible", "nested": map[string]any{"list": []any{"[secret]"}}, "top": "[secret]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("maskSecrets (-want +got):\n%s", diff)
	}
}
