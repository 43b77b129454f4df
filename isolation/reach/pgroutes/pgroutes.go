// Package pgroutes finds the data-plane cross-tenant routes in a PostgreSQL catalog: a privilege
// of one tenant's role on another tenant's database, schema, table, sequence or SECURITY DEFINER
// function; a tenant role that is a member of another tenant's role; a shared table whose
// row-level security does not keep each tenant to its own rows; a tenant role with SUPERUSER,
// BYPASSRLS or CREATEROLE. It reads one catalog snapshot (pgcatalog.ReadCatalog, one read per
// database) and no Pulumi state, so drift's fast path and `isolation verify` share it.
//
// Ownership is decided by name, the way the "t-" prefix decides it in Kubernetes: every object
// the plan gives a tenant is named "t_<tenant>…" (tenantplan's PG names), and every object inside
// a silo tenant's own database is the tenant's.
package pgroutes

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Tenant is one tenant of the environment as the data plane sees it.
type Tenant struct {
	ID   string
	Mode isolation.Mode // the resolved data mode
	// Names are the database and schema names the binding gives the tenant besides its
	// "t_<tenant>" names (tenantplan.PostgresNames).
	Names []string
}

// Scope attributes PostgreSQL names to tenants.
type Scope struct {
	ids      []string
	rowMode  map[string]bool // tenants whose rows live in the shared tables
	exact    map[string]string
	prefixes []prefix // longest first
}

type prefix struct{ base, tenant string }

// NewScope builds the scope of an environment's tenants.
func NewScope(tenants []Tenant) *Scope {
	s := &Scope{rowMode: map[string]bool{}, exact: map[string]string{}}
	for _, t := range tenants {
		s.ids = append(s.ids, t.ID)
		if t.Mode == isolation.DataRowFilter {
			s.rowMode[t.ID] = true
		}
		for _, n := range []string{tenantplan.PGOwnerRole(t.ID), tenantplan.PGLoginRole(t.ID), tenantplan.PGDatabase(t.ID),
			tenantplan.PGSchema(t.ID), tenantplan.PGPolicyName(t.ID)} {
			s.exact[n] = t.ID
		}
		for _, n := range t.Names {
			s.exact[n] = t.ID
		}
		s.prefixes = append(s.prefixes, prefix{tenantplan.PGTenantPrefix(t.ID), t.ID})
	}
	sort.Strings(s.ids)
	sort.SliceStable(s.prefixes, func(i, j int) bool { return len(s.prefixes[i].base) > len(s.prefixes[j].base) })
	return s
}

// ScopeOf is the scope of an environment's planned tenants (tenantplan.PlanData): each tenant's
// "t_<tenant>" names plus the database and schema names its binding gives it.
func ScopeOf(tenants []*tenantplan.Tenant) *Scope {
	var scope []Tenant
	for _, t := range tenants {
		p := t.Data.Postgres
		if p == nil {
			continue
		}
		var names []string
		for _, n := range []string{p.Database, p.Schema} {
			if n != tenantplan.SharedDatabaseName && n != tenantplan.PGSharedSchema && n != tenantplan.PGAppSchema {
				names = append(names, n)
			}
		}
		scope = append(scope, Tenant{ID: t.TenantID, Mode: p.Mode, Names: names})
	}
	return NewScope(scope)
}

// Owner returns the tenant a PostgreSQL name belongs to, or "" for the platform's and unknown
// names. A name the plan gives a tenant is its; otherwise the longest "t_<tenant>" prefix followed
// by the end of the name or "_" decides, so an unmanaged "t_acme_extra" is acme's.
func (s *Scope) Owner(name string) string {
	if t, ok := s.exact[name]; ok {
		return t
	}
	for _, p := range s.prefixes {
		if name == p.base || strings.HasPrefix(name, p.base+"_") {
			return p.tenant
		}
	}
	return ""
}

// Analyze returns the routes one database's catalog opens between tenants, as paths for the
// reachability graph (graph.Builder.Add).
func Analyze(s *Scope, c *pgcatalog.Catalog) []graph.Path {
	a := &analysis{s: s, c: c, dbOwner: s.Owner(c.Database)}
	a.roles()
	a.memberships()
	a.databases()
	a.objects()
	a.rowSecurity()
	return a.paths
}

