package pgcatalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what the reads need: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ACLItem is one row of aclexplode: grantee holds privilege, granted by grantor. A NULL ACL is
// read as PostgreSQL's built-in default (acldefault), so the owner's and PUBLIC's implicit
// privileges are visible too. Grantee is Public for the PUBLIC pseudo-role.
type ACLItem struct {
	Grantee   string `json:"grantee"`
	Grantor   string `json:"grantor"`
	Privilege string `json:"privilege"`
	Grantable bool   `json:"grantable"`
}

// Role is a row of pg_roles.
type Role struct {
	Name            string
	Login           bool
	Superuser       bool
	CreateDB        bool
	CreateRole      bool
	BypassRLS       bool
	Inherit         bool
	Replication     bool
	ConnectionLimit int
}

// Membership says Member is a member of Role (GRANT role TO member).
type Membership struct {
	Role        string
	Member      string
	AdminOption bool
}

// Database is a row of pg_database (templates excluded).
type Database struct {
	Name     string
	Owner    string
	Encoding string
	ACL      []ACLItem
}

// Schema is a row of pg_namespace (system schemas excluded).
type Schema struct {
	Name  string
	Owner string
	ACL   []ACLItem
}

// Relation kinds (pg_class.relkind).
const (
	KindTable            = "r"
	KindPartitionedTable = "p"
	KindView             = "v"
	KindMaterializedView = "m"
	KindSequence         = "S"
	KindForeignTable     = "f"
)

// Relation is a table, view, sequence or foreign table with its row-level security flags.
type Relation struct {
	Schema           string
	Name             string
	Kind             string
	Owner            string
	RowSecurity      bool
	ForceRowSecurity bool
	ACL              []ACLItem
}

// IsTable reports whether the relation holds rows of its own (plain or partitioned table).
func (r Relation) IsTable() bool { return r.Kind == KindTable || r.Kind == KindPartitionedTable }

// Function is a row of pg_proc outside the system schemas.
type Function struct {
	Schema string
	Name   string
	// Signature is the regprocedure text, e.g. app.tenant_rows(integer).
	Signature       string
	Owner           string
	SecurityDefiner bool
	ACL             []ACLItem
}

// Policy is a row-level security policy (pg_policies). Roles holds Public for PUBLIC.
type Policy struct {
	Schema     string
	Table      string
	Name       string
	Permissive bool
	// Command is ALL, SELECT, INSERT, UPDATE or DELETE.
	Command   string
	Roles     []string
	Using     string
	WithCheck string
}

// DefaultACL is a pg_default_acl row: privileges that objects Owner creates (in Schema, or
// anywhere when Schema is empty) get at creation.
type DefaultACL struct {
	Owner      string
	Schema     string
	ObjectType string
	ACL        []ACLItem
}

// Catalog is one database's live security state, plus the cluster-wide roles and memberships.
type Catalog struct {
	Database    string
	Roles       []Role
	Memberships []Membership
	Databases   []Database
	Schemas     []Schema
	Relations   []Relation
	Functions   []Function
	Policies    []Policy
	DefaultACLs []DefaultACL
}

// ReadCatalog reads everything Catalog holds for the database q is connected to, in one
// repeatable-read snapshot when q can begin a transaction.
func ReadCatalog(ctx context.Context, q Querier) (_ *Catalog, err error) {
	if b, ok := q.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		tx, err := b.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		q = tx
	}
	c := &Catalog{}
	if err := q.QueryRow(ctx, "SELECT current_database()").Scan(&c.Database); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	steps := []func() error{
		func() (err error) { c.Roles, err = Roles(ctx, q); return },
		func() (err error) { c.Memberships, err = Memberships(ctx, q); return },
		func() (err error) { c.Databases, err = Databases(ctx, q); return },
		func() (err error) { c.Schemas, err = Schemas(ctx, q); return },
		func() (err error) { c.Relations, err = Relations(ctx, q); return },
		func() (err error) { c.Functions, err = Functions(ctx, q); return },
		func() (err error) { c.Policies, err = Policies(ctx, q); return },
		func() (err error) { c.DefaultACLs, err = DefaultACLs(ctx, q); return },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("read catalog of %s: %w", c.Database, err)
		}
	}
	return c, nil
}

// aclJSON is a subquery that explodes an ACL expression into a JSON array of ACLItem.
func aclJSON(acl string) string {
	return `(SELECT coalesce(json_agg(json_build_object(
		'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
		'grantor', pg_get_userbyid(a.grantor), 'privilege', a.privilege_type, 'grantable', a.is_grantable)
		ORDER BY a.grantee, a.privilege_type), '[]'::json) FROM aclexplode(` + acl + `) a)`
}

// nilIfEmpty makes an empty filter NULL, which the queries read as "all".
func nilIfEmpty(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	return names
}

