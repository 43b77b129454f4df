package tenantpg

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// TokenCredential is what signs the provider in with auth entra: anything that issues Microsoft
// Entra access tokens (azcore.TokenCredential). The plugin uses DefaultAzureCredential; tests
// swap in their own through newEntraCredential.
type TokenCredential = azcore.TokenCredential

// newEntraCredential builds the credential on first use: DefaultAzureCredential, so the provider
// signs in as whatever identity runs the engine (workload identity in a cluster, a managed
// identity, environment variables in CI, the Azure CLI on a workstation), never with a secret in
// config.
var newEntraCredential = func() (TokenCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
}

// tokenRefreshMargin: a cached token with less than this left is replaced before it is used, so a
// connection never starts with a token that expires during its handshake.
const tokenRefreshMargin = 5 * time.Minute

// tokenSource hands out access tokens per scope, fetched through one credential and cached until
// tokenRefreshMargin before they expire. Every connection asks it; the provider runs resource
// operations in parallel, so it is safe for concurrent use.
type tokenSource struct {
	mu     sync.Mutex
	cred   TokenCredential
	tokens map[string]azcore.AccessToken
	now    func() time.Time
}

// entraTokens is the process's token source, shared by the engines a kept process serves one
// after another: the identity is the process's environment, the same for all of them.
var entraTokens = newTokenSource()

func newTokenSource() *tokenSource {
	return &tokenSource{tokens: map[string]azcore.AccessToken{}, now: time.Now}
}

// token returns a valid access token for scope. Errors say what failed without any token.
func (s *tokenSource) token(ctx context.Context, scope string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[scope]; ok && t.ExpiresOn.Sub(s.now()) > tokenRefreshMargin {
		return t.Token, nil
	}
	if s.cred == nil {
		cred, err := newEntraCredential()
		if err != nil {
			return "", fmt.Errorf("microsoft entra credential (DefaultAzureCredential): %w", err)
		}
		s.cred = cred
	}
	t, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", fmt.Errorf("get a microsoft entra access token for scope %s: %w", scope, err)
	}
	if t.Token == "" {
		return "", fmt.Errorf("get a microsoft entra access token for scope %s: the credential returned an empty token", scope)
	}
	s.tokens[scope] = t
	return t.Token, nil
}

// EntraPrincipal maps a role to a Microsoft Entra principal: the role signs in with that
// principal's access tokens instead of a password.
type EntraPrincipal struct {
	ObjectID string `pulumi:"objectId"`
	Type     string `pulumi:"type"`
}

// Principal types of pgaadauth_create_principal_with_oid.
const (
	EntraService = "service"
	EntraUser    = "user"
	EntraGroup   = "group"
)

var entraTypes = []string{EntraService, EntraUser, EntraGroup}

