package tenantpg

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Database is a PostgreSQL database. ID: the database name.
//
// Retention: deleting a database that holds user tables drops nothing unless forceDestroy is
// true; the resource leaves the stack with a warning and the database stays on the server.
type Database struct{}

// DatabaseArgs are a database's inputs.
type DatabaseArgs struct {
	Name                string `pulumi:"name" provider:"replaceOnChanges"`
	Owner               string `pulumi:"owner,optional"`
	Template            string `pulumi:"template,optional" provider:"replaceOnChanges"`
	Encoding            string `pulumi:"encoding,optional" provider:"replaceOnChanges"`
	RevokePublicConnect bool   `pulumi:"revokePublicConnect,optional"`
	ForceDestroy        bool   `pulumi:"forceDestroy,optional"`
}

// DatabaseState is what the catalog says (template and forceDestroy are not in the catalog and
// keep their declared values).
type DatabaseState struct {
	DatabaseArgs
}

// Annotate documents the resource.
func (d *Database) Annotate(a infer.Annotator) {
	a.SetToken("index", "Database")
	a.Describe(d, "A PostgreSQL database. Deleting one that holds user tables retains it (the resource leaves the stack with a warning) unless forceDestroy is true.")
}

// Annotate documents the inputs.
func (d *DatabaseArgs) Annotate(a infer.Annotator) {
	a.Describe(&d.Name, "Database name.")
	a.Describe(&d.Owner, "Owner role (usually a NOLOGIN owner role); default the provider's admin role.")
	a.Describe(&d.Template, "Template database; default template0.")
	a.SetDefault(&d.Template, "template0")
	a.Describe(&d.Encoding, "Character encoding; default UTF8.")
	a.SetDefault(&d.Encoding, "UTF8")
	a.Describe(&d.RevokePublicConnect, "Revoke CONNECT (and TEMPORARY) from PUBLIC, so only roles granted CONNECT can log in to the database; default true.")
	a.SetDefault(&d.RevokePublicConnect, true)
	a.Describe(&d.ForceDestroy, "Drop the database on delete even when it holds tables (their data is lost). Default false: such a database is retained.")
}

// Check validates names before anything reaches the server.
func (*Database) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[DatabaseArgs], error) {
	return validated(req, func() (DatabaseArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[DatabaseArgs](ctx, req.NewInputs)
	}, func(a *DatabaseArgs) (string, error) {
		if err := pgcatalog.ValidateIdent("database", a.Name); err != nil {
			return "name", err
		}
		if a.Owner != "" {
			if err := pgcatalog.ValidateIdent("owner role", a.Owner); err != nil {
				return "owner", err
			}
		}
		if _, err := pgcatalog.CreateDatabase(pgcatalog.DatabaseSpec{Name: a.Name, Template: a.Template, Encoding: a.Encoding}); err != nil {
			return "template", err
		}
		return "", nil
	})
}

func publicConnectStmt(name string, revoke bool) (string, error) {
	t := pgcatalog.GrantTarget{ObjectType: pgcatalog.ObjectDatabase, Database: name}
	privs := []string{"CONNECT", "TEMPORARY"}
	if revoke {
		return pgcatalog.Revoke(t, privs, pgcatalog.Public, false)
	}
	return pgcatalog.Grant(t, privs, pgcatalog.Public, false)
}

// Create runs CREATE DATABASE, then closes it to PUBLIC when asked.
func (*Database) Create(ctx context.Context, req infer.CreateRequest[DatabaseArgs]) (infer.CreateResponse[DatabaseState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[DatabaseState]{ID: in.Name, Output: DatabaseState{in}}, nil
	}
	create, err := pgcatalog.CreateDatabase(pgcatalog.DatabaseSpec{Name: in.Name, Owner: in.Owner, Template: in.Template, Encoding: in.Encoding})
	if err != nil {
		return infer.CreateResponse[DatabaseState]{}, err
	}
	stmts := []string{create}
	if in.RevokePublicConnect {
		s, err := publicConnectStmt(in.Name, true)
		if err != nil {
			return infer.CreateResponse[DatabaseState]{}, err
		}
		stmts = append(stmts, s)
	}
	if err := exec(ctx, "", stmts...); err != nil {
		return infer.CreateResponse[DatabaseState]{}, fmt.Errorf("create database %s: %w", in.Name, err)
	}
	out, err := readDatabase(ctx, in.Name, in)
	if err != nil {
		return infer.CreateResponse[DatabaseState]{}, err
	}
	return infer.CreateResponse[DatabaseState]{ID: in.Name, Output: out}, nil
}