// Roles reads pg_roles (pg_* roles excluded); names filters when given.
func Roles(ctx context.Context, q Querier, names ...string) ([]Role, error) {
	rows, err := q.Query(ctx, `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls,
		rolinherit, rolreplication, rolconnlimit
		FROM pg_roles WHERE rolname !~ '^pg_' AND ($1::text[] IS NULL OR rolname = ANY($1)) ORDER BY rolname`, nilIfEmpty(names))
	if err != nil {
		return nil, fmt.Errorf("pg_roles: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Role, error) {
		var x Role
		err := r.Scan(&x.Name, &x.Login, &x.Superuser, &x.CreateDB, &x.CreateRole, &x.BypassRLS, &x.Inherit, &x.Replication, &x.ConnectionLimit)
		return x, err
	})
}

// Memberships reads pg_auth_members; roles filters by the granted role when given.
func Memberships(ctx context.Context, q Querier, roles ...string) ([]Membership, error) {
	rows, err := q.Query(ctx, `SELECT r.rolname, m.rolname, am.admin_option
		FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
		WHERE r.rolname !~ '^pg_' AND ($1::text[] IS NULL OR r.rolname = ANY($1)) ORDER BY 1, 2`, nilIfEmpty(roles))
	if err != nil {
		return nil, fmt.Errorf("pg_auth_members: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Membership, error) {
		var x Membership
		err := r.Scan(&x.Role, &x.Member, &x.AdminOption)
		return x, err
	})
}

// Databases reads pg_database (templates excluded); names filters when given.
func Databases(ctx context.Context, q Querier, names ...string) ([]Database, error) {
	rows, err := q.Query(ctx, `SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), `+
		aclJSON(`coalesce(d.datacl, acldefault('d', d.datdba))`)+`
		FROM pg_database d WHERE NOT d.datistemplate AND ($1::text[] IS NULL OR d.datname = ANY($1)) ORDER BY 1`, nilIfEmpty(names))
	if err != nil {
		return nil, fmt.Errorf("pg_database: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Database, error) {
		var x Database
		err := r.Scan(&x.Name, &x.Owner, &x.Encoding, &x.ACL)
		return x, err
	})
}

const userSchemas = `n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`

// Schemas reads pg_namespace of the connected database (system schemas excluded).
func Schemas(ctx context.Context, q Querier, names ...string) ([]Schema, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, pg_get_userbyid(n.nspowner), `+
		aclJSON(`coalesce(n.nspacl, acldefault('n', n.nspowner))`)+`
		FROM pg_namespace n WHERE `+userSchemas+` AND ($1::text[] IS NULL OR n.nspname = ANY($1)) ORDER BY 1`, nilIfEmpty(names))
	if err != nil {
		return nil, fmt.Errorf("pg_namespace: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Schema, error) {
		var x Schema
		err := r.Scan(&x.Name, &x.Owner, &x.ACL)
		return x, err
	})
}

// Relations reads tables, views, sequences and foreign tables of the given schemas (all user
// schemas when none).
func Relations(ctx context.Context, q Querier, schemas ...string) ([]Relation, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, c.relname, c.relkind::text, pg_get_userbyid(c.relowner),
		c.relrowsecurity, c.relforcerowsecurity, `+
		aclJSON(`coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))`)+`
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND `+userSchemas+`
		AND ($1::text[] IS NULL OR n.nspname = ANY($1)) ORDER BY 1, 2`, nilIfEmpty(schemas))
	if err != nil {
		return nil, fmt.Errorf("pg_class: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Relation, error) {
		var x Relation
		err := r.Scan(&x.Schema, &x.Name, &x.Kind, &x.Owner, &x.RowSecurity, &x.ForceRowSecurity, &x.ACL)
		return x, err
	})
}

