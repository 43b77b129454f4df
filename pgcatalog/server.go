package pgcatalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ReadServer reads the catalog of every database of the server cfg reaches (templates and
// databases that refuse connections excluded), one connection and one snapshot per database:
// the data plane's whole security state in one pass. cfg's database is the one the list is read
// from.
func ReadServer(ctx context.Context, cfg *pgx.ConnConfig) ([]*Catalog, error) {
	first, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read server %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	defer first.Close(context.WithoutCancel(ctx))
	rows, err := first.Query(ctx, `SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read server %s:%d: list databases: %w", cfg.Host, cfg.Port, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read server %s:%d: list databases: %w", cfg.Host, cfg.Port, err)
	}
	out := make([]*Catalog, 0, len(names))
	for _, db := range names {
		c, err := readDatabase(ctx, first, cfg, db)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func readDatabase(ctx context.Context, first *pgx.Conn, cfg *pgx.ConnConfig, db string) (*Catalog, error) {
	if db == first.Config().Database {
		return ReadCatalog(ctx, first)
	}
	dc := cfg.Copy()
	dc.Database = db
	conn, err := pgx.ConnectConfig(ctx, dc)
	if err != nil {
		return nil, fmt.Errorf("read server %s:%d: database %s: %w", cfg.Host, cfg.Port, db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return ReadCatalog(ctx, conn)
}
