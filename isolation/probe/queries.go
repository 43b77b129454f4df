package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

type outcome int

const (
	succeeded outcome = iota
	// denied: the server refused the statement; the isolation held.
	denied
	// undecided: no answer either way (timeout, lost connection, an unexpected error).
	undecided
)

// outcomeOf classifies a failed probe. Refusals are the SQLSTATE classes an access check or a
// missing object raises: 42 (insufficient privilege, undefined role/table/parameter), 3D (no such
// database), 3F (no such schema) and, when logging in to another database, 28 (authorization).
func outcomeOf(err error, login bool) outcome {
	if err == nil {
		return succeeded
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "42"), strings.HasPrefix(pe.Code, "3D"), strings.HasPrefix(pe.Code, "3F"):
			return denied
		case login && strings.HasPrefix(pe.Code, "28"):
			return denied
		}
	}
	return undecided
}

// query runs one probe: BEGIN READ ONLY, SET LOCAL statement_timeout, the setup statements, the
// query, ROLLBACK. It returns the query's rows as text.
func (r *run) query(ctx context.Context, c *pgx.Conn, setup []string, q string, args ...any) ([][]string, outcome, error) {
	r.report.Queries++
	if c.IsClosed() {
		return nil, undecided, errors.New("the session was closed by an earlier probe")
	}
	qctx, cancel := context.WithTimeout(ctx, r.opts.StatementTimeout+5*time.Second)
	defer cancel()
	tx, err := c.BeginTx(qctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, undecided, err
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		_ = tx.Rollback(rctx)
	}()
	stmts := append([]string{"SET LOCAL statement_timeout = " + strconv.FormatInt(r.opts.StatementTimeout.Milliseconds(), 10)}, setup...)
	for _, s := range stmts {
		if _, err := tx.Exec(qctx, s); err != nil {
			return nil, outcomeOf(err, false), err
		}
	}
	rows, err := tx.Query(qctx, q, args...)
	if err != nil {
		return nil, outcomeOf(err, false), err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, undecided, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, outcomeOf(err, false), err
	}
	return out, succeeded, nil
}

// try runs a probe whose success is evidence: setup then q, as one SQL text.
func (r *run) try(ctx context.Context, c *pgx.Conn, to, db string, setup []string, q string) ([][]string, outcome, string) {
	rows, out, sql, _ := r.tryErr(ctx, c, to, db, setup, q)
	return rows, out, sql
}

func (r *run) tryErr(ctx context.Context, c *pgx.Conn, to, db string, setup []string, q string) ([][]string, outcome, string, error) {
	sql := strings.Join(append(slices.Clone(setup), q), "; ")
	rows, out, err := r.query(ctx, c, setup, q)
	if out == undecided {
		r.undecidedProbe(to, db, sql, err)
	}
	return rows, out, sql, err
}

// roles tries to become every other tenant's roles.
func (r *run) roles(ctx context.Context, c *pgx.Conn, db string) {
	q := pgcatalog.QuoteIdent
	type target struct{ tenant, role string }
	var targets []target
	for _, b := range r.others() {
		bp := b.Data.Postgres
		targets = append(targets, target{b.TenantID, bp.LoginRole})
		if bp.OwnerRole != "" {
			targets = append(targets, target{b.TenantID, bp.OwnerRole})
		}
	}
	if r.env.platformRole != "" {
		targets = append(targets, target{isolation.Platform, r.env.platformRole})
	}
	for _, t := range targets {
		if rows, out, sql := r.try(ctx, c, t.tenant, db, []string{"SET LOCAL ROLE " + q(t.role)}, `SELECT current_user`); out == succeeded {
			r.edge(t.tenant, graph.KindDataMembership, db, sql, "current_user = "+cell(rows, 0, 0),
				r.p.LoginRole+" may become "+t.role+" and act with its privileges")
		}
	}
	for _, b := range r.others() {
		role := b.Data.Postgres.LoginRole
		if rows, out, sql := r.try(ctx, c, b.TenantID, db, []string{"SET LOCAL SESSION AUTHORIZATION " + q(role)}, `SELECT session_user, current_user`); out == succeeded {
			r.edge(b.TenantID, graph.KindDataEscalation, db, sql, "session_user = "+cell(rows, 0, 0)+", current_user = "+cell(rows, 0, 1),
				r.p.LoginRole+" may change its session authorization (a superuser's power), so it is any role")
		}
	}
}

