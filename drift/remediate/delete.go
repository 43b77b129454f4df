package remediate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// planDelete deletes an unmanaged object that opens a cross-tenant route, if it lies in the
// offending tenant's own scope; anything else is reported.
func (p *Planner) planDelete(ctx context.Context, g *group, routes []finding.Finding) (Action, error) {
	route := routes[0]
	others := slices.DeleteFunc(slices.Clone(g.findings), func(f finding.Finding) bool { return f.Kind == finding.KindCrossTenantRoute })
	all := append(slices.Clone(routes), others...)
	peers := peerList(routes)
	if g.resource.Provider == finding.ProviderAzure && reviewOnlyGrant(g.resource) {
		return reviewAction(g, all, route.TenantID, peers, "it is an Azure identity grant; tenantctl does not remove Azure resources"), nil
	}
	if g.resource.Provider == finding.ProviderAzure {
		a := newAction(ActionDelete, g, all)
		a.Tenant = route.TenantID
		a.Reason = fmt.Sprintf("%s opens a cross-tenant route from %s to %s: remove it (Azure removal is not supported by this tenantctl yet: remove it by hand)", g.resource.Ref(), route.TenantID, peers)
		return a, nil
	}
	gvk, ok := kubeGVK(g.resource)
	if !ok {
		return reportAction(g, all, fmt.Sprintf("%s opens a cross-tenant route but is not a Kubernetes object tenantctl can address", g.resource.Ref())), nil
	}
	managed, err := p.managed(ctx, g, route.TenantID, gvk)
	if err != nil {
		return reportAction(g, all, fmt.Sprintf("could not tell whether a stack manages %s (%v); not deleted", g.resource.Ref(), err)), nil
	}
	if managed {
		return reportAction(g, all, fmt.Sprintf("%s is managed by a stack: the route comes from the desired state or from drift the check reports; fix the desired state", g.resource.Ref())), nil
	}
	env, ok := p.envs[g.env]
	if !ok {
		return reportAction(g, all, fmt.Sprintf("environment %q is not in the desired state; not deleted", g.env)), nil
	}
	live, err := p.cluster.Get(ctx, gvk, g.resource.Namespace, g.resource.Name)
	switch {
	case apierrors.IsNotFound(err):
		return reportAction(g, all, g.resource.Ref()+" is already gone"), nil
	case err != nil:
		return Action{}, fmt.Errorf("read %s: %w", g.resource.Ref(), err)
	}
	if err := deleteScope(env, route.TenantID, live.GetNamespace(), live.GetLabels()); err != nil {
		if reviewOnlyGrant(g.resource) {
			a := reviewAction(g, all, route.TenantID, peers, err.Error())
			a.Target.UID, a.Target.ResourceVersion = string(live.GetUID()), live.GetResourceVersion()
			return a, nil
		}
		return reportAction(g, all, fmt.Sprintf("%s opens a cross-tenant route but is never deleted automatically: %v", g.resource.Ref(), err)), nil
	}
	a := newAction(ActionDelete, g, all)
	a.Tenant = route.TenantID
	a.Target.UID, a.Target.ResourceVersion = string(live.GetUID()), live.GetResourceVersion()
	a.Reason = fmt.Sprintf("unmanaged %s in %s opens a cross-tenant route to %s: delete it (tenant %s's own scope)", gvk.Kind, live.GetNamespace(), peers, route.TenantID)
	return a, nil
}

func peerList(routes []finding.Finding) string {
	var peers []string
	for _, f := range routes {
		if !slices.Contains(peers, f.PeerTenant) {
			peers = append(peers, f.PeerTenant)
		}
	}
	return strings.Join(peers, ", ")
}

// managed reports whether a stack manages the object: the check said it is unmanaged (an
// unmanaged-resource finding of the same object), or neither the tenant's nor the platform's
// stack records it.
func (p *Planner) managed(ctx context.Context, g *group, tenant string, gvk schema.GroupVersionKind) (bool, error) {
	if slices.ContainsFunc(g.findings, func(f finding.Finding) bool { return f.Kind == finding.KindUnmanagedResource }) {
		return false, nil
	}
	key := inventory.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: g.resource.Namespace, Name: g.resource.Name}
	for _, stack := range []string{tenantplan.TenantStackName(tenant, g.env), tenantplan.PlatformStackName(g.env)} {
		mrs, err := p.desired.Lookup(ctx, stack, key)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(mrs, func(m detect.ManagedResource) bool { return !m.External }) {
			return true, nil
		}
	}
	return false, nil
}

// reviewAction lists an identity grant outside the tenant's own scope for a person to remove,
// with the exact command; tenantctl never runs it.
func reviewAction(g *group, fs []finding.Finding, tenant, peers, why string) Action {
	a := newAction(ActionReview, g, fs)
	a.Tenant = tenant
	a.Command = ReviewCommand(a.Target)
	a.Reason = fmt.Sprintf("%s opens a cross-tenant route between %s and %s; tenantctl never removes it (%s): after review, a person runs: %s",
		g.resource.Ref(), tenant, peers, why, a.Command)
	return a
}
