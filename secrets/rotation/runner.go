package rotation

import (
	"context"
	"fmt"
	"time"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/isolation"
)

// FleetRunner brings stacks up with the engine: the tenant stack only, reading its platform
// stack's recorded outputs (a rotation never changes the platform).
type FleetRunner struct {
	Engine     *automation.Engine
	Kubeconfig string
	// Postgres is the data layer's connection file (fleet.WithPostgres); empty for none.
	Postgres string
}

// Up implements Runner.
func (f FleetRunner) Up(ctx context.Context, st *isolation.DesiredState, env, tenant string) error {
	out, err := fleet.New(f.Engine, st, f.Kubeconfig, fleet.WithPostgres(f.Postgres)).Run(ctx, automation.OpUp, fleet.Selection{Tenants: []string{tenant}, Env: env, TenantsOnly: true})
	if err != nil {
		return err
	}
	for _, r := range out.All() {
		if r.Err != nil {
			return fmt.Errorf("%s: %s", r.Stack, r.Error)
		}
	}
	return nil
}

// Watch rotates sel now and then every interval until ctx is done, handing each run's result to
// report. A failed run does not stop the loop: the next one resumes it.
func (r *Rotator) Watch(ctx context.Context, sel Selection, interval time.Duration, report func(*Result, error)) error {
	if interval <= 0 {
		return fmt.Errorf("watch: interval %s must be positive", interval)
	}
	for {
		res, err := r.Rotate(ctx, sel)
		report(res, err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
