package automation

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectsoft/tenantctl/automation/providerpool"
)

// An operation's provider plugins are the larger part of what a new stack costs after the CLI
// itself: each pulumi process starts them anew, and the Kubernetes provider fetches and parses
// the cluster's OpenAPI document in every Configure. Operations whose target names a
// ProviderScope run with plugins the engine keeps running between them (package providerpool,
// where the rules that keep this safe are); the rest, and every operation when the pool cannot
// be used, let the CLI start its own.

// keepable are the plugins the engine keeps running: both providers this project builds. A
// provider is only keepable when a process that served one engine answers the next as a fresh
// process would; tenantpg needed a fix for that (provider/tenantpg/reuse.go: pulumi-go-provider
// keeps configuration state across engines, and a reused process replaced its own provider).
var keepable = map[string]bool{"kubernetes": true, "tenantpg": true}

// providerLease leases the engine's plugins for an operation in scope; nil when the target has
// no scope, sharing is off, the project has no keepable plugin, or the pool is closed (the CLI
// then starts the plugins itself).
func (e *Engine) providerLease(ctx context.Context, scope string) *providerpool.Lease {
	if scope == "" || !e.shareProviders {
		return nil
	}
	e.providersMu.Lock()
	if e.providers == nil && !e.providersClosed {
		if plugins := e.keptPlugins(); len(plugins) > 0 {
			if pool, err := providerpool.New(plugins, providerpool.WithEnv(e.pluginEnv())); err == nil {
				e.providers = pool
			}
		}
	}
	pool := e.providers
	e.providersMu.Unlock()
	if pool == nil {
		return nil
	}
	l, err := pool.Lease(ctx, scope)
	if err != nil {
		return nil
	}
	return l
}

// keptPlugins are the project's keepable provider plugins.
func (e *Engine) keptPlugins() []providerpool.Plugin {
	if e.project.Plugins == nil {
		return nil
	}
	var plugins []providerpool.Plugin
	for _, p := range e.project.Plugins.Providers {
		if keepable[p.Name] {
			plugins = append(plugins, providerpool.Plugin{Name: p.Name, Path: filepath.Join(p.Path, "pulumi-resource-"+p.Name)})
		}
	}
	return plugins
}

// pluginEnv is the environment of a plugin the engine starts: what a plugin the CLI starts
// inherits from it, minus what no provider needs and should not see (the passphrase, the
// backend URL with its credentials).
func (e *Engine) pluginEnv() []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range e.env() {
		env[k] = v
	}
	// the CLI's own PULUMI_HOME, which the workspace gives it (and so its plugins)
	env["PULUMI_HOME"] = filepath.Join(e.dataDir, "pulumi-home")
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL",
		"TENANTCTL_PASSPHRASE_FILE", providerpool.EnvVar} {
		delete(env, k)
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// pool is the engine's provider pool; nil before the first shared operation.
func (e *Engine) pool() *providerpool.Pool {
	e.providersMu.Lock()
	defer e.providersMu.Unlock()
	return e.providers
}

// ProviderStats counts the provider plugins the engine started and reused (zero when none was
// shared).
func (e *Engine) ProviderStats() providerpool.Stats {
	if pool := e.pool(); pool != nil {
		return pool.Stats()
	}
	return providerpool.Stats{}
}

// StopIdleProviders stops the provider plugins no operation uses now and waits for them (their
// CPU time then counts among this process's children); later operations start new ones.
func (e *Engine) StopIdleProviders() {
	if pool := e.pool(); pool != nil {
		pool.StopIdle()
	}
}

// Close stops the provider plugins the engine keeps running. An engine is usable after Close:
// later operations let the CLI start their plugins.
func (e *Engine) Close() error {
	e.providersMu.Lock()
	e.providersClosed = true
	pool := e.providers
	e.providersMu.Unlock()
	if pool != nil {
		return pool.Close()
	}
	return nil
}