// Annotate documents the principal.
func (e *EntraPrincipal) Annotate(a infer.Annotator) {
	a.Describe(&e.ObjectID, "Object id (a UUID) of the Microsoft Entra principal: for a managed identity or an application, its service principal's object id (principalId).")
	a.Describe(&e.Type, "Principal type: service (a managed identity or an application), user or group.")
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// validate checks the principal before anything reaches the server, and normalises the object
// id to lower case (how Azure writes it, and how the server's label keeps it).
func (e *EntraPrincipal) validate() error {
	e.ObjectID = strings.ToLower(e.ObjectID)
	if !uuidPattern.MatchString(e.ObjectID) {
		return fmt.Errorf("entraPrincipal.objectId %q is not a UUID (8-4-4-4-12 hexadecimal digits)", e.ObjectID)
	}
	if !slices.Contains(entraTypes, e.Type) {
		return fmt.Errorf("entraPrincipal.type %q: want service, user or group", e.Type)
	}
	return nil
}

// entraLabelProvider is the security label provider Azure Database for PostgreSQL keeps a role's
// Microsoft Entra mapping with: SECURITY LABEL FOR "pgaadauth" ON ROLE r IS
// 'aadauth,oid=<objectId>,type=<type>[,admin]'.
const entraLabelProvider = "pgaadauth"

// entraLabel is the label of a non-admin role mapped to e.
func entraLabel(e EntraPrincipal) string {
	return "aadauth,oid=" + e.ObjectID + ",type=" + e.Type
}

// parseEntraLabel reads a pgaadauth label. A label that also makes the role an Entra
// administrator ("admin"), or that tenantpg would not write, is not a principal tenantpg
// declares: it reads as none, so the next update writes the declared label again.
func parseEntraLabel(label string) *EntraPrincipal {
	parts := strings.Split(label, ",")
	if len(parts) != 3 || parts[0] != "aadauth" {
		return nil
	}
	oid, ok1 := strings.CutPrefix(parts[1], "oid=")
	typ, ok2 := strings.CutPrefix(parts[2], "type=")
	if !ok1 || !ok2 {
		return nil
	}
	e := &EntraPrincipal{ObjectID: oid, Type: typ}
	if e.validate() != nil {
		return nil
	}
	return e
}

// validEntraRoleName checks the name of an Entra role the provider signs in as, which may hold
// characters tenantpg never puts in a statement ('@', '.', upper case, spaces).
func validEntraRoleName(field, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", field)
	case len(name) > 63:
		return fmt.Errorf("%s is %d bytes, longer than PostgreSQL's 63", field, len(name))
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%s %q starts or ends with a space", field, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%s holds a control character", field)
	}
	return nil
}

// errNoPgaadauth explains a server without Azure's Entra functions or label provider.
var errNoPgaadauth = errors.New("the server has no Microsoft Entra support (pgaadauth): roles with an entraPrincipal need Azure Database for PostgreSQL flexible server with Microsoft Entra authentication enabled, and the provider connected to its postgres database as a Microsoft Entra administrator")

// role is the declared attributes as the catalog holds them.
func (a RoleArgs) role() pgcatalog.Role {
	return pgcatalog.Role{
		Name: a.Name, Login: a.Login, Superuser: a.Superuser, CreateDB: a.CreateDatabase, CreateRole: a.CreateRole,
		BypassRLS: a.BypassRowLevelSecurity, Inherit: a.Inherit, ConnectionLimit: a.ConnectionLimit,
	}
}

// alterChanged is ALTER ROLE with only the attributes whose live value differs from the declared
// one, plus extra clauses; "" when there is nothing to change. The admin of an Azure server is no
// superuser, and PostgreSQL lets only a superuser name SUPERUSER, REPLICATION or BYPASSRLS in an
// ALTER ROLE at all, even to turn them off: spelling out every attribute, as a password role's
// ALTER does, would fail there.
func alterChanged(live, want pgcatalog.Role, extra ...string) string {
	var opts []string
	attr := func(l, w bool, yes, no string) {
		if l != w {
			if w {
				opts = append(opts, yes)
			} else {
				opts = append(opts, no)
			}
		}
	}
	attr(live.Login, want.Login, "LOGIN", "NOLOGIN")
	attr(live.Superuser, want.Superuser, "SUPERUSER", "NOSUPERUSER")
	attr(live.CreateDB, want.CreateDB, "CREATEDB", "NOCREATEDB")
	attr(live.CreateRole, want.CreateRole, "CREATEROLE", "NOCREATEROLE")
	attr(live.BypassRLS, want.BypassRLS, "BYPASSRLS", "NOBYPASSRLS")
	attr(live.Inherit, want.Inherit, "INHERIT", "NOINHERIT")
	attr(live.Replication, want.Replication, "REPLICATION", "NOREPLICATION")
	if live.ConnectionLimit != want.ConnectionLimit {
		opts = append(opts, fmt.Sprintf("CONNECTION LIMIT %d", want.ConnectionLimit))
	}
	opts = append(opts, extra...)
	if len(opts) == 0 {
		return ""
	}
	return "ALTER ROLE " + pgcatalog.QuoteIdent(want.Name) + " WITH " + strings.Join(opts, " ")
}

