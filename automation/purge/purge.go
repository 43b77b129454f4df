// Package purge removes the tenant data that `destroy` retains. A destroy never drops data
// silently: a database or schema that holds tables, and the owner role of such data, leave the
// stack but stay on the server (the tenantpg provider's retention rule), and a row-filtered
// tenant's rows stay in the shared tables under no policy. Purging is the explicit second step
// (`tenantctl destroy --purge-data`): it drops exactly what the tenant's data plan names, after
// its stack is gone, so nothing a stack still manages is dropped under it.
package purge

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Kind is what a step removes.
type Kind string

const (
	KindDatabase   Kind = "database"   // DROP DATABASE (with everything in it)
	KindSchema     Kind = "schema"     // DROP SCHEMA ... CASCADE in the shared database
	KindRows       Kind = "rows"       // DELETE of the tenant's rows of a shared table
	KindPrivileges Kind = "privileges" // DROP OWNED BY: what a role still holds in a database
	KindRole       Kind = "role"       // DROP ROLE
)

// Step is one statement of a purge and the database it runs in ("" for the server-wide
// statements, run from the connection's own database: DROP DATABASE, DROP ROLE).
type Step struct {
	Kind     Kind   `json:"kind"`
	Database string `json:"database,omitempty"`
	// Name is the database, schema or role the step removes; for rows, the table.
	Name   string `json:"name"`
	Schema string `json:"schema,omitempty"`
	SQL    string `json:"sql"`
	// Args are the statement's parameters (the tenant id of a row purge): the statement never
	// carries a value inline.
	Args []any `json:"args,omitempty"`
	// Present is set by Run: false when the object was already gone (nothing to do).
	Present bool `json:"present"`
}

// Object names what the step removes, for reports and the audit log.
func (s Step) Object() string {
	switch s.Kind {
	case KindSchema:
		return "schema " + s.Database + "/" + s.Name
	case KindRows:
		return fmt.Sprintf("rows of tenant %v in %s/%s.%s", s.Args[0], s.Database, s.Schema, s.Name)
	case KindPrivileges:
		if s.Database != "" {
			return "privileges of role " + s.Name + " in " + s.Database
		}
		return "privileges of role " + s.Name
	}
	return string(s.Kind) + " " + s.Name
}

// Tenant plans the purge of one tenant's data: its dedicated database, or its schema of the
// shared database (with everything in it), or its rows of every shared table; then its owner
// and login roles with whatever privileges they still hold. Names come from the plan and are
// validated and quoted by pgcatalog; the tenant id of a row purge is a parameter.
func Tenant(tenantID string, d *tenantplan.Postgres) ([]Step, error) {
	if d == nil {
		return nil, nil
	}
	var steps []Step
	switch {
	case d.OwnDatabase:
		sql, err := pgcatalog.DropDatabase(d.Database)
		if err != nil {
			return nil, fmt.Errorf("purge %s: %w", tenantID, err)
		}
		steps = append(steps, Step{Kind: KindDatabase, Name: d.Database, SQL: sql})
	case d.OwnSchema:
		sql, err := pgcatalog.DropSchema(d.Schema, true)
		if err != nil {
			return nil, fmt.Errorf("purge %s: %w", tenantID, err)
		}
		steps = append(steps, Step{Kind: KindSchema, Database: d.Database, Name: d.Schema, SQL: sql})
	default:
		for _, p := range d.Policies {
			for kind, name := range map[string]string{"schema": p.Schema, "table": p.Table} {
				if err := pgcatalog.ValidateIdent(kind, name); err != nil {
					return nil, fmt.Errorf("purge %s: %w", tenantID, err)
				}
			}
			steps = append(steps, Step{Kind: KindRows, Database: p.Database, Schema: p.Schema, Name: p.Table,
				SQL: "DELETE FROM " + pgcatalog.QuoteIdent(p.Schema) + "." + pgcatalog.QuoteIdent(p.Table) +
					" WHERE " + pgcatalog.QuoteIdent(tenantplan.PGTenantIDColumn) + " = $1",
				Args: []any{tenantID}})
		}
	}
	for _, r := range []string{d.OwnerRole, d.LoginRole} {
		if r == "" {
			continue
		}
		rs, err := roleSteps(d.Database, r)
		if err != nil {
			return nil, fmt.Errorf("purge %s: %w", tenantID, err)
		}
		steps = append(steps, rs...)
	}
	return steps, nil
}

