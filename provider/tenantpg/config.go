package tenantpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// Config is the server connection: the provider's configuration.
type Config struct {
	Host     string `pulumi:"host"`
	Port     int    `pulumi:"port,optional"`
	Database string `pulumi:"database,optional"`
	Username string `pulumi:"username"`
	// Password is the admin's password with auth "password"; unused (and refused) with "entra".
	Password string `pulumi:"password,optional" provider:"secret"`
	// Auth is how the admin signs in: "password", or "entra" (a Microsoft Entra access token,
	// the only way into an Azure Database for PostgreSQL server with password auth disabled).
	Auth *string `pulumi:"auth,optional"`
	// EntraScope is the scope the Entra access token is requested for.
	EntraScope *string `pulumi:"entraScope,optional"`
	SSLMode    string  `pulumi:"sslmode,optional"`
	// SSLRootCert is a path to the CA bundle for verify-ca/verify-full.
	SSLRootCert           string `pulumi:"sslrootcert,optional"`
	ConnectTimeoutSeconds int    `pulumi:"connectTimeoutSeconds,optional"`
}

// Admin sign-in methods (tenantpg:auth).
const (
	AuthPassword = "password"
	AuthEntra    = "entra"
)

// DefaultEntraScope is the scope of access tokens for Azure Database for PostgreSQL (every
// Azure open-source database service shares it).
const DefaultEntraScope = "https://ossrdbms-aad.database.windows.net/.default"

// Annotate documents the configuration.
func (c *Config) Annotate(a infer.Annotator) {
	a.Describe(&c.Host, "Server host name or IP address (an Azure flexible server's FQDN in production).")
	a.Describe(&c.Port, "Server port.")
	a.SetDefault(&c.Port, 5432)
	a.Describe(&c.Database, "Database the provider connects to for cluster-wide objects (roles, databases, memberships) and the default database of the other resources.")
	a.SetDefault(&c.Database, "postgres")
	a.Describe(&c.Username, "Administrative role the provider logs in as; with auth entra, the role of the server's Microsoft Entra administrator (its principal name).")
	a.Describe(&c.Password, "Password of the administrative role (a secret; never logged or returned). Required with auth password, refused with auth entra.")
	// auth and entraScope have no schema defaults and are pointers, so a provider that does not
	// set them has neither in its inputs: infer (v1.5.0) adds a default, or "" for an unset
	// string, to the checked inputs of every provider, also of stacks created before the keys
	// existed, and replaces a provider, and with it every resource, on any change of its inputs.
	a.Describe(&c.Auth, "How the administrative role signs in: password (the default), or entra (a Microsoft Entra access token of the ambient Azure identity, sent as the password of each connection; needs sslmode verify-full except to a loopback address).")
	a.Describe(&c.EntraScope, "Scope of the Microsoft Entra access token (auth entra); default "+DefaultEntraScope+".")
	a.Describe(&c.SSLMode, "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full.")
	a.SetDefault(&c.SSLMode, "verify-full")
	a.Describe(&c.SSLRootCert, "Path of the CA bundle that signs the server certificate (verify-ca, verify-full).")
	a.Describe(&c.ConnectTimeoutSeconds, "Connection timeout in seconds.")
	a.SetDefault(&c.ConnectTimeoutSeconds, 10)
}

var sslModes = map[string]bool{"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true}

// Configure validates the configuration; the server is first contacted by a resource operation.
func (c *Config) Configure(context.Context) error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("tenantpg:host is required"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("tenantpg:port %d is not a TCP port", c.Port))
	}
	switch c.auth() {
	case AuthPassword:
		if err := pgcatalog.ValidateIdent("tenantpg:username", c.Username); err != nil {
			errs = append(errs, err)
		}
		if c.Password == "" {
			errs = append(errs, errors.New("tenantpg:password is required with tenantpg:auth password"))
		}
	case AuthEntra:
		// The role of an Entra principal is named after it (a user principal name such as
		// jane@contoso.com, a display name): it only ever travels in the startup message, never
		// in a statement, so it is checked for what PostgreSQL accepts as a role name.
		if err := validEntraRoleName("tenantpg:username", c.Username); err != nil {
			errs = append(errs, err)
		}
		if c.Password != "" {
			errs = append(errs, errors.New("tenantpg:password must not be set with tenantpg:auth entra: the password of each connection is a Microsoft Entra access token"))
		}
		// A token is a bearer credential for every server the identity may sign in to, so it
		// only crosses a network to a server whose certificate names it.
		if c.SSLMode != "verify-full" && !isLoopback(c.Host) {
			errs = append(errs, fmt.Errorf("tenantpg:sslmode %q: auth entra sends an access token as the password and needs verify-full (any mode only to a loopback address)", c.SSLMode))
		}
	default:
		errs = append(errs, fmt.Errorf("tenantpg:auth %q: want password or entra", c.auth()))
	}
	if c.Database != "" {
		if err := pgcatalog.ValidateIdent("tenantpg:database", c.Database); err != nil {
			errs = append(errs, err)
		}
	}
	if !sslModes[c.SSLMode] {
		errs = append(errs, fmt.Errorf("tenantpg:sslmode %q: want disable, allow, prefer, require, verify-ca or verify-full", c.SSLMode))
	}
	return errors.Join(errs...)
}

// auth is tenantpg:auth, password when unset.
func (c Config) auth() string {
	if c.Auth == nil || *c.Auth == "" {
		return AuthPassword
	}
	return *c.Auth
}

