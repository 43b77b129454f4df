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

// Policy is a row-level security policy on a table. ID: "<database>/<schema>/<table>/<name>".
type Policy struct{}

// PolicyArgs are the inputs.
type PolicyArgs struct {
	Database    string   `pulumi:"database,optional" provider:"replaceOnChanges"`
	Schema      string   `pulumi:"schema" provider:"replaceOnChanges"`
	Table       string   `pulumi:"table" provider:"replaceOnChanges"`
	Name        string   `pulumi:"name" provider:"replaceOnChanges"`
	Command     string   `pulumi:"command,optional" provider:"replaceOnChanges"`
	Restrictive bool     `pulumi:"restrictive,optional" provider:"replaceOnChanges"`
	Roles       []string `pulumi:"roles,optional"`
	Using       string   `pulumi:"using,optional"`
	WithCheck   string   `pulumi:"withCheck,optional"`
}

// PolicyState is what pg_policies says. The server stores expressions in its own deparsed form;
// Using and WithCheck keep the declared text while the stored form is the one the declaration
// produced (UsingStored, WithCheckStored), and become the live text when changed out of band.
type PolicyState struct {
	PolicyArgs
	UsingStored     string `pulumi:"usingStored"`
	WithCheckStored string `pulumi:"withCheckStored"`
}

// Annotate documents the resource.
func (r *Policy) Annotate(a infer.Annotator) {
	a.SetToken("index", "Policy")
	a.Describe(r, "A row-level security policy. USING and WITH CHECK are SQL expressions; each statement is sent alone over the extended protocol, so an expression cannot carry a second statement.")
}

// Annotate documents the inputs.
func (r *PolicyArgs) Annotate(a infer.Annotator) {
	a.Describe(&r.Database, "Database; default the provider's database.")
	a.Describe(&r.Schema, "Schema of the table.")
	a.Describe(&r.Table, "Table.")
	a.Describe(&r.Name, "Policy name.")
	a.Describe(&r.Command, "ALL (default), SELECT, INSERT, UPDATE or DELETE.")
	a.SetDefault(&r.Command, "ALL")
	a.Describe(&r.Restrictive, "AS RESTRICTIVE (combined with AND) instead of PERMISSIVE (OR).")
	a.Describe(&r.Roles, "Roles the policy applies to; empty means PUBLIC.")
	a.Describe(&r.Using, "USING expression: which existing rows are visible.")
	a.Describe(&r.WithCheck, "WITH CHECK expression: which new rows may be written.")
}

// Annotate documents the outputs.
func (r *PolicyState) Annotate(a infer.Annotator) {
	a.Describe(&r.UsingStored, "USING as the server stored it.")
	a.Describe(&r.WithCheckStored, "WITH CHECK as the server stored it.")
}

func (a PolicyArgs) spec() pgcatalog.PolicySpec {
	return pgcatalog.PolicySpec{Schema: a.Schema, Table: a.Table, Name: a.Name, Restrictive: a.Restrictive,
		Command: a.Command, Roles: a.Roles, Using: a.Using, WithCheck: a.WithCheck}
}

func (a PolicyArgs) id() string {
	return strings.Join([]string{a.Database, a.Schema, a.Table, a.Name}, "/")
}

// Check validates names, the command and roles.
func (*Policy) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[PolicyArgs], error) {
	return validated(req, func() (PolicyArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[PolicyArgs](ctx, req.NewInputs)
	},
		func(a *PolicyArgs) (string, error) {
			a.Database = infer.GetConfig[Config](ctx).database(a.Database)
			a.Command = strings.ToUpper(a.Command)
			a.Roles = sortedSet(a.Roles)
			if err := pgcatalog.ValidateIdent("database", a.Database); err != nil {
				return "database", err
			}
			if err := a.spec().Validate(); err != nil {
				return "name", err
			}
			return "", nil
		})
}

func readPolicy(ctx context.Context, known PolicyArgs) (pgcatalog.Policy, error) {
	return withConn(ctx, known.Database, func(c *pgx.Conn) (pgcatalog.Policy, error) {
		all, err := pgcatalog.Policies(ctx, c, known.Schema)
		if err != nil {
			return pgcatalog.Policy{}, fmt.Errorf("read policy %s: %w", known.id(), err)
		}
		for _, x := range all {
			if x.Table == known.Table && x.Name == known.Name {
				return x, nil
			}
		}
		return pgcatalog.Policy{}, fmt.Errorf("policy %s: %w", known.id(), pgcatalog.ErrNotFound)
	})
}