// Platform plans the purge of an environment's shared database and its owner role, for a
// platform stack destroyed after its last tenant.
func Platform(p *tenantplan.PlatformPostgres) ([]Step, error) {
	if p == nil {
		return nil, nil
	}
	sql, err := pgcatalog.DropDatabase(p.Database)
	if err != nil {
		return nil, fmt.Errorf("purge platform data: %w", err)
	}
	steps := []Step{{Kind: KindDatabase, Name: p.Database, SQL: sql}}
	rs, err := roleSteps("", p.OwnerRole)
	if err != nil {
		return nil, fmt.Errorf("purge platform data: %w", err)
	}
	return append(steps, rs...), nil
}

// roleSteps drop a role after revoking what it still holds in db (DROP OWNED BY also drops
// what it owns there, which the steps before have emptied) and in the connection's database.
func roleSteps(db, role string) ([]Step, error) {
	if err := pgcatalog.ValidateIdent("role", role); err != nil {
		return nil, err
	}
	owned := "DROP OWNED BY " + pgcatalog.QuoteIdent(role)
	drop, err := pgcatalog.DropRole(role)
	if err != nil {
		return nil, err
	}
	var steps []Step
	if db != "" {
		steps = append(steps, Step{Kind: KindPrivileges, Database: db, Name: role, SQL: owned})
	}
	return append(steps,
		Step{Kind: KindPrivileges, Name: role, SQL: owned},
		Step{Kind: KindRole, Name: role, SQL: drop}), nil
}

// Run executes steps in order on the server cfg reaches (an admin connection; its database is
// the one server-wide statements run from), one connection per step. A step whose database,
// schema, table or role is already gone is skipped with Present false, so a purge can be
// repeated after a partial failure. It stops at the first failing step; done reports every step
// as it completes (for the audit log).
func Run(ctx context.Context, cfg *pgx.ConnConfig, steps []Step, done func(Step)) ([]Step, error) {
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		present, err := run(ctx, cfg, s)
		if err != nil {
			return out, fmt.Errorf("purge %s: %w", s.Object(), err)
		}
		s.Present = present
		out = append(out, s)
		if done != nil {
			done(s)
		}
	}
	return out, nil
}

func run(ctx context.Context, cfg *pgx.ConnConfig, s Step) (bool, error) {
	c := cfg.Copy()
	if s.Database != "" {
		c.Database = s.Database
	}
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		var pe interface{ SQLState() string }
		if errors.As(err, &pe) && pe.SQLState() == "3D000" { // invalid_catalog_name: the database is gone
			return false, nil
		}
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	present, err := exists(ctx, conn, s)
	if err != nil || !present {
		return false, err
	}
	_, err = conn.Exec(ctx, s.SQL, s.Args...)
	return err == nil, err
}

// exists says whether the step's object is still there, so a repeated purge reports what it
// really removed rather than a silent IF EXISTS.
func exists(ctx context.Context, conn *pgx.Conn, s Step) (bool, error) {
	q := map[Kind]string{
		KindDatabase:   `SELECT count(*) FROM pg_database WHERE datname = $1`,
		KindRole:       `SELECT count(*) FROM pg_roles WHERE rolname = $1`,
		KindPrivileges: `SELECT count(*) FROM pg_roles WHERE rolname = $1`,
		KindSchema:     `SELECT count(*) FROM pg_namespace WHERE nspname = $1`,
		KindRows: `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		           WHERE c.relname = $1 AND n.nspname = $2`,
	}[s.Kind]
	if q == "" {
		return false, fmt.Errorf("step kind %q", s.Kind)
	}
	args := []any{s.Name}
	if s.Kind == KindRows {
		args = append(args, s.Schema)
	}
	var n int
	if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
