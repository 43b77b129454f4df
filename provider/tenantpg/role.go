package tenantpg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Role is a PostgreSQL role. ID: the role name.
type Role struct{}

// RoleArgs are a role's inputs. Every attribute is sent explicitly (NOSUPERUSER, NOBYPASSRLS,
// ...), so an unset input means "off", never "whatever the server defaults to".
type RoleArgs struct {
	Name                   string  `pulumi:"name" provider:"replaceOnChanges"`
	Login                  bool    `pulumi:"login,optional"`
	Password               *string `pulumi:"password,optional" provider:"secret"`
	ConnectionLimit        int     `pulumi:"connectionLimit,optional"`
	Superuser              bool    `pulumi:"superuser,optional"`
	CreateDatabase         bool    `pulumi:"createDatabase,optional"`
	CreateRole             bool    `pulumi:"createRole,optional"`
	BypassRowLevelSecurity bool    `pulumi:"bypassRowLevelSecurity,optional"`
	Inherit                bool    `pulumi:"inherit,optional"`
	// EntraPrincipal makes the role a Microsoft Entra role (Azure Database for PostgreSQL): it
	// signs in with the principal's access tokens, never a password.
	EntraPrincipal *EntraPrincipal `pulumi:"entraPrincipal,optional"`
}

// RoleState is what the catalog says. Password is the declared secret as long as the stored
// SCRAM verifier still matches it, and absent when it was changed out of band.
type RoleState struct {
	RoleArgs
}

// Annotate documents the resource.
func (r *Role) Annotate(a infer.Annotator) {
	a.SetToken("index", "Role")
	a.Describe(r, "A PostgreSQL role. The password is sent as a SCRAM-SHA-256 verifier, never in clear; a refresh detects a password changed out of band by checking the stored verifier (needs a superuser admin).")
}

// Annotate documents the inputs.
func (r *RoleArgs) Annotate(a infer.Annotator) {
	a.Describe(&r.Name, "Role name (a-z, 0-9, '_', '-'; SQL keywords are fine, every statement quotes it).")
	a.Describe(&r.Login, "LOGIN (true) or NOLOGIN (false, the default: an owner or group role).")
	a.Describe(&r.Password, "Password for a login role; a secret, stored in the state encrypted and never read back in clear.")
	a.Describe(&r.ConnectionLimit, "CONNECTION LIMIT; -1 (the default) means none.")
	a.SetDefault(&r.ConnectionLimit, -1)
	a.Describe(&r.Superuser, "SUPERUSER; default false.")
	a.Describe(&r.CreateDatabase, "CREATEDB; default false.")
	a.Describe(&r.CreateRole, "CREATEROLE; default false.")
	a.Describe(&r.BypassRowLevelSecurity, "BYPASSRLS; default false.")
	a.Describe(&r.Inherit, "INHERIT; default true.")
	a.SetDefault(&r.Inherit, true)
	a.Describe(&r.EntraPrincipal, "The Microsoft Entra principal the role signs in as (Azure Database for PostgreSQL with Microsoft Entra authentication): created with pgaadauth_create_principal_with_oid (never an Entra administrator, no MFA claim required), read back from the role's pgaadauth security label; such a role has no password and must be a login role.")
}

// Check validates the role name and password before anything reaches the server.
func (*Role) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[RoleArgs], error) {
	return validated(req, func() (RoleArgs, []p.CheckFailure, error) { return infer.DefaultCheck[RoleArgs](ctx, req.NewInputs) },
		func(a *RoleArgs) (string, error) {
			if err := pgcatalog.ValidateIdent("role", a.Name); err != nil {
				return "name", err
			}
			if a.ConnectionLimit < -1 {
				return "connectionLimit", fmt.Errorf("connection limit %d: use -1 for none", a.ConnectionLimit)
			}
			if a.Password != nil {
				if _, err := pgcatalog.ScramVerifier(*a.Password); err != nil {
					return "password", err
				}
			}
			if e := a.EntraPrincipal; e != nil {
				if err := e.validate(); err != nil {
					return "entraPrincipal", err
				}
				if a.Password != nil && *a.Password != "" {
					return "password", errors.New("a role with an entraPrincipal signs in with Microsoft Entra access tokens and has no password")
				}
				if !a.Login {
					return "login", errors.New("a role with an entraPrincipal is a login role (the server creates it with LOGIN)")
				}
			}
			return "", nil
		})
}

func (a RoleArgs) spec() (pgcatalog.RoleSpec, error) {
	s := pgcatalog.RoleSpec{Role: pgcatalog.Role{
		Name: a.Name, Login: a.Login, Superuser: a.Superuser, CreateDB: a.CreateDatabase, CreateRole: a.CreateRole,
		BypassRLS: a.BypassRowLevelSecurity, Inherit: a.Inherit, ConnectionLimit: a.ConnectionLimit,
	}}
	if a.Password != nil && *a.Password != "" {
		v, err := pgcatalog.ScramVerifier(*a.Password)
		if err != nil {
			return s, fmt.Errorf("role %s: password: %w", a.Name, err)
		}
		s.PasswordVerifier = v
	}
	return s, nil
}

