package probe

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/connectsoft/tenantctl/isolation/reach/pgroutes"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// sharedTable is a table of the shared schema whose rows belong to row-filtered tenants.
type sharedTable struct{ database, schema, table string }

// envIndex is what every run of an environment shares.
type envIndex struct {
	env     string
	tenants []*tenantplan.Tenant // with a PostgreSQL plan, by id
	byID    map[string]*tenantplan.Tenant
	// silo maps a silo tenant's own database to the tenant.
	silo   map[string]string
	scope  *pgroutes.Scope
	shared []sharedTable
	// platformRole is the platform's owner role ("" without Input.Platform).
	platformRole string
}

func newEnvIndex(in Input) (*envIndex, error) {
	e := &envIndex{byID: map[string]*tenantplan.Tenant{}, silo: map[string]string{}}
	var scope []pgroutes.Tenant
	seenShared := map[sharedTable]bool{}
	addShared := func(s sharedTable) error {
		if err := validateIdents("shared table", s.database, s.schema, s.table); err != nil {
			return err
		}
		if !seenShared[s] {
			seenShared[s] = true
			e.shared = append(e.shared, s)
		}
		return nil
	}
	for _, t := range in.Tenants {
		if t == nil || t.Data.Postgres == nil {
			continue
		}
		if e.env == "" {
			e.env = t.Environment
		} else if t.Environment != e.env {
			return nil, fmt.Errorf("isolation probe: tenants of environments %s and %s in one run", e.env, t.Environment)
		}
		if e.byID[t.TenantID] != nil {
			return nil, fmt.Errorf("isolation probe: tenant %s planned twice", t.TenantID)
		}
		p := t.Data.Postgres
		if err := validateIdents("tenant "+t.TenantID, p.Database, p.Schema, p.LoginRole); err != nil {
			return nil, err
		}
		if p.OwnerRole != "" {
			if err := validateIdents("tenant "+t.TenantID, p.OwnerRole); err != nil {
				return nil, err
			}
		}
		e.byID[t.TenantID] = t
		e.tenants = append(e.tenants, t)
		st := pgroutes.Tenant{ID: t.TenantID, Mode: p.Mode}
		switch {
		case p.OwnDatabase:
			e.silo[p.Database] = t.TenantID
			st.Names = []string{p.Database}
		case p.OwnSchema:
			st.Names = []string{p.Schema}
		}
		scope = append(scope, st)
		for _, pol := range p.Policies {
			if err := addShared(sharedTable{pol.Database, pol.Schema, pol.Table}); err != nil {
				return nil, err
			}
		}
	}
	if pf := in.Platform; pf != nil {
		for _, tb := range pf.Tables {
			if err := addShared(sharedTable{pf.Database, pf.Schema, tb}); err != nil {
				return nil, err
			}
		}
		if pf.OwnerRole != "" {
			if err := validateIdents("platform", pf.OwnerRole); err != nil {
				return nil, err
			}
			e.platformRole = pf.OwnerRole
		}
	}
	slices.SortFunc(e.tenants, func(a, b *tenantplan.Tenant) int { return cmp.Compare(a.TenantID, b.TenantID) })
	e.scope = pgroutes.NewScope(scope)
	return e, nil
}

func validateIdents(what string, names ...string) error {
	for _, n := range names {
		if err := pgcatalog.ValidateIdent("PostgreSQL", n); err != nil {
			return fmt.Errorf("isolation probe: %s: %w", what, err)
		}
	}
	return nil
}

// databases are the databases of the plans, every one a run tries besides the server's list.
func (e *envIndex) databases() []string {
	var out []string
	for _, t := range e.tenants {
		out = append(out, t.Data.Postgres.Database)
	}
	for _, s := range e.shared {
		out = append(out, s.database)
	}
	return out
}
