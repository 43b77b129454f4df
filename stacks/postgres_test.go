package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPostgresConnection(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "admin.password")
	if err := os.WriteFile(pw, []byte("s3cret-canary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.password")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body          string
		wantSSL, wantDB     string
		wantErr, errMention string
	}{
		// connection.json as internal/localpostgres wrote it before it had sslmode, with its
		// extra fields: still read, loopback means no TLS.
		{name: "local server file without sslmode", body: `{"host":"127.0.0.1","port":15432,"database":"postgres","adminRole":"tenantctl_admin","passwordFile":"PW","socketDir":"/x","pid":42}`,
			wantSSL: "disable", wantDB: "postgres"},
		{name: "remote host defaults to verify-full", body: `{"host":"psql-dev.postgres.database.azure.com","port":5432,"adminRole":"a","passwordFile":"PW"}`,
			wantSSL: "verify-full", wantDB: "postgres"},
		{name: "explicit sslmode kept", body: `{"host":"localhost","port":5432,"adminRole":"a","passwordFile":"PW","sslmode":"require","database":"ops"}`,
			wantSSL: "require", wantDB: "ops"},
		{name: "not JSON", body: `host: x`, wantErr: "is not a connection file"},
		{name: "no host", body: `{"port":5432,"adminRole":"a","passwordFile":"PW"}`, wantErr: "host is empty"},
		{name: "bad port", body: `{"host":"h","port":70000,"adminRole":"a","passwordFile":"PW"}`, wantErr: "port 70000"},
		{name: "no admin role", body: `{"host":"h","port":1,"passwordFile":"PW"}`, wantErr: "adminRole is empty"},
		{name: "no password file", body: `{"host":"h","port":1,"adminRole":"a"}`, wantErr: "passwordFile is empty"},
		{name: "missing password file", body: `{"host":"h","port":1,"adminRole":"a","passwordFile":"/nonexistent/pw"}`, wantErr: "passwordFile"},
		{name: "empty password file", body: `{"host":"h","port":1,"adminRole":"a","passwordFile":"EMPTY"}`, wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "connection.json")
			body := strings.NewReplacer("\"PW\"", `"`+pw+`"`, "\"EMPTY\"", `"`+empty+`"`).Replace(tt.body)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, password, err := LoadPostgresConnection(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), FullConfigKey(ConfigPostgres)) {
					t.Fatalf("error %v, want one naming the config key and %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret-canary") {
					t.Fatal("the error carries the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if password != "s3cret-canary" || c.SSLMode != tt.wantSSL || c.Database != tt.wantDB {
				t.Errorf("got sslmode %q database %q password ok %v, want %q %q", c.SSLMode, c.Database, password == "s3cret-canary", tt.wantSSL, tt.wantDB)
			}
		})
	}
	if _, _, err := LoadPostgresConnection(""); err == nil || !strings.Contains(err.Error(), "is not set") {
		t.Errorf("empty path: %v", err)
	}
}
