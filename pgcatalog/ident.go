// Package pgcatalog is the PostgreSQL side of the data layer without any Pulumi: identifier
// validation and quoting, the DDL and DCL statements that create and change roles, databases,
// schemas, shared tables, grants, default privileges, row-level security and policies, SCRAM
// password verifiers, and typed reads of the live catalog (pg_roles, pg_auth_members, the ACLs of
// pg_database, pg_namespace, pg_class and pg_proc, pg_attribute, pg_policy, pg_default_acl).
//
// The tenantpg Pulumi provider builds its statements and reads its state here, and the drift
// fast path reads the same catalog structs, so both see one truth.
package pgcatalog

import (
	"fmt"
	"strings"
)

// MaxIdentLen is PostgreSQL's NAMEDATALEN-1: longer names are silently truncated by the server,
// which would make two tenants collide, so they are refused.
const MaxIdentLen = 63

// ValidateIdent checks a role, database, schema, table, policy or function name. Names are
// lower-case letters, digits, '_' and '-', start with a letter or '_', and do not start with
// "pg_" (reserved by PostgreSQL for roles and schemas). SQL keywords (a tenant called "select"
// or "user") are valid: every statement quotes every identifier. Anything else (quotes, spaces,
// semicolons, upper case, NUL) is refused before any SQL is built.
func ValidateIdent(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s name is empty", kind)
	}
	if len(name) > MaxIdentLen {
		return fmt.Errorf("%s name %q is %d bytes, longer than PostgreSQL's %d", kind, name, len(name), MaxIdentLen)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return fmt.Errorf("%s name %q must start with a lower-case letter or '_'", kind, name)
			}
		default:
			return fmt.Errorf("%s name %q: character %q not allowed (use a-z, 0-9, '_' and '-')", kind, name, r)
		}
	}
	if strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("%s name %q: the pg_ prefix is reserved by PostgreSQL", kind, name)
	}
	return nil
}

// ValidateIdents checks several names of one kind.
func ValidateIdents(kind string, names []string) error {
	for _, n := range names {
		if err := ValidateIdent(kind, n); err != nil {
			return err
		}
	}
	return nil
}

// QuoteIdent quotes an identifier for SQL. Callers validate first; quoting is applied to every
// identifier anyway so that keywords and '-' are always safe.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteQualified quotes schema.name.
func QuoteQualified(schema, name string) string {
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// QuoteLiteral quotes a string literal (standard_conforming_strings on, the default since 9.1).
func QuoteLiteral(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
