// Package pgdrift is the data layer's drift fast path: it compares the live PostgreSQL catalogs
// (pgcatalog.ReadServer, one read per database) with the planned data layer (tenantplan.Postgres
// of every tenant, tenantplan.PlatformPostgres) and reports, as drift findings, what the plan
// holds that the server lost or changed, what exists in a tenant's scope that no plan declares,
// and the cross-tenant routes the catalogs open (package pgroutes). It runs no Pulumi operation.
package pgdrift

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/pgroutes"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Input is one environment's data layer: the plans and the live catalogs.
type Input struct {
	Environment string
	Tenants     []*tenantplan.Tenant
	Platform    *tenantplan.PlatformPostgres
	Catalogs    []*pgcatalog.Catalog
}

// live indexes the catalogs.
type live struct {
	roles     map[string]pgcatalog.Role
	databases map[string]pgcatalog.Database
	byDB      map[string]*pgcatalog.Catalog
}

func index(cats []*pgcatalog.Catalog) *live {
	l := &live{roles: map[string]pgcatalog.Role{}, databases: map[string]pgcatalog.Database{}, byDB: map[string]*pgcatalog.Catalog{}}
	for _, c := range cats {
		l.byDB[c.Database] = c
		for _, r := range c.Roles {
			l.roles[r.Name] = r
		}
		for _, d := range c.Databases {
			l.databases[d.Name] = d
		}
	}
	return l
}

func (l *live) schema(db, name string) (pgcatalog.Schema, bool) {
	if c := l.byDB[db]; c != nil {
		for _, s := range c.Schemas {
			if s.Name == name {
				return s, true
			}
		}
	}
	return pgcatalog.Schema{}, false
}

func (l *live) relation(db, schema, name string) (pgcatalog.Relation, bool) {
	if c := l.byDB[db]; c != nil {
		for _, r := range c.Relations {
			if r.Schema == schema && r.Name == name {
				return r, true
			}
		}
	}
	return pgcatalog.Relation{}, false
}

// Compare returns the data layer's findings, sorted.
func Compare(in Input) []finding.Finding {
	l := index(in.Catalogs)
	c := &comparer{in: in, l: l}
	for _, t := range in.Tenants {
		if t.Data.Postgres != nil {
			c.tenant(t)
		}
	}
	if in.Platform != nil {
		c.platform(in.Platform)
	}
	s := pgroutes.ScopeOf(in.Tenants)
	c.unmanaged(s)
	for _, cat := range in.Catalogs {
		for _, p := range pgroutes.Analyze(s, cat) {
			c.route(p)
		}
	}
	out := c.out
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.TenantID != b.TenantID {
			return a.TenantID < b.TenantID
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Resource.ID+a.Field < b.Resource.ID+b.Field
	})
	return out
}

type comparer struct {
	in   Input
	l    *live
	out  []finding.Finding
	seen map[string]bool
}