type analysis struct {
	s       *Scope
	c       *pgcatalog.Catalog
	dbOwner string // the tenant whose own database c is, or ""
	paths   []graph.Path
}

func (a *analysis) add(from, to string, kind graph.EdgeKind, via string, steps ...graph.EvidenceStep) {
	if from == "" || to == "" || from == to {
		return
	}
	a.paths = append(a.paths, graph.Path{From: from, To: to, Kind: kind, Via: via,
		Evidence: func() []graph.EvidenceStep { return steps }})
}

// everyoneBut is every tenant except id, and the platform.
func (a *analysis) everyoneBut(id string) []string {
	out := []string{isolation.Platform}
	for _, t := range a.s.ids {
		if t != id {
			out = append(out, t)
		}
	}
	return out
}

func resource(db string, parts ...string) string {
	return "postgresql://" + db + "/" + strings.Join(parts, ".")
}

func (a *analysis) roles() {
	for _, r := range a.c.Roles {
		t := a.s.Owner(r.Name)
		if t == "" {
			continue
		}
		var attrs []string
		for _, x := range []struct {
			on   bool
			name string
		}{{r.Superuser, "SUPERUSER"}, {r.BypassRLS, "BYPASSRLS"}, {r.CreateRole, "CREATEROLE"}} {
			if x.on {
				attrs = append(attrs, x.name)
			}
		}
		if len(attrs) == 0 {
			continue
		}
		step := graph.EvidenceStep{Kind: "role", Resource: "postgresql role " + r.Name, Opens: true,
			Detail: fmt.Sprintf("role %s of tenant %s has %s, which reaches every tenant's data", r.Name, t, strings.Join(attrs, ", ")),
			Ref:    graph.ResourceRef{Provider: "postgresql", Type: "role", Name: r.Name, Owner: t}}
		for _, to := range a.everyoneBut(t) {
			a.add(t, to, graph.KindDataEscalation, "role "+r.Name, step)
		}
	}
}

func (a *analysis) memberships() {
	for _, m := range a.c.Memberships {
		from, to := a.s.Owner(m.Member), a.s.Owner(m.Role)
		step := graph.EvidenceStep{Kind: "membership", Resource: "postgresql role " + m.Role, Opens: true,
			Detail: fmt.Sprintf("GRANT %s TO %s: %s holds every privilege of %s", pgcatalog.QuoteIdent(m.Role), pgcatalog.QuoteIdent(m.Member), m.Member, m.Role),
			Ref:    graph.ResourceRef{Provider: "postgresql", Type: "membership", Name: m.Role + "/" + m.Member, Owner: to}}
		a.add(from, to, graph.KindDataMembership, "membership "+m.Role+"/"+m.Member, step)
	}
}

// grants adds a route from every grantee's tenant to owner for the privileges of acl. PUBLIC
// grants reach owner from every tenant in reachers.
func (a *analysis) grants(owner, what, res string, acl []pgcatalog.ACLItem, reachers func() []string, ownerRole string) {
	if owner == "" {
		return
	}
	byGrantee := map[string][]string{}
	var order []string
	for _, it := range acl {
		if it.Grantee == ownerRole {
			continue // the owner's implicit privileges
		}
		if _, ok := byGrantee[it.Grantee]; !ok {
			order = append(order, it.Grantee)
		}
		byGrantee[it.Grantee] = append(byGrantee[it.Grantee], it.Privilege)
	}
	for _, g := range order {
		privs := byGrantee[g]
		var from []string
		if g == pgcatalog.Public {
			from = reachers()
		} else if t := a.s.Owner(g); t != "" {
			from = []string{t}
		}
		grantee := g
		if g != pgcatalog.Public {
			grantee = pgcatalog.QuoteIdent(g)
		}
		step := graph.EvidenceStep{Kind: "grant", Resource: res, Opens: true,
			Detail: fmt.Sprintf("GRANT %s ON %s TO %s", strings.Join(privs, ", "), what, grantee),
			Ref:    graph.ResourceRef{Provider: "postgresql", Type: "grant", Name: what + " TO " + g, ID: res, Owner: owner}}
		for _, f := range from {
			a.add(f, owner, graph.KindDataGrant, res+" "+g, step)
		}
	}
}

