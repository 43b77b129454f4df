package pgcatalog

import (
	"fmt"
	"strings"
)

// RoleSpec is a role's declared attributes (the same as a catalog Role) and its password.
// Every attribute is always spelled out in the statement, so a role never inherits a surprise
// from PostgreSQL's defaults. ConnectionLimit -1 means no limit.
type RoleSpec struct {
	Role
	// PasswordVerifier is a SCRAM verifier (ScramVerifier), never a clear password; empty means
	// PASSWORD NULL (no password login).
	PasswordVerifier string
}

func flag(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}

func (r RoleSpec) options() (string, error) {
	if err := ValidateIdent("role", r.Name); err != nil {
		return "", err
	}
	if r.ConnectionLimit < -1 {
		return "", fmt.Errorf("role %s: connection limit %d (use -1 for none)", r.Name, r.ConnectionLimit)
	}
	pw := "PASSWORD NULL"
	if r.PasswordVerifier != "" {
		if !strings.HasPrefix(r.PasswordVerifier, "SCRAM-SHA-256$") {
			return "", fmt.Errorf("role %s: only SCRAM-SHA-256 verifiers are sent to the server", r.Name)
		}
		pw = "PASSWORD " + QuoteLiteral(r.PasswordVerifier)
	}
	return strings.Join([]string{
		flag(r.Login, "LOGIN", "NOLOGIN"),
		flag(r.Superuser, "SUPERUSER", "NOSUPERUSER"),
		flag(r.CreateDB, "CREATEDB", "NOCREATEDB"),
		flag(r.CreateRole, "CREATEROLE", "NOCREATEROLE"),
		flag(r.BypassRLS, "BYPASSRLS", "NOBYPASSRLS"),
		flag(r.Inherit, "INHERIT", "NOINHERIT"),
		flag(r.Replication, "REPLICATION", "NOREPLICATION"),
		fmt.Sprintf("CONNECTION LIMIT %d", r.ConnectionLimit),
		pw,
	}, " "), nil
}

// CreateRole is CREATE ROLE with every attribute explicit.
func CreateRole(r RoleSpec) (string, error) {
	o, err := r.options()
	if err != nil {
		return "", err
	}
	return "CREATE ROLE " + QuoteIdent(r.Name) + " WITH " + o, nil
}

// AlterRole sets every attribute (and the password verifier) of an existing role.
func AlterRole(r RoleSpec) (string, error) {
	o, err := r.options()
	if err != nil {
		return "", err
	}
	return "ALTER ROLE " + QuoteIdent(r.Name) + " WITH " + o, nil
}

// DropRole drops a role. It fails (on the server) while the role owns objects or holds
// privileges: nothing of a tenant's is reassigned or dropped implicitly.
func DropRole(name string) (string, error) {
	if err := ValidateIdent("role", name); err != nil {
		return "", err
	}
	return "DROP ROLE IF EXISTS " + QuoteIdent(name), nil
}

// DatabaseSpec is a database's declared attributes.
type DatabaseSpec struct {
	Name     string
	Owner    string
	Template string
	Encoding string
}

// CreateDatabase is CREATE DATABASE (run outside a transaction block).
func CreateDatabase(d DatabaseSpec) (string, error) {
	if err := ValidateIdent("database", d.Name); err != nil {
		return "", err
	}
	s := "CREATE DATABASE " + QuoteIdent(d.Name)
	if d.Owner != "" {
		if err := ValidateIdent("owner role", d.Owner); err != nil {
			return "", err
		}
		s += " OWNER " + QuoteIdent(d.Owner)
	}
	if d.Template != "" {
		if err := ValidateIdent("template database", d.Template); err != nil {
			return "", err
		}
		s += " TEMPLATE " + QuoteIdent(d.Template)
	}
	if d.Encoding != "" {
		if err := validateEncoding(d.Encoding); err != nil {
			return "", err
		}
		s += " ENCODING " + QuoteLiteral(d.Encoding)
	}
	return s, nil
}

func validateEncoding(e string) error {
	for _, r := range e {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("encoding %q: only letters, digits and '_'", e)
		}
	}
	return nil
}

