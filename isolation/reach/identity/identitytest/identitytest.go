// Package identitytest builds environments, bindings and the Kubernetes identity objects of a
// cluster (what the tenant programs create, Kubernetes' built-in roles and bootstrap bindings)
// for the identity analysis' tests and benchmark, so each test states only what it adds.
package identitytest

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Namespaces of the test environment.
const (
	SharedNamespace  = "shared-tenants"
	IngressNamespace = "platform-ingress"
)

// Env is an environment "test" on the kubernetes target.
func Env() *isolation.Environment {
	return &isolation.Environment{
		APIVersion: isolation.APIVersion, Kind: isolation.KindEnvironment,
		Metadata: isolation.ObjectMeta{Name: "test"},
		Spec: isolation.EnvironmentSpec{
			Target:               isolation.TargetKubernetes,
			AddressSpace:         []string{"10.16.0.0/12"},
			PlatformAddressSpace: []string{"10.16.0.0/16"},
			Hub:                  isolation.HubSpec{VNetName: "vnet-hub", AddressSpace: []string{"10.16.0.0/22"}},
			SharedCluster:        isolation.ClusterSpec{Name: "aks-shared", IngressNamespace: IngressNamespace, SharedNamespace: SharedNamespace},
			SharedVault:          isolation.VaultSpec{Name: "kv-shared"},
			SharedDatabase:       isolation.DatabaseSpec{Server: "psql-shared"},
		},
	}
}

// Binding declares tenant id with tier in environment "test".
func Binding(id string, tier isolation.Tier) *isolation.RuntimeTenantBinding {
	return &isolation.RuntimeTenantBinding{
		APIVersion: isolation.APIVersion, Kind: isolation.KindBinding,
		Metadata: isolation.ObjectMeta{Name: id + "-test"},
		Spec:     isolation.BindingSpec{TenantID: id, Environment: "test", Tier: tier},
		Source:   isolation.Source{File: "tenants/" + id + ".yaml", Line: 1},
	}
}

// Object builds an object of any kind; fields are set at the top level.
func Object(apiVersion, kind, ns, name string, labels map[string]string, fields map[string]any) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	u.SetName(name)
	if ns != "" {
		u.SetNamespace(ns)
	}
	if len(labels) > 0 {
		u.SetLabels(labels)
	}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

// Tenant is the tenant label.
func Tenant(id string) map[string]string { return map[string]string{tenantplan.LabelTenant: id} }

// Namespace is a namespace with labels.
func Namespace(name string, labels map[string]string) unstructured.Unstructured {
	return Object("v1", "Namespace", "", name, labels, nil)
}

// ServiceAccount is a ServiceAccount with labels.
func ServiceAccount(ns, name string, labels map[string]string) unstructured.Unstructured {
	return Object("v1", "ServiceAccount", ns, name, labels, nil)
}

// ConfigMap is a ConfigMap with labels.
func ConfigMap(ns, name string, labels map[string]string) unstructured.Unstructured {
	return Object("v1", "ConfigMap", ns, name, labels, map[string]any{"data": map[string]any{"k": "v"}})
}

// Secret is a Secret (metadata only, as snapshots hold them) with labels.
func Secret(ns, name string, labels map[string]string) unstructured.Unstructured {
	return Object("v1", "Secret", ns, name, labels, map[string]any{"type": "Opaque"})
}

// TokenSecret is a service-account-token Secret of ServiceAccount sa.
func TokenSecret(ns, name, sa string) unstructured.Unstructured {
	u := Object("v1", "Secret", ns, name, nil, map[string]any{"type": "kubernetes.io/service-account-token"})
	u.SetAnnotations(map[string]string{"kubernetes.io/service-account.name": sa})
	return u
}

// Pod is a pod running as ServiceAccount sa.
func Pod(ns, name, sa string, labels map[string]string) unstructured.Unstructured {
	return Object("v1", "Pod", ns, name, labels, map[string]any{"spec": map[string]any{"serviceAccountName": sa,
		"containers": []any{map[string]any{"name": "app", "image": "registry.example/app@sha256:0"}}}})
}

// Rule is a PolicyRule: verbs, API groups and resources (comma-separated), then resourceNames.
func Rule(verbs, groups, resources []string, names ...string) map[string]any {
	r := map[string]any{"verbs": anys(verbs), "apiGroups": anys(groups), "resources": anys(resources)}
	if len(names) > 0 {
		r["resourceNames"] = anys(names)
	}
	return r
}

// NonResourceRule is a PolicyRule on non-resource URLs.
func NonResourceRule(verbs, urls []string) map[string]any {
	return map[string]any{"verbs": anys(verbs), "nonResourceURLs": anys(urls)}
}

