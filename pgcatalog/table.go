package pgcatalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultTenantColumn is the column a shared table filters tenants' rows by.
const DefaultTenantColumn = "tenant_id"

// TableSpec is a shared table the platform creates for row-filtered tenants. Only the tenant
// column is the platform's: the other columns belong to the application's migrations.
type TableSpec struct {
	Schema string
	Name   string
	// Owner is set after creation; empty leaves the creating role as the owner.
	Owner        string
	TenantColumn string
}

// Validate checks the names.
func (t TableSpec) Validate() error {
	if err := ValidateIdent("schema", t.Schema); err != nil {
		return err
	}
	if err := ValidateIdent("table", t.Name); err != nil {
		return err
	}
	if err := ValidateIdent("tenant column", t.TenantColumn); err != nil {
		return err
	}
	if t.Owner != "" {
		return ValidateIdent("owner role", t.Owner)
	}
	return nil
}

// CreateTable is CREATE TABLE with the tenant column (text NOT NULL), the index on it and, when an
// owner is given, the owner. Run the statements in one transaction: a failure leaves no table.
func CreateTable(t TableSpec) ([]string, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	index, err := CreateTenantIndex(t.Schema, t.Name, t.TenantColumn)
	if err != nil {
		return nil, err
	}
	stmts := []string{
		"CREATE TABLE " + QuoteQualified(t.Schema, t.Name) + " (" + QuoteIdent(t.TenantColumn) + " text NOT NULL)",
		index,
	}
	if t.Owner != "" {
		owner, err := AlterTableOwner(t.Schema, t.Name, t.Owner)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, owner)
	}
	return stmts, nil
}

// TenantIndexName is the name of the index on a table's tenant column: <table>_<column>_idx. A name
// longer than PostgreSQL's 63 bytes (which the server would truncate silently, so that two long
// tables could collide) is cut at a character boundary and keeps a hash of the full name.
func TenantIndexName(table, column string) string {
	const suffix = "_idx"
	base := table + "_" + column
	if len(base)+len(suffix) <= MaxIdentLen {
		return base + suffix
	}
	sum := sha256.Sum256([]byte(table + "\x00" + column))
	tag := "_" + hex.EncodeToString(sum[:4])
	keep := MaxIdentLen - len(suffix) - len(tag)
	for keep > 0 && !utf8RuneStart(base[keep]) {
		keep--
	}
	return base[:keep] + tag + suffix
}

// utf8RuneStart reports whether b starts a UTF-8 sequence (is not a continuation byte).
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// CreateTenantIndex is CREATE INDEX IF NOT EXISTS on the tenant column.
func CreateTenantIndex(schema, table, column string) (string, error) {
	if err := validateTableColumn(schema, table, column); err != nil {
		return "", err
	}
	return "CREATE INDEX IF NOT EXISTS " + QuoteIdent(TenantIndexName(table, column)) + " ON " +
		QuoteQualified(schema, table) + " (" + QuoteIdent(column) + ")", nil
}

// AlterTableOwner is ALTER TABLE schema.table OWNER TO owner.
func AlterTableOwner(schema, table, owner string) (string, error) {
	if err := ValidateIdent("schema", schema); err != nil {
		return "", err
	}
	if err := ValidateIdent("table", table); err != nil {
		return "", err
	}
	if err := ValidateIdent("owner role", owner); err != nil {
		return "", err
	}
	return "ALTER TABLE " + QuoteQualified(schema, table) + " OWNER TO " + QuoteIdent(owner), nil
}

// AddTenantColumn is ALTER TABLE ... ADD COLUMN IF NOT EXISTS column text (nullable: SetNotNull
// follows, and fails while rows without a tenant exist).
func AddTenantColumn(schema, table, column string) (string, error) {
	if err := validateTableColumn(schema, table, column); err != nil {
		return "", err
	}
	return "ALTER TABLE " + QuoteQualified(schema, table) + " ADD COLUMN IF NOT EXISTS " + QuoteIdent(column) + " text", nil
}

// SetNotNull is ALTER TABLE ... ALTER COLUMN column SET NOT NULL.
func SetNotNull(schema, table, column string) (string, error) {
	if err := validateTableColumn(schema, table, column); err != nil {
		return "", err
	}
	return "ALTER TABLE " + QuoteQualified(schema, table) + " ALTER COLUMN " + QuoteIdent(column) + " SET NOT NULL", nil
}

// DropTable drops a table; cascade also drops what depends on it (views, foreign keys of other
// tables). The retention rule is the caller's: it checks TableHasRows first.
func DropTable(schema, table string, cascade bool) (string, error) {
	if err := ValidateIdent("schema", schema); err != nil {
		return "", err
	}
	if err := ValidateIdent("table", table); err != nil {
		return "", err
	}
	return "DROP TABLE IF EXISTS " + QuoteQualified(schema, table) + flag(cascade, " CASCADE", " RESTRICT"), nil
}

func validateTableColumn(schema, table, column string) error {
	if err := ValidateIdent("schema", schema); err != nil {
		return err
	}
	if err := ValidateIdent("table", table); err != nil {
		return err
	}
	return ValidateIdent("column", column)
}

// Column is a column of a table (pg_attribute).
type Column struct {
	Name string
	// Type is format_type's text: text, character varying(20), integer, ...
	Type    string
	NotNull bool
}

// IsTenantColumn reports whether the column is what a tenant column must be: text NOT NULL.
func (c Column) IsTenantColumn() bool { return c.Type == "text" && c.NotNull }

// ColumnByName reads one column of a table of the connected database; ErrNotFound when the table
// has no such column (or the table does not exist).
func ColumnByName(ctx context.Context, q Querier, schema, table, column string) (Column, error) {
	var c Column
	err := q.QueryRow(ctx, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND t.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped`,
		schema, table, column).Scan(&c.Name, &c.Type, &c.NotNull)
	if errors.Is(err, pgx.ErrNoRows) {
		return Column{}, fmt.Errorf("column %s of %s.%s: %w", column, schema, table, ErrNotFound)
	}
	if err != nil {
		return Column{}, fmt.Errorf("pg_attribute: %w", err)
	}
	return c, nil
}

// ErrRowsHidden means row-level security applies to the connected role on the table (it is the
// owner of a table with FORCE ROW LEVEL SECURITY, say), so whether the table holds rows cannot be
// told: a count would see only the rows the policies let through.
var ErrRowsHidden = errors.New("row-level security hides the table's rows from the admin role")

// TableHasRows reports whether a table holds at least one row. It reads with row_security off,
// which makes the server refuse the query (ErrRowsHidden) rather than filter it when policies
// would apply, so an answer of false is never a policy hiding rows.
func TableHasRows(ctx context.Context, c *pgx.Conn, schema, table string) (bool, error) {
	if err := ValidateIdent("schema", schema); err != nil {
		return false, err
	}
	if err := ValidateIdent("table", table); err != nil {
		return false, err
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := ExecOne(ctx, c.PgConn(), "SET LOCAL row_security = off"); err != nil {
		return false, err
	}
	var has bool
	err = tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+QuoteQualified(schema, table)+")").Scan(&has)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" && strings.Contains(pgErr.Message, "row-level security") {
		return false, fmt.Errorf("%s.%s: %w", schema, table, ErrRowsHidden)
	}
	return has, err
}