// Functions reads functions and procedures of the given schemas (all user schemas when none).
func Functions(ctx context.Context, q Querier, schemas ...string) ([]Function, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, p.proname, p.oid::regprocedure::text, pg_get_userbyid(p.proowner),
		p.prosecdef, `+aclJSON(`coalesce(p.proacl, acldefault('f', p.proowner))`)+`
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE `+userSchemas+` AND ($1::text[] IS NULL OR n.nspname = ANY($1)) ORDER BY 1, 3`, nilIfEmpty(schemas))
	if err != nil {
		return nil, fmt.Errorf("pg_proc: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Function, error) {
		var x Function
		err := r.Scan(&x.Schema, &x.Name, &x.Signature, &x.Owner, &x.SecurityDefiner, &x.ACL)
		return x, err
	})
}

// Policies reads pg_policies of the given schemas (all when none). USING and WITH CHECK are the
// server's deparsed text.
func Policies(ctx context.Context, q Querier, schemas ...string) ([]Policy, error) {
	rows, err := q.Query(ctx, `SELECT schemaname::text, tablename::text, policyname::text, permissive = 'PERMISSIVE', cmd,
		ARRAY(SELECT CASE WHEN r = 'public' THEN 'PUBLIC' ELSE r::text END FROM unnest(roles) r ORDER BY 1),
		coalesce(qual, ''), coalesce(with_check, '')
		FROM pg_policies WHERE ($1::text[] IS NULL OR schemaname = ANY($1)) ORDER BY 1, 2, 3`, nilIfEmpty(schemas))
	if err != nil {
		return nil, fmt.Errorf("pg_policies: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (Policy, error) {
		var x Policy
		err := r.Scan(&x.Schema, &x.Table, &x.Name, &x.Permissive, &x.Command, &x.Roles, &x.Using, &x.WithCheck)
		return x, err
	})
}

// DefaultACLs reads pg_default_acl of the connected database.
func DefaultACLs(ctx context.Context, q Querier) ([]DefaultACL, error) {
	rows, err := q.Query(ctx, `SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, ''), d.defaclobjtype::text, `+
		aclJSON(`d.defaclacl`)+`
		FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("pg_default_acl: %w", err)
	}
	return collect(rows, func(r pgx.CollectableRow) (DefaultACL, error) {
		var x DefaultACL
		var code string
		err := r.Scan(&x.Owner, &x.Schema, &code, &x.ACL)
		x.ObjectType = DefaultACLObjectType(code)
		return x, err
	})
}

// UserTables lists the tables (plain and partitioned) of schema, or of every user schema when
// schema is empty: what the retention rule protects.
func UserTables(ctx context.Context, q Querier, schema string) ([]string, error) {
	var filter []string
	if schema != "" {
		filter = []string{schema}
	}
	rels, err := Relations(ctx, q, filter...)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rels {
		if r.IsTable() {
			out = append(out, r.Schema+"."+r.Name)
		}
	}
	return out, nil
}

// ErrVerifierUnreadable means the connected role may not read pg_authid (not a superuser, e.g.
// a managed server's admin): a password cannot be checked for drift.
var ErrVerifierUnreadable = errors.New("password verifier not readable (pg_authid needs superuser)")

// PasswordVerifier reads a role's stored SCRAM verifier; "" when it has no password.
func PasswordVerifier(ctx context.Context, q Querier, role string) (string, error) {
	var v *string
	err := q.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&v)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42501":
		return "", ErrVerifierUnreadable
	case errors.Is(err, pgx.ErrNoRows):
		return "", fmt.Errorf("role %s: %w", role, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("pg_authid: %w", err)
	case v == nil:
		return "", nil
	}
	return *v, nil
}

// ErrNotFound is returned by the single-object reads when the object does not exist.
var ErrNotFound = errors.New("not found")

func collect[T any](rows pgx.Rows, fn func(pgx.CollectableRow) (T, error)) ([]T, error) {
	out, err := pgx.CollectRows(rows, fn)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExecOne runs one statement over the extended query protocol, which the server refuses to run
// more than one statement through: whatever a policy expression holds, it stays one statement.
func ExecOne(ctx context.Context, c *pgconn.PgConn, sql string) error {
	return c.ExecParams(ctx, sql, nil, nil, nil, nil).Read().Err
}

// ExecAll runs statements one by one, stopping at the first error.
func ExecAll(ctx context.Context, c *pgconn.PgConn, stmts ...string) error {
	for _, s := range stmts {
		if err := ExecOne(ctx, c, s); err != nil {
			return err
		}
	}
	return nil
}

// one returns the single element of a filtered read, or ErrNotFound.
func one[T any](xs []T, err error, kind, name string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(xs) == 0 {
		return zero, fmt.Errorf("%s %s: %w", kind, name, ErrNotFound)
	}
	return xs[0], nil
}

// RoleByName reads one role.
func RoleByName(ctx context.Context, q Querier, name string) (Role, error) {
	xs, err := Roles(ctx, q, name)
	return one(xs, err, "role", name)
}

// DatabaseByName reads one database.
func DatabaseByName(ctx context.Context, q Querier, name string) (Database, error) {
	xs, err := Databases(ctx, q, name)
	return one(xs, err, "database", name)
}

// SchemaByName reads one schema of the connected database.
func SchemaByName(ctx context.Context, q Querier, name string) (Schema, error) {
	xs, err := Schemas(ctx, q, name)
	return one(xs, err, "schema", name)
}

// RelationByName reads one relation of the connected database.
func RelationByName(ctx context.Context, q Querier, schema, name string) (Relation, error) {
	xs, err := Relations(ctx, q, schema)
	if err != nil {
		return Relation{}, err
	}
	for _, r := range xs {
		if r.Name == name {
			return r, nil
		}
	}
	return Relation{}, fmt.Errorf("relation %s.%s: %w", schema, name, ErrNotFound)
}
