package tenantpg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Table is a shared table the platform creates for row-filtered tenants: the tenant column (text
// NOT NULL) and an index on it. ID: "<database>/<schema>/<table>".
//
// Only the tenant column is the platform's: the other columns belong to the application's
// migrations and are never drift. A tenant column dropped, made nullable or retyped out of band
// reads as tenantColumn "" (drift) and the next update repairs it in place; only a change of the
// declared column name needs a new table.
//
// Retention: deleting a table that holds rows drops nothing unless forceDestroy is true; the
// resource leaves the stack with a warning and the table stays. An empty table is dropped.
type Table struct{}

// TableArgs are a table's inputs.
type TableArgs struct {
	Database string `pulumi:"database,optional" provider:"replaceOnChanges"`
	Schema   string `pulumi:"schema" provider:"replaceOnChanges"`
	Name     string `pulumi:"name" provider:"replaceOnChanges"`
	Owner    string `pulumi:"owner,optional"`
	// TenantColumn carries no replaceOnChanges on purpose: the generated SDKs turn every change of
	// such a property into a replacement, and the repair of a drifted column (live "") must stay
	// in place. Diff replaces only when the declared name changes.
	TenantColumn string `pulumi:"tenantColumn,optional"`
	ForceDestroy bool   `pulumi:"forceDestroy,optional"`
}

// TableState is what the catalog says. TenantColumn is the declared column while it is text NOT
// NULL on the server and "" otherwise (missing, nullable or another type: drift).
type TableState struct {
	TableArgs
	// DeclaredTenantColumn is the column the program declared, kept while TenantColumn reads ""
	// so that Diff tells a repair (in place) from a rename (replace). Empty after an import.
	DeclaredTenantColumn string `pulumi:"declaredTenantColumn"`
}

// Annotate documents the resource.
func (t *Table) Annotate(a infer.Annotator) {
	a.SetToken("index", "Table")
	a.Describe(t, "A shared table for row-filtered tenants: the tenant column (text NOT NULL) and an index on it; the other columns belong to the application's migrations. "+
		"A tenant column dropped, made nullable or retyped out of band reads as tenantColumn \"\" and the next update repairs it in place. "+
		"Import ID: <database>/<schema>/<table>. Deleting one that holds rows retains it (the resource leaves the stack with a warning) unless forceDestroy is true.")
}

// Annotate documents the inputs.
func (t *TableArgs) Annotate(a infer.Annotator) {
	a.Describe(&t.Database, "Database of the table; default the provider's database.")
	a.Describe(&t.Schema, "Schema of the table.")
	a.Describe(&t.Name, "Table name.")
	a.Describe(&t.Owner, "Owner role; default the provider's admin role.")
	a.Describe(&t.TenantColumn, "Column holding the tenant id (text NOT NULL, indexed); default tenant_id. Changing the name replaces the table.")
	a.SetDefault(&t.TenantColumn, pgcatalog.DefaultTenantColumn)
	a.Describe(&t.ForceDestroy, "Drop the table with its rows on delete. Default false: a table holding rows is retained.")
}

// Annotate documents the outputs.
func (t *TableState) Annotate(a infer.Annotator) {
	a.Describe(&t.DeclaredTenantColumn, "The tenant column the program declared; tenantColumn is \"\" while that column is not text NOT NULL on the server.")
}

// Check validates names before anything reaches the server.
func (*Table) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[TableArgs], error) {
	return validated(req, func() (TableArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[TableArgs](ctx, req.NewInputs)
	},
		func(a *TableArgs) (string, error) {
			if a.TenantColumn == "" {
				a.TenantColumn = pgcatalog.DefaultTenantColumn
			}
			if a.Database != "" {
				if err := pgcatalog.ValidateIdent("database", a.Database); err != nil {
					return "database", err
				}
			}
			if err := pgcatalog.ValidateIdent("schema", a.Schema); err != nil {
				return "schema", err
			}
			if err := pgcatalog.ValidateIdent("table", a.Name); err != nil {
				return "name", err
			}
			if a.Owner != "" {
				if err := pgcatalog.ValidateIdent("owner role", a.Owner); err != nil {
					return "owner", err
				}
			}
			if err := pgcatalog.ValidateIdent("tenant column", a.TenantColumn); err != nil {
				return "tenantColumn", err
			}
			return "", nil
		})
}

// resolved fills the provider's database and the default tenant column.
func (a TableArgs) resolved(ctx context.Context) TableArgs {
	a.Database = infer.GetConfig[Config](ctx).database(a.Database)
	if a.TenantColumn == "" {
		a.TenantColumn = pgcatalog.DefaultTenantColumn
	}
	return a
}

func (a TableArgs) id() string { return a.Database + "/" + a.Schema + "/" + a.Name }

