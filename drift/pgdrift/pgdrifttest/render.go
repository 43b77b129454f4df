// Package pgdrifttest writes a data-layer plan as the SQL that converges a server to it, for the
// tests and benchmarks that need a server in the planned state (the provider's resources do the
// same through the engine).
package pgdrifttest

import (
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Render writes the plans as SQL per database ("" = cluster-wide statements), the way the data
// layer's resources converge a server.
func Render(ts []*tenantplan.Tenant, pf *tenantplan.PlatformPostgres) map[string][]string {
	q := pgcatalog.QuoteIdent
	out := map[string][]string{}
	add := func(db string, s ...string) { out[db] = append(out[db], s...) }
	add("", `CREATE ROLE `+q(pf.OwnerRole)+` NOLOGIN`, `CREATE DATABASE `+q(pf.Database)+` OWNER `+q(pf.OwnerRole), `REVOKE ALL ON DATABASE `+q(pf.Database)+` FROM PUBLIC`)
	add(pf.Database, `REVOKE ALL ON SCHEMA public FROM PUBLIC`, `CREATE SCHEMA `+q(pf.Schema)+` AUTHORIZATION `+q(pf.OwnerRole))
	for _, tb := range pf.Tables {
		name := q(pf.Schema) + "." + q(tb)
		add(pf.Database, `CREATE TABLE `+name+` (`+tenantplan.PGTenantIDColumn+` text NOT NULL, v text)`, `ALTER TABLE `+name+` OWNER TO `+q(pf.OwnerRole),
			`ALTER TABLE `+name+` ENABLE ROW LEVEL SECURITY`, `ALTER TABLE `+name+` FORCE ROW LEVEL SECURITY`)
	}
	for _, t := range ts {
		p := t.Data.Postgres
		add("", `CREATE ROLE `+q(p.LoginRole)+` LOGIN PASSWORD 'x'`)
		if p.OwnerRole != "" {
			add("", `CREATE ROLE `+q(p.OwnerRole)+` NOLOGIN`)
		}
		if p.OwnDatabase {
			add("", `CREATE DATABASE `+q(p.Database)+` OWNER `+q(p.OwnerRole), `REVOKE ALL ON DATABASE `+q(p.Database)+` FROM PUBLIC`)
			add(p.Database, `REVOKE ALL ON SCHEMA public FROM PUBLIC`)
		}
		if p.OwnSchema {
			add(p.Database, `CREATE SCHEMA `+q(p.Schema)+` AUTHORIZATION `+q(p.OwnerRole))
		}
		for _, g := range p.Grants {
			privs := strings.Join(g.Privileges, ", ")
			switch g.ObjectType {
			case "database":
				add(p.Database, `GRANT `+privs+` ON DATABASE `+q(g.Database)+` TO `+q(g.Role))
			case "schema":
				add(p.Database, `GRANT `+privs+` ON SCHEMA `+q(g.Schema)+` TO `+q(g.Role))
			default:
				for _, o := range g.Objects {
					add(p.Database, `GRANT `+privs+` ON `+q(g.Schema)+`.`+q(o)+` TO `+q(g.Role))
				}
			}
		}
		for _, d := range p.DefaultPrivileges {
			add(p.Database, fmt.Sprintf(`ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT %s ON %sS TO %s`,
				q(d.Owner), q(d.Schema), strings.Join(d.Privileges, ", "), strings.ToUpper(d.ObjectType), q(d.Role)))
		}
		for _, pol := range p.Policies {
			add(p.Database, fmt.Sprintf(`CREATE POLICY %s ON %s.%s TO %s USING (%s) WITH CHECK (%s)`,
				q(pol.Name), q(pol.Schema), q(pol.Table), q(pol.Role), pol.Filter, pol.Filter))
		}
	}
	return out
}
