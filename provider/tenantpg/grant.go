package tenantpg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Grant holds exactly the declared privileges of one role on a database, a schema, or tables,
// sequences or functions of a schema (all of them when objects is empty: ALL TABLES IN SCHEMA).
// Create and Update converge: privileges of the role on the target that the resource does not
// declare are revoked, so a privilege granted out of band is drift that the next update removes.
// Declare one Grant per role and target; never for the target's owner.
//
// ID: "<database>/<role>/<objectType>/<schema>/<object,object>" (empty segments are "-").
type Grant struct{}

// GrantArgs are a grant's inputs.
type GrantArgs struct {
	Database        string   `pulumi:"database,optional" provider:"replaceOnChanges"`
	Role            string   `pulumi:"role" provider:"replaceOnChanges"`
	ObjectType      string   `pulumi:"objectType" provider:"replaceOnChanges"`
	Schema          string   `pulumi:"schema,optional" provider:"replaceOnChanges"`
	Objects         []string `pulumi:"objects,optional"`
	Privileges      []string `pulumi:"privileges"`
	WithGrantOption bool     `pulumi:"withGrantOption,optional"`
}

// GrantState is what the catalog says: Privileges are the ones the role holds on every object of
// the target, plus any undeclared one it holds on some object.
type GrantState struct {
	GrantArgs
}

// Annotate documents the resource.
func (g *Grant) Annotate(a infer.Annotator) {
	a.SetToken("index", "Grant")
	a.Describe(g, "Exactly the declared privileges of a role on a database, a schema, or tables, sequences or functions of a schema (all of them when objects is empty). Undeclared privileges of the role on the target are revoked.")
}

// Annotate documents the inputs.
func (g *GrantArgs) Annotate(a infer.Annotator) {
	a.Describe(&g.Database, "The database granted on (objectType database), or holding the schema; default the provider's database.")
	a.Describe(&g.Role, "Grantee role, or PUBLIC.")
	a.Describe(&g.ObjectType, "database, schema, table, sequence or function.")
	a.Describe(&g.Schema, "Schema granted on (objectType schema) or holding the objects.")
	a.Describe(&g.Objects, "Tables, sequences or functions of the schema; empty means all of them (ALL TABLES IN SCHEMA ...). Functions are named without arguments and must not be overloaded.")
	a.Describe(&g.Privileges, "Privileges, e.g. CONNECT, USAGE, SELECT, INSERT, EXECUTE, or ALL.")
	a.Describe(&g.WithGrantOption, "Whether the role may grant the privileges on.")
}

// Check validates names, the object type and privileges.
func (*Grant) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[GrantArgs], error) {
	return validated(req, func() (GrantArgs, []p.CheckFailure, error) { return infer.DefaultCheck[GrantArgs](ctx, req.NewInputs) },
		func(a *GrantArgs) (string, error) {
			a.Database = infer.GetConfig[Config](ctx).database(a.Database)
			if a.Role != pgcatalog.Public {
				if err := pgcatalog.ValidateIdent("role", a.Role); err != nil {
					return "role", err
				}
			}
			if err := a.target().Validate(); err != nil {
				return "objectType", err
			}
			privs, err := pgcatalog.NormalizePrivileges(a.ObjectType, a.Privileges)
			if err != nil {
				return "privileges", err
			}
			if len(privs) == 0 && a.Role != pgcatalog.Public {
				// PUBLIC with none is a declaration (a database's public schema closed); any
				// other role with none is a Grant that should not exist.
				return "privileges", errors.New("no privileges: delete the Grant instead (only PUBLIC may be declared with none)")
			}
			a.Privileges = privs
			a.Objects = sortedSet(a.Objects)
			return "", nil
		})
}

func (a GrantArgs) target() pgcatalog.GrantTarget {
	return pgcatalog.GrantTarget{ObjectType: a.ObjectType, Database: a.Database, Schema: a.Schema, Objects: a.Objects}
}

