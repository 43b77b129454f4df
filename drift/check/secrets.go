package check

import (
	"context"
	"errors"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
)

// WithSecretVersions adds the stale-secret-version findings: every checked binding's secret
// references are compared with their Key Vault versions, read with r (version properties only),
// and a pin that is disabled, expired, missing or superseded for longer than grace is a finding.
// A vault that cannot be read is an error of the tenant's check, never clean.
func WithSecretVersions(r keyvault.Reader, grace time.Duration) Option {
	return func(c *Checker) { c.secretReader, c.secretGrace = r, grace }
}

// secretVersionFindings judges the pins of the run's bindings in envs.
func (c *Checker) secretVersionFindings(ctx context.Context, envs []*isolation.Environment, scope *runScope, out *Outcome) []finding.Finding {
	if c.secretReader == nil {
		return nil
	}
	var fs []finding.Finding
	for _, env := range envs {
		refs, _ := secretversions.Evaluate(ctx, c.state, scope.bindings(c.state, env.Name()), c.secretReader, c.now(), c.secretGrace)
		failed := map[string]bool{}
		for _, r := range refs {
			if r.State == secretversions.StateError && !failed[r.TenantID] {
				failed[r.TenantID] = true
				out.Report.Fail(env.Name(), r.TenantID, "keyvault", errors.New(r.Error))
			}
		}
		fs = append(fs, secretversions.Findings(refs)...)
	}
	return fs
}
