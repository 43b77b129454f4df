// Package detect finds drift in a tenant environment: managed objects whose live fields differ
// from the stacks' desired inputs (or whose fields another field manager took), managed objects
// that are gone, objects in a tenant scope that no stack manages, and workload images from
// untrusted registries or not pinned by digest. It reads an inventory.Snapshot, live or from a
// file, and the stacks' recorded state (Managed); cross-tenant routes come from a RouteAnalyzer.
// The engine-side conversion of Pulumi preview/refresh steps into findings is in engine.go.
package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
)

// RouteAnalyzer finds cross-tenant routes (NetworkPolicies, Azure networking) in a snapshot. The
// reachability package implements it; Detector only calls it and adds its findings.
type RouteAnalyzer interface {
	Routes(ctx context.Context, env *isolation.Environment, snap *inventory.Snapshot) ([]finding.Finding, error)
}

// Check names one part of the detection.
type Check string

const (
	CheckManaged   Check = "managed"   // live vs desired field by field, field conflicts, missing objects
	CheckUnmanaged Check = "unmanaged" // objects in tenant scopes no stack manages
	CheckImages    Check = "images"    // untrusted and unpinned workload images
	CheckRoutes    Check = "routes"    // cross-tenant routes (needs a RouteAnalyzer)
)

// AllChecks is the default set.
var AllChecks = []Check{CheckManaged, CheckUnmanaged, CheckImages, CheckRoutes}

// Detector checks one environment's snapshot against its stacks' desired state.
type Detector struct {
	env       *isolation.Environment
	desired   *Managed
	routes    RouteAnalyzer
	managers  []string
	checks    []Check
	locations map[string]finding.Location
}

// Option configures a Detector.
type Option func(*Detector)

// WithRouteAnalyzer adds cross-tenant route findings.
func WithRouteAnalyzer(r RouteAnalyzer) Option { return func(d *Detector) { d.routes = r } }

// WithFieldManagers adds field manager name prefixes that count as the stacks' own, besides
// pulumi-kubernetes (a provider configured with another fieldManager).
func WithFieldManagers(prefixes ...string) Option {
	return func(d *Detector) { d.managers = append(d.managers, prefixes...) }
}

// WithChecks limits the detection to some checks.
func WithChecks(checks ...Check) Option { return func(d *Detector) { d.checks = checks } }

// WithBindings lets findings point at the binding file (and line) of their tenant.
func WithBindings(bindings ...*isolation.RuntimeTenantBinding) Option {
	return func(d *Detector) {
		for _, b := range bindings {
			d.locations[b.Spec.TenantID] = finding.Location(b.Source)
		}
	}
}

// WithEnvironmentLocation lets platform findings point at the environment's file.
func WithEnvironmentLocation(src isolation.Source) Option {
	return func(d *Detector) { d.locations[isolation.Platform] = finding.Location(src) }
}

