package tenantpg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// DefaultPrivileges holds exactly the declared default privileges (ALTER DEFAULT PRIVILEGES)
// that objects created by owner (in schema, or anywhere when empty) give role.
// ID: "<database>/<owner>/<schema or ->/<objectType>/<role>".
type DefaultPrivileges struct{}

// DefaultPrivilegesArgs are the inputs.
type DefaultPrivilegesArgs struct {
	Database   string   `pulumi:"database,optional" provider:"replaceOnChanges"`
	Owner      string   `pulumi:"owner" provider:"replaceOnChanges"`
	Schema     string   `pulumi:"schema,optional" provider:"replaceOnChanges"`
	ObjectType string   `pulumi:"objectType" provider:"replaceOnChanges"`
	Role       string   `pulumi:"role" provider:"replaceOnChanges"`
	Privileges []string `pulumi:"privileges"`
}

// DefaultPrivilegesState is what pg_default_acl says.
type DefaultPrivilegesState struct {
	DefaultPrivilegesArgs
}

// Annotate documents the resource.
func (d *DefaultPrivileges) Annotate(a infer.Annotator) {
	a.SetToken("index", "DefaultPrivileges")
	a.Describe(d, "Default privileges: what tables, sequences, functions or types that owner creates (in schema) give role. Undeclared default privileges of role for that owner and schema are revoked.")
}

// Annotate documents the inputs.
func (d *DefaultPrivilegesArgs) Annotate(a infer.Annotator) {
	a.Describe(&d.Database, "Database; default the provider's database.")
	a.Describe(&d.Owner, "Role whose future objects get the privileges.")
	a.Describe(&d.Schema, "Schema the objects are created in; empty means anywhere in the database.")
	a.Describe(&d.ObjectType, "table, sequence, function or type.")
	a.Describe(&d.Role, "Grantee role, or PUBLIC.")
	a.Describe(&d.Privileges, "Privileges, e.g. SELECT, INSERT, USAGE, EXECUTE, or ALL.")
}

func (a DefaultPrivilegesArgs) spec() pgcatalog.DefaultPrivilegesSpec {
	return pgcatalog.DefaultPrivilegesSpec{Owner: a.Owner, Schema: a.Schema, ObjectType: a.ObjectType, Grantee: a.Role}
}

func (a DefaultPrivilegesArgs) id() string {
	return strings.Join([]string{a.Database, a.Owner, dash(a.Schema), a.ObjectType, a.Role}, "/")
}

// Check validates names, the object type and privileges.
func (*DefaultPrivileges) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[DefaultPrivilegesArgs], error) {
	return validated(req, func() (DefaultPrivilegesArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[DefaultPrivilegesArgs](ctx, req.NewInputs)
	}, func(a *DefaultPrivilegesArgs) (string, error) {
		a.Database = infer.GetConfig[Config](ctx).database(a.Database)
		if err := pgcatalog.ValidateIdent("database", a.Database); err != nil {
			return "database", err
		}
		privs, err := pgcatalog.NormalizePrivileges(a.ObjectType, a.Privileges)
		if err != nil {
			return "privileges", err
		}
		if len(privs) == 0 {
			return "privileges", errors.New("no privileges: delete the resource instead")
		}
		a.Privileges = privs
		if _, err := pgcatalog.GrantDefault(a.spec(), privs); err != nil {
			return "owner", err
		}
		return "", nil
	})
}

func applyDefaultPrivileges(ctx context.Context, in DefaultPrivilegesArgs) (DefaultPrivilegesState, error) {
	var stmts []string
	if undeclared := pgcatalog.Undeclared(in.ObjectType, in.Privileges); len(undeclared) > 0 {
		s, err := pgcatalog.RevokeDefault(in.spec(), undeclared)
		if err != nil {
			return DefaultPrivilegesState{}, err
		}
		stmts = append(stmts, s)
	}
	s, err := pgcatalog.GrantDefault(in.spec(), in.Privileges)
	if err != nil {
		return DefaultPrivilegesState{}, err
	}
	if err := exec(ctx, in.Database, append(stmts, s)...); err != nil {
		return DefaultPrivilegesState{}, fmt.Errorf("default privileges %s: %w", in.id(), err)
	}
	return readDefaultPrivileges(ctx, in)
}

