package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/drift/pgdrift"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// statement is one SQL statement of the data-plane drift, run as the server's admin in database.
type statement struct{ database, sql string }

// dataDrift is the data-plane drift the benchmark puts into the first two tenants, out of band, as
// the data layer's end-to-end test does: (5) a managed grant changed — tenant 1's login role also
// gets CREATE on its own schema, which the plan leaves to the owner role (managed drift of the
// grant the tenant's stack holds), (6) tenant 1's schema granted to tenant 2's login role (a
// data-plane cross-tenant route), (7) an unmanaged role in tenant 2's scope. Every statement can
// run again on a kept fleet.
//
// (5) adds a privilege rather than revoking the planned one: revoking a grant's only privilege
// makes the tenantpg provider's refresh of that grant fail ("Missing required field
// 'privileges'"), so (a) and (b) could not check the stack at all.
func dataDrift(id1 string, p1 *tenantplan.Postgres, id2 string, p2 *tenantplan.Postgres) ([]statement, error) {
	if p1 == nil || p2 == nil {
		return nil, fmt.Errorf("the plan gives %s or %s no PostgreSQL data", id1, id2)
	}
	ident := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	var managed *tenantplan.PGGrant
	for i, g := range p1.Grants {
		if g.ObjectType == "schema" && g.Schema == p1.Schema && g.Role == p1.LoginRole {
			managed = &p1.Grants[i]
			break
		}
	}
	if managed == nil {
		return nil, fmt.Errorf("the plan of %s holds no grant of schema %s to its login role", id1, p1.Schema)
	}
	if slices.Contains(managed.Privileges, "CREATE") {
		return nil, fmt.Errorf("the plan of %s already grants CREATE on schema %s: nothing to add", id1, p1.Schema)
	}
	extra := tenantplan.PGTenantPrefix(id2) + "_extra"
	return []statement{
		{p1.Database, fmt.Sprintf("GRANT CREATE ON SCHEMA %s TO %s", ident(p1.Schema), ident(p1.LoginRole))},
		{p1.Database, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", ident(p1.Schema), ident(p2.LoginRole))},
		{"postgres", fmt.Sprintf("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s NOLOGIN; END IF; END$$",
			strings.ReplaceAll(extra, "'", "''"), ident(extra))},
	}, nil
}

// injectData runs dataDrift on the fleet's server.
func injectData(ctx context.Context, w work, svc services) error {
	if svc.pg == nil {
		return nil
	}
	state, err := isolation.Load(ctx, w.desired())
	if err != nil {
		return err
	}
	env := state.Environment("dev")
	tenants, _, err := tenantplan.PlanData(env, state.BindingsIn("dev"))
	if err != nil {
		return err
	}
	plan := func(id string) *tenantplan.Postgres {
		for _, t := range tenants {
			if t.TenantID == id {
				return t.Data.Postgres
			}
		}
		return nil
	}
	id1, id2 := benchkit.TenantID(1), benchkit.TenantID(2)
	stmts, err := dataDrift(id1, plan(id1), id2, plan(id2))
	if err != nil {
		return err
	}
	for _, s := range stmts {
		conn, err := svc.pg.Connect(ctx, s.database)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", s.database, err)
		}
		_, err = conn.Exec(ctx, s.sql)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("%s: %w", s.sql, err)
		}
	}
	return nil
}

// catalogPasses is how often (d) runs; the table shows the median, the notes every run.
const catalogPasses = 3

// runCatalogPass is (d): the data plane's part of a drift check, run in this process with the
// functions the check runs — one catalog read per database of the server, the plan of every
// tenant's data, the comparison — and timed alone, which the CLI does not offer.
func runCatalogPass(ctx context.Context, r *modeResult, w work, svc services) error {
	if svc.pg == nil {
		return fmt.Errorf("(d) needs the data layer's server")
	}
	cfg, err := svc.pg.ConnConfig("postgres")
	if err != nil {
		return err
	}
	state, err := isolation.Load(ctx, w.desired())
	if err != nil {
		return err
	}
	env := state.Environment("dev")
	var fps []string
	kinds := map[string]int{}
	flagged := map[string]bool{}
	cpu0 := benchkit.CPUTime()
	for range catalogPasses {
		start := time.Now()
		cats, err := pgcatalog.ReadServer(ctx, cfg)
		if err != nil {
			return err
		}
		tenants, platform, err := tenantplan.PlanData(env, state.BindingsIn("dev"))
		if err != nil {
			return err
		}
		found := pgdrift.Compare(pgdrift.Input{Environment: env.Name(), Tenants: tenants, Platform: platform, Catalogs: cats})
		r.Runs = append(r.Runs, time.Since(start))
		fps, kinds, flagged = nil, map[string]int{}, map[string]bool{}
		for _, f := range found {
			fps = append(fps, f.TenantID+" "+f.Fingerprint())
			kinds[string(f.Kind)]++
			flagged[f.TenantID] = true
		}
	}
	r.CPU = (benchkit.CPUTime() - cpu0) / catalogPasses
	r.Wall = median(r.Runs)
	r.FleetWall = r.Wall
	slices.Sort(fps)
	r.Fingerprints, r.DataFingerprints, r.Kinds, r.DataKinds = fps, fps, kinds, kinds
	for t := range flagged {
		r.Flagged = append(r.Flagged, t)
	}
	slices.Sort(r.Flagged)
	return nil
}

// median is the middle duration (the lower middle for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