// New builds a Detector for env. desired may be empty (NewManaged()) but not nil when the
// managed or unmanaged checks run.
func New(env *isolation.Environment, desired *Managed, opts ...Option) *Detector {
	d := &Detector{env: env, desired: desired, managers: []string{PulumiManagerPrefix}, checks: AllChecks,
		locations: map[string]finding.Location{}}
	if env != nil {
		d.locations[isolation.Platform] = finding.Location(env.Source)
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Check runs the configured checks on snap and returns normalized findings sorted by tenant,
// kind, resource and field. A route analyzer that fails fails the check: a run that could not
// look for routes must not pass for clean.
func (d *Detector) Check(ctx context.Context, snap *inventory.Snapshot) ([]finding.Finding, error) {
	if d.env == nil {
		return nil, errors.New("drift check: no environment")
	}
	if snap == nil {
		return nil, errors.New("drift check: no inventory snapshot")
	}
	sc := newScope(d.env, snap)
	lv := indexLive(snap)
	var out []finding.Finding
	for _, c := range d.checks {
		switch c {
		case CheckManaged, CheckUnmanaged:
			if d.desired == nil {
				return nil, fmt.Errorf("drift check %s: no desired state", c)
			}
			if c == CheckManaged {
				fs, err := d.managedDrift(lv)
				if err != nil {
					return nil, err
				}
				out = append(out, fs...)
			} else {
				out = append(out, d.unmanaged(lv, sc)...)
			}
		case CheckImages:
			out = append(out, d.images(lv, sc)...)
		case CheckRoutes:
			if d.routes == nil {
				continue
			}
			fs, err := d.routes.Routes(ctx, d.env, snap)
			if err != nil {
				return nil, fmt.Errorf("drift check routes: %w", err)
			}
			out = append(out, fs...)
		default:
			return nil, fmt.Errorf("drift check: unknown check %q", c)
		}
	}
	out = foldGrants(out)
	for i := range out {
		if out[i].Environment == "" {
			out[i].Environment = d.env.Name()
		}
		if out[i].Location == (finding.Location{}) {
			out[i].Location = d.locations[out[i].TenantID]
		}
		out[i] = out[i].Normalize()
	}
	SortFindings(out)
	return out, nil
}

// foldGrants reports an RBAC object that opens a cross-tenant route once, as the route: its
// unmanaged-resource finding is dropped, and the route's evidence says no stack manages it. An
// unmanaged binding granting another tenant's principal is the route, not a low-severity
// leftover beside it; remediation deletes it as the route (in the tenant's own scope).
func foldGrants(fs []finding.Finding) []finding.Finding {
	grants := map[finding.Resource]bool{}
	for _, f := range fs {
		if f.Kind == finding.KindCrossTenantRoute && f.Resource.Provider == finding.ProviderKubernetes && strings.HasPrefix(f.Resource.Type, rbacGroup+"/") {
			grants[resourceKey(f.Resource)] = true
		}
	}
	if len(grants) == 0 {
		return fs
	}
	unmanaged := map[finding.Resource]bool{}
	out := fs[:0:0]
	for _, f := range fs {
		if f.Kind == finding.KindUnmanagedResource {
			if grants[resourceKey(f.Resource)] {
				unmanaged[resourceKey(f.Resource)] = true
				continue
			}
		}
		out = append(out, f)
	}
	for i, f := range out {
		if f.Kind == finding.KindCrossTenantRoute && unmanaged[resourceKey(f.Resource)] {
			out[i].Evidence = append(slices.Clone(f.Evidence), "unmanaged: no stack manages "+f.Resource.Ref())
		}
	}
	return out
}

const rbacGroup = "rbac.authorization.k8s.io"

// resourceKey is a resource without what a detector may or may not fill in (id, urn).
func resourceKey(r finding.Resource) finding.Resource {
	return finding.Resource{Provider: r.Provider, Type: r.Type, Namespace: r.Namespace, Name: r.Name}
}

// SortFindings orders findings by tenant, kind, resource and field, so output is stable.
func SortFindings(fs []finding.Finding) {
	slices.SortStableFunc(fs, func(a, b finding.Finding) int {
		return cmp.Or(strings.Compare(a.TenantID, b.TenantID), strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(a.Resource.Type, b.Resource.Type), strings.Compare(a.Resource.Namespace, b.Resource.Namespace),
			strings.Compare(a.Resource.Name, b.Resource.Name), strings.Compare(a.Field, b.Field))
	})
}

// live is a snapshot's Kubernetes objects indexed by key and by UID, built once per check for the
// checks that follow owner references and look objects up.
type live struct {
	snap  *inventory.Snapshot
	byKey map[inventory.Key]*unstructured.Unstructured
	byUID map[string]*unstructured.Unstructured
}

func indexLive(snap *inventory.Snapshot) *live {
	lv := &live{snap: snap, byKey: snap.Index(), byUID: make(map[string]*unstructured.Unstructured, len(snap.Kubernetes))}
	for i := range snap.Kubernetes {
		if uid := string(snap.Kubernetes[i].GetUID()); uid != "" {
			lv.byUID[uid] = &snap.Kubernetes[i]
		}
	}
	return lv
}

// inTenantScopes yields every object in a tenant scope (isolation.Platform's included) with the
// tenant it belongs to.
func (lv *live) inTenantScopes(sc *scope) iter.Seq2[*unstructured.Unstructured, string] {
	return func(yield func(*unstructured.Unstructured, string) bool) {
		for i := range lv.snap.Kubernetes {
			u := &lv.snap.Kubernetes[i]
			if tenant, ok := sc.tenantOf(u); ok && !yield(u, tenant) {
				return
			}
		}
	}
}
