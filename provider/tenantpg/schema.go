package tenantpg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Schema is a schema in a database. ID: "<database>/<schema>".
//
// Retention: deleting a schema that holds tables drops nothing unless forceDestroy is true; the
// resource leaves the stack with a warning and the schema stays. A schema without tables is
// dropped with what else it holds (views, functions, sequences).
type Schema struct{}

// SchemaArgs are a schema's inputs.
type SchemaArgs struct {
	Database     string `pulumi:"database,optional" provider:"replaceOnChanges"`
	Name         string `pulumi:"name" provider:"replaceOnChanges"`
	Owner        string `pulumi:"owner,optional"`
	ForceDestroy bool   `pulumi:"forceDestroy,optional"`
}

// SchemaState is what the catalog says.
type SchemaState struct {
	SchemaArgs
}

// Annotate documents the resource.
func (s *Schema) Annotate(a infer.Annotator) {
	a.SetToken("index", "Schema")
	a.Describe(s, "A schema. Import ID: <database>/<schema>. Deleting one that holds tables retains it (the resource leaves the stack with a warning) unless forceDestroy is true.")
}

// Annotate documents the inputs.
func (s *SchemaArgs) Annotate(a infer.Annotator) {
	a.Describe(&s.Database, "Database of the schema; default the provider's database.")
	a.Describe(&s.Name, "Schema name.")
	a.Describe(&s.Owner, "Owner role; default the provider's admin role.")
	a.Describe(&s.ForceDestroy, "Drop the schema with its tables on delete. Default false: a schema with tables is retained.")
}

// Check validates names before anything reaches the server.
func (*Schema) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[SchemaArgs], error) {
	return validated(req, func() (SchemaArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[SchemaArgs](ctx, req.NewInputs)
	},
		func(a *SchemaArgs) (string, error) {
			if a.Database != "" {
				if err := pgcatalog.ValidateIdent("database", a.Database); err != nil {
					return "database", err
				}
			}
			if err := pgcatalog.ValidateIdent("schema", a.Name); err != nil {
				return "name", err
			}
			if a.Owner != "" {
				if err := pgcatalog.ValidateIdent("owner role", a.Owner); err != nil {
					return "owner", err
				}
			}
			return "", nil
		})
}

func (a SchemaArgs) id(ctx context.Context) string {
	return infer.GetConfig[Config](ctx).database(a.Database) + "/" + a.Name
}

// Create runs CREATE SCHEMA.
func (*Schema) Create(ctx context.Context, req infer.CreateRequest[SchemaArgs]) (infer.CreateResponse[SchemaState], error) {
	in := req.Inputs
	in.Database = infer.GetConfig[Config](ctx).database(in.Database)
	if req.DryRun {
		return infer.CreateResponse[SchemaState]{ID: in.id(ctx), Output: SchemaState{in}}, nil
	}
	stmt, err := pgcatalog.CreateSchema(in.Name, in.Owner)
	if err != nil {
		return infer.CreateResponse[SchemaState]{}, err
	}
	if err := exec(ctx, in.Database, stmt); err != nil {
		return infer.CreateResponse[SchemaState]{}, fmt.Errorf("create schema %s: %w", in.id(ctx), err)
	}
	out, err := readSchema(ctx, in.Database, in.Name, in)
	return infer.CreateResponse[SchemaState]{ID: in.id(ctx), Output: out}, err
}

func readSchema(ctx context.Context, database, name string, known SchemaArgs) (SchemaState, error) {
	return withConn(ctx, database, func(c *pgx.Conn) (SchemaState, error) {
		live, err := pgcatalog.SchemaByName(ctx, c, name)
		if err != nil {
			return SchemaState{}, fmt.Errorf("read schema %s/%s: %w", database, name, err)
		}
		return SchemaState{SchemaArgs{Database: database, Name: live.Name, Owner: live.Owner, ForceDestroy: known.ForceDestroy}}, nil
	})
}