// createEntraRole creates a role mapped to its Entra principal with Azure's
// pgaadauth_create_principal_with_oid (never an administrator, no MFA claim), then sets the
// declared attributes the function's defaults differ from, in one transaction. The values go to
// the server as parameters, never as SQL text.
func createEntraRole(ctx context.Context, a RoleArgs) error {
	if err := pgcatalog.ValidateIdent("role", a.Name); err != nil {
		return err
	}
	e := *a.EntraPrincipal
	if err := e.validate(); err != nil {
		return err
	}
	_, err := withConn(ctx, "", func(c *pgx.Conn) (struct{}, error) {
		return struct{}{}, pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, false, false)`, a.Name, e.ObjectID, e.Type); err != nil {
				return entraErr(err)
			}
			live, err := pgcatalog.RoleByName(ctx, tx, a.Name)
			if err != nil {
				return fmt.Errorf("read the role pgaadauth created: %w", err)
			}
			if stmt := alterChanged(live, a.role()); stmt != "" {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return withDetail(err)
				}
			}
			return nil
		})
	})
	return err
}

// updateRole changes the attributes that differ from the live role (unset still means off: the
// comparison is with the catalog) and sets the declared password, or, for an Entra role, writes
// its pgaadauth label when the principal changed (SECURITY LABEL, as Azure documents for mapping
// an existing role), in one transaction. A role that stops being an Entra role loses its label
// and gets the declared password.
func updateRole(ctx context.Context, old, in RoleArgs) error {
	if err := pgcatalog.ValidateIdent("role", in.Name); err != nil {
		return err
	}
	var extra []string
	label := "NULL"
	if e := in.EntraPrincipal; e != nil {
		if err := e.validate(); err != nil {
			return err
		}
		label = pgcatalog.QuoteLiteral(entraLabel(*e))
		if old.Password != nil && *old.Password != "" {
			extra = append(extra, "PASSWORD NULL")
		}
	} else {
		spec, err := in.spec()
		if err != nil {
			return err
		}
		pw := "PASSWORD NULL"
		if spec.PasswordVerifier != "" {
			pw = "PASSWORD " + pgcatalog.QuoteLiteral(spec.PasswordVerifier)
		}
		extra = append(extra, pw)
	}
	_, err := withConn(ctx, "", func(c *pgx.Conn) (struct{}, error) {
		return struct{}{}, pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			live, err := pgcatalog.RoleByName(ctx, tx, in.Name)
			if err != nil {
				return err
			}
			if stmt := alterChanged(live, in.role(), extra...); stmt != "" {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return withDetail(err)
				}
			}
			if equalValues(old.EntraPrincipal, in.EntraPrincipal) {
				return nil
			}
			_, err = tx.Exec(ctx, "SECURITY LABEL FOR "+entraLabelProvider+" ON ROLE "+pgcatalog.QuoteIdent(in.Name)+" IS "+label)
			return entraErr(err)
		})
	})
	return err
}

// liveEntraPrincipal reads a role's pgaadauth label from pg_shseclabel (readable by every role,
// and present on any server: where no label provider is loaded it is simply empty).
func liveEntraPrincipal(ctx context.Context, q pgcatalog.Querier, role string) (*EntraPrincipal, error) {
	var label string
	err := q.QueryRow(ctx, `SELECT s.label FROM pg_catalog.pg_shseclabel s JOIN pg_catalog.pg_roles r ON r.oid = s.objoid
		WHERE s.classoid = 'pg_catalog.pg_authid'::regclass AND s.provider = $1 AND r.rolname = $2`, entraLabelProvider, role).Scan(&label)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read its %s label: %w", entraLabelProvider, err)
	}
	return parseEntraLabel(label), nil
}

// entraErr explains a server without Azure's Entra support (no pgaadauth function or label
// provider), and adds the server's detail to other errors.
func entraErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, entraLabelProvider) &&
		(pgErr.Code == "42883" || pgErr.Code == "22023" || pgErr.Code == "3F000") {
		return fmt.Errorf("%w (%s, SQLSTATE %s)", errNoPgaadauth, pgErr.Message, pgErr.Code)
	}
	return withDetail(err)
}