func res(typ, id, name string) finding.Resource {
	return finding.Resource{Provider: finding.ProviderPostgreSQL, Type: typ, ID: id, Name: name}
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (c *comparer) add(f finding.Finding) {
	f.Environment = c.in.Environment
	f.Detector = finding.DetectorFastPath
	f = f.Normalize()
	key := string(f.Kind) + "|" + f.TenantID + "|" + f.PeerTenant + "|" + f.Resource.ID + "|" + f.Field
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.out = append(c.out, f)
}

func (c *comparer) missing(tenant string, r finding.Resource, msg string) {
	c.add(finding.Finding{Kind: finding.KindMissingResource, TenantID: tenant, Stack: c.stack(tenant), Resource: r, Message: msg})
}

func (c *comparer) drift(tenant string, r finding.Resource, field string, desired, live any, msg string) {
	c.add(finding.Finding{Kind: finding.KindManagedDrift, TenantID: tenant, Stack: c.stack(tenant), Resource: r, Field: field,
		Desired: jsonOf(desired), Live: jsonOf(live), Message: msg})
}

// stack is the stack that declares a managed object of owner (a tenant or the platform): the
// one remediation converges to restore it.
func (c *comparer) stack(owner string) string {
	if owner == isolation.Platform {
		return tenantplan.PlatformStackName(c.in.Environment)
	}
	return tenantplan.TenantStackName(owner, c.in.Environment)
}

func (c *comparer) tenant(t *tenantplan.Tenant) {
	p, id := t.Data.Postgres, t.TenantID
	c.role(id, p.LoginRole, true)
	if p.OwnerRole != "" {
		c.role(id, p.OwnerRole, false)
	}
	if p.OwnDatabase {
		r := res("database", "postgresql://"+p.Database, p.Database)
		d, ok := c.l.databases[p.Database]
		switch {
		case !ok:
			c.missing(id, r, fmt.Sprintf("database %s of tenant %s does not exist", p.Database, id))
		case d.Owner != p.OwnerRole:
			c.drift(id, r, "owner", p.OwnerRole, d.Owner, fmt.Sprintf("database %s is owned by %s, not %s", p.Database, d.Owner, p.OwnerRole))
		}
	}
	if p.OwnSchema {
		r := res("schema", "postgresql://"+p.Database+"/"+p.Schema, p.Schema)
		s, ok := c.l.schema(p.Database, p.Schema)
		switch {
		case c.l.byDB[p.Database] == nil:
			// The database itself is reported missing (or was not read).
		case !ok:
			c.missing(id, r, fmt.Sprintf("schema %s of tenant %s does not exist in database %s", p.Schema, id, p.Database))
		case s.Owner != p.OwnerRole:
			c.drift(id, r, "owner", p.OwnerRole, s.Owner, fmt.Sprintf("schema %s is owned by %s, not %s", p.Schema, s.Owner, p.OwnerRole))
		}
	}
	for _, g := range p.Grants {
		c.grant(id, g)
	}
	for _, g := range p.PublicGrants {
		c.grant(id, g)
	}
	for _, d := range p.DefaultPrivileges {
		c.defaultPrivileges(id, d)
	}
	for _, pol := range p.Policies {
		c.policy(id, pol)
	}
}

// role checks a tenant role exists with exactly the attributes the plan gives it: LOGIN for the
// login role only, and never SUPERUSER, CREATEDB, CREATEROLE, BYPASSRLS or REPLICATION.
func (c *comparer) role(tenant, name string, login bool) {
	r := res("role", "postgresql role "+name, name)
	live, ok := c.l.roles[name]
	if !ok {
		c.missing(tenant, r, fmt.Sprintf("role %s of tenant %s does not exist", name, tenant))
		return
	}
	for _, a := range []struct {
		field      string
		want, have bool
	}{
		{"login", login, live.Login}, {"superuser", false, live.Superuser}, {"createDatabase", false, live.CreateDB},
		{"createRole", false, live.CreateRole}, {"bypassRowLevelSecurity", false, live.BypassRLS}, {"replication", false, live.Replication},
	} {
		if a.want != a.have {
			c.drift(tenant, r, a.field, a.want, a.have, fmt.Sprintf("role %s has %s = %v, the plan says %v", name, a.field, a.have, a.want))
		}
	}
}

// privileges returns what role holds on one object, sorted.
func privileges(acl []pgcatalog.ACLItem, role string) []string {
	p, _ := pgcatalog.PrivilegesOf(acl, role)
	out := slices.Clone(p)
	sort.Strings(out)
	return out
}

func sortedUpper(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.ToUpper(p)
	}
	sort.Strings(out)
	return out
}

