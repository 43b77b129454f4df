package remediate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Data-plane actions. A PostgreSQL finding's fix is a statement on the server; a plan never
// carries SQL: it carries the object in structured form (DataTarget), the statement is derived
// from it when validating, reviewing and applying (DataStatements), and every name in it is
// validated and quoted by pgcatalog. What tenantctl runs itself stays inside the offending
// tenant's own scope: a privilege, membership or attribute of the tenant's own role, a PUBLIC
// privilege on the tenant's own object, an unmanaged role or empty schema under its names.
// Anything on the platform's objects (an unmanaged policy on a shared table) is review-only.

// DataOp is what a data-plane action does.
type DataOp string

const (
	// DataRevoke is REVOKE ALL ON <object> FROM <role|PUBLIC> CASCADE.
	DataRevoke DataOp = "revoke"
	// DataRevokeDefault is ALTER DEFAULT PRIVILEGES FOR ROLE <owner> [IN SCHEMA <schema>]
	// REVOKE ALL ON <type>s FROM <role> CASCADE.
	DataRevokeDefault DataOp = "revoke-default"
	// DataRevokeMembership is REVOKE <granted> FROM <role>.
	DataRevokeMembership DataOp = "revoke-membership"
	// DataStripAttributes is ALTER ROLE <role> NOSUPERUSER NOBYPASSRLS NOCREATEROLE: no tenant
	// role is ever planned with them.
	DataStripAttributes DataOp = "strip-attributes"
	// DataDropRole strips the attributes, then DROP ROLE: the server refuses while the role owns
	// objects or holds privileges anywhere, so nothing is dropped with it.
	DataDropRole DataOp = "drop-role"
	// DataDropSchema is DROP SCHEMA ... RESTRICT: the server refuses while it holds anything.
	DataDropSchema DataOp = "drop-schema"
	// DataDropPolicy is DROP POLICY on a shared table: the platform's, so review-only.
	DataDropPolicy DataOp = "drop-policy"
)

// DataTarget is the data-plane object a delete or review action changes.
type DataTarget struct {
	Op DataOp `json:"op"`
	// Database is where the statement runs; roles are cluster-wide, so any database serves them.
	Database string `json:"database,omitempty"`
	// ObjectType is the revoked object's type (database, schema, table, sequence, function) or,
	// for revoke-default, the future objects' (table, sequence, function, type).
	ObjectType string `json:"objectType,omitempty"`
	// Schema holds the object (or is it, for a schema); Object is a table's or sequence's name,
	// a function's signature, or the table of a policy.
	Schema string `json:"schema,omitempty"`
	Object string `json:"object,omitempty"`
	// Owner is the role whose future objects a default ACL covers.
	Owner string `json:"owner,omitempty"`
	// Role is the grantee (pgcatalog.Public for PUBLIC), the member, the role with attributes or
	// the role to drop.
	Role string `json:"role,omitempty"`
	// Granted is the role a membership gives.
	Granted string `json:"granted,omitempty"`
	// Policy is the policy to drop.
	Policy string `json:"policy,omitempty"`
}

// executable says whether tenantctl carries the op out itself (else review-only).
func (d DataTarget) executable() bool {
	switch d.Op {
	case DataRevoke:
		return d.ObjectType != pgcatalog.ObjectFunction
	case DataRevokeDefault, DataRevokeMembership, DataStripAttributes, DataDropRole, DataDropSchema:
		return true
	}
	return false
}

// signature is a function signature as pg_proc's regprocedure output prints one for the names
// tenantctl validates: schema.name(type, ...).
var signature = regexp.MustCompile(`^[a-z_][a-z0-9_-]*\.[a-z_][a-z0-9_-]*\([a-z0-9_ ,\[\]"."]*\)$`)

