// Command tenantctl provisions tenants from Git-declared bindings with the Pulumi Automation API and
// checks them for drift and cross-tenant routes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// exitHooks run once the command has returned, before the process exits (os.Exit skips defers).
var (
	exitMu    sync.Mutex
	exitHooks []func() error
)

// atExit registers f to run when the command returns.
func atExit(f func() error) {
	exitMu.Lock()
	exitHooks = append(exitHooks, f)
	exitMu.Unlock()
}

func runExitHooks() {
	exitMu.Lock()
	hooks := exitHooks
	exitHooks = nil
	exitMu.Unlock()
	for _, f := range hooks {
		_ = f()
	}
}

func main() {
	// SIGINT/SIGTERM cancel the context; running engine operations see it and stop cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	runExitHooks()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenantctl:", err)
	}
	os.Exit(exitCodeOf(err))
}
