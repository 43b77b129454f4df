// Package kube reads the Kubernetes part of an inventory.Snapshot from a live cluster: one
// paginated LIST per resource type across all namespaces (the fleet fast path: the cost grows
// with the number of types, not with the number of tenants), in parallel, kept to the tenant
// scopes. Secrets are listed through the metadata API, so their data never leaves the API server.
package kube

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ResourceType is one Kubernetes type the reader lists.
type ResourceType struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
	// MetadataOnly lists through the metadata API (PartialObjectMetadata): the server sends
	// nothing but metadata. Always true for Secrets, whatever the configuration says.
	MetadataOnly bool
	// Optional types may be missing from the cluster (an API group not served); a required type
	// that is missing fails the read.
	Optional bool
	// EveryScope keeps every object of the type, in every namespace and cluster-scoped, instead
	// of the tenant scopes only: the identity types (RBAC and ServiceAccounts), because a binding
	// anywhere in the cluster may grant a tenant's principal access to another tenant, and a
	// tenant's principal may be granted the rights of any platform account it can become.
	EveryScope bool
}

// GVK is the type's group, version and kind.
func (t ResourceType) GVK() schema.GroupVersionKind { return t.GVR.GroupVersion().WithKind(t.Kind) }

func (t ResourceType) isSecret() bool { return t.GVR.Group == "" && t.Kind == "Secret" }

func core(resource, kind string, namespaced bool) ResourceType {
	return ResourceType{GVR: schema.GroupVersionResource{Version: "v1", Resource: resource}, Kind: kind, Namespaced: namespaced}
}

func grouped(group, version, resource, kind string, namespaced bool) ResourceType {
	return ResourceType{GVR: schema.GroupVersionResource{Group: group, Version: version, Resource: resource}, Kind: kind, Namespaced: namespaced}
}

func everyScope(t ResourceType) ResourceType {
	t.EveryScope = true
	return t
}

// NamespaceType is always listed first: the scopes are derived from the namespaces' names and
// labels, and reachability needs every namespace's labels to resolve namespace selectors.
var NamespaceType = core("namespaces", "Namespace", false)

// DefaultTypes are the types a tenant stack creates, the workloads whose images are checked,
// what a tenant could add to open a path or hold data (services, ingresses, claims) and the
// identity types (ServiceAccounts, Roles, RoleBindings, ClusterRoles, ClusterRoleBindings) across
// the whole cluster. Endpoints,
// EndpointSlices, Events and Leases are not listed: Kubernetes writes them itself.
func DefaultTypes() []ResourceType {
	secrets := core("secrets", "Secret", true)
	secrets.MetadataOnly = true
	return []ResourceType{
		NamespaceType,
		grouped("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true),
		core("configmaps", "ConfigMap", true),
		secrets,
		everyScope(core("serviceaccounts", "ServiceAccount", true)),
		everyScope(grouped("rbac.authorization.k8s.io", "v1", "roles", "Role", true)),
		everyScope(grouped("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true)),
		everyScope(grouped("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false)),
		everyScope(grouped("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false)),
		core("resourcequotas", "ResourceQuota", true),
		core("limitranges", "LimitRange", true),
		core("services", "Service", true),
		core("persistentvolumeclaims", "PersistentVolumeClaim", true),
		core("pods", "Pod", true),
		grouped("apps", "v1", "deployments", "Deployment", true),
		grouped("apps", "v1", "statefulsets", "StatefulSet", true),
		grouped("apps", "v1", "daemonsets", "DaemonSet", true),
		grouped("apps", "v1", "replicasets", "ReplicaSet", true),
		grouped("batch", "v1", "jobs", "Job", true),
		grouped("batch", "v1", "cronjobs", "CronJob", true),
		grouped("networking.k8s.io", "v1", "ingresses", "Ingress", true),
		grouped("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false),
		// Address plans: which pods get which addresses, and where nodes sit. Reachability reads
		// them (isolation/reach/netpol, isolation/reach/underlay); the IPAM types are optional so
		// a cluster without Calico or Cilium reads as before.
		everyScope(core("nodes", "Node", false)),
		optional(everyScope(grouped("crd.projectcalico.org", "v1", "ippools", "IPPool", false))),
		optional(everyScope(grouped("projectcalico.org", "v3", "ippools", "IPPool", false))),
		optional(everyScope(grouped("cilium.io", "v2alpha1", "ciliumpodippools", "CiliumPodIPPool", false))),
		// A tenant's SecretProviderClass names its vault, secrets and identity; optional because a
		// cluster without the Secrets Store CSI driver does not serve the type.
		optional(grouped("secrets-store.csi.x-k8s.io", "v1", "secretproviderclasses", "SecretProviderClass", true)),
	}
}

// AddressPlanTypes are the types that say where pods get their addresses and where nodes sit:
// Nodes (spec.podCIDRs, addresses, agent pool labels), Calico IPPools in both API groups and
// Cilium's CiliumPodIPPools. They are part of DefaultTypes.
func AddressPlanTypes() []ResourceType {
	var out []ResourceType
	for _, t := range DefaultTypes() {
		if t.Kind == "Node" || t.Kind == "IPPool" || t.Kind == "CiliumPodIPPool" {
			out = append(out, t)
		}
	}
	return out
}

func optional(t ResourceType) ResourceType {
	t.Optional = true
	return t
}

// ParseTypes selects default types by resource name ("networkpolicies,configmaps"); Namespace
// is always included.
func ParseTypes(names []string) ([]ResourceType, error) {
	all := DefaultTypes()
	out := []ResourceType{NamespaceType}
	seen := map[schema.GroupVersionResource]bool{NamespaceType.GVR: true}
	for _, n := range names {
		found := false
		for _, t := range all {
			if t.GVR.Resource == n || (t.GVR.Group != "" && t.GVR.Resource+"."+t.GVR.Group == n) {
				found = true
				if !seen[t.GVR] {
					seen[t.GVR] = true
					out = append(out, t)
				}
				break
			}
		}
		if !found {
			return nil, &UnknownTypeError{Name: n}
		}
	}
	return out, nil
}

// UnknownTypeError names a resource ParseTypes does not know.
type UnknownTypeError struct{ Name string }

func (e *UnknownTypeError) Error() string {
	names := ""
	for i, t := range DefaultTypes() {
		if i > 0 {
			names += ", "
		}
		names += t.GVR.Resource
	}
	return "unknown resource type " + e.Name + " (known: " + names + ")"
}