// DataStatements is the SQL that carries d out, in order (each its own transaction).
func DataStatements(d DataTarget) ([]string, error) {
	one := func(s string, err error) ([]string, error) {
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	switch d.Op {
	case DataRevoke:
		if d.ObjectType == pgcatalog.ObjectFunction {
			if !signature.MatchString(d.Object) {
				return nil, fmt.Errorf("function signature %q is not one tenantctl can quote", d.Object)
			}
			who, err := granteeSQL(d.Role)
			if err != nil {
				return nil, err
			}
			return []string{"REVOKE ALL ON FUNCTION " + d.Object + " FROM " + who + " CASCADE"}, nil
		}
		t := pgcatalog.GrantTarget{ObjectType: d.ObjectType, Database: d.Database, Schema: d.Schema}
		if d.Object != "" {
			t.Objects = []string{d.Object}
		}
		if d.ObjectType == pgcatalog.ObjectTable || d.ObjectType == pgcatalog.ObjectSequence {
			if d.Object == "" {
				return nil, fmt.Errorf("revoke on a %s needs its name", d.ObjectType)
			}
		}
		return one(pgcatalog.Revoke(t, pgcatalog.AllPrivileges(d.ObjectType), d.Role, false))
	case DataRevokeDefault:
		return one(pgcatalog.RevokeDefault(pgcatalog.DefaultPrivilegesSpec{Owner: d.Owner, Schema: d.Schema, ObjectType: d.ObjectType, Grantee: d.Role},
			pgcatalog.AllPrivileges(d.ObjectType)))
	case DataRevokeMembership:
		return one(pgcatalog.RevokeMembership(d.Granted, d.Role, false))
	case DataStripAttributes, DataDropRole:
		if err := pgcatalog.ValidateIdent("role", d.Role); err != nil {
			return nil, err
		}
		strip := "ALTER ROLE " + pgcatalog.QuoteIdent(d.Role) + " NOSUPERUSER NOBYPASSRLS NOCREATEROLE"
		if d.Op == DataStripAttributes {
			return []string{strip}, nil
		}
		drop, err := pgcatalog.DropRole(d.Role)
		if err != nil {
			return nil, err
		}
		return []string{strip, drop}, nil
	case DataDropSchema:
		if d.Database == "" {
			return nil, errors.New("drop-schema needs the schema's database")
		}
		return one(pgcatalog.DropSchema(d.Schema, false))
	case DataDropPolicy:
		return one(pgcatalog.DropPolicy(d.Schema, d.Object, d.Policy))
	}
	return nil, fmt.Errorf("data op %q: want one of revoke, revoke-default, revoke-membership, strip-attributes, drop-role, drop-schema, drop-policy", d.Op)
}

func granteeSQL(role string) (string, error) {
	if role == pgcatalog.Public {
		return "PUBLIC", nil
	}
	if err := pgcatalog.ValidateIdent("grantee role", role); err != nil {
		return "", err
	}
	return pgcatalog.QuoteIdent(role), nil
}

// dataCommand is what a person runs for a review-only data action: the statements, for psql.
func dataCommand(d *DataTarget) string {
	if d == nil {
		return ""
	}
	stmts, err := DataStatements(*d)
	if err != nil {
		return ""
	}
	db := d.Database
	if db == "" {
		db = "postgres"
	}
	return "psql -d " + shellWord(db) + " -c " + shellWord(strings.Join(stmts, "; "))
}

// dataScope checks that what a data action changes lies in tenant's own scope; owner names the
// tenant a PostgreSQL name belongs to (pgroutes.Scope.Owner of the environment's plans).
func dataScope(d DataTarget, tenant string, owner func(string) string) error {
	if owner == nil {
		return errors.New("the environment keeps no data on PostgreSQL")
	}
	mine := func(what, name string) error {
		if got := owner(name); got != tenant {
			if got == "" {
				return fmt.Errorf("%s %s belongs to no tenant", what, name)
			}
			return fmt.Errorf("%s %s is tenant %s's, not %s's", what, name, got, tenant)
		}
		return nil
	}
	switch d.Op {
	case DataRevoke, DataRevokeDefault:
		if d.Role != pgcatalog.Public {
			return mine("role", d.Role)
		}
		// PUBLIC's privilege on the tenant's own object: its database, schema or role.
		for _, n := range []string{d.Database, d.Schema, d.Owner} {
			if n != "" && owner(n) == tenant {
				return nil
			}
		}
		return fmt.Errorf("the object PUBLIC holds privileges on is not tenant %s's", tenant)
	case DataRevokeMembership, DataStripAttributes, DataDropRole:
		return mine("role", d.Role)
	case DataDropSchema:
		return mine("schema", d.Schema)
	}
	return fmt.Errorf("%s is never carried out by tenantctl", d.Op)
}

// parseGrantRef splits a data-grant route's resource name, "<object> TO <grantee>" as
// isolation/reach/pgroutes writes it, into a DataTarget in database db. ok is false for anything
// it cannot take apart exactly (the action is then a report).
func parseGrantRef(db, name string) (DataTarget, bool) {
	i := strings.LastIndex(name, " TO ")
	if i < 0 {
		return DataTarget{}, false
	}
	what, grantee := name[:i], name[i+len(" TO "):]
	d := DataTarget{Op: DataRevoke, Database: db, Role: grantee}
	kw, rest, _ := strings.Cut(what, " ")
	switch kw {
	case "DATABASE":
		ids, ok := quotedIdents(rest, 1)
		if !ok || ids[0] != db {
			return DataTarget{}, false
		}
		d.ObjectType = pgcatalog.ObjectDatabase
	case "SCHEMA":
		ids, ok := quotedIdents(rest, 1)
		if !ok {
			return DataTarget{}, false
		}
		d.ObjectType, d.Schema = pgcatalog.ObjectSchema, ids[0]
	case "TABLE", "SEQUENCE":
		ids, ok := quotedIdents(rest, 2)
		if !ok {
			return DataTarget{}, false
		}
		d.ObjectType, d.Schema, d.Object = strings.ToLower(kw), ids[0], ids[1]
	case "FUNCTION":
		d.ObjectType, d.Object = pgcatalog.ObjectFunction, rest
	case "future":
		m := futureRef.FindStringSubmatch(rest)
		if m == nil {
			return DataTarget{}, false
		}
		d.Op, d.ObjectType, d.Owner, d.Schema = DataRevokeDefault, m[1], m[2], m[4]
	default:
		return DataTarget{}, false
	}
	if _, err := DataStatements(d); err != nil {
		return DataTarget{}, false
	}
	return d, true
}

var futureRef = regexp.MustCompile(`^(\w+) objects of (\S+)( in schema (\S+))?$`)

// quotedIdents reads exactly n '.'-separated double-quoted identifiers.
func quotedIdents(s string, n int) ([]string, bool) {
	var out []string
	for len(s) > 0 {
		if s[0] != '"' {
			return nil, false
		}
		var b strings.Builder
		j := 1
		for ; j < len(s); j++ {
			if s[j] == '"' {
				if j+1 < len(s) && s[j+1] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				break
			}
			b.WriteByte(s[j])
		}
		if j >= len(s) {
			return nil, false
		}
		out = append(out, b.String())
		s = s[j+1:]
		if s != "" {
			if s[0] != '.' {
				return nil, false
			}
			s = s[1:]
		}
	}
	return out, len(out) == n
}

// dataDatabase is the database of a data finding's resource id ("postgresql://db/..."); "" for
// cluster-wide objects (roles).
func dataDatabase(id string) string {
	rest, ok := strings.CutPrefix(id, "postgresql://")
	if !ok {
		return ""
	}
	db, _, _ := strings.Cut(rest, "/")
	return db
}

// dataTargetOf derives the structured target of a group of data-plane route or unmanaged
// findings; ok is false when the group names nothing tenantctl can act on.
func dataTargetOf(g *group, routes []finding.Finding) (DataTarget, bool) {
	r := g.resource
	switch r.Type {
	case "grant":
		return parseGrantRef(dataDatabase(r.ID), r.Name)
	case "membership":
		granted, member, ok := strings.Cut(r.Name, "/")
		if !ok {
			return DataTarget{}, false
		}
		return DataTarget{Op: DataRevokeMembership, Granted: granted, Role: member}, true
	case "role":
		if slices.ContainsFunc(g.findings, func(f finding.Finding) bool { return f.Kind == finding.KindUnmanagedResource }) {
			return DataTarget{Op: DataDropRole, Role: r.Name}, true
		}
		if len(routes) > 0 {
			return DataTarget{Op: DataStripAttributes, Role: r.Name}, true
		}
	case "schema":
		if db := dataDatabase(r.ID); db != "" && len(routes) == 0 {
			return DataTarget{Op: DataDropSchema, Database: db, Schema: r.Name}, true
		}
	case "policy":
		// postgresql://db/schema.table#policy
		db := dataDatabase(r.ID)
		rest, _ := strings.CutPrefix(r.ID, "postgresql://"+db+"/")
		obj, pol, ok := strings.Cut(rest, "#")
		schema, table, ok2 := strings.Cut(obj, ".")
		if ok && ok2 && pol == r.Name {
			return DataTarget{Op: DataDropPolicy, Database: db, Schema: schema, Object: table, Policy: pol}, true
		}
	}
	return DataTarget{}, false
}

// planData plans a data-plane object's findings:
//
//   - managed drift or a missing object declared by a stack: restore by the engine (refresh, up
//     of that stack); the routes the drift opens on the same object (RLS off on a shared table,
//     BYPASSRLS on a tenant role, a policy rewritten) close with it;
//   - a route through an object no stack declares: revoke the offender's privilege, membership
//     or attributes in its own scope (delete), or review when the object is the platform's;
//   - an unmanaged role or schema in a tenant's scope: drop it (the server refuses while it owns
//     or holds anything, so no data goes with it); an unmanaged database: report.
func (p *Planner) planData(g *group) []Action {
	var managed, routes, unmanaged, rest []finding.Finding
	for _, f := range g.findings {
		switch {
		case (f.Kind == finding.KindManagedDrift || f.Kind == finding.KindMissingResource) && f.Stack != "":
			managed = append(managed, f)
		case f.Kind == finding.KindCrossTenantRoute:
			routes = append(routes, f)
		case f.Kind == finding.KindUnmanagedResource:
			unmanaged = append(unmanaged, f)
		default:
			rest = append(rest, f)
		}
	}
	var acts []Action
	var left []reported
	switch {
	case len(managed) > 0:
		stack := managed[0].Stack
		if slices.ContainsFunc(managed, func(f finding.Finding) bool { return f.Stack != stack }) {
			left = allBecause(g.findings, g.resource.Ref()+" is declared by several stacks; re-apply them with tenantctl up")
			break
		}
		a := newAction(ActionRestore, g, concat(managed, routes))
		a.Tenant, a.Stack, a.Engine = managed[0].TenantID, stack, EngineRefreshUp
		a.Reason = fmt.Sprintf("%s drifted from stack %s; refresh and up %s restore it", g.resource.Ref(), stack, stack)
		if len(routes) > 0 {
			a.Reason += fmt.Sprintf(", closing the route from %s to %s", routes[0].TenantID, peerList(routes))
		}
		acts = append(acts, a)
		left = p.reasons(concat(unmanaged, rest))
	case len(routes) > 0 || len(unmanaged) > 0:
		d, ok := dataTargetOf(g, routes)
		all := concat(routes, unmanaged)
		if !ok {
			left = p.reasons(all)
			if len(routes) > 0 {
				left = allBecause(all, fmt.Sprintf("%s opens a cross-tenant route that tenantctl cannot address; review the evidence", g.resource.Ref()))
			}
			break
		}
		tenant := all[0].TenantID
		if d.Role == pgcatalog.Public && len(routes) > 0 {
			tenant = routes[0].PeerTenant // PUBLIC's privilege on the peer's own object
		}
		kind := ActionDelete
		if !d.executable() {
			kind = ActionReview
		}
		a := newAction(kind, g, all)
		a.Tenant, a.Target.Data = tenant, &d
		stmts, _ := DataStatements(d)
		what := "opens a cross-tenant route from " + all[0].TenantID + " to " + peerList(routes)
		if len(routes) == 0 {
			what = "is in tenant " + tenant + "'s scope but no stack declares it"
		}
		if kind == ActionReview {
			a.Command = ReviewCommand(a.Target)
			a.Reason = fmt.Sprintf("%s %s; it is the platform's object, so tenantctl never changes it: after review, a person runs: %s", g.resource.Ref(), what, a.Command)
		} else {
			a.Reason = fmt.Sprintf("%s %s: %s (tenant %s's own scope)", g.resource.Ref(), what, strings.Join(stmts, "; "), tenant)
		}
		acts = append(acts, a)
		left = p.reasons(rest)
	default:
		left = p.reasons(rest)
	}
	if r := reportOf(g, left); r != nil {
		acts = append(acts, *r)
	}
	return acts
}
