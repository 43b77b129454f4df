package tenantpg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// RowLevelSecurity enables row-level security on a table and, by default, forces it on the
// table's owner too (an owner otherwise bypasses every policy). ID: "<database>/<schema>/<table>".
type RowLevelSecurity struct{}

// RowLevelSecurityArgs are the inputs.
type RowLevelSecurityArgs struct {
	Database string `pulumi:"database,optional" provider:"replaceOnChanges"`
	Schema   string `pulumi:"schema" provider:"replaceOnChanges"`
	Table    string `pulumi:"table" provider:"replaceOnChanges"`
	Force    bool   `pulumi:"force,optional"`
}

// RowLevelSecurityState is what pg_class says.
type RowLevelSecurityState struct {
	RowLevelSecurityArgs
	// Enabled is relrowsecurity; false only when disabled out of band (drift).
	Enabled bool `pulumi:"enabled"`
}

// Annotate documents the resource.
func (r *RowLevelSecurity) Annotate(a infer.Annotator) {
	a.SetToken("index", "RowLevelSecurity")
	a.Describe(r, "Row-level security on a table: ENABLE and (by default) FORCE, so the owner is bound by the policies too. Deleting it disables both.")
}

// Annotate documents the inputs.
func (r *RowLevelSecurityArgs) Annotate(a infer.Annotator) {
	a.Describe(&r.Database, "Database; default the provider's database.")
	a.Describe(&r.Schema, "Schema of the table.")
	a.Describe(&r.Table, "Table.")
	a.Describe(&r.Force, "FORCE ROW LEVEL SECURITY (policies bind the table owner too); default true.")
	a.SetDefault(&r.Force, true)
}

// Annotate documents the outputs.
func (r *RowLevelSecurityState) Annotate(a infer.Annotator) {
	a.Describe(&r.Enabled, "Whether row-level security is enabled on the table (relrowsecurity).")
}

func (a RowLevelSecurityArgs) id() string { return a.Database + "/" + a.Schema + "/" + a.Table }

// Check validates names.
func (*RowLevelSecurity) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[RowLevelSecurityArgs], error) {
	return validated(req, func() (RowLevelSecurityArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[RowLevelSecurityArgs](ctx, req.NewInputs)
	}, func(a *RowLevelSecurityArgs) (string, error) {
		a.Database = infer.GetConfig[Config](ctx).database(a.Database)
		if err := pgcatalog.ValidateIdent("database", a.Database); err != nil {
			return "database", err
		}
		if err := pgcatalog.ValidateIdent("schema", a.Schema); err != nil {
			return "schema", err
		}
		if err := pgcatalog.ValidateIdent("table", a.Table); err != nil {
			return "table", err
		}
		return "", nil
	})
}

func applyRLS(ctx context.Context, in RowLevelSecurityArgs, enable bool) (RowLevelSecurityState, error) {
	stmts, err := pgcatalog.RowSecurity(in.Schema, in.Table, enable, in.Force && enable)
	if err != nil {
		return RowLevelSecurityState{}, err
	}
	if err := exec(ctx, in.Database, stmts...); err != nil {
		return RowLevelSecurityState{}, fmt.Errorf("row-level security on %s: %w", in.id(), err)
	}
	if !enable {
		return RowLevelSecurityState{}, nil
	}
	return readRLS(ctx, in)
}

func readRLS(ctx context.Context, known RowLevelSecurityArgs) (RowLevelSecurityState, error) {
	return withConn(ctx, known.Database, func(c *pgx.Conn) (RowLevelSecurityState, error) {
		r, err := pgcatalog.RelationByName(ctx, c, known.Schema, known.Table)
		if err != nil {
			return RowLevelSecurityState{}, fmt.Errorf("read row-level security of %s: %w", known.id(), err)
		}
		s := RowLevelSecurityState{RowLevelSecurityArgs: known, Enabled: r.RowSecurity}
		s.Force = r.ForceRowSecurity
		return s, nil
	})
}

// Create enables (and forces) row-level security.
func (*RowLevelSecurity) Create(ctx context.Context, req infer.CreateRequest[RowLevelSecurityArgs]) (infer.CreateResponse[RowLevelSecurityState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[RowLevelSecurityState]{ID: in.id(), Output: RowLevelSecurityState{in, true}}, nil
	}
	s, err := applyRLS(ctx, in, true)
	return infer.CreateResponse[RowLevelSecurityState]{ID: in.id(), Output: s}, err
}

// Update sets FORCE and re-enables row-level security disabled out of band.
func (*RowLevelSecurity) Update(ctx context.Context, req infer.UpdateRequest[RowLevelSecurityArgs, RowLevelSecurityState]) (infer.UpdateResponse[RowLevelSecurityState], error) {
	if req.DryRun {
		return infer.UpdateResponse[RowLevelSecurityState]{Output: RowLevelSecurityState{req.Inputs, true}}, nil
	}
	s, err := applyRLS(ctx, req.Inputs, true)
	return infer.UpdateResponse[RowLevelSecurityState]{Output: s}, err
}

// Read returns the live flags; on import the ID is <database>/<schema>/<table>.
func (*RowLevelSecurity) Read(ctx context.Context, req infer.ReadRequest[RowLevelSecurityArgs, RowLevelSecurityState]) (infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState], error) {
	parts, err := idParts(req.ID, 3, "<database>/<schema>/<table>")
	if err != nil {
		return infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState]{}, err
	}
	known := RowLevelSecurityArgs{Database: parts[0], Schema: parts[1], Table: parts[2]}
	if err := pgcatalog.ValidateIdents("name in ID", parts); err != nil {
		return infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState]{}, err
	}
	s, err := readRLS(ctx, known)
	if isNotFound(err) || isGone(err) {
		return infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState]{}, err
	}
	return infer.ReadResponse[RowLevelSecurityArgs, RowLevelSecurityState]{ID: req.ID, Inputs: s.RowLevelSecurityArgs, State: s}, nil
}

// Diff: a disabled table is an update (re-enable), as is FORCE.
func (*RowLevelSecurity) Diff(_ context.Context, req infer.DiffRequest[RowLevelSecurityArgs, RowLevelSecurityState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"database", o.Database, n.Database, true},
		field{"schema", o.Schema, n.Schema, true},
		field{"table", o.Table, n.Table, true},
		field{"force", o.Force, n.Force, false},
		field{"enabled", o.Enabled, true, false},
	), nil
}

// Delete disables row-level security (and FORCE); a dropped table needs nothing.
func (*RowLevelSecurity) Delete(ctx context.Context, req infer.DeleteRequest[RowLevelSecurityState]) (infer.DeleteResponse, error) {
	if _, err := applyRLS(ctx, req.State.RowLevelSecurityArgs, false); err != nil && !isGone(err) {
		return infer.DeleteResponse{}, err
	}
	return infer.DeleteResponse{}, nil
}
