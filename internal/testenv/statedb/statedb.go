// Package statedb gives a test a fresh database for postgres:// state on the machine's shared
// PostgreSQL server. It is apart from testenv so that modules whose tests use testenv (provider/)
// do not need the lib/pq driver.
package statedb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver Pulumi's postgres:// backend uses too

	"github.com/connectsoft/tenantctl/internal/testenv"
)

// PostgresAdminURL is the machine's shared PostgreSQL server the postgres:// state backend is
// tested against: TENANTCTL_TEST_POSTGRES_URL, else the trust-auth server on 127.0.0.1:5432.
func PostgresAdminURL() string {
	if u := os.Getenv("TENANTCTL_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// New creates a fresh database named prefix_<random> on that server, for one test's
// postgres:// state, and drops it at cleanup. It returns the database's URL (the admin URL with
// the database swapped in) and an open handle to it. An unreachable server is a missing
// prerequisite: a failure in CI, a skip with TENANTCTL_SKIP_INTEGRATION=1.
func New(t testing.TB, prefix string) (string, *sql.DB) {
	t.Helper()
	admin, err := url.Parse(PostgresAdminURL())
	if err != nil {
		t.Fatalf("TENANTCTL_TEST_POSTGRES_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDB, err := sql.Open("postgres", admin.String())
	if err == nil {
		err = adminDB.PingContext(ctx)
	}
	if err != nil {
		testenv.Missing(t, fmt.Errorf("postgres at %s: %w", admin.Host, err))
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b) // generated: safe to splice into DDL
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		adminDB.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	dbURL := *admin
	dbURL.Path = "/" + name
	db, err := sql.Open("postgres", dbURL.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		defer adminDB.Close()
		if _, err := adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return dbURL.String(), db
}
