package pgcatalog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

func TestTableStatements(t *testing.T) {
	must := must(t)
	create, err := CreateTable(TableSpec{Schema: "user", Name: "order", Owner: "acme_owner", TenantColumn: "tenant_id"})
	if err != nil {
		t.Fatal(err)
	}
	got := append(create,
		must(AlterTableOwner("shared", "items", "select")),
		must(AddTenantColumn("shared", "items", "tenant_id")),
		must(SetNotNull("shared", "items", "tenant_id")),
		must(CreateTenantIndex("shared", "items", "org-id")),
		must(DropTable("shared", "items", false)),
		must(DropTable("shared", "items", true)),
	)
	want := []string{
		`CREATE TABLE "user"."order" ("tenant_id" text NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS "order_tenant_id_idx" ON "user"."order" ("tenant_id")`,
		`ALTER TABLE "user"."order" OWNER TO "acme_owner"`,
		`ALTER TABLE "shared"."items" OWNER TO "select"`,
		`ALTER TABLE "shared"."items" ADD COLUMN IF NOT EXISTS "tenant_id" text`,
		`ALTER TABLE "shared"."items" ALTER COLUMN "tenant_id" SET NOT NULL`,
		`CREATE INDEX IF NOT EXISTS "items_org-id_idx" ON "shared"."items" ("org-id")`,
		`DROP TABLE IF EXISTS "shared"."items" RESTRICT`,
		`DROP TABLE IF EXISTS "shared"."items" CASCADE`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	// Without an owner the creating role keeps the table.
	if s, _ := CreateTable(TableSpec{Schema: "s", Name: "t", TenantColumn: "tenant_id"}); len(s) != 2 {
		t.Errorf("CreateTable without owner = %q", s)
	}
}

func TestTableStatementsRefuseBadInput(t *testing.T) {
	for name, f := range map[string]func() ([]string, error){
		"table": func() ([]string, error) {
			return CreateTable(TableSpec{Schema: "s", Name: `t"; DROP TABLE x; --`, TenantColumn: "c"})
		},
		"schema": func() ([]string, error) { return CreateTable(TableSpec{Schema: "S", Name: "t", TenantColumn: "c"}) },
		"column": func() ([]string, error) {
			return CreateTable(TableSpec{Schema: "s", Name: "t", TenantColumn: "c text, x"})
		},
		"no column": func() ([]string, error) {
			return CreateTable(TableSpec{Schema: "s", Name: "t"})
		},
		"owner": func() ([]string, error) {
			return CreateTable(TableSpec{Schema: "s", Name: "t", TenantColumn: "c", Owner: "o'wner"})
		},
	} {
		if s, err := f(); err == nil {
			t.Errorf("%s: built %q, want an error", name, s)
		}
	}
	for name, f := range map[string]func() (string, error){
		"owner":       func() (string, error) { return AlterTableOwner("s", "t", "pg_read_all_data") },
		"add column":  func() (string, error) { return AddTenantColumn("s", "t", "c; DROP") },
		"not null":    func() (string, error) { return SetNotNull("s", "t;", "c") },
		"index":       func() (string, error) { return CreateTenantIndex("s", "t", "") },
		"drop schema": func() (string, error) { return DropTable("a b", "t", true) },
	} {
		if s, err := f(); err == nil {
			t.Errorf("%s: built %q, want an error", name, s)
		}
	}
}

func TestTenantIndexName(t *testing.T) {
	long := strings.Repeat("t", 60)
	for _, tc := range []struct {
		table, column string
		want          string
	}{
		{"items", "tenant_id", "items_tenant_id_idx"},
		{strings.Repeat("a", 49), "tenant_id", strings.Repeat("a", 49) + "_tenant_id_idx"}, // exactly 63
	} {
		if got := TenantIndexName(tc.table, tc.column); got != tc.want {
			t.Errorf("TenantIndexName(%q, %q) = %q, want %q", tc.table, tc.column, got, tc.want)
		}
	}
	a, b := TenantIndexName(long+"a", "tenant_id"), TenantIndexName(long+"b", "tenant_id")
	for _, n := range []string{a, b, TenantIndexName(strings.Repeat("a", 50), "tenant_id"), TenantIndexName(long, strings.Repeat("c", 63))} {
		if len(n) > MaxIdentLen || !strings.HasSuffix(n, "_idx") {
			t.Errorf("index name %q (%d bytes): want at most %d ending in _idx", n, len(n), MaxIdentLen)
		}
		if err := ValidateIdent("index", n); err != nil {
			t.Errorf("index name %q: %v", n, err)
		}
	}
	if a == b {
		t.Errorf("two long tables share the index name %q", a)
	}
	if TenantIndexName(long+"a", "tenant_id") != a {
		t.Error("the index name is not stable")
	}
}

// TestTableReads: the tenant column's type and NOT NULL as the catalog has them, and the row check
// that never mistakes rows hidden by row-level security for an empty table.
func TestTableReads(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	c, err := pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	stmts, err := CreateTable(TableSpec{Schema: "tbl", Name: "items", TenantColumn: "tenant_id"})
	if err != nil {
		t.Fatal(err)
	}
	setup := append([]string{`CREATE SCHEMA tbl`, `CREATE ROLE tbl_owner NOLOGIN`}, stmts...)
	setup = append(setup, `ALTER TABLE tbl.items ADD COLUMN note varchar(20)`, `ALTER TABLE tbl.items OWNER TO tbl_owner`)
	if err := ExecAll(ctx, c.PgConn(), setup...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ExecAll(ctx, c.PgConn(), `RESET ROLE`, `DROP SCHEMA tbl CASCADE`, `DROP ROLE tbl_owner`) })

	col, err := ColumnByName(ctx, c, "tbl", "items", "tenant_id")
	if err != nil || !col.IsTenantColumn() {
		t.Errorf("tenant_id = %+v, %v", col, err)
	}
	if col, err := ColumnByName(ctx, c, "tbl", "items", "note"); err != nil || col.Type != "character varying(20)" || col.NotNull || col.IsTenantColumn() {
		t.Errorf("note = %+v, %v", col, err)
	}
	for _, missing := range [][2]string{{"items", "nope"}, {"nope", "tenant_id"}} {
		if _, err := ColumnByName(ctx, c, "tbl", missing[0], missing[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("ColumnByName(%v) = %v, want ErrNotFound", missing, err)
		}
	}
	if got := strings.Join(queryStrings(t, c, `SELECT indexname::text FROM pg_indexes WHERE schemaname = 'tbl'`), ","); got != "items_tenant_id_idx" {
		t.Errorf("indexes = %q", got)
	}

	if has, err := TableHasRows(ctx, c, "tbl", "items"); err != nil || has {
		t.Errorf("empty table: has rows %v, %v", has, err)
	}
	if err := ExecAll(ctx, c.PgConn(), `INSERT INTO tbl.items VALUES ('acme', 'x')`); err != nil {
		t.Fatal(err)
	}
	if has, err := TableHasRows(ctx, c, "tbl", "items"); err != nil || !has {
		t.Errorf("table with a row: has rows %v, %v", has, err)
	}
	// The owner under FORCE ROW LEVEL SECURITY and no policy would count zero rows: refused.
	if err := ExecAll(ctx, c.PgConn(), `ALTER TABLE tbl.items ENABLE ROW LEVEL SECURITY`, `ALTER TABLE tbl.items FORCE ROW LEVEL SECURITY`,
		`GRANT USAGE ON SCHEMA tbl TO tbl_owner`, `SET ROLE tbl_owner`); err != nil {
		t.Fatal(err)
	}
	if has, err := TableHasRows(ctx, c, "tbl", "items"); !errors.Is(err, ErrRowsHidden) {
		t.Errorf("rows hidden by RLS: has rows %v, err %v; want ErrRowsHidden", has, err)
	}
}

func queryStrings(t *testing.T, c *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
