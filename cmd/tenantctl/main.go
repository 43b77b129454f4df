// Command tenantctl provisions tenants from Git-declared bindings with the Pulumi Automation API and
// checks them for drift and cross-tenant routes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGINT/SIGTERM cancel the context; running engine operations see it and stop cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenantctl:", err)
	}
	os.Exit(exitCodeOf(err))
}