// entraScope is tenantpg:entraScope, DefaultEntraScope when unset.
func (c Config) entraScope() string {
	if c.EntraScope == nil || *c.EntraScope == "" {
		return DefaultEntraScope
	}
	return *c.EntraScope
}

// database is the resource's database, or the provider's default.
func (c Config) database(db string) string {
	if db != "" {
		return db
	}
	if c.Database != "" {
		return c.Database
	}
	return "postgres"
}

// connValue quotes a value of a libpq keyword/value connection string.
func connValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// isLoopback reports whether host is a loopback address, where nothing crosses a network.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// connect opens an admin connection to database. Errors name the server and role, never the
// password, and say plainly when the password is wrong.
func (c Config) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	database = c.database(database)
	where := fmt.Sprintf("%s as %s (database %s)", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.Username, database)
	// The host goes into the string pgx parses, not only into the parsed config: pgx derives the
	// TLS settings (and the name verify-full checks the certificate against) from the host it
	// parses, and without one it picks a local socket directory, for which it configures no TLS
	// at all.
	kv := []string{"host=" + connValue(c.Host), "port=" + strconv.Itoa(c.Port), "sslmode=" + connValue(c.SSLMode)}
	if c.SSLRootCert != "" {
		kv = append(kv, "sslrootcert="+connValue(c.SSLRootCert))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	password := c.Password
	if c.auth() == AuthEntra {
		// A fresh connection per operation, so the token is asked for per connection: the source
		// caches it and fetches a new one before it expires.
		if password, err = entraTokens.token(ctx, c.entraScope()); err != nil {
			return nil, fmt.Errorf("connect to %s: %w", where, err)
		}
	}
	cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password = c.Host, uint16(c.Port), database, c.Username, password
	for _, fb := range cfg.Fallbacks {
		fb.Host, fb.Port = c.Host, uint16(c.Port)
	}
	timeout := c.ConnectTimeoutSeconds
	if timeout <= 0 {
		timeout = 10
	}
	cfg.ConnectTimeout = time.Duration(timeout) * time.Second
	cfg.RuntimeParams = map[string]string{"application_name": "pulumi-resource-tenantpg"}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
			if c.auth() == AuthEntra {
				return nil, fmt.Errorf("connect to %s: the server refused the Microsoft Entra access token of the ambient Azure identity: check that tenantpg:username is the role of a Microsoft Entra administrator of the server for that identity, and tenantpg:entraScope (SQLSTATE %s)", where, pgErr.Code)
			}
			if pgErr.Code == "28P01" {
				return nil, fmt.Errorf("connect to %s: password authentication failed: check tenantpg:password (SQLSTATE 28P01)", where)
			}
		}
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	return conn, nil
}

// withConn runs fn on a fresh admin connection to database.
func withConn[T any](ctx context.Context, database string, fn func(*pgx.Conn) (T, error)) (T, error) {
	conn, err := infer.GetConfig[Config](ctx).connect(ctx, database)
	if err != nil {
		var zero T
		return zero, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// exec runs statements one by one on database. A statement that lost a race with another session
// changing the same catalog row is run again: the engine creates resources in parallel, and two
// GRANTs on one table (or one database) update the same ACL tuple, which PostgreSQL reports as
// "tuple concurrently updated" instead of waiting. Each statement commits on its own, so the one
// that failed changed nothing and re-running it (not the ones before it) is safe.
func exec(ctx context.Context, database string, stmts ...string) error {
	_, err := withConn(ctx, database, func(c *pgx.Conn) (struct{}, error) {
		for _, s := range stmts {
			if err := execRetrying(ctx, c, s); err != nil {
				return struct{}{}, withDetail(err)
			}
		}
		return struct{}{}, nil
	})
	return err
}

// execTx runs statements on database in one transaction: either all of them take effect or none
// (a table is never left without its index, a column never added without its NOT NULL).
func execTx(ctx context.Context, database string, stmts ...string) error {
	_, err := withConn(ctx, database, func(c *pgx.Conn) (struct{}, error) {
		return struct{}{}, withDetail(execInTx(ctx, c, stmts...))
	})
	return err
}

func execInTx(ctx context.Context, c *pgx.Conn, stmts ...string) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := pgcatalog.ExecAll(ctx, c.PgConn(), stmts...); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// conflictRetries bounds how often one statement is re-run after losing a catalog race.
const conflictRetries = 8

func execRetrying(ctx context.Context, c *pgx.Conn, stmt string) error {
	backoff := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := pgcatalog.ExecOne(ctx, c.PgConn(), stmt)
		if err == nil || !isCatalogConflict(err) || attempt >= conflictRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// isCatalogConflict reports whether err is a concurrent-update conflict the statement can simply be
// re-run after: a catalog tuple updated by another session, a serialization failure or a deadlock.
func isCatalogConflict(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01":
		return true
	case "XX000":
		return strings.Contains(pgErr.Message, "concurrently updated") ||
			strings.Contains(pgErr.Message, "concurrently deleted")
	}
	return false
}

// withDetail adds the server's DETAIL and HINT (which objects block a DROP ROLE, say) to an error.
func withDetail(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var extra []string
	if pgErr.Detail != "" {
		extra = append(extra, "detail: "+pgErr.Detail)
	}
	if pgErr.Hint != "" {
		extra = append(extra, "hint: "+pgErr.Hint)
	}
	if len(extra) == 0 {
		return err
	}
	return fmt.Errorf("%w; %s", err, strings.Join(extra, "; "))
}