// conninfo: database grants are made from the provider's database, the others in theirs.
func (a GrantArgs) connDatabase() string {
	if a.ObjectType == pgcatalog.ObjectDatabase {
		return ""
	}
	return a.Database
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func (a GrantArgs) id() string {
	return strings.Join([]string{a.Database, a.Role, a.ObjectType, dash(a.Schema), dash(strings.Join(a.Objects, ","))}, "/")
}

func grantFromID(id string) (GrantArgs, error) {
	parts, err := idParts(id, 5, "<database>/<role>/<objectType>/<schema or ->/<objects, comma-separated, or ->")
	if err != nil {
		return GrantArgs{}, err
	}
	g := GrantArgs{Database: parts[0], Role: parts[1], ObjectType: parts[2], Schema: undash(parts[3])}
	if o := undash(parts[4]); o != "" {
		g.Objects = strings.Split(o, ",")
	}
	if err := g.target().Validate(); err != nil {
		return GrantArgs{}, fmt.Errorf("grant ID %q: %w", id, err)
	}
	if g.Role != pgcatalog.Public {
		if err := pgcatalog.ValidateIdent("role", g.Role); err != nil {
			return GrantArgs{}, fmt.Errorf("grant ID %q: %w", id, err)
		}
	}
	return g, nil
}

// convergeGrant makes the role hold exactly in.Privileges on in's target, revoking everything on
// objects the resource no longer names (old explicit objects).
func convergeGrant(old *GrantArgs, in GrantArgs) []string {
	var stmts []string
	add := func(s string, err error) {
		if err == nil {
			stmts = append(stmts, s)
		}
	}
	if old != nil && len(old.Objects) > 0 && len(in.Objects) > 0 {
		var gone []string
		for _, o := range old.Objects {
			if !slices.Contains(in.Objects, o) {
				gone = append(gone, o)
			}
		}
		if len(gone) > 0 {
			t := old.target()
			t.Objects = gone
			add(pgcatalog.Revoke(t, []string{"ALL"}, in.Role, false))
		}
	}
	if undeclared := pgcatalog.Undeclared(in.ObjectType, in.Privileges); len(undeclared) > 0 {
		add(pgcatalog.Revoke(in.target(), undeclared, in.Role, false))
	}
	add(pgcatalog.Grant(in.target(), in.Privileges, in.Role, in.WithGrantOption))
	if !in.WithGrantOption && in.Role != pgcatalog.Public {
		add(pgcatalog.Revoke(in.target(), in.Privileges, in.Role, true))
	}
	return stmts
}

func applyGrant(ctx context.Context, old *GrantArgs, in GrantArgs) (GrantState, error) {
	stmts := convergeGrant(old, in)
	if err := exec(ctx, in.connDatabase(), stmts...); err != nil {
		return GrantState{}, fmt.Errorf("grant %s: %w", in.id(), err)
	}
	s, err := readGrant(ctx, in, false)
	if err != nil {
		return GrantState{}, err
	}
	return s, nil
}

// Create grants the declared privileges (and revokes undeclared ones on the target).
func (*Grant) Create(ctx context.Context, req infer.CreateRequest[GrantArgs]) (infer.CreateResponse[GrantState], error) {
	in := req.Inputs
	if req.DryRun {
		return infer.CreateResponse[GrantState]{ID: in.id(), Output: GrantState{in}}, nil
	}
	s, err := applyGrant(ctx, nil, in)
	return infer.CreateResponse[GrantState]{ID: in.id(), Output: s}, err
}

// Update converges to the new declaration.
func (*Grant) Update(ctx context.Context, req infer.UpdateRequest[GrantArgs, GrantState]) (infer.UpdateResponse[GrantState], error) {
	if req.DryRun {
		return infer.UpdateResponse[GrantState]{Output: GrantState{req.Inputs}}, nil
	}
	s, err := applyGrant(ctx, &req.State.GrantArgs, req.Inputs)
	return infer.UpdateResponse[GrantState]{Output: s}, err
}

// objectACLs returns the ACL of every object the target covers; ok is false when the target
// (database, schema or a named object) does not exist.
func objectACLs(ctx context.Context, c *pgx.Conn, t pgcatalog.GrantTarget) (acls [][]pgcatalog.ACLItem, ok bool, err error) {
	switch t.ObjectType {
	case pgcatalog.ObjectDatabase:
		d, err := pgcatalog.DatabaseByName(ctx, c, t.Database)
		if isNotFound(err) {
			return nil, false, nil
		}
		return [][]pgcatalog.ACLItem{d.ACL}, err == nil, err
	case pgcatalog.ObjectSchema:
		s, err := pgcatalog.SchemaByName(ctx, c, t.Schema)
		if isNotFound(err) {
			return nil, false, nil
		}
		return [][]pgcatalog.ACLItem{s.ACL}, err == nil, err
	}
	if _, err := pgcatalog.SchemaByName(ctx, c, t.Schema); isNotFound(err) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	found := map[string]bool{}
	if t.ObjectType == pgcatalog.ObjectFunction {
		fns, err := pgcatalog.Functions(ctx, c, t.Schema)
		if err != nil {
			return nil, false, err
		}
		for _, f := range fns {
			if len(t.Objects) == 0 || slices.Contains(t.Objects, f.Name) {
				acls, found[f.Name] = append(acls, f.ACL), true
			}
		}
	} else {
		rels, err := pgcatalog.Relations(ctx, c, t.Schema)
		if err != nil {
			return nil, false, err
		}
		for _, r := range rels {
			if (r.Kind == pgcatalog.KindSequence) != (t.ObjectType == pgcatalog.ObjectSequence) {
				continue
			}
			if len(t.Objects) == 0 || slices.Contains(t.Objects, r.Name) {
				acls, found[r.Name] = append(acls, r.ACL), true
			}
		}
	}
	for _, o := range t.Objects {
		if !found[o] {
			// A named object that is gone holds nothing: every declared privilege is missing.
			acls = append(acls, nil)
		}
	}
	return acls, true, nil
}

// livePrivileges folds per-object privileges against the declared set: a declared privilege
// counts only when every object has it, an undeclared one as soon as any object has it. So
// both a revoked and an extra privilege show up as a difference.
func livePrivileges(perObject [][]pgcatalog.ACLItem, role string, declared []string) []string {
	if len(perObject) == 0 {
		return slices.Clone(declared)
	}
	count := map[string]int{}
	for _, acl := range perObject {
		ps, _ := pgcatalog.PrivilegesOf(acl, role)
		for _, p := range ps {
			count[p]++
		}
	}
	privs := []string{} // never nil: the state requires the field, and "none left" is a value (refresh after REVOKE)
	for p, n := range count {
		if n == len(perObject) || !slices.Contains(declared, p) {
			privs = append(privs, p)
		}
	}
	slices.Sort(privs)
	return privs
}

// readGrant reads the role's privileges on the target against known's declaration; importing
// (no declaration yet) takes what the role holds anywhere on the target as declared.
func readGrant(ctx context.Context, known GrantArgs, importing bool) (GrantState, error) {
	return withConn(ctx, known.connDatabase(), func(c *pgx.Conn) (GrantState, error) {
		acls, ok, err := objectACLs(ctx, c, known.target())
		if err != nil {
			return GrantState{}, fmt.Errorf("read grant %s: %w", known.id(), err)
		}
		if !ok {
			return GrantState{}, fmt.Errorf("grant %s: %w", known.id(), pgcatalog.ErrNotFound)
		}
		declared := known.Privileges
		if importing {
			// Import: what the role holds anywhere on the target is what is declared.
			for _, acl := range acls {
				ps, _ := pgcatalog.PrivilegesOf(acl, known.Role)
				declared = append(declared, ps...)
			}
			declared = sortedSet(declared)
		}
		s := known
		s.Privileges = livePrivileges(acls, known.Role, declared)
		s.WithGrantOption = grantOptionLive(acls, known.Role, declared, known.WithGrantOption)
		return GrantState{s}, nil
	})
}

// grantOptionLive is true when every declared privilege is grantable on every object; when the
// declaration says false, any grant option on the target reads as true (drift).
func grantOptionLive(acls [][]pgcatalog.ACLItem, role string, declared []string, want bool) bool {
	anyG, allG := false, len(acls) > 0
	for _, acl := range acls {
		_, gs := pgcatalog.PrivilegesOf(acl, role)
		if len(gs) > 0 {
			anyG = true
		}
		for _, p := range declared {
			if !slices.Contains(gs, p) {
				allG = false
			}
		}
	}
	if want {
		return allG
	}
	return anyG
}

// Read returns the role's live privileges on the target; on import the ID names the target.
func (*Grant) Read(ctx context.Context, req infer.ReadRequest[GrantArgs, GrantState]) (infer.ReadResponse[GrantArgs, GrantState], error) {
	known := req.State.GrantArgs
	importing := known.Role == ""
	if importing {
		g, err := grantFromID(req.ID)
		if err != nil {
			return infer.ReadResponse[GrantArgs, GrantState]{}, err
		}
		known = g
	}
	s, err := readGrant(ctx, known, importing)
	if isNotFound(err) || isGone(err) {
		return infer.ReadResponse[GrantArgs, GrantState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[GrantArgs, GrantState]{}, err
	}
	return infer.ReadResponse[GrantArgs, GrantState]{ID: known.id(), Inputs: s.GrantArgs, State: s}, nil
}

// Diff: the target's identity needs a new grant (switching between named objects and all of
// them too); privileges, named objects and the grant option change in place.
func (*Grant) Diff(_ context.Context, req infer.DiffRequest[GrantArgs, GrantState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"database", o.Database, n.Database, true},
		field{"role", o.Role, n.Role, true},
		field{"objectType", o.ObjectType, n.ObjectType, true},
		field{"schema", o.Schema, n.Schema, true},
		field{"objects", o.Objects, n.Objects, (len(o.Objects) == 0) != (len(n.Objects) == 0)},
		field{"privileges", o.Privileges, n.Privileges, false},
		field{"withGrantOption", o.WithGrantOption, n.WithGrantOption, false},
	), nil
}

// Delete revokes the declared privileges; a target that is already gone holds none.
func (*Grant) Delete(ctx context.Context, req infer.DeleteRequest[GrantState]) (infer.DeleteResponse, error) {
	s := req.State.GrantArgs
	if len(s.Privileges) == 0 {
		return infer.DeleteResponse{}, nil // a declaration of none leaves nothing to revoke
	}
	stmt, err := pgcatalog.Revoke(s.target(), s.Privileges, s.Role, false)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := exec(ctx, s.connDatabase(), stmt); err != nil && !isGone(err) {
		return infer.DeleteResponse{}, fmt.Errorf("revoke %s: %w", s.id(), err)
	}
	return infer.DeleteResponse{}, nil
}

// isGone reports whether err says the object (database, schema, relation, function, role) no
// longer exists.
func isGone(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "3D000", "3F000", "42P01", "42883", "42704":
		return true
	}
	return false
}