// S splits its arguments into a list ("get", "list").
func S(v ...string) []string { return v }

func anys(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func rules(rs []map[string]any) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// Role is a namespaced Role.
func Role(ns, name string, labels map[string]string, rs ...map[string]any) unstructured.Unstructured {
	return Object("rbac.authorization.k8s.io/v1", "Role", ns, name, labels, map[string]any{"rules": rules(rs)})
}

// ClusterRole is a ClusterRole.
func ClusterRole(name string, labels map[string]string, rs ...map[string]any) unstructured.Unstructured {
	return Object("rbac.authorization.k8s.io/v1", "ClusterRole", "", name, labels, map[string]any{"rules": rules(rs)})
}

// AggregatedClusterRole aggregates the ClusterRoles carrying every label of one of selectors
// (matchLabels); its written rules are empty, as before the controller ran.
func AggregatedClusterRole(name string, labels map[string]string, selectors ...map[string]string) unstructured.Unstructured {
	sels := make([]any, len(selectors))
	for i, s := range selectors {
		ml := map[string]any{}
		for k, v := range s {
			ml[k] = v
		}
		sels[i] = map[string]any{"matchLabels": ml}
	}
	return Object("rbac.authorization.k8s.io/v1", "ClusterRole", "", name, labels, map[string]any{
		"aggregationRule": map[string]any{"clusterRoleSelectors": sels}})
}

// Subject kinds.
func SA(ns, name string) map[string]any {
	return map[string]any{"kind": "ServiceAccount", "namespace": ns, "name": name}
}
func User(name string) map[string]any {
	return map[string]any{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}
}
func Group(name string) map[string]any {
	return map[string]any{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}
}

func binding(kind, ns, name, roleKind, role string, labels map[string]string, subjects []map[string]any) unstructured.Unstructured {
	subs := make([]any, len(subjects))
	for i, s := range subjects {
		subs[i] = s
	}
	return Object("rbac.authorization.k8s.io/v1", kind, ns, name, labels, map[string]any{
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": roleKind, "name": role},
		"subjects": subs,
	})
}

// RoleBinding binds a Role ("Role/name") or ClusterRole ("ClusterRole/name" or "name") in ns.
func RoleBinding(ns, name, role string, labels map[string]string, subjects ...map[string]any) unstructured.Unstructured {
	kind, r := "ClusterRole", role
	if len(role) > 5 && role[:5] == "Role/" {
		kind, r = "Role", role[5:]
	}
	if len(role) > 12 && role[:12] == "ClusterRole/" {
		r = role[12:]
	}
	return binding("RoleBinding", ns, name, kind, r, labels, subjects)
}

// ClusterRoleBinding binds a ClusterRole cluster-wide.
func ClusterRoleBinding(name, role string, labels map[string]string, subjects ...map[string]any) unstructured.Unstructured {
	return binding("ClusterRoleBinding", "", name, "ClusterRole", role, labels, subjects)
}

var (
	readVerbs  = S("get", "list", "watch")
	writeVerbs = S("get", "list", "watch", "create", "update", "patch", "delete")
)

// TenantObjects are what stacks/kubernetes creates for one tenant: its namespace (pool and silo)
// or its share of the shared namespace, its ServiceAccount t-<id>, the Role limiting it to its own
// objects and the RoleBinding; a shared tenant's secret-references ConfigMap and one Secret.
func TenantObjects(b *isolation.RuntimeTenantBinding) []unstructured.Unstructured {
	id := b.Spec.TenantID
	name := tenantplan.TenantObjectName(id)
	lbl := Tenant(id)
	if b.Spec.Tier == isolation.TierShared {
		ns := SharedNamespace
		secret := tenantplan.SharedSecretObjectName(id, "db")
		return []unstructured.Unstructured{
			ServiceAccount(ns, name, lbl),
			Role(ns, name, lbl,
				Rule(S("get"), S(""), S("configmaps"), tenantplan.TenantSecretRefsName(id)),
				Rule(S("get"), S(""), S("secrets"), secret)),
			RoleBinding(ns, name, "Role/"+name, lbl, SA(ns, name)),
			ConfigMap(ns, tenantplan.TenantSecretRefsName(id), lbl),
			Secret(ns, secret, lbl),
		}
	}
	ns := tenantplan.TenantNamespace(id)
	return []unstructured.Unstructured{
		Namespace(ns, lbl),
		ServiceAccount(ns, "default", nil),
		ServiceAccount(ns, name, lbl),
		Role(ns, name, lbl,
			Rule(writeVerbs, S(""), S("pods", "pods/log", "services", "configmaps", "persistentvolumeclaims")),
			Rule(readVerbs, S(""), S("events")),
			Rule(writeVerbs, S("apps"), S("deployments", "statefulsets", "replicasets")),
			Rule(writeVerbs, S("batch"), S("jobs", "cronjobs"))),
		RoleBinding(ns, name, "Role/"+name, lbl, SA(ns, name)),
		ConfigMap(ns, "app-config", lbl),
		Secret(ns, "db", lbl),
	}
}

// aggregate labels of the built-in roles.
const (
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// Cluster is what every cluster holds: the platform namespaces, Kubernetes' built-in roles
// (cluster-admin; admin, edit and view aggregated from their system:aggregate-to-* parts, with
// the parts' rules as Kubernetes v1.37 bootstraps them, abridged to what exposes a tenant) and
// bootstrap bindings (system:basic-user for every authenticated user, a controller's account in
// kube-system).
func Cluster() []unstructured.Unstructured {
	return []unstructured.Unstructured{
		Namespace("kube-system", nil),
		Namespace("default", nil),
		Namespace(SharedNamespace, map[string]string{tenantplan.LabelOwner: "platform"}),
		Namespace(IngressNamespace, map[string]string{tenantplan.LabelOwner: "platform"}),
		ServiceAccount("kube-system", "clusterrole-aggregation-controller", nil),
		ServiceAccount("kube-system", "default", nil),
		ServiceAccount(IngressNamespace, "ingress-controller", nil),
		ClusterRole("cluster-admin", nil, Rule(S("*"), S("*"), S("*")), NonResourceRule(S("*"), S("*"))),
		AggregatedClusterRole("admin", nil, map[string]string{AggregateToAdmin: "true"}),
		AggregatedClusterRole("edit", map[string]string{AggregateToAdmin: "true"}, map[string]string{AggregateToEdit: "true"}),
		AggregatedClusterRole("view", map[string]string{AggregateToEdit: "true"}, map[string]string{AggregateToView: "true"}),
		ClusterRole("system:aggregate-to-admin", map[string]string{AggregateToAdmin: "true"},
			Rule(S("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"), S("rbac.authorization.k8s.io"), S("rolebindings", "roles"))),
		ClusterRole("system:aggregate-to-edit", map[string]string{AggregateToEdit: "true"},
			Rule(S("create", "delete", "deletecollection", "patch", "update"), S(""), S("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy")),
			Rule(S("create", "delete", "deletecollection", "patch", "update"), S(""), S("configmaps", "secrets", "services/proxy", "persistentvolumeclaims")),
			Rule(S("get", "list", "watch"), S(""), S("pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy")),
			Rule(S("impersonate"), S(""), S("serviceaccounts")),
			Rule(S("create", "delete", "deletecollection", "patch", "update"), S("apps"), S("deployments", "statefulsets", "replicasets", "daemonsets")),
			Rule(S("create", "delete", "deletecollection", "patch", "update"), S("batch"), S("jobs", "cronjobs")),
			Rule(S("create"), S(""), S("serviceaccounts/token"))),
		ClusterRole("system:aggregate-to-view", map[string]string{AggregateToView: "true"},
			Rule(readVerbs, S(""), S("configmaps", "pods", "pods/log", "services", "serviceaccounts")),
			Rule(readVerbs, S("apps"), S("deployments", "statefulsets", "replicasets", "daemonsets"))),
		ClusterRole("system:basic-user", nil, Rule(S("create"), S("authorization.k8s.io"), S("selfsubjectaccessreviews", "selfsubjectrulesreviews"))),
		ClusterRoleBinding("system:basic-user", "system:basic-user", nil, Group("system:authenticated")),
		ClusterRole("system:controller:clusterrole-aggregation-controller", nil, Rule(S("escalate", "get", "list", "patch", "update", "watch"), S("rbac.authorization.k8s.io"), S("clusterroles"))),
		ClusterRoleBinding("system:controller:clusterrole-aggregation-controller", "system:controller:clusterrole-aggregation-controller", nil,
			SA("kube-system", "clusterrole-aggregation-controller")),
	}
}

// Fleet is Cluster plus every binding's tenant objects.
func Fleet(bindings ...*isolation.RuntimeTenantBinding) []unstructured.Unstructured {
	objs := Cluster()
	for _, b := range bindings {
		objs = append(objs, TenantObjects(b)...)
	}
	return objs
}

// Name formats a tenant id for generated fleets: "t00042".
func Name(i int) string { return fmt.Sprintf("t%05d", i) }