// Create runs CREATE ROLE.
func (*Role) Create(ctx context.Context, req infer.CreateRequest[RoleArgs]) (infer.CreateResponse[RoleState], error) {
	if req.DryRun {
		return infer.CreateResponse[RoleState]{ID: req.Inputs.Name, Output: RoleState{req.Inputs}}, nil
	}
	if req.Inputs.EntraPrincipal != nil {
		if err := createEntraRole(ctx, req.Inputs); err != nil {
			return infer.CreateResponse[RoleState]{}, fmt.Errorf("create role %s: %w", req.Inputs.Name, err)
		}
		return infer.CreateResponse[RoleState]{ID: req.Inputs.Name, Output: RoleState{req.Inputs}}, nil
	}
	spec, err := req.Inputs.spec()
	if err != nil {
		return infer.CreateResponse[RoleState]{}, err
	}
	stmt, err := pgcatalog.CreateRole(spec)
	if err != nil {
		return infer.CreateResponse[RoleState]{}, err
	}
	if err := exec(ctx, "", stmt); err != nil {
		return infer.CreateResponse[RoleState]{}, fmt.Errorf("create role %s: %w", req.Inputs.Name, err)
	}
	return infer.CreateResponse[RoleState]{ID: req.Inputs.Name, Output: RoleState{req.Inputs}}, nil
}

// Read returns the live role; on import (no state) the ID is the role name.
func (*Role) Read(ctx context.Context, req infer.ReadRequest[RoleArgs, RoleState]) (infer.ReadResponse[RoleArgs, RoleState], error) {
	name := req.ID
	if err := pgcatalog.ValidateIdent("role", name); err != nil {
		return infer.ReadResponse[RoleArgs, RoleState]{}, fmt.Errorf("role ID: %w", err)
	}
	return withConn(ctx, "", func(c *pgx.Conn) (infer.ReadResponse[RoleArgs, RoleState], error) {
		live, err := pgcatalog.RoleByName(ctx, c, name)
		if isNotFound(err) {
			return infer.ReadResponse[RoleArgs, RoleState]{}, nil
		}
		if err != nil {
			return infer.ReadResponse[RoleArgs, RoleState]{}, fmt.Errorf("read role %s: %w", name, err)
		}
		args := RoleArgs{
			Name: live.Name, Login: live.Login, Superuser: live.Superuser, CreateDatabase: live.CreateDB,
			CreateRole: live.CreateRole, BypassRowLevelSecurity: live.BypassRLS, Inherit: live.Inherit,
			ConnectionLimit: live.ConnectionLimit,
		}
		args.Password, err = livePassword(ctx, c, name, req.State.Password)
		if err != nil {
			return infer.ReadResponse[RoleArgs, RoleState]{}, err
		}
		if args.EntraPrincipal, err = liveEntraPrincipal(ctx, c, name); err != nil {
			return infer.ReadResponse[RoleArgs, RoleState]{}, fmt.Errorf("read role %s: %w", name, err)
		}
		return infer.ReadResponse[RoleArgs, RoleState]{ID: name, Inputs: args, State: RoleState{args}}, nil
	})
}

// livePassword keeps the known password while the stored verifier matches it; nil when the
// password was removed or changed out of band (so the next update sets it again). When the admin
// cannot read pg_authid the known password is kept: drift of the password is then not visible.
func livePassword(ctx context.Context, c *pgx.Conn, role string, known *string) (*string, error) {
	if known == nil || *known == "" {
		return known, nil
	}
	v, err := pgcatalog.PasswordVerifier(ctx, c, role)
	switch {
	case errors.Is(err, pgcatalog.ErrVerifierUnreadable):
		return known, nil
	case err != nil:
		return nil, fmt.Errorf("read role %s: %w", role, err)
	case v == "":
		return nil, nil
	}
	ok, err := pgcatalog.ScramMatches(v, *known)
	if err != nil || !ok {
		return nil, nil //nolint:nilerr // an unparsable verifier (md5, say) does not match either
	}
	return known, nil
}