// inDatabase probes what a session in db reaches: other tenants' schemas and the shared tables.
func (r *run) inDatabase(ctx context.Context, c *pgx.Conn, db string) {
	owner := r.env.silo[db]
	if owner == r.a.TenantID {
		return // everything in a silo tenant's own database is its own
	}
	schemas, out, err := r.query(ctx, c, nil, `SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1`)
	if out != succeeded {
		r.undecidedProbe(owner, db, "-- list the schemas", err)
	} else {
		for _, s := range schemas {
			to := owner // every schema of another silo tenant's database is that tenant's
			if to == "" {
				if to = r.env.scope.Owner(s[0]); to == "" {
					to = r.env.scope.Owner(s[1])
				}
			}
			if to == "" || to == r.a.TenantID {
				continue
			}
			r.schema(ctx, c, db, to, s[0])
		}
	}
	for _, s := range r.env.shared {
		if s.database == db {
			r.sharedRows(ctx, c, s)
		}
	}
}

// schema probes tenant b's schema: a read of each table, else USAGE.
func (r *run) schema(ctx context.Context, c *pgx.Conn, db, b, schema string) {
	tables, out, err := r.query(ctx, c, nil, `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`, schema)
	if out != succeeded {
		r.undecidedProbe(b, db, "-- list the tables of schema "+schema, err)
		return
	}
	if len(tables) == 0 {
		rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT pg_catalog.has_schema_privilege(current_user, `+pgcatalog.QuoteLiteral(schema)+`, 'USAGE')`)
		if out == succeeded && cell(rows, 0, 0) == "true" {
			r.edge(b, graph.KindDataGrant, db, sql, "true",
				"schema "+schema+" has no tables, so no read can show USAGE: the server's privilege check is the evidence")
		}
		return
	}
	read := false
	for _, t := range tables {
		name := pgcatalog.QuoteQualified(schema, t[0])
		rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT 1 FROM `+name+` LIMIT 1`)
		if out != succeeded {
			continue
		}
		read = true
		returned := "1 row"
		if len(rows) == 0 {
			returned = "no rows (the table is empty; the read itself succeeded)"
		}
		r.edge(b, graph.KindDataGrant, db, sql, returned, "")
		if cnt, out, csql := r.try(ctx, c, b, db, nil, `SELECT count(*) FROM `+name); out == succeeded {
			r.edge(b, graph.KindDataGrant, db, csql, "count = "+cell(cnt, 0, 0), "")
		}
	}
	if read {
		return
	}
	// No table is readable; a name lookup of a table needs USAGE on its schema and nothing else.
	name := pgcatalog.QuoteQualified(schema, tables[0][0])
	if rows, out, sql := r.try(ctx, c, b, db, nil, `SELECT `+pgcatalog.QuoteLiteral(name)+`::pg_catalog.regclass::pg_catalog.oid`); out == succeeded {
		r.edge(b, graph.KindDataGrant, db, sql, "oid = "+cell(rows, 0, 0),
			"resolving a name in schema "+schema+" needs USAGE on it; its tables' SELECT was refused")
	}
}

// sharedRows reads other tenants' rows of a shared table: as the tenant, then after switching each
// session setting a policy might follow to each other tenant.
func (r *run) sharedRows(ctx context.Context, c *pgx.Conn, s sharedTable) {
	col := pgcatalog.QuoteIdent(tenantplan.PGTenantIDColumn)
	q := `SELECT ` + col + `, count(*) FROM ` + pgcatalog.QuoteQualified(s.schema, s.table) +
		` WHERE ` + col + ` <> ` + pgcatalog.QuoteLiteral(r.a.TenantID) + ` GROUP BY 1 ORDER BY 1`
	seen := map[string]bool{}
	report := func(rows [][]string, sql, note string) {
		for _, row := range rows {
			to := row[0]
			if seen[to] || to == r.a.TenantID {
				continue
			}
			seen[to] = true
			n := note
			if r.env.byID[to] == nil {
				n = strings.TrimSpace(n + " (" + to + " is not a tenant of environment " + r.env.env + ")")
			}
			r.edge(to, graph.KindDataRowSecurity, s.database, sql, fmt.Sprintf("%s row(s) of tenant %s", row[1], to), n)
		}
	}
	rows, out, sql, err := r.tryErr(ctx, c, "", s.database, nil, q)
	if out == succeeded {
		report(rows, sql, "")
	}
	// Refused for lack of a privilege on the schema or the table: no session setting changes that.
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42501" {
		return
	}
	for _, b := range r.others() {
		for _, setting := range []string{"app.tenant_id", "tenant.id"} {
			rows, out, sql := r.try(ctx, c, b.TenantID, s.database, []string{"SET LOCAL " + setting + " = " + pgcatalog.QuoteLiteral(b.TenantID)}, q)
			if out == succeeded {
				report(rows, sql, "session-setting switch: the rows follow "+setting+", which any session may set")
			}
		}
	}
}

func cell(rows [][]string, i, j int) string {
	if i < len(rows) && j < len(rows[i]) {
		return rows[i][j]
	}
	return ""
}
