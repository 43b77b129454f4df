package azurite

import (
	"context"
	"os"
	"testing"
	"time"
)

// ForTest starts an emulator for one test and stops it at cleanup. Like internal/testenv, a missing
// Azurite fails the test; only a developer outside CI may opt out with
// TENANTCTL_SKIP_INTEGRATION=1.
func ForTest(t testing.TB) *Server {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("TENANTCTL_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true" {
			t.Skipf("integration test skipped by TENANTCTL_SKIP_INTEGRATION=1: %v", err)
		}
		t.Fatalf("integration prerequisites: %v (outside CI set TENANTCTL_SKIP_INTEGRATION=1 to opt out)", err)
	}
	loc, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Location: loc})
	if err != nil {
		os.RemoveAll(loc)
		t.Fatalf("start azurite: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(loc)
	})
	return s
}