// grant checks the role holds exactly the planned privileges on each object the grant names.
func (c *comparer) grant(tenant string, g tenantplan.PGGrant) {
	want := sortedUpper(g.Privileges)
	type object struct {
		r   finding.Resource
		acl []pgcatalog.ACLItem
		ok  bool
	}
	var objs []object
	switch g.ObjectType {
	case "database":
		d, ok := c.l.databases[g.Database]
		objs = append(objs, object{res("grant", "postgresql://"+g.Database+"#"+g.Role, "DATABASE "+g.Database+" TO "+g.Role), d.ACL, ok})
	case "schema":
		if c.l.byDB[g.Database] == nil {
			return
		}
		s, ok := c.l.schema(g.Database, g.Schema)
		objs = append(objs, object{res("grant", "postgresql://"+g.Database+"/"+g.Schema+"#"+g.Role, "SCHEMA "+g.Schema+" TO "+g.Role), s.ACL, ok})
	case "table", "sequence":
		if c.l.byDB[g.Database] == nil {
			return
		}
		for _, name := range g.Objects {
			r, ok := c.l.relation(g.Database, g.Schema, name)
			objs = append(objs, object{res("grant", "postgresql://"+g.Database+"/"+g.Schema+"."+name+"#"+g.Role, strings.ToUpper(g.ObjectType)+" "+g.Schema+"."+name+" TO "+g.Role), r.ACL, ok})
		}
	}
	for _, o := range objs {
		if !o.ok {
			continue // the object itself is reported missing, or is not the tenant's to create
		}
		if have := privileges(o.acl, g.Role); !slices.Equal(have, want) {
			c.drift(tenant, o.r, "privileges", want, have, fmt.Sprintf("%s holds %v, the plan grants %v", o.r.Name, have, want))
		}
	}
}

func (c *comparer) defaultPrivileges(tenant string, d tenantplan.PGDefaultPrivileges) {
	cat := c.l.byDB[d.Database]
	if cat == nil {
		return
	}
	if _, ok := c.l.schema(d.Database, d.Schema); !ok {
		return
	}
	want := sortedUpper(d.Privileges)
	var have []string
	for _, a := range cat.DefaultACLs {
		if a.Owner == d.Owner && a.Schema == d.Schema && a.ObjectType == d.ObjectType {
			have = privileges(a.ACL, d.Role)
		}
	}
	r := res("default-privileges", fmt.Sprintf("postgresql://%s/%s#%s/%s/%s", d.Database, d.Schema, d.Owner, d.ObjectType, d.Role),
		fmt.Sprintf("default %s privileges of %s in %s for %s", d.ObjectType, d.Owner, d.Schema, d.Role))
	if !slices.Equal(have, want) {
		c.drift(tenant, r, "privileges", want, have, fmt.Sprintf("%s are %v, the plan says %v", r.Name, have, want))
	}
}

func (c *comparer) policy(tenant string, p tenantplan.PGPolicy) {
	cat := c.l.byDB[p.Database]
	if cat == nil {
		return
	}
	if _, ok := c.l.relation(p.Database, p.Schema, p.Table); !ok {
		return // the platform's table is reported missing
	}
	r := res("policy", fmt.Sprintf("postgresql://%s/%s.%s#%s", p.Database, p.Schema, p.Table, p.Name), p.Name)
	for _, live := range cat.Policies {
		if live.Schema != p.Schema || live.Table != p.Table || live.Name != p.Name {
			continue
		}
		want := map[string]any{"roles": []string{p.Role}, "using": p.Filter, "withCheck": p.Filter, "command": "ALL", "permissive": true}
		have := map[string]any{"roles": live.Roles, "using": live.Using, "withCheck": live.WithCheck, "command": live.Command, "permissive": live.Permissive}
		using, uok := pgroutes.BoundTenant(live.Using)
		check, cok := pgroutes.BoundTenant(live.WithCheck)
		if !slices.Equal(live.Roles, []string{p.Role}) || !uok || using != tenant || !cok || check != tenant || live.Command != "ALL" || !live.Permissive {
			c.drift(tenant, r, "policy", want, have, fmt.Sprintf("policy %s on %s.%s no longer binds rows to tenant %s alone", p.Name, p.Schema, p.Table, tenant))
		}
		return
	}
	c.missing(tenant, r, fmt.Sprintf("policy %s on %s.%s does not exist: tenant %s's rows are not bound to it", p.Name, p.Schema, p.Table, tenant))
}