// AlterOwner is ALTER <DATABASE|SCHEMA> name OWNER TO owner.
func AlterOwner(objectType, name, owner string) (string, error) {
	kw := map[string]string{ObjectDatabase: "DATABASE", ObjectSchema: "SCHEMA"}[objectType]
	if kw == "" {
		return "", fmt.Errorf("alter owner: object type %q", objectType)
	}
	if err := ValidateIdent(objectType, name); err != nil {
		return "", err
	}
	if err := ValidateIdent("owner role", owner); err != nil {
		return "", err
	}
	return "ALTER " + kw + " " + QuoteIdent(name) + " OWNER TO " + QuoteIdent(owner), nil
}

// DropDatabase drops a database, ending its sessions (PostgreSQL 13+). The retention rule is
// the caller's: it checks UserTables first.
func DropDatabase(name string) (string, error) {
	if err := ValidateIdent("database", name); err != nil {
		return "", err
	}
	return "DROP DATABASE IF EXISTS " + QuoteIdent(name) + " WITH (FORCE)", nil
}

// CreateSchema is CREATE SCHEMA with an owner.
func CreateSchema(name, owner string) (string, error) {
	if err := ValidateIdent("schema", name); err != nil {
		return "", err
	}
	s := "CREATE SCHEMA " + QuoteIdent(name)
	if owner != "" {
		if err := ValidateIdent("owner role", owner); err != nil {
			return "", err
		}
		s += " AUTHORIZATION " + QuoteIdent(owner)
	}
	return s, nil
}

// DropSchema drops a schema; cascade also drops what it holds (the caller's retention rule
// decides).
func DropSchema(name string, cascade bool) (string, error) {
	if err := ValidateIdent("schema", name); err != nil {
		return "", err
	}
	return "DROP SCHEMA IF EXISTS " + QuoteIdent(name) + flag(cascade, " CASCADE", " RESTRICT"), nil
}

// GrantTarget names the objects of a grant. For tables, sequences and functions an empty
// Objects means every one in Schema (ALL TABLES IN SCHEMA ...).
type GrantTarget struct {
	ObjectType string
	// Database is the object for database grants.
	Database string
	// Schema is the object for schema grants, and the container of the others.
	Schema  string
	Objects []string
}

// Validate checks the target's names and shape.
func (g GrantTarget) Validate() error {
	switch g.ObjectType {
	case ObjectDatabase:
		if len(g.Objects) > 0 {
			return fmt.Errorf("a database grant takes no objects")
		}
		return ValidateIdent("database", g.Database)
	case ObjectSchema:
		if len(g.Objects) > 0 {
			return fmt.Errorf("a schema grant takes no objects")
		}
		return ValidateIdent("schema", g.Schema)
	case ObjectTable, ObjectSequence, ObjectFunction:
		if err := ValidateIdent("schema", g.Schema); err != nil {
			return err
		}
		return ValidateIdents(g.ObjectType, g.Objects)
	}
	return fmt.Errorf("object type %q: want one of database, schema, table, sequence, function", g.ObjectType)
}

// clause is the ON ... part.
func (g GrantTarget) clause() string {
	switch g.ObjectType {
	case ObjectDatabase:
		return "DATABASE " + QuoteIdent(g.Database)
	case ObjectSchema:
		return "SCHEMA " + QuoteIdent(g.Schema)
	}
	kw := strings.ToUpper(g.ObjectType)
	if len(g.Objects) == 0 {
		return "ALL " + kw + "S IN SCHEMA " + QuoteIdent(g.Schema)
	}
	q := make([]string, len(g.Objects))
	for i, o := range g.Objects {
		q[i] = QuoteQualified(g.Schema, o)
	}
	return kw + " " + strings.Join(q, ", ")
}

func grantee(role string) (string, error) {
	if role == Public {
		return "PUBLIC", nil
	}
	if err := ValidateIdent("grantee role", role); err != nil {
		return "", err
	}
	return QuoteIdent(role), nil
}