// Create runs CREATE TABLE, the index on the tenant column and the owner in one transaction.
func (*Table) Create(ctx context.Context, req infer.CreateRequest[TableArgs]) (infer.CreateResponse[TableState], error) {
	in := req.Inputs.resolved(ctx)
	if req.DryRun {
		return infer.CreateResponse[TableState]{ID: in.id(), Output: TableState{in, in.TenantColumn}}, nil
	}
	stmts, err := pgcatalog.CreateTable(pgcatalog.TableSpec{Schema: in.Schema, Name: in.Name, Owner: in.Owner, TenantColumn: in.TenantColumn})
	if err != nil {
		return infer.CreateResponse[TableState]{}, err
	}
	if err := execTx(ctx, in.Database, stmts...); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P07" {
			err = fmt.Errorf("%w; hint: a table retained by an earlier delete stays on the server: import it with ID %s", err, in.id())
		}
		return infer.CreateResponse[TableState]{}, fmt.Errorf("create table %s: %w", in.id(), err)
	}
	out, err := readTable(ctx, in, in.TenantColumn)
	return infer.CreateResponse[TableState]{ID: in.id(), Output: out}, err
}

// readTable reads the owner and checks the tenant column declared (tenant_id when unknown, after
// an import); known (database resolved) fills what the catalog does not hold.
func readTable(ctx context.Context, known TableArgs, declared string) (TableState, error) {
	return withConn(ctx, known.Database, func(c *pgx.Conn) (TableState, error) {
		rel, err := pgcatalog.RelationByName(ctx, c, known.Schema, known.Name)
		if err != nil {
			return TableState{}, fmt.Errorf("read table %s: %w", known.id(), err)
		}
		if !rel.IsTable() {
			return TableState{}, fmt.Errorf("read table %s: relation kind %q is not a table", known.id(), rel.Kind)
		}
		column := declared
		if column == "" {
			column = pgcatalog.DefaultTenantColumn
		}
		s := TableState{TableArgs: TableArgs{Database: known.Database, Schema: rel.Schema, Name: rel.Name, Owner: rel.Owner,
			ForceDestroy: known.ForceDestroy}, DeclaredTenantColumn: declared}
		col, err := pgcatalog.ColumnByName(ctx, c, known.Schema, known.Name, column)
		switch {
		case isNotFound(err):
		case err != nil:
			return TableState{}, fmt.Errorf("read table %s: %w", known.id(), err)
		case col.IsTenantColumn():
			s.TenantColumn = column
		}
		return s, nil
	})
}

// Read returns the live table; on import the ID is <database>/<schema>/<table>.
func (*Table) Read(ctx context.Context, req infer.ReadRequest[TableArgs, TableState]) (infer.ReadResponse[TableArgs, TableState], error) {
	parts, err := idParts(req.ID, 3, "<database>/<schema>/<table>")
	if err != nil {
		return infer.ReadResponse[TableArgs, TableState]{}, err
	}
	if err := pgcatalog.ValidateIdents("name in ID", parts); err != nil {
		return infer.ReadResponse[TableArgs, TableState]{}, fmt.Errorf("table ID: %w", err)
	}
	// The declared column: from the state (Create and Update record it), else the inputs; after an
	// import neither has one and tenant_id is checked.
	declared := req.State.DeclaredTenantColumn
	if declared == "" {
		declared = req.Inputs.TenantColumn
	}
	if declared != "" {
		if err := pgcatalog.ValidateIdent("tenant column", declared); err != nil {
			return infer.ReadResponse[TableArgs, TableState]{}, err
		}
	}
	known := TableArgs{Database: parts[0], Schema: parts[1], Name: parts[2], ForceDestroy: req.State.ForceDestroy}
	s, err := readTable(ctx, known, declared)
	if isNotFound(err) || isGone(err) {
		return infer.ReadResponse[TableArgs, TableState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[TableArgs, TableState]{}, err
	}
	return infer.ReadResponse[TableArgs, TableState]{ID: req.ID, Inputs: s.TableArgs, State: s}, nil
}

// Diff: database, schema and name need a new table, as does a new tenant column name; the owner
// changes in place, and so does a tenant column that drifted (live "": it is repaired).
func (*Table) Diff(ctx context.Context, req infer.DiffRequest[TableArgs, TableState]) (infer.DiffResponse, error) {
	cfg := infer.GetConfig[Config](ctx)
	o, n := req.State, req.Inputs
	owner := n.Owner
	if owner == "" {
		owner = cfg.Username
	}
	column := n.TenantColumn
	if column == "" {
		column = pgcatalog.DefaultTenantColumn
	}
	renamed := o.DeclaredTenantColumn != "" && o.DeclaredTenantColumn != column
	return diffFields(
		field{"database", cfg.database(o.Database), cfg.database(n.Database), true},
		field{"schema", o.Schema, n.Schema, true},
		field{"name", o.Name, n.Name, true},
		field{"owner", o.Owner, owner, false},
		field{"tenantColumn", o.TenantColumn, column, renamed},
		field{"forceDestroy", o.ForceDestroy, n.ForceDestroy, false},
	), nil
}

// Update sets the owner and repairs the tenant column: adds it when missing (with its index) and
// sets NOT NULL, in one transaction. Only what differs on the server is run, since every ALTER
// TABLE locks the table. A tenant column of another type is not rewritten: the error says so.
func (*Table) Update(ctx context.Context, req infer.UpdateRequest[TableArgs, TableState]) (infer.UpdateResponse[TableState], error) {
	in := req.Inputs.resolved(ctx)
	if req.DryRun {
		return infer.UpdateResponse[TableState]{Output: TableState{in, in.TenantColumn}}, nil
	}
	owner := in.Owner
	if owner == "" {
		owner = infer.GetConfig[Config](ctx).Username
	}
	_, err := withConn(ctx, in.Database, func(c *pgx.Conn) (struct{}, error) {
		stmts, err := tableRepairs(ctx, c, in, owner)
		if err != nil || len(stmts) == 0 {
			return struct{}{}, err
		}
		err = withDetail(execInTx(ctx, c, stmts...))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23502" {
			err = fmt.Errorf("%w; hint: give those rows a tenant (UPDATE ... SET %s = ...) and run the update again", err, pgcatalog.QuoteIdent(in.TenantColumn))
		}
		return struct{}{}, err
	})
	if err != nil {
		return infer.UpdateResponse[TableState]{}, fmt.Errorf("update table %s: %w", in.id(), err)
	}
	out, err := readTable(ctx, in, in.TenantColumn)
	return infer.UpdateResponse[TableState]{Output: out}, err
}

