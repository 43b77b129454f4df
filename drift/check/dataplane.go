package check

import (
	"context"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/pgdrift"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// CatalogReader reads the catalogs of every database of an environment's PostgreSQL server
// (pgcatalog.ReadServer).
type CatalogReader func(ctx context.Context, env *isolation.Environment) ([]*pgcatalog.Catalog, error)

// WithDataPlane adds the data layer's findings (package pgdrift): the server's catalogs, read
// with read, against every tenant's planned PostgreSQL objects. A server that cannot be read is
// an error of the run, never clean.
func WithDataPlane(read CatalogReader) Option { return func(c *Checker) { c.catalogs = read } }

// dataPlaneFindings compares each environment's server with the plans of all its tenants (the
// scope of unmanaged objects and routes is the whole environment) and keeps the findings of the
// run's tenants.
func (c *Checker) dataPlaneFindings(ctx context.Context, envs []*isolation.Environment, scope *runScope, out *Outcome) []finding.Finding {
	if c.catalogs == nil {
		return nil
	}
	var fs []finding.Finding
	for _, env := range envs {
		cats, err := c.catalogs(ctx, env)
		if err != nil {
			out.Report.Fail(env.Name(), "", "postgresql", err)
			continue
		}
		in, err := dataPlaneInput(c.state, env)
		if err != nil {
			out.Report.Fail(env.Name(), "", "postgresql", err)
			continue
		}
		in.Catalogs = cats
		for _, f := range pgdrift.Compare(in) {
			ref := report.TenantRef{Environment: env.Name(), TenantID: f.TenantID}
			if scope.selected[ref] || (f.TenantID == isolation.Platform && scope.platform(env.Name())) {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

func dataPlaneInput(state *isolation.DesiredState, env *isolation.Environment) (pgdrift.Input, error) {
	tenants, platform, err := tenantplan.PlanData(env, state.BindingsIn(env.Name()))
	if err != nil {
		return pgdrift.Input{}, err
	}
	return pgdrift.Input{Environment: env.Name(), Platform: platform, Tenants: tenants}, nil
}
