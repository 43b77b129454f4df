package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/internal/localpostgres"
)

// PrivatePostgres starts a PostgreSQL instance of the test's own (same checks as Postgres), stopped
// and removed at cleanup: for tests whose roles and databases would collide with what other tests
// of the package create on the shared instance (the example tenants' names).
func PrivatePostgres(t testing.TB) *localpostgres.Instance {
	t.Helper()
	bin, err := localpostgres.FindBinDir()
	if err != nil {
		Missing(t, err)
	}
	dir, err := os.MkdirTemp("", "tctl-pg-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, err := localpostgres.Start(ctx, localpostgres.Options{BinDir: bin, StateDir: dir})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("local postgres: %v", err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
		os.RemoveAll(dir)
	})
	return in
}