// Read returns the live schema; on import the ID is <database>/<schema>.
func (*Schema) Read(ctx context.Context, req infer.ReadRequest[SchemaArgs, SchemaState]) (infer.ReadResponse[SchemaArgs, SchemaState], error) {
	parts, err := idParts(req.ID, 2, "<database>/<schema>")
	if err != nil {
		return infer.ReadResponse[SchemaArgs, SchemaState]{}, err
	}
	if err := pgcatalog.ValidateIdent("database", parts[0]); err != nil {
		return infer.ReadResponse[SchemaArgs, SchemaState]{}, fmt.Errorf("schema ID: %w", err)
	}
	if err := pgcatalog.ValidateIdent("schema", parts[1]); err != nil {
		return infer.ReadResponse[SchemaArgs, SchemaState]{}, fmt.Errorf("schema ID: %w", err)
	}
	s, err := readSchema(ctx, parts[0], parts[1], req.State.SchemaArgs)
	if isNotFound(err) || isGone(err) {
		return infer.ReadResponse[SchemaArgs, SchemaState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[SchemaArgs, SchemaState]{}, err
	}
	return infer.ReadResponse[SchemaArgs, SchemaState]{ID: req.ID, Inputs: s.SchemaArgs, State: s}, nil
}

// Diff: database and name need a new schema; the owner changes in place.
func (*Schema) Diff(ctx context.Context, req infer.DiffRequest[SchemaArgs, SchemaState]) (infer.DiffResponse, error) {
	cfg := infer.GetConfig[Config](ctx)
	o, n := req.State, req.Inputs
	owner := n.Owner
	if owner == "" {
		owner = cfg.Username
	}
	return diffFields(
		field{"database", cfg.database(o.Database), cfg.database(n.Database), true},
		field{"name", o.Name, n.Name, true},
		field{"owner", o.Owner, owner, false},
		field{"forceDestroy", o.ForceDestroy, n.ForceDestroy, false},
	), nil
}

// Update changes the owner.
func (*Schema) Update(ctx context.Context, req infer.UpdateRequest[SchemaArgs, SchemaState]) (infer.UpdateResponse[SchemaState], error) {
	in := req.Inputs
	in.Database = infer.GetConfig[Config](ctx).database(in.Database)
	if req.DryRun {
		return infer.UpdateResponse[SchemaState]{Output: SchemaState{in}}, nil
	}
	owner := in.Owner
	if owner == "" {
		owner = infer.GetConfig[Config](ctx).Username
	}
	stmt, err := pgcatalog.AlterOwner(pgcatalog.ObjectSchema, in.Name, owner)
	if err != nil {
		return infer.UpdateResponse[SchemaState]{}, err
	}
	if err := exec(ctx, in.Database, stmt); err != nil {
		return infer.UpdateResponse[SchemaState]{}, fmt.Errorf("update schema %s: %w", in.id(ctx), err)
	}
	out, err := readSchema(ctx, in.Database, in.Name, in)
	return infer.UpdateResponse[SchemaState]{Output: out}, err
}

// Delete drops the schema unless it holds tables and forceDestroy is false; then it is retained
// and a warning says so.
func (*Schema) Delete(ctx context.Context, req infer.DeleteRequest[SchemaState]) (infer.DeleteResponse, error) {
	s := req.State
	drop, err := pgcatalog.DropSchema(s.Name, true)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	_, err = withConn(ctx, s.Database, func(c *pgx.Conn) (struct{}, error) {
		if !s.ForceDestroy {
			tables, err := pgcatalog.UserTables(ctx, c, s.Name)
			if err != nil {
				return struct{}{}, err
			}
			if len(tables) > 0 {
				p.GetLogger(ctx).Warningf("schema %s/%s retained: it holds %d table(s) (%s); set forceDestroy: true to drop it with its data",
					s.Database, s.Name, len(tables), summarize(tables))
				return struct{}{}, nil
			}
		}
		return struct{}{}, withDetail(pgcatalog.ExecOne(ctx, c.PgConn(), drop))
	})
	if err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete schema %s/%s: %w", s.Database, s.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