// stateFromLive keeps the declared expression text while the server's stored form is the one
// the declaration produced.
func stateFromLive(live pgcatalog.Policy, known PolicyState, database string) PolicyState {
	s := PolicyState{PolicyArgs: PolicyArgs{
		Database: database, Schema: live.Schema, Table: live.Table, Name: live.Name, Command: live.Command,
		Restrictive: !live.Permissive, Roles: live.Roles, Using: live.Using, WithCheck: live.WithCheck,
	}, UsingStored: live.Using, WithCheckStored: live.WithCheck}
	if len(s.Roles) == 1 && s.Roles[0] == pgcatalog.Public && len(known.Roles) == 0 {
		s.Roles = nil
	}
	if known.UsingStored == live.Using {
		s.Using = known.Using
	}
	if known.WithCheckStored == live.WithCheck {
		s.WithCheck = known.WithCheck
	}
	return s
}

func applyPolicy(ctx context.Context, in PolicyArgs, create bool) (PolicyState, error) {
	build := pgcatalog.AlterPolicy
	if create {
		build = pgcatalog.CreatePolicy
	}
	stmt, err := build(in.spec())
	if err != nil {
		return PolicyState{}, err
	}
	if err := exec(ctx, in.Database, stmt); err != nil {
		return PolicyState{}, fmt.Errorf("policy %s: %w", in.id(), err)
	}
	live, err := readPolicy(ctx, in)
	if err != nil {
		return PolicyState{}, err
	}
	// Just written: the stored form is the declaration's.
	return stateFromLive(live, PolicyState{PolicyArgs: in, UsingStored: live.Using, WithCheckStored: live.WithCheck}, in.Database), nil
}

// Create runs CREATE POLICY.
func (*Policy) Create(ctx context.Context, req infer.CreateRequest[PolicyArgs]) (infer.CreateResponse[PolicyState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[PolicyState]{ID: in.id(), Output: PolicyState{PolicyArgs: in}}, nil
	}
	s, err := applyPolicy(ctx, in, true)
	return infer.CreateResponse[PolicyState]{ID: in.id(), Output: s}, err
}

// Update runs ALTER POLICY (roles and expressions).
func (*Policy) Update(ctx context.Context, req infer.UpdateRequest[PolicyArgs, PolicyState]) (infer.UpdateResponse[PolicyState], error) {
	if req.DryRun {
		return infer.UpdateResponse[PolicyState]{Output: PolicyState{PolicyArgs: req.Inputs}}, nil
	}
	s, err := applyPolicy(ctx, req.Inputs, false)
	return infer.UpdateResponse[PolicyState]{Output: s}, err
}

// Read returns the live policy; on import the ID is <database>/<schema>/<table>/<name>.
func (*Policy) Read(ctx context.Context, req infer.ReadRequest[PolicyArgs, PolicyState]) (infer.ReadResponse[PolicyArgs, PolicyState], error) {
	parts, err := idParts(req.ID, 4, "<database>/<schema>/<table>/<name>")
	if err != nil {
		return infer.ReadResponse[PolicyArgs, PolicyState]{}, err
	}
	if err := pgcatalog.ValidateIdents("name in ID", parts); err != nil {
		return infer.ReadResponse[PolicyArgs, PolicyState]{}, err
	}
	known := req.State
	known.Database, known.Schema, known.Table, known.Name = parts[0], parts[1], parts[2], parts[3]
	live, err := readPolicy(ctx, known.PolicyArgs)
	if isNotFound(err) || isGone(err) {
		return infer.ReadResponse[PolicyArgs, PolicyState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[PolicyArgs, PolicyState]{}, err
	}
	s := stateFromLive(live, known, parts[0])
	return infer.ReadResponse[PolicyArgs, PolicyState]{ID: req.ID, Inputs: s.PolicyArgs, State: s}, nil
}

// Diff: identity, command and permissiveness need a new policy; roles and expressions change in
// place.
func (*Policy) Diff(_ context.Context, req infer.DiffRequest[PolicyArgs, PolicyState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"database", o.Database, n.Database, true},
		field{"schema", o.Schema, n.Schema, true},
		field{"table", o.Table, n.Table, true},
		field{"name", o.Name, n.Name, true},
		field{"command", o.Command, n.Command, true},
		field{"restrictive", o.Restrictive, n.Restrictive, true},
		field{"roles", o.Roles, n.Roles, false},
		field{"using", o.Using, n.Using, false},
		field{"withCheck", o.WithCheck, n.WithCheck, false},
	), nil
}

// Delete runs DROP POLICY.
func (*Policy) Delete(ctx context.Context, req infer.DeleteRequest[PolicyState]) (infer.DeleteResponse, error) {
	s := req.State
	stmt, err := pgcatalog.DropPolicy(s.Schema, s.Table, s.Name)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := exec(ctx, s.Database, stmt); err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("drop policy %s: %w", s.id(), err)
	}
	return infer.DeleteResponse{}, nil
}