// readDatabase reads owner, encoding and PUBLIC's CONNECT; known fills what the catalog does
// not hold.
func readDatabase(ctx context.Context, name string, known DatabaseArgs) (DatabaseState, error) {
	return withConn(ctx, "", func(c *pgx.Conn) (DatabaseState, error) {
		live, err := pgcatalog.DatabaseByName(ctx, c, name)
		if err != nil {
			return DatabaseState{}, fmt.Errorf("read database %s: %w", name, err)
		}
		public, _ := pgcatalog.PrivilegesOf(live.ACL, pgcatalog.Public)
		s := DatabaseState{DatabaseArgs{
			Name: live.Name, Owner: live.Owner, Encoding: live.Encoding, Template: known.Template,
			RevokePublicConnect: !contains(public, "CONNECT"), ForceDestroy: known.ForceDestroy,
		}}
		if s.Template == "" {
			s.Template = "template0"
		}
		return s, nil
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Read returns the live database; on import the ID is the database name.
func (*Database) Read(ctx context.Context, req infer.ReadRequest[DatabaseArgs, DatabaseState]) (infer.ReadResponse[DatabaseArgs, DatabaseState], error) {
	if err := pgcatalog.ValidateIdent("database", req.ID); err != nil {
		return infer.ReadResponse[DatabaseArgs, DatabaseState]{}, fmt.Errorf("database ID: %w", err)
	}
	s, err := readDatabase(ctx, req.ID, req.State.DatabaseArgs)
	if isNotFound(err) {
		return infer.ReadResponse[DatabaseArgs, DatabaseState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[DatabaseArgs, DatabaseState]{}, err
	}
	return infer.ReadResponse[DatabaseArgs, DatabaseState]{ID: req.ID, Inputs: s.DatabaseArgs, State: s}, nil
}

// Diff: name, template and encoding need a new database; owner and PUBLIC's CONNECT change in
// place. An empty owner means "the admin role", whatever the catalog calls it.
func (*Database) Diff(ctx context.Context, req infer.DiffRequest[DatabaseArgs, DatabaseState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	owner := n.Owner
	if owner == "" {
		owner = infer.GetConfig[Config](ctx).Username
	}
	return diffFields(
		field{"name", o.Name, n.Name, true},
		field{"template", o.Template, n.Template, true},
		field{"encoding", strings.ToUpper(o.Encoding), strings.ToUpper(n.Encoding), true},
		field{"owner", o.Owner, owner, false},
		field{"revokePublicConnect", o.RevokePublicConnect, n.RevokePublicConnect, false},
		field{"forceDestroy", o.ForceDestroy, n.ForceDestroy, false},
	), nil
}

// Update changes the owner and PUBLIC's CONNECT.
func (*Database) Update(ctx context.Context, req infer.UpdateRequest[DatabaseArgs, DatabaseState]) (infer.UpdateResponse[DatabaseState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.UpdateResponse[DatabaseState]{Output: DatabaseState{in}}, nil
	}
	owner := in.Owner
	if owner == "" {
		owner = infer.GetConfig[Config](ctx).Username
	}
	alter, err := pgcatalog.AlterOwner(pgcatalog.ObjectDatabase, in.Name, owner)
	if err != nil {
		return infer.UpdateResponse[DatabaseState]{}, err
	}
	public, err := publicConnectStmt(in.Name, in.RevokePublicConnect)
	if err != nil {
		return infer.UpdateResponse[DatabaseState]{}, err
	}
	if err := exec(ctx, "", alter, public); err != nil {
		return infer.UpdateResponse[DatabaseState]{}, fmt.Errorf("update database %s: %w", in.Name, err)
	}
	out, err := readDatabase(ctx, in.Name, in)
	return infer.UpdateResponse[DatabaseState]{Output: out}, err
}

// Delete drops the database unless it holds user tables and forceDestroy is false; then it is
// retained and a warning says so.
func (*Database) Delete(ctx context.Context, req infer.DeleteRequest[DatabaseState]) (infer.DeleteResponse, error) {
	name := req.State.Name
	drop, err := pgcatalog.DropDatabase(name)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if !req.State.ForceDestroy {
		tables, err := withConn(ctx, name, func(c *pgx.Conn) ([]string, error) { return pgcatalog.UserTables(ctx, c, "") })
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			return infer.DeleteResponse{}, fmt.Errorf("delete database %s: check for tables: %w", name, err)
		}
		if len(tables) > 0 {
			p.GetLogger(ctx).Warningf("database %s retained: it holds %d table(s) (%s); set forceDestroy: true to drop it with its data", name, len(tables), summarize(tables))
			return infer.DeleteResponse{}, nil
		}
	}
	if err := exec(ctx, "", drop); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("drop database %s: %w", name, err)
	}
	return infer.DeleteResponse{}, nil
}

// summarize names up to three objects.
func summarize(xs []string) string {
	if len(xs) <= 3 {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:3], ", ") + fmt.Sprintf(" and %d more", len(xs)-3)
}