// Diff: a new name is a new role; everything else is ALTER ROLE.
func (*Role) Diff(_ context.Context, req infer.DiffRequest[RoleArgs, RoleState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	return diffFields(
		field{"name", o.Name, n.Name, true},
		field{"login", o.Login, n.Login, false},
		field{"password", o.Password, n.Password, false},
		field{"connectionLimit", o.ConnectionLimit, n.ConnectionLimit, false},
		field{"superuser", o.Superuser, n.Superuser, false},
		field{"createDatabase", o.CreateDatabase, n.CreateDatabase, false},
		field{"createRole", o.CreateRole, n.CreateRole, false},
		field{"bypassRowLevelSecurity", o.BypassRowLevelSecurity, n.BypassRowLevelSecurity, false},
		field{"inherit", o.Inherit, n.Inherit, false},
		field{"entraPrincipal", o.EntraPrincipal, n.EntraPrincipal, false},
	), nil
}

// Update runs ALTER ROLE with the attributes that differ from the live role and the declared
// password, and relabels the role when its Entra principal changed (updateRole).
func (*Role) Update(ctx context.Context, req infer.UpdateRequest[RoleArgs, RoleState]) (infer.UpdateResponse[RoleState], error) {
	if req.DryRun {
		return infer.UpdateResponse[RoleState]{Output: RoleState{req.Inputs}}, nil
	}
	if err := updateRole(ctx, req.State.RoleArgs, req.Inputs); err != nil {
		return infer.UpdateResponse[RoleState]{}, fmt.Errorf("alter role %s: %w", req.Inputs.Name, err)
	}
	return infer.UpdateResponse[RoleState]{Output: RoleState{req.Inputs}}, nil
}

// Delete runs DROP ROLE. It fails while the role still owns objects or holds privileges; the
// error lists them (nothing is reassigned or dropped implicitly).
func (*Role) Delete(ctx context.Context, req infer.DeleteRequest[RoleState]) (infer.DeleteResponse, error) {
	stmt, err := pgcatalog.DropRole(req.State.Name)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	// A role that still owns objects is the owner of a database or schema that its own Delete
	// retained because it holds data: dropping the role would fail, and reassigning the objects
	// would hand a tenant's data to someone else. Keep it with the data.
	owned, err := withConn(ctx, "", func(c *pgx.Conn) (int, error) {
		var n int
		err := c.QueryRow(ctx, `SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON d.refobjid = r.oid
			WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o' AND r.rolname = $1`, req.State.Name).Scan(&n)
		return n, err
	})
	if err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("drop role %s: %w", req.State.Name, err)
	}
	if owned > 0 {
		p.GetLogger(ctx).Warningf("role %s retained: it owns %d object(s) kept with their data (a retained database or schema); drop them first, then the role", req.State.Name, owned)
		return infer.DeleteResponse{}, nil
	}
	if err := revokeLeftovers(ctx, req.State.Name); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("drop role %s: %w", req.State.Name, err)
	}
	if err := exec(ctx, "", stmt); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("drop role %s: %w", req.State.Name, err)
	}
	return infer.DeleteResponse{}, nil
}

// revokeLeftovers revokes what a role that owns nothing still holds: privileges no Grant declared,
// such as DML on a table its owner role created later (default privileges) and that is retained
// with its data. Without it the role cannot be dropped, and keeping a login role on retained data
// would let the tenant in after its destroy. DROP OWNED BY only revokes here: it runs in each
// database holding such a privilege, in a transaction that first checks the role owns nothing
// there (a role that came to own something since is left for DROP ROLE to refuse).
func revokeLeftovers(ctx context.Context, role string) error {
	dbs, err := withConn(ctx, "", func(c *pgx.Conn) ([]string, error) {
		rows, err := c.Query(ctx, `SELECT DISTINCT coalesce(db.datname, '') FROM pg_shdepend d
			JOIN pg_roles r ON d.refobjid = r.oid LEFT JOIN pg_database db ON db.oid = d.dbid
			WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype IN ('a', 'r') AND r.rolname = $1 ORDER BY 1`, role)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	})
	if err != nil {
		return fmt.Errorf("read what it still holds: %w", err)
	}
	member := false
	for _, db := range dbs {
		err := dropOwned(ctx, db, role)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" && !member {
			// An admin that is no superuser (an Azure server's Microsoft Entra administrator) may
			// DROP OWNED BY only a role it is a member of. With CREATEROLE it may become one; the
			// membership goes with the role, which is dropped next.
			if gerr := exec(ctx, "", "GRANT "+pgcatalog.QuoteIdent(role)+" TO CURRENT_USER"); gerr != nil {
				return fmt.Errorf("revoke its privileges in database %q: %w (and becoming a member of it to do so failed: %w)", db, err, gerr)
			}
			member = true
			err = dropOwned(ctx, db, role)
		}
		if err != nil {
			return fmt.Errorf("revoke its privileges in database %q: %w", db, err)
		}
	}
	return nil
}

// dropOwned runs DROP OWNED BY role in db, in a transaction that first checks the role owns
// nothing there.
func dropOwned(ctx context.Context, db, role string) error {
	_, err := withConn(ctx, db, func(c *pgx.Conn) (struct{}, error) {
		return struct{}{}, pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var owns bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON d.refobjid = r.oid
				WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o' AND r.rolname = $1)`, role).Scan(&owns); err != nil || owns {
				return err
			}
			_, err := tx.Exec(ctx, "DROP OWNED BY "+pgcatalog.QuoteIdent(role))
			return err
		})
	})
	return err
}
