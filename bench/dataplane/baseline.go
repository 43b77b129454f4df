package dataplanebench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// PerResourceRead reads every planned object the way the provider's Read does during a refresh:
// a fresh admin connection to the object's database and a targeted catalog query, per resource.
// It returns how many resources it read.
func PerResourceRead(ctx context.Context, cfg *pgx.ConnConfig, f *Fleet) (int, error) {
	n := 0
	read := func(db string, q func(pgx.Tx) error) error {
		c := cfg.Copy()
		c.Database = db
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			return fmt.Errorf("connect %s: %w", db, err)
		}
		defer conn.Close(ctx)
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		n++
		return q(tx)
	}
	role := func(name string) error {
		return read("postgres", func(tx pgx.Tx) error { _, err := pgcatalog.RoleByName(ctx, tx, name); return err })
	}
	pf := f.Platform
	if err := read("postgres", func(tx pgx.Tx) error { _, err := pgcatalog.DatabaseByName(ctx, tx, pf.Database); return err }); err != nil {
		return n, err
	}
	if err := read(pf.Database, func(tx pgx.Tx) error { _, err := pgcatalog.SchemaByName(ctx, tx, pf.Schema); return err }); err != nil {
		return n, err
	}
	for _, t := range pf.Tables {
		if err := read(pf.Database, func(tx pgx.Tx) error { _, err := pgcatalog.RelationByName(ctx, tx, pf.Schema, t); return err }); err != nil {
			return n, err
		}
	}
	for _, t := range f.Tenants {
		p := t.Data.Postgres
		if err := role(p.LoginRole); err != nil {
			return n, err
		}
		if p.OwnerRole != "" {
			if err := role(p.OwnerRole); err != nil {
				return n, err
			}
		}
		if p.OwnSchema {
			if err := read(p.Database, func(tx pgx.Tx) error { _, err := pgcatalog.SchemaByName(ctx, tx, p.Schema); return err }); err != nil {
				return n, err
			}
		}
		for _, g := range p.Grants {
			err := read(g.Database, func(tx pgx.Tx) error {
				switch g.ObjectType {
				case "database":
					_, err := pgcatalog.DatabaseByName(ctx, tx, g.Database)
					return err
				case "schema":
					_, err := pgcatalog.SchemaByName(ctx, tx, g.Schema)
					return err
				}
				for _, o := range g.Objects {
					if _, err := pgcatalog.RelationByName(ctx, tx, g.Schema, o); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
		}
		for range p.DefaultPrivileges {
			if err := read(p.Database, func(tx pgx.Tx) error { _, err := pgcatalog.DefaultACLs(ctx, tx); return err }); err != nil {
				return n, err
			}
		}
		for _, pol := range p.Policies {
			if err := read(pol.Database, func(tx pgx.Tx) error { _, err := pgcatalog.Policies(ctx, tx, pol.Schema); return err }); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