// tableRepairs lists the statements that bring the live table to the declaration.
func tableRepairs(ctx context.Context, c *pgx.Conn, in TableArgs, owner string) ([]string, error) {
	rel, err := pgcatalog.RelationByName(ctx, c, in.Schema, in.Name)
	if err != nil {
		return nil, err
	}
	var stmts []string
	add := func(s string, err error) error {
		stmts = append(stmts, s)
		return err
	}
	if rel.Owner != owner {
		if err := add(pgcatalog.AlterTableOwner(in.Schema, in.Name, owner)); err != nil {
			return nil, err
		}
	}
	col, err := pgcatalog.ColumnByName(ctx, c, in.Schema, in.Name, in.TenantColumn)
	switch {
	case isNotFound(err):
		// Dropping the column dropped its index too.
		for _, f := range []func(string, string, string) (string, error){pgcatalog.AddTenantColumn, pgcatalog.SetNotNull, pgcatalog.CreateTenantIndex} {
			if err := add(f(in.Schema, in.Name, in.TenantColumn)); err != nil {
				return nil, err
			}
		}
	case err != nil:
		return nil, err
	case col.Type != "text":
		return nil, fmt.Errorf("tenant column %s is %s, not text: change its type with a migration (the provider does not rewrite a column)", col.Name, col.Type)
	case !col.NotNull:
		if err := add(pgcatalog.SetNotNull(in.Schema, in.Name, in.TenantColumn)); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

// Delete drops the table unless it holds rows and forceDestroy is false; then it is retained and a
// warning says so. Rows hidden from the admin by row-level security count as rows.
func (*Table) Delete(ctx context.Context, req infer.DeleteRequest[TableState]) (infer.DeleteResponse, error) {
	s := req.State
	drop, err := pgcatalog.DropTable(s.Schema, s.Name, s.ForceDestroy)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	_, err = withConn(ctx, s.Database, func(c *pgx.Conn) (struct{}, error) {
		if !s.ForceDestroy {
			has, err := pgcatalog.TableHasRows(ctx, c, s.Schema, s.Name)
			switch {
			case errors.Is(err, pgcatalog.ErrRowsHidden):
				p.GetLogger(ctx).Warningf("table %s retained: row-level security hides its rows from the admin role, so they cannot be counted; set forceDestroy: true to drop it with its data", s.id())
				return struct{}{}, nil
			case err != nil:
				return struct{}{}, err
			case has:
				p.GetLogger(ctx).Warningf("table %s retained: it holds rows; set forceDestroy: true to drop it with its data", s.id())
				return struct{}{}, nil
			}
		}
		return struct{}{}, withDetail(pgcatalog.ExecOne(ctx, c.PgConn(), drop))
	})
	if err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete table %s: %w", s.id(), err)
	}
	return infer.DeleteResponse{}, nil
}