// grantParts validates a GRANT/REVOKE and returns its privilege list and grantee.
func grantParts(t GrantTarget, privs []string, role string) (string, string, error) {
	if err := t.Validate(); err != nil {
		return "", "", err
	}
	np, err := NormalizePrivileges(t.ObjectType, privs)
	if err != nil {
		return "", "", err
	}
	if len(np) == 0 {
		return "", "", fmt.Errorf("no privileges to grant or revoke on %s", t.clause())
	}
	who, err := grantee(role)
	return strings.Join(np, ", "), who, err
}

// Grant is GRANT privileges ON target TO role.
func Grant(t GrantTarget, privs []string, role string, withGrantOption bool) (string, error) {
	np, to, err := grantParts(t, privs, role)
	if err != nil {
		return "", err
	}
	return "GRANT " + np + " ON " + t.clause() + " TO " + to + flag(withGrantOption, " WITH GRANT OPTION", ""), nil
}

// Revoke is REVOKE privileges ON target FROM role (CASCADE: grants the role passed on go too).
// grantOptionOnly revokes only the right to grant them on.
func Revoke(t GrantTarget, privs []string, role string, grantOptionOnly bool) (string, error) {
	np, from, err := grantParts(t, privs, role)
	if err != nil {
		return "", err
	}
	return "REVOKE " + flag(grantOptionOnly, "GRANT OPTION FOR ", "") + np + " ON " + t.clause() + " FROM " + from + " CASCADE", nil
}

// DefaultPrivilegesSpec is ALTER DEFAULT PRIVILEGES FOR ROLE Owner [IN SCHEMA Schema] ... ON
// <ObjectType>s TO Grantee.
type DefaultPrivilegesSpec struct {
	Owner      string
	Schema     string
	ObjectType string
	Grantee    string
}

func (d DefaultPrivilegesSpec) prefix() (string, string, error) {
	if err := ValidateIdent("owner role", d.Owner); err != nil {
		return "", "", err
	}
	t, ok := defaultACLTypes[d.ObjectType]
	if !ok {
		return "", "", fmt.Errorf("default privileges: object type %q: want table, sequence, function or type", d.ObjectType)
	}
	s := "ALTER DEFAULT PRIVILEGES FOR ROLE " + QuoteIdent(d.Owner)
	if d.Schema != "" {
		if err := ValidateIdent("schema", d.Schema); err != nil {
			return "", "", err
		}
		s += " IN SCHEMA " + QuoteIdent(d.Schema)
	}
	return s, t.keyword, nil
}

// GrantDefault grants default privileges.
func GrantDefault(d DefaultPrivilegesSpec, privs []string) (string, error) {
	return defaultStmt(d, privs, true)
}

// RevokeDefault revokes default privileges.
func RevokeDefault(d DefaultPrivilegesSpec, privs []string) (string, error) {
	return defaultStmt(d, privs, false)
}

func defaultStmt(d DefaultPrivilegesSpec, privs []string, grant bool) (string, error) {
	pre, kw, err := d.prefix()
	if err != nil {
		return "", err
	}
	np, err := NormalizePrivileges(d.ObjectType, privs)
	if err != nil {
		return "", err
	}
	if len(np) == 0 {
		return "", fmt.Errorf("default privileges: no privileges")
	}
	to, err := grantee(d.Grantee)
	if err != nil {
		return "", err
	}
	if grant {
		return pre + " GRANT " + strings.Join(np, ", ") + " ON " + kw + " TO " + to, nil
	}
	return pre + " REVOKE " + strings.Join(np, ", ") + " ON " + kw + " FROM " + to + " CASCADE", nil
}

// RowSecurity is ALTER TABLE ... ENABLE|DISABLE ROW LEVEL SECURITY and [NO] FORCE.
func RowSecurity(schema, table string, enable, force bool) ([]string, error) {
	if err := ValidateIdent("schema", schema); err != nil {
		return nil, err
	}
	if err := ValidateIdent("table", table); err != nil {
		return nil, err
	}
	t := "ALTER TABLE " + QuoteQualified(schema, table)
	return []string{
		t + flag(enable, " ENABLE", " DISABLE") + " ROW LEVEL SECURITY",
		t + flag(force, " FORCE", " NO FORCE") + " ROW LEVEL SECURITY",
	}, nil
}

