package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/automation/purge"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// purgeRetained is the second step of `destroy --purge-data`: for every tenant whose stack the
// destroy removed, it drops what the data layer's retention rule kept (its database, its schema
// with its tables, its rows of the shared tables, its roles), and with --include-platform each
// destroyed platform's shared database. Names come from the data plans of the desired state;
// each statement is audited (tenant.purge, with its SQL) and printed as it completes. A tenant
// whose destroy failed is left alone: its stack still manages its objects.
func purgeRetained(ctx context.Context, w io.Writer, auditor *audit.Auditor, state *isolation.DesiredState, out fleet.Outcome, connFile string) error {
	type job struct {
		env, tenant string
		steps       []purge.Step
	}
	var jobs []job
	plans := map[string]map[string]*tenantplan.Postgres{}
	platforms := map[string]*tenantplan.PlatformPostgres{}
	planOf := func(env string) error {
		if _, ok := plans[env]; ok {
			return nil
		}
		e := state.Environment(env)
		plans[env] = map[string]*tenantplan.Postgres{}
		if e == nil || !tenantplan.UsesPostgres(e) {
			return nil
		}
		ts, pf, err := tenantplan.PlanData(e, state.BindingsIn(env))
		if err != nil {
			return fmt.Errorf("purge: data plan of %s: %w", env, err)
		}
		for _, t := range ts {
			plans[env][t.TenantID] = t.Data.Postgres
		}
		platforms[env] = pf
		return nil
	}
	for _, r := range out.Tenants {
		if r.Err != nil {
			continue
		}
		if err := planOf(r.Environment); err != nil {
			return err
		}
		if d := plans[r.Environment][r.TenantID]; d != nil {
			steps, err := purge.Tenant(r.TenantID, d)
			if err != nil {
				return exitcode.With(exitcode.Invalid, err)
			}
			jobs = append(jobs, job{r.Environment, r.TenantID, steps})
		}
	}
	for _, r := range out.Platform {
		if r.Err != nil {
			continue
		}
		if err := planOf(r.Environment); err != nil {
			return err
		}
		if pf := platforms[r.Environment]; pf != nil {
			steps, err := purge.Platform(pf)
			if err != nil {
				return exitcode.With(exitcode.Invalid, err)
			}
			jobs = append(jobs, job{r.Environment, "", steps})
		}
	}
	if len(jobs) == 0 {
		fmt.Fprintln(w, "purge: no retained data in the destroyed stacks' plans")
		return nil
	}
	cfg, err := postgresFromConnection(connFile)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range jobs {
		record := func(s purge.Step, stepErr error) {
			ev := audit.Event{Type: audit.TypeTenantPurge, TenantID: j.tenant, Environment: j.env, Commit: state.Commit,
				Principal: audit.LocalPrincipal(), Outcome: audit.OutcomeSucceeded, Reason: "destroy --purge-data",
				Changes: []audit.ResourceChange{{Type: "postgresql:" + string(s.Kind), Name: s.Object(), Op: audit.OpDelete}},
				Details: map[string]string{"sql": s.SQL}}
			switch {
			case stepErr != nil:
				ev.Outcome, ev.Error = audit.OutcomeFailed, stepErr.Error()
			case !s.Present:
				ev.Outcome = audit.OutcomeSkipped
			}
			if _, err := auditor.Record(ctx, ev); err != nil && !errors.Is(err, audit.ErrSinkFailed) {
				errs = append(errs, fmt.Errorf("audit purge of %s: %w", s.Object(), err))
			}
		}
		done, err := purge.Run(ctx, cfg, j.steps, func(s purge.Step) {
			record(s, nil)
			state := "purged"
			if !s.Present {
				state = "absent"
			}
			fmt.Fprintf(w, "%-7s %s\n", state, s.Object())
		})
		if err != nil {
			record(j.steps[len(done)], err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return exitcode.With(exitcode.Failed, errors.Join(errs...))
	}
	return nil
}
