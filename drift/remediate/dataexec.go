package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// DataPlane runs data-plane actions: transactions on an environment's PostgreSQL server as its
// admin role.
type DataPlane interface {
	// InTx runs fn in one transaction on database db ("" for the connection's own) of env's
	// server; fn's error rolls it back.
	InTx(ctx context.Context, env, db string, fn func(pgx.Tx) error) error
}

// WithDataPlane lets Apply carry out PostgreSQL actions; without it they are unsupported.
func WithDataPlane(d DataPlane) ExecOption { return func(e *Executor) { e.data = d } }

// errDataMoved: the privilege, membership, attribute or object the action removes is no longer
// there (someone fixed it since planning, or the plan is stale).
var errDataMoved = errors.New("no longer in the catalog")

// PGServer is a DataPlane on one server (the data layer's, for every environment).
type PGServer struct{ cfg *pgx.ConnConfig }

// NewPGServer connects with cfg (the admin connection) for every transaction.
func NewPGServer(cfg *pgx.ConnConfig) *PGServer { return &PGServer{cfg: cfg} }

// InTx implements DataPlane.
func (s *PGServer) InTx(ctx context.Context, _ string, db string, fn func(pgx.Tx) error) error {
	cfg := s.cfg.Copy()
	if db != "" {
		cfg.Database = db
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return pgx.BeginFunc(ctx, conn, fn)
}

// holds reports whether what d removes is still in the catalog.
func holds(ctx context.Context, q pgcatalog.Querier, d DataTarget) (bool, error) {
	hasGrantee := func(acl []pgcatalog.ACLItem) bool {
		return slices.ContainsFunc(acl, func(it pgcatalog.ACLItem) bool { return it.Grantee == d.Role })
	}
	switch d.Op {
	case DataRevoke:
		switch d.ObjectType {
		case pgcatalog.ObjectDatabase:
			ds, err := pgcatalog.Databases(ctx, q, d.Database)
			return len(ds) == 1 && hasGrantee(ds[0].ACL), err
		case pgcatalog.ObjectSchema:
			ss, err := pgcatalog.Schemas(ctx, q, d.Schema)
			return len(ss) == 1 && hasGrantee(ss[0].ACL), err
		case pgcatalog.ObjectTable, pgcatalog.ObjectSequence:
			rs, err := pgcatalog.Relations(ctx, q, d.Schema)
			return slices.ContainsFunc(rs, func(r pgcatalog.Relation) bool { return r.Name == d.Object && hasGrantee(r.ACL) }), err
		}
	case DataRevokeDefault:
		as, err := pgcatalog.DefaultACLs(ctx, q)
		return slices.ContainsFunc(as, func(a pgcatalog.DefaultACL) bool {
			return a.Owner == d.Owner && a.Schema == d.Schema && a.ObjectType == d.ObjectType && hasGrantee(a.ACL)
		}), err
	case DataRevokeMembership:
		ms, err := pgcatalog.Memberships(ctx, q, d.Granted)
		return slices.ContainsFunc(ms, func(m pgcatalog.Membership) bool { return m.Member == d.Role }), err
	case DataStripAttributes:
		rs, err := pgcatalog.Roles(ctx, q, d.Role)
		return len(rs) == 1 && (rs[0].Superuser || rs[0].BypassRLS || rs[0].CreateRole), err
	case DataDropRole:
		rs, err := pgcatalog.Roles(ctx, q, d.Role)
		return len(rs) == 1, err
	case DataDropSchema:
		ss, err := pgcatalog.Schemas(ctx, q, d.Schema)
		return len(ss) == 1, err
	}
	return false, fmt.Errorf("%s is never carried out by tenantctl", d.Op)
}

// dataMoved reads whether a data action's object is still as planned (preflight).
func (e *Executor) dataMoved(ctx context.Context, a Action) (string, error) {
	if e.data == nil {
		return "", nil // refused as unsupported when it runs
	}
	var ok bool
	err := e.data.InTx(ctx, a.Environment, a.Target.Data.Database, func(tx pgx.Tx) error {
		var err error
		ok, err = holds(ctx, tx, *a.Target.Data)
		return err
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("read %s: %w", a.Target.Ref(), err)
	case !ok:
		return a.Target.Ref() + " is " + errDataMoved.Error(), nil
	}
	return "", nil
}

// deleteData carries out a data action: each statement in its own transaction, the first under
// the check that what it removes is still there.
func (e *Executor) deleteData(ctx context.Context, a Action) error {
	if e.data == nil {
		return fmt.Errorf("%s: no PostgreSQL connection to the data layer was given: %w", a.Target.Ref(), ErrNotSupported)
	}
	d := *a.Target.Data
	stmts, err := DataStatements(d)
	if err != nil {
		return err
	}
	for i, stmt := range stmts {
		err := e.data.InTx(ctx, a.Environment, d.Database, func(tx pgx.Tx) error {
			if i == 0 {
				ok, err := holds(ctx, tx, d)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s: %w", a.Target.Ref(), errDataMoved)
				}
			}
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// deleteOrder runs revocations before drops: a role is dropped only once its privileges are gone.
func deleteOrder(a Action) int {
	if a.Target.Data == nil {
		return 0
	}
	switch a.Target.Data.Op {
	case DataDropSchema:
		return 1
	case DataDropRole:
		return 2
	}
	return 0
}
