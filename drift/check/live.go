package check

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// detect checks env's snapshot against desired; platform holds the platform stack's recorded
// outputs (nil when unknown), which route analysis may read (the cluster's OIDC issuer).
func (c *Checker) detect(ctx context.Context, env *isolation.Environment, desired *detect.Managed, snap *inventory.Snapshot, platform map[string]any) ([]finding.Finding, error) {
	opts := []detect.Option{detect.WithBindings(c.state.BindingsIn(env.Name())...), detect.WithEnvironmentLocation(env.Source)}
	if c.routes != nil {
		if ra := c.routes(env, c.state); ra != nil {
			if pa, ok := ra.(platformAware); ok && platform != nil {
				ra = pa.withPlatformOutputs(platform)
			}
			opts = append(opts, detect.WithRouteAnalyzer(ra))
		}
	}
	fs, err := detect.New(env, desired, opts...).Check(ctx, snap)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", env.Name(), err)
	}
	return fs, nil
}

// readSnapshot reads the live state (one LIST per type across all namespaces, the environments'
// shared and ingress namespaces kept in scope whatever their labels) or the offline snapshot.
func (c *Checker) readSnapshot(ctx context.Context, envs []*isolation.Environment) (*inventory.Snapshot, error) {
	if c.snapshot != nil {
		return c.snapshot, nil
	}
	if c.inventoryFile != "" {
		return inventory.ReadFile(c.inventoryFile)
	}
	cfg := c.restConfig
	if cfg == nil {
		var err error
		if cfg, err = kube.RESTConfig(c.kubeconfig, ""); err != nil {
			return nil, err
		}
	}
	var ns []string
	for _, env := range envs {
		ns = append(ns, tenantplan.SharedNamespace(env), tenantplan.IngressNamespace(env))
	}
	r, err := kube.NewReader(cfg, append([]kube.Option{kube.WithNamespaces(ns...)}, c.readerOpts...)...)
	if err != nil {
		return nil, err
	}
	snap, err := r.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", cfg.Host, err)
	}
	return snap, nil
}