// PolicySpec is a row-level security policy. Using and WithCheck are SQL expressions written by
// the platform team (not tenant input); statements are sent one at a time over the extended
// protocol, so an expression cannot smuggle in a second statement.
type PolicySpec struct {
	Schema      string
	Table       string
	Name        string
	Restrictive bool
	// Command is ALL, SELECT, INSERT, UPDATE or DELETE.
	Command   string
	Roles     []string
	Using     string
	WithCheck string
}

// Validate checks names, command and roles.
func (p PolicySpec) Validate() error {
	if err := ValidateIdent("schema", p.Schema); err != nil {
		return err
	}
	if err := ValidateIdent("table", p.Table); err != nil {
		return err
	}
	if err := ValidateIdent("policy", p.Name); err != nil {
		return err
	}
	switch p.Command {
	case "ALL", "SELECT", "INSERT", "UPDATE", "DELETE":
	default:
		return fmt.Errorf("policy %s: command %q: want ALL, SELECT, INSERT, UPDATE or DELETE", p.Name, p.Command)
	}
	for _, r := range p.Roles {
		if _, err := grantee(r); err != nil {
			return fmt.Errorf("policy %s: %w", p.Name, err)
		}
	}
	if p.Command == "INSERT" && p.Using != "" {
		return fmt.Errorf("policy %s: an INSERT policy takes only WITH CHECK", p.Name)
	}
	if (p.Command == "SELECT" || p.Command == "DELETE") && p.WithCheck != "" {
		return fmt.Errorf("policy %s: a %s policy takes only USING", p.Name, p.Command)
	}
	return nil
}

func (p PolicySpec) roles() string {
	if len(p.Roles) == 0 {
		return "PUBLIC"
	}
	q := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		q[i], _ = grantee(r)
	}
	return strings.Join(q, ", ")
}

func (p PolicySpec) expressions() string {
	s := ""
	if p.Using != "" {
		s += " USING (" + p.Using + ")"
	}
	if p.WithCheck != "" {
		s += " WITH CHECK (" + p.WithCheck + ")"
	}
	return s
}

// CreatePolicy is CREATE POLICY.
func CreatePolicy(p PolicySpec) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	return "CREATE POLICY " + QuoteIdent(p.Name) + " ON " + QuoteQualified(p.Schema, p.Table) +
		" AS " + flag(p.Restrictive, "RESTRICTIVE", "PERMISSIVE") + " FOR " + p.Command +
		" TO " + p.roles() + p.expressions(), nil
}

// AlterPolicy changes roles and expressions (command and permissiveness need a new policy).
func AlterPolicy(p PolicySpec) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	return "ALTER POLICY " + QuoteIdent(p.Name) + " ON " + QuoteQualified(p.Schema, p.Table) +
		" TO " + p.roles() + p.expressions(), nil
}

// DropPolicy is DROP POLICY IF EXISTS.
func DropPolicy(schema, table, name string) (string, error) {
	p := PolicySpec{Schema: schema, Table: table, Name: name, Command: "ALL"}
	if err := p.Validate(); err != nil {
		return "", err
	}
	return "DROP POLICY IF EXISTS " + QuoteIdent(name) + " ON " + QuoteQualified(schema, table), nil
}

// GrantMembership is GRANT role TO member.
func GrantMembership(role, member string, admin bool) (string, error) {
	if err := ValidateIdent("role", role); err != nil {
		return "", err
	}
	if err := ValidateIdent("member role", member); err != nil {
		return "", err
	}
	return "GRANT " + QuoteIdent(role) + " TO " + QuoteIdent(member) + flag(admin, " WITH ADMIN OPTION", ""), nil
}

// RevokeMembership is REVOKE role FROM member; adminOnly revokes only the admin option.
func RevokeMembership(role, member string, adminOnly bool) (string, error) {
	if err := ValidateIdent("role", role); err != nil {
		return "", err
	}
	if err := ValidateIdent("member role", member); err != nil {
		return "", err
	}
	return "REVOKE " + flag(adminOnly, "ADMIN OPTION FOR ", "") + QuoteIdent(role) + " FROM " + QuoteIdent(member), nil
}
