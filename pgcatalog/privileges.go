package pgcatalog

import (
	"fmt"
	"slices"
	"strings"
)

// Object types a grant can target.
const (
	ObjectDatabase = "database"
	ObjectSchema   = "schema"
	ObjectTable    = "table"
	ObjectSequence = "sequence"
	ObjectFunction = "function"
	// ObjectType is only valid for default privileges.
	ObjectType = "type"
)

// Public is the pseudo-role every role belongs to, as ACLItem.Grantee reports it.
const Public = "PUBLIC"

// privileges lists what PostgreSQL 15 can grant per object type; ALL expands to the full list.
var privileges = map[string][]string{
	ObjectDatabase: {"CONNECT", "CREATE", "TEMPORARY"},
	ObjectSchema:   {"CREATE", "USAGE"},
	ObjectTable:    {"DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"},
	ObjectSequence: {"SELECT", "UPDATE", "USAGE"},
	ObjectFunction: {"EXECUTE"},
	ObjectType:     {"USAGE"},
}

// AllPrivileges is the full privilege list of an object type, sorted.
func AllPrivileges(objectType string) []string {
	return slices.Clone(privileges[objectType])
}

// Undeclared is every privilege of objectType that declared (normalized) does not hold: what a
// resource that owns the role's privileges on an object revokes.
func Undeclared(objectType string, declared []string) []string {
	var out []string
	for _, p := range privileges[objectType] {
		if !slices.Contains(declared, p) {
			out = append(out, p)
		}
	}
	return out
}

// NormalizePrivileges upper-cases, expands ALL [PRIVILEGES], maps TEMP to TEMPORARY, checks each
// against the object type, and returns a sorted list without duplicates.
func NormalizePrivileges(objectType string, privs []string) ([]string, error) {
	valid, ok := privileges[objectType]
	if !ok {
		return nil, fmt.Errorf("object type %q: want one of database, schema, table, sequence, function", objectType)
	}
	var out []string
	for _, p := range privs {
		p = strings.ToUpper(strings.TrimSpace(p))
		switch p {
		case "ALL", "ALL PRIVILEGES":
			out = append(out, valid...)
			continue
		case "TEMP":
			p = "TEMPORARY"
		}
		if !slices.Contains(valid, p) {
			return nil, fmt.Errorf("privilege %q is not valid on a %s (valid: %s, ALL)", p, objectType, strings.Join(valid, ", "))
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// defaultACLTypes maps object types to pg_default_acl.defaclobjtype and the DDL keyword.
var defaultACLTypes = map[string]struct{ code, keyword string }{
	ObjectTable:    {"r", "TABLES"},
	ObjectSequence: {"S", "SEQUENCES"},
	ObjectFunction: {"f", "FUNCTIONS"},
	ObjectType:     {"T", "TYPES"},
}

// DefaultACLObjectType maps a pg_default_acl.defaclobjtype code to an object type ("" if unknown).
func DefaultACLObjectType(code string) string {
	for t, v := range defaultACLTypes {
		if v.code == code {
			return t
		}
	}
	if code == "n" {
		return ObjectSchema
	}
	return ""
}

// PrivilegesOf returns the sorted privileges grantee holds in acl (directly, not through
// membership), and the subset it holds WITH GRANT OPTION.
func PrivilegesOf(acl []ACLItem, grantee string) (privs, grantable []string) {
	for _, a := range acl {
		if a.Grantee != grantee {
			continue
		}
		privs = append(privs, a.Privilege)
		if a.Grantable {
			grantable = append(grantable, a.Privilege)
		}
	}
	slices.Sort(privs)
	slices.Sort(grantable)
	return slices.Compact(privs), slices.Compact(grantable)
}
