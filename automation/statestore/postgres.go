package statestore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/lib/pq" // the driver Pulumi's postgres:// backend uses
)

// postgresStore is a postgres:// backend: Pulumi keeps every object as a row (key, data JSON with
// the bytes base64-encoded), keys prefixed with the URL's path (pkg/backend/diy/postgres).
type postgresStore struct {
	db     *sql.DB
	table  string
	prefix string
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func openPostgres(ctx context.Context, backendURL string) (*postgresStore, error) {
	u, err := url.Parse(backendURL)
	if err != nil {
		return nil, fmt.Errorf("postgres backend %s: %w", redactURL(backendURL), err)
	}
	q := u.Query()
	table := q.Get("table")
	if table == "" {
		table = "pulumi_state"
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("postgres backend: table %q is not a plain identifier", table)
	}
	q.Del("table")
	u.RawQuery = q.Encode()
	prefix := strings.TrimLeft(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres backend %s: %w", redactURL(backendURL), err)
	}
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres backend %s: %w", redactURL(backendURL), err)
	}
	return &postgresStore{db: db, table: table, prefix: prefix}, nil
}

// likePrefix escapes a key prefix for LIKE (keys hold '_', which LIKE reads as a wildcard).
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

func (s *postgresStore) list(ctx context.Context, prefix string) ([]string, error) {
	return s.keys(ctx, "SELECT key FROM "+s.table+" WHERE key LIKE $1", likePrefix(s.prefix+prefix))
}

func (s *postgresStore) listContaining(ctx context.Context, prefix, infix string) ([]string, error) {
	return s.keys(ctx, "SELECT key FROM "+s.table+" WHERE key LIKE $1 AND key LIKE $2",
		likePrefix(s.prefix+prefix), "%"+strings.TrimSuffix(likePrefix(infix), "%")+"%")
}

// keys runs a query of keys and returns them without the store's prefix; a table Pulumi has not
// created yet holds none.
func (s *postgresStore) keys(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if undefinedTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, strings.TrimPrefix(k, s.prefix))
	}
	return keys, rows.Err()
}

// readKeys is one query for every key.
func (s *postgresStore) readKeys(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(keys) == 0 {
		return out, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	rows, err := s.db.QueryContext(ctx, "SELECT key, data::text FROM "+s.table+" WHERE key = ANY($1)", pq.Array(full))
	if undefinedTable(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, doc string
		if err := rows.Scan(&k, &doc); err != nil {
			return nil, err
		}
		key := strings.TrimPrefix(k, s.prefix)
		if out[key], err = decodeRow(key, doc); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func (s *postgresStore) read(ctx context.Context, key string) ([]byte, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, "SELECT data::text FROM "+s.table+" WHERE key = $1", s.prefix+key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) || undefinedTable(err) {
		return nil, errNotExist
	}
	if err != nil {
		return nil, err
	}
	return decodeRow(key, doc)
}

// readAll is one query for the whole folder: the fleet's checkpoints in a single round trip.
func (s *postgresStore) readAll(ctx context.Context, prefix string, keep func(string) bool) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, data::text FROM "+s.table+" WHERE key LIKE $1", likePrefix(s.prefix+prefix))
	if undefinedTable(err) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k, doc string
		if err := rows.Scan(&k, &doc); err != nil {
			return nil, err
		}
		key := strings.TrimPrefix(k, s.prefix)
		// only the folder's own files, not those of folders below it
		if strings.Contains(strings.TrimPrefix(key, prefix), "/") || !keep(key) {
			continue
		}
		if out[key], err = decodeRow(key, doc); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// undefinedTable: Pulumi creates its table on first use, so before any stack exists there is
// none, which means no stacks rather than a broken backend.
func undefinedTable(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "42P01"
}

func decodeRow(key, doc string) ([]byte, error) {
	var row struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal([]byte(doc), &row); err != nil {
		return nil, fmt.Errorf("row %s: %w", key, err)
	}
	b, err := base64.StdEncoding.DecodeString(row.Data)
	if err != nil {
		return nil, fmt.Errorf("row %s: %w", key, err)
	}
	return b, nil
}

func (s *postgresStore) Close() error { return s.db.Close() }

// create inserts the row only if the key is free, in Pulumi's row shape (the bytes base64-encoded
// in a JSON document). A table Pulumi has not created yet means a store it has not initialised:
// ErrUnsupported, so the CLI creates the table with its own schema.
func (s *postgresStore) create(ctx context.Context, key string, data []byte) (bool, error) {
	doc, err := json.Marshal(struct {
		Data string `json:"data"`
	}{base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, "INSERT INTO "+s.table+" (key, data) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
		s.prefix+key, string(doc))
	if undefinedTable(err) {
		return false, fmt.Errorf("%w: table %s does not exist yet", ErrUnsupported, s.table)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