func (c *comparer) platform(p *tenantplan.PlatformPostgres) {
	const owner = isolation.Platform
	if _, ok := c.l.databases[p.Database]; !ok {
		c.missing(owner, res("database", "postgresql://"+p.Database, p.Database), fmt.Sprintf("the shared database %s does not exist", p.Database))
		return
	}
	if c.l.byDB[p.Database] == nil {
		return
	}
	for _, g := range p.PublicGrants {
		c.grant(owner, g)
	}
	if _, ok := c.l.schema(p.Database, p.Schema); !ok {
		c.missing(owner, res("schema", "postgresql://"+p.Database+"/"+p.Schema, p.Schema), fmt.Sprintf("the shared schema %s does not exist", p.Schema))
		return
	}
	for _, t := range p.Tables {
		r := res("table", fmt.Sprintf("postgresql://%s/%s.%s", p.Database, p.Schema, t), p.Schema+"."+t)
		rel, ok := c.l.relation(p.Database, p.Schema, t)
		if !ok {
			c.missing(owner, r, fmt.Sprintf("shared table %s.%s does not exist", p.Schema, t))
			continue
		}
		if rel.Owner != p.OwnerRole {
			c.drift(owner, r, "owner", p.OwnerRole, rel.Owner, fmt.Sprintf("shared table %s.%s is owned by %s, not the platform's %s", p.Schema, t, rel.Owner, p.OwnerRole))
		}
		if !rel.RowSecurity {
			c.drift(owner, r, "rowSecurity", true, false, fmt.Sprintf("row-level security is disabled on shared table %s.%s", p.Schema, t))
		}
		if !rel.ForceRowSecurity {
			c.drift(owner, r, "forceRowSecurity", true, false, fmt.Sprintf("row-level security is not forced on shared table %s.%s", p.Schema, t))
		}
	}
}

// unmanaged reports roles, databases and schemas named in a tenant's scope that its plan does not
// declare.
func (c *comparer) unmanaged(s *pgroutes.Scope) {
	declared := map[string]bool{}
	for _, t := range c.in.Tenants {
		if p := t.Data.Postgres; p != nil {
			for _, n := range []string{"role " + p.LoginRole, "role " + p.OwnerRole, "database " + p.Database, "schema " + p.Database + "/" + p.Schema} {
				declared[n] = true
			}
		}
	}
	report := func(kind, key, name string, r finding.Resource) {
		t := s.Owner(name)
		if t == "" || declared[kind+" "+key] {
			return
		}
		c.add(finding.Finding{Kind: finding.KindUnmanagedResource, TenantID: t, Resource: r,
			Message: fmt.Sprintf("%s %s is in tenant %s's scope but no plan declares it", kind, key, t)})
	}
	for name := range c.l.roles {
		report("role", name, name, res("role", "postgresql role "+name, name))
	}
	for name := range c.l.databases {
		report("database", name, name, res("database", "postgresql://"+name, name))
	}
	for db, cat := range c.l.byDB {
		for _, sc := range cat.Schemas {
			report("schema", db+"/"+sc.Name, sc.Name, res("schema", "postgresql://"+db+"/"+sc.Name, sc.Name))
		}
	}
}

// route turns a data-plane route into a cross-tenant-route finding with its evidence.
func (c *comparer) route(p graph.Path) {
	var steps []graph.EvidenceStep
	if p.Evidence != nil {
		steps = p.Evidence()
	}
	f := finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: p.From, PeerTenant: p.To,
		Message: fmt.Sprintf("tenant %s reaches %s's data (%s)", p.From, p.To, p.Kind)}
	for _, s := range steps {
		f.Evidence = append(f.Evidence, s.Detail)
		if s.Opens && f.Resource.ID == "" {
			f.Resource = res(s.Ref.Type, s.Resource, s.Ref.Name)
		}
	}
	if f.Resource.ID == "" {
		f.Resource = res(string(p.Kind), p.Via, p.Via)
	}
	f.Field = string(p.Kind)
	c.add(f)
}