func readDefaultPrivileges(ctx context.Context, known DefaultPrivilegesArgs) (DefaultPrivilegesState, error) {
	return withConn(ctx, known.Database, func(c *pgx.Conn) (DefaultPrivilegesState, error) {
		all, err := pgcatalog.DefaultACLs(ctx, c)
		if err != nil {
			return DefaultPrivilegesState{}, fmt.Errorf("read default privileges %s: %w", known.id(), err)
		}
		s := known
		s.Privileges = nil
		for _, d := range all {
			if d.Owner == known.Owner && d.Schema == known.Schema && d.ObjectType == known.ObjectType {
				s.Privileges, _ = pgcatalog.PrivilegesOf(d.ACL, known.Role)
			}
		}
		return DefaultPrivilegesState{s}, nil
	})
}

// Create sets the default privileges.
func (*DefaultPrivileges) Create(ctx context.Context, req infer.CreateRequest[DefaultPrivilegesArgs]) (infer.CreateResponse[DefaultPrivilegesState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[DefaultPrivilegesState]{ID: in.id(), Output: DefaultPrivilegesState{in}}, nil
	}
	s, err := applyDefaultPrivileges(ctx, in)
	return infer.CreateResponse[DefaultPrivilegesState]{ID: in.id(), Output: s}, err
}

// Update converges to the new privileges.
func (*DefaultPrivileges) Update(ctx context.Context, req infer.UpdateRequest[DefaultPrivilegesArgs, DefaultPrivilegesState]) (infer.UpdateResponse[DefaultPrivilegesState], error) {
	if req.DryRun {
		return infer.UpdateResponse[DefaultPrivilegesState]{Output: DefaultPrivilegesState{req.Inputs}}, nil
	}
	s, err := applyDefaultPrivileges(ctx, req.Inputs)
	return infer.UpdateResponse[DefaultPrivilegesState]{Output: s}, err
}

// Read returns the live default privileges; on import the ID names owner, schema, type and role.
func (*DefaultPrivileges) Read(ctx context.Context, req infer.ReadRequest[DefaultPrivilegesArgs, DefaultPrivilegesState]) (infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState], error) {
	known := req.State.DefaultPrivilegesArgs
	if known.Owner == "" {
		parts, err := idParts(req.ID, 5, "<database>/<owner>/<schema or ->/<objectType>/<role>")
		if err != nil {
			return infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState]{}, err
		}
		known = DefaultPrivilegesArgs{Database: parts[0], Owner: parts[1], Schema: undash(parts[2]), ObjectType: parts[3], Role: parts[4]}
		if _, err := pgcatalog.GrantDefault(known.spec(), []string{"ALL"}); err != nil {
			return infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState]{}, fmt.Errorf("ID %q: %w", req.ID, err)
		}
	}
	s, err := readDefaultPrivileges(ctx, known)
	if isGone(err) {
		return infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState]{}, err
	}
	return infer.ReadResponse[DefaultPrivilegesArgs, DefaultPrivilegesState]{ID: known.id(), Inputs: s.DefaultPrivilegesArgs, State: s}, nil
}

// Diff: everything but the privileges identifies the entry.
func (*DefaultPrivileges) Diff(_ context.Context, req infer.DiffRequest[DefaultPrivilegesArgs, DefaultPrivilegesState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"database", o.Database, n.Database, true},
		field{"owner", o.Owner, n.Owner, true},
		field{"schema", o.Schema, n.Schema, true},
		field{"objectType", o.ObjectType, n.ObjectType, true},
		field{"role", o.Role, n.Role, true},
		field{"privileges", o.Privileges, n.Privileges, false},
	), nil
}

// Delete revokes the declared default privileges.
func (*DefaultPrivileges) Delete(ctx context.Context, req infer.DeleteRequest[DefaultPrivilegesState]) (infer.DeleteResponse, error) {
	s := req.State.DefaultPrivilegesArgs
	if len(s.Privileges) == 0 {
		return infer.DeleteResponse{}, nil
	}
	stmt, err := pgcatalog.RevokeDefault(s.spec(), s.Privileges)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := exec(ctx, s.Database, stmt); err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("revoke default privileges %s: %w", s.id(), err)
	}
	return infer.DeleteResponse{}, nil
}
