package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// ConfigPostgres is the path of the data layer's server connection file (PostgresConnection as
// JSON, e.g. the local server's connection.json). Like the kubeconfig it is a path: the admin
// password stays in the file the connection names and reaches the provider only as a secret.
// A stack of an environment that keeps its data there (tenantplan.UsesPostgres) fails without it:
// a program that silently left the data layer out would delete every tenant role, grant and
// policy its last update created.
const ConfigPostgres = "postgres"

// PostgresConnection is how the engine reaches the data layer's server as its admin role.
type PostgresConnection struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Database is where cluster-wide objects are managed from (default postgres).
	Database  string `json:"database,omitempty"`
	AdminRole string `json:"adminRole"`
	// PasswordFile holds the admin password (its first line); mode 0600 expected.
	PasswordFile string `json:"passwordFile"`
	// SSLMode is libpq's; empty means disable on a loopback host and verify-full elsewhere.
	SSLMode     string `json:"sslmode,omitempty"`
	SSLRootCert string `json:"sslrootcert,omitempty"`
}

// LoadPostgresConnection reads a connection file and the password it names. Errors name the file
// and the field; none carries the password.
func LoadPostgresConnection(path string) (PostgresConnection, string, error) {
	key := FullConfigKey(ConfigPostgres)
	if strings.TrimSpace(path) == "" {
		return PostgresConnection{}, "", fmt.Errorf("config %s is not set: set it to the path of the data layer's connection file", key)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return PostgresConnection{}, "", fmt.Errorf("config %s: %w", key, err)
	}
	var c PostgresConnection
	if err := json.Unmarshal(b, &c); err != nil {
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s is not a connection file (JSON with host, port, adminRole, passwordFile): %w", key, path, err)
	}
	switch {
	case c.Host == "":
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: host is empty", key, path)
	case c.Port <= 0 || c.Port > 65535:
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: port %d is not a TCP port", key, path, c.Port)
	case c.AdminRole == "":
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: adminRole is empty", key, path)
	case c.PasswordFile == "":
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: passwordFile is empty", key, path)
	}
	if c.Database == "" {
		c.Database = "postgres"
	}
	if c.SSLMode == "" {
		c.SSLMode = "verify-full"
		if isLoopback(c.Host) {
			c.SSLMode = "disable"
		}
	}
	pw, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: passwordFile: %w", key, path, err)
	}
	password := strings.TrimRight(strings.SplitN(string(pw), "\n", 2)[0], "\r")
	if password == "" {
		return PostgresConnection{}, "", fmt.Errorf("config %s: %s: passwordFile %s is empty", key, path, c.PasswordFile)
	}
	return c, password, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrNoPostgres is returned for an environment that keeps tenant data on PostgreSQL when the
// engine was given no connection for it.
var ErrNoPostgres = errors.New("no PostgreSQL connection for the data layer")

// MissingPostgres explains what to do when env needs a connection and the stack has none.
func MissingPostgres(env *isolation.Environment) error {
	return fmt.Errorf("environment %s keeps tenant data on PostgreSQL (spec.sharedDatabase.engine %s): %w: pass --postgres-connection FILE, set TENANTCTL_POSTGRES_CONNECTION, or start the local server with `tenantctl local-cluster up` (config %s)",
		env.Name(), env.Spec.SharedDatabase.Engine, ErrNoPostgres, FullConfigKey(ConfigPostgres))
}
