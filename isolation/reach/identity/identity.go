// Package identity finds identity-plane routes between tenants: Kubernetes RBAC that lets one
// tenant's principal read or change what exposes another tenant, become one of its identities,
// or take the whole cluster; and Azure role assignments, Key Vault access policies and federated
// identity credentials that let one tenant's managed identity act on or as another's. Each route
// is an edge of the reachability graph (graph.Builder) with its evidence: the binding or
// assignment, the role and the exact rule or action, and what it reaches.
//
// Ownership follows the network analysis: a namespace belongs to the tenant whose binding
// declares it (else its live tenant label, else the platform); in the shared namespace each
// object belongs to the tenant its label names. A tenant's principals are the ServiceAccounts of
// its namespaces (and its labelled ones in the shared namespace), the
// system:serviceaccounts:<namespace> groups of its namespaces, the groups every principal is a
// member of, and the users and groups bound in its scope. The platform's principals are declared
// (Kubernetes' own system: identities, the ServiceAccounts of platform namespaces, the
// environment's platformPrincipals), never guessed; a tenant that can become one inherits what
// it may do.
package identity

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Option tunes Analyze.
type Option func(*options)

type options struct {
	azure []azureidentity.Option
}

// WithAzure passes options to the Azure identity analysis (trusted OIDC issuers, principal ids
// known from stack outputs).
func WithAzure(opts ...azureidentity.Option) Option {
	return func(o *options) { o.azure = append(o.azure, opts...) }
}

// Result is what the analysis found beyond the graph: every cross-tenant Kubernetes grant, for
// the SubjectAccessReview probe (Questions) and for callers that want the detail.
type Result struct {
	// Grants are the permissions, held through a binding's subject that stands for at least one
	// tenant, that expose another party; inherited permissions (through a platform identity a
	// tenant can become) are edges only.
	Grants []Grant
	w      *world
}

// Grant is one exposing permission held through one binding subject.
type Grant struct {
	Subject rbac.Subject
	e       *exposure
}

// Binding, Role and Rule are what grants it.
func (g Grant) Binding() *rbac.Binding { return g.e.b }
func (g Grant) Role() *rbac.Role       { return g.e.role }
func (g Grant) Rule() rbac.SourcedRule { return *g.e.rule }

// Attributes is the permission as asked of the target (namespace and name set when the grant is
// limited to them; empty namespace for a cluster-wide grant).
func (g Grant) Attributes() rbac.Attributes { return g.e.attrs }

// To is the party exposed: a tenant, the platform, or "*" (every tenant and the platform).
func (g Grant) To() string { return g.e.to }

// Kind is the edge kind the grant yields.
func (g Grant) Kind() graph.EdgeKind { return g.e.kind() }

// Check names the exposing permission ("get secrets", "create pods/exec").
func (g Grant) Check() string { return g.e.c.id }

// Analyze adds to b every identity route of the snapshot: Kubernetes RBAC (ClusterRoles with
// aggregation resolved, Roles, both kinds of bindings, ServiceAccounts) and Azure identity
// (role assignments with their role definitions, Key Vault access policies, federated identity
// credentials on user-assigned identities). It sits beside kube.Analyze and azure.Analyze in the
// reachability analysis.
func Analyze(ctx context.Context, s *graph.Scope, snap *inventory.Snapshot, b *graph.Builder, opts ...Option) (*Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if snap == nil {
		snap = &inventory.Snapshot{}
	}
	w, err := newWorld(s, snap, s.Env.Spec.PlatformPrincipals)
	if err != nil {
		return nil, err
	}
	for _, p := range w.problems {
		b.Unresolved("%s", p)
	}
	w.noteCoverage(b)
	a := &kubeAnalysis{w: w, b: b, hits: map[*rbac.Role][]hit{}, exps: map[*rbac.Binding][]*exposure{},
		closures: map[rbac.Subject][]inherited{}, parties: map[rbac.Subject]parties{},
		parts: map[string]map[string]partGrant{}, noteRoles: map[string]bool{},
		declared: &declaredPlans{w: w, plans: map[string]*tenantplan.Identity{}}, openers: map[*rbac.Binding]string{}}
	if err := a.run(ctx); err != nil {
		return nil, fmt.Errorf("identity routes: %w", err)
	}
	if err := azureidentity.Analyze(ctx, s, snap.Azure, kubeIdentities{w}, b, o.azure...); err != nil {
		return nil, fmt.Errorf("identity routes: %w", err)
	}
	return &Result{Grants: a.grants, w: w}, nil
}

// identityTypes are the Kubernetes types the analysis reads.
var identityTypes = []string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

// noteCoverage records, for a live snapshot that did not list an identity type, that routes
// through it are not analysed (a snapshot without coverage, a hand-written list, is taken as
// it is).
func (w *world) noteCoverage(b *graph.Builder) {
	if w.snap.Coverage == nil {
		return
	}
	var missing []string
	for _, k := range identityTypes {
		gk := kindOf["serviceaccounts"]
		if k != "ServiceAccount" {
			gk = schemaKind(k)
		}
		if !w.snap.Covers(gk, "") {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		b.Unresolved("identity: the snapshot did not list %v; identity routes through them are not analysed (export with the default types)", missing)
	}
}

// kubeIdentities answers the Azure analysis' questions about the cluster's ServiceAccounts.
type kubeIdentities struct{ w *world }

func (k kubeIdentities) ServiceAccountOwner(ns, name string) string {
	p := k.w.serviceAccountParties(ns, name)
	switch {
	case len(p.tenants) == 1:
		return p.tenants[0]
	case p.platform:
		return isolation.Platform
	}
	return ""
}

func (k kubeIdentities) OpenNamespaces() map[string]string {
	out := map[string]string{}
	for name, n := range k.w.ns {
		if !n.shared {
			out[name] = n.owner
		}
	}
	return out
}

func (k kubeIdentities) ServiceAccounts() [][3]string {
	var out [][3]string
	for _, name := range k.w.nsNames {
		if n := k.w.ns[name]; n.shared {
			for _, sa := range n.sas {
				out = append(out, [3]string{sa.ns, sa.name, sa.owner})
			}
		}
	}
	return out
}