// connecters are the tenants that can connect to the catalog's database: through PUBLIC (every
// tenant) or a grant to one of their roles. A privilege inside a database needs CONNECT to use.
func (a *analysis) connecters() []string {
	for _, d := range a.c.Databases {
		if d.Name != a.c.Database {
			continue
		}
		seen := map[string]bool{}
		for _, it := range d.ACL {
			if it.Privilege != "CONNECT" {
				continue
			}
			if it.Grantee == pgcatalog.Public {
				return a.s.ids
			}
			if t := a.s.Owner(it.Grantee); t != "" {
				seen[t] = true
			}
		}
		out := make([]string, 0, len(seen))
		for t := range seen {
			out = append(out, t)
		}
		sort.Strings(out)
		return out
	}
	return a.s.ids
}

func (a *analysis) databases() {
	for _, d := range a.c.Databases {
		owner := a.s.Owner(d.Name)
		if owner == "" {
			owner = a.s.Owner(d.Owner)
		}
		a.grants(owner, "DATABASE "+pgcatalog.QuoteIdent(d.Name), resource(d.Name), d.ACL, func() []string { return a.s.ids }, d.Owner)
	}
}

// ownerOf is the tenant an object in schema with owner role belongs to.
func (a *analysis) ownerOf(schema, role string) string {
	if t := a.s.Owner(schema); t != "" {
		return t
	}
	if t := a.s.Owner(role); t != "" {
		return t
	}
	return a.dbOwner
}

func (a *analysis) objects() {
	db := a.c.Database
	for _, sc := range a.c.Schemas {
		owner := a.ownerOf(sc.Name, sc.Owner)
		a.grants(owner, "SCHEMA "+pgcatalog.QuoteIdent(sc.Name), resource(db, sc.Name), sc.ACL, a.connecters, sc.Owner)
	}
	for _, r := range a.c.Relations {
		if r.Schema == tenantplan.PGSharedSchema && r.IsTable() {
			continue // shared tables hold every row tenant's rows: rowSecurity decides who sees which
		}
		owner := a.ownerOf(r.Schema, r.Owner)
		kind := "TABLE"
		if r.Kind == pgcatalog.KindSequence {
			kind = "SEQUENCE"
		}
		name := pgcatalog.QuoteIdent(r.Schema) + "." + pgcatalog.QuoteIdent(r.Name)
		a.grants(owner, kind+" "+name, resource(db, r.Schema, r.Name), r.ACL, a.connecters, r.Owner)
	}
	for _, f := range a.c.Functions {
		if !f.SecurityDefiner {
			continue // an invoker's function runs with the caller's own privileges
		}
		owner := a.s.Owner(f.Owner)
		if owner == "" {
			owner = a.ownerOf(f.Schema, f.Owner)
		}
		a.grants(owner, "FUNCTION "+f.Signature, resource(db, f.Signature), f.ACL, a.connecters, f.Owner)
	}
	for _, d := range a.c.DefaultACLs {
		owner := a.s.Owner(d.Owner)
		if owner == "" {
			continue
		}
		what := "future " + d.ObjectType + " objects of " + d.Owner
		if d.Schema != "" {
			what += " in schema " + d.Schema
		}
		a.grants(owner, what, resource(db, "default-acl", d.Owner, d.Schema), d.ACL, a.connecters, d.Owner)
	}
}

