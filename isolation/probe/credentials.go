package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// Conn is how a tenant's login role reaches the server: the libpq variables its credential Secret
// publishes (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE). Its String and GoString
// leave the password out, and so does its JSON.
type Conn struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"-"`
	SSLMode  string `json:"sslmode,omitempty"`
}

// String is the connection without its password.
func (c Conn) String() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=%s", c.User, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.Database, c.sslMode())
}

// GoString keeps %#v from printing the password.
func (c Conn) GoString() string { return "probe.Conn(" + c.String() + ")" }

// sslMode is the connection's sslmode; empty means disable on a loopback host and verify-full
// elsewhere, as for the engine's own connection.
func (c Conn) sslMode() string {
	if c.SSLMode != "" {
		return c.SSLMode
	}
	if ip := net.ParseIP(c.Host); c.Host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "disable"
	}
	return "verify-full"
}

func (c Conn) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"host", c.Host}, {"database", c.Database}, {"user", c.User}, {"password", c.Password}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("credentials have no %s", strings.Join(missing, ", "))
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("credentials: port %d is not a TCP port", c.Port)
	}
	return nil
}

// Credentials gives a tenant's login connection. An error means the tenant's credentials are
// missing or unusable, a Failure of the run; it must not carry the password.
type Credentials interface {
	Credentials(ctx context.Context, tenant *tenantplan.Tenant) (Conn, error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, tenant *tenantplan.Tenant) (Conn, error)

// Credentials calls f.
func (f CredentialsFunc) Credentials(ctx context.Context, t *tenantplan.Tenant) (Conn, error) {
	return f(ctx, t)
}

// ErrNoCredentials is returned by sources that have no credentials for a tenant.
var ErrNoCredentials = errors.New("no credentials")

// Static is a fixed set of credentials by tenant id.
type Static map[string]Conn

// Credentials returns the tenant's entry, or ErrNoCredentials.
func (s Static) Credentials(_ context.Context, t *tenantplan.Tenant) (Conn, error) {
	c, ok := s[t.TenantID]
	if !ok {
		return Conn{}, fmt.Errorf("tenant %s: %w", t.TenantID, ErrNoCredentials)
	}
	return c, nil
}