// rowSecurity checks the shared tables: each must have row-level security enabled and forced, be
// owned by no tenant, and have only policies that bind rows to the one tenant whose role they
// apply to.
func (a *analysis) rowSecurity() {
	db := a.c.Database
	policies := map[[2]string][]pgcatalog.Policy{}
	for _, p := range a.c.Policies {
		k := [2]string{p.Schema, p.Table}
		policies[k] = append(policies[k], p)
	}
	for _, r := range a.c.Relations {
		if r.Schema != tenantplan.PGSharedSchema || !r.IsTable() {
			continue
		}
		res := resource(db, r.Schema, r.Name)
		table := pgcatalog.QuoteIdent(r.Schema) + "." + pgcatalog.QuoteIdent(r.Name)
		users := a.tableUsers(r)
		rowTenants := a.rowTenants(policies[[2]string{r.Schema, r.Name}])
		ref := graph.ResourceRef{Provider: "postgresql", Type: "table", Name: table, ID: res, Owner: isolation.Platform}
		all := func(from, detail, via string) {
			step := graph.EvidenceStep{Kind: "table", Resource: res, Detail: detail, Opens: true, Ref: ref}
			for _, to := range rowTenants {
				a.add(from, to, graph.KindDataRowSecurity, via, step)
			}
		}
		if t := a.s.Owner(r.Owner); t != "" {
			all(t, fmt.Sprintf("shared table %s is owned by %s of tenant %s: an owner can disable row-level security and, unless it is forced, bypasses it", table, r.Owner, t), res+" owner")
		}
		if !r.RowSecurity {
			for _, u := range users {
				all(u, fmt.Sprintf("row-level security is disabled on shared table %s: %s sees every tenant's rows (ALTER TABLE %s ENABLE ROW LEVEL SECURITY)", table, u, table), res+" rls")
			}
			continue
		}
		// Only the owner bypasses an unforced policy, and a tenant owner is reported above.
		for _, p := range policies[[2]string{r.Schema, r.Name}] {
			if !p.Permissive {
				continue // restrictive policies only narrow
			}
			bound, ok := BoundTenant(p.Using)
			if ok && p.WithCheck != "" {
				check, cok := BoundTenant(p.WithCheck)
				ok = cok && check == bound
			}
			var applies []string
			for _, role := range p.Roles {
				if role == pgcatalog.Public {
					applies = append(applies, users...)
				} else if t := a.s.Owner(role); t != "" && slices.Contains(users, t) {
					applies = append(applies, t)
				}
			}
			detail := fmt.Sprintf("policy %s on %s (to %s) uses %q", p.Name, table, strings.Join(p.Roles, ", "), p.Using)
			if p.WithCheck != "" {
				detail += fmt.Sprintf(" with check %q", p.WithCheck)
			}
			step := graph.EvidenceStep{Kind: "policy", Resource: res + "#" + p.Name, Opens: true, Detail: detail,
				Ref: graph.ResourceRef{Provider: "postgresql", Type: "policy", Name: p.Name, ID: res + "#" + p.Name, Owner: isolation.Platform}}
			for _, from := range applies {
				if ok {
					a.add(from, bound, graph.KindDataRowSecurity, res+"#"+p.Name, step)
					continue
				}
				for _, to := range rowTenants {
					a.add(from, to, graph.KindDataRowSecurity, res+"#"+p.Name, step)
				}
			}
		}
	}
}

// tableUsers are the tenants that hold a privilege on a shared table (directly or through
// PUBLIC) and can connect to its database.
func (a *analysis) tableUsers(r pgcatalog.Relation) []string {
	conn := a.connecters()
	seen := map[string]bool{}
	for _, it := range r.ACL {
		if it.Grantee == pgcatalog.Public {
			for _, t := range conn {
				seen[t] = true
			}
			continue
		}
		if t := a.s.Owner(it.Grantee); t != "" && slices.Contains(conn, t) {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// rowTenants are the tenants whose rows a shared table holds: the row-filtered tenants of the
// scope, and any tenant a policy binds rows to.
func (a *analysis) rowTenants(ps []pgcatalog.Policy) []string {
	seen := map[string]bool{}
	for t := range a.s.rowMode {
		seen[t] = true
	}
	for _, p := range ps {
		if t, ok := BoundTenant(p.Using); ok && slices.Contains(a.s.ids, t) {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

var (
	exprNoise = strings.NewReplacer(" ", "", "\n", "", "\t", "", "(", "", ")", "", "::text", "", "::charactervarying", "", "::name", "")
	boundExpr = regexp.MustCompile(`^(?:` + tenantplan.PGTenantIDColumn + `='((?:[^']|'')*)'|'((?:[^']|'')*)'=` + tenantplan.PGTenantIDColumn + `)$`)
)

// BoundTenant returns the tenant id a policy expression binds rows to when it is exactly
// "tenant_id = '<id>'" (as PostgreSQL deparses it, with parentheses and casts); anything else —
// a session setting, current_user, an OR, true — binds rows to no single tenant.
func BoundTenant(expr string) (string, bool) {
	m := boundExpr.FindStringSubmatch(exprNoise.Replace(expr))
	if m == nil {
		return "", false
	}
	v := m[1]
	if v == "" {
		v = m[2]
	}
	return strings.ReplaceAll(v, "''", "'"), v != ""
}
