package identity

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// namespace is a namespace with its owner (as the network analysis decides it: the binding that
// declares it, else its live tenant label, else the platform) and its ServiceAccounts.
type namespace struct {
	name string
	// owner is the tenant or platform; "" for the shared namespace, whose objects belong to the
	// tenant their label names.
	owner  string
	how    string
	shared bool
	sas    []*serviceAccount
	// platformSA: a declared platform ServiceAccount lives here, so a tenant running pods here
	// may become it.
	platformSA bool
}

// serviceAccount is one ServiceAccount and the party its tokens belong to.
type serviceAccount struct {
	ns, name string
	owner    string
	how      string
}

func (s *serviceAccount) subject() rbac.Subject {
	return rbac.Subject{Kind: rbac.KindServiceAccount, Namespace: s.ns, Name: s.name}
}

// object is an object a resourceNames rule may name, with what the analysis needs of it.
type object struct {
	owner string
	// sa is the ServiceAccount a pod runs as, or whose token a service-account-token Secret holds.
	sa string
}

type objectKey struct {
	resource, ns, name string
}

// resources maps the kinds the analysis looks up by name to their resource (plural) name.
var resources = map[schema.GroupKind]string{
	{Kind: "Secret"}: "secrets", {Kind: "ConfigMap"}: "configmaps", {Kind: "Pod"}: "pods",
	{Kind: "ServiceAccount"}: "serviceaccounts", {Kind: "Service"}: "services",
	{Kind: "ReplicationController"}:     "replicationcontrollers",
	{Group: "apps", Kind: "Deployment"}: "deployments", {Group: "apps", Kind: "StatefulSet"}: "statefulsets",
	{Group: "apps", Kind: "DaemonSet"}: "daemonsets", {Group: "apps", Kind: "ReplicaSet"}: "replicasets",
	{Group: "batch", Kind: "Job"}: "jobs", {Group: "batch", Kind: "CronJob"}: "cronjobs",
	{Group: rbac.Group, Kind: "Role"}: "roles", {Group: rbac.Group, Kind: "RoleBinding"}: "rolebindings",
	{Group: rbac.Group, Kind: "ClusterRoleBinding"}:     "clusterrolebindings",
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: "networkpolicies", {Kind: "Namespace"}: "namespaces",
}

// kindOf reverses resources.
var kindOf = func() map[string]schema.GroupKind {
	m := map[string]schema.GroupKind{}
	for gk, r := range resources {
		m[r] = gk
	}
	return m
}()

// world is what the analysis knows of the cluster: namespaces and their owners, ServiceAccounts,
// the objects resourceNames rules can name, the RBAC policy and the principals the platform
// declares.
type world struct {
	scope  *graph.Scope
	snap   *inventory.Snapshot
	policy *rbac.Policy
	ns     map[string]*namespace
	// nsNames lists the namespaces of the snapshot, sorted (what a ClusterRoleBinding reaches).
	nsNames []string
	objects map[objectKey]object
	// byName lists, per resource and name, the namespaces holding such an object (for a
	// ClusterRoleBinding's resourceNames rule); built on first use.
	byName map[[2]string][]string
	// tokens lists per namespace the ServiceAccounts whose token a Secret holds.
	tokens   map[string][]string
	sas      map[rbac.Subject]*serviceAccount
	platform platformPrincipals
	// tenants are every tenant: declared or seen in live objects; sorted.
	tenants []string
	// sharedOwners are the parties of the shared namespace: its tenants and the platform.
	sharedOwners []string
	// boundIn maps users and groups to the tenants in whose scope a binding names them.
	boundIn  map[rbac.Subject][]string
	problems []string
}

func newWorld(s *graph.Scope, snap *inventory.Snapshot, declared []isolation.PlatformPrincipal) (*world, error) {
	w := &world{scope: s, snap: snap, ns: map[string]*namespace{}, objects: map[objectKey]object{},
		sas: map[rbac.Subject]*serviceAccount{}, boundIn: map[rbac.Subject][]string{}, tokens: map[string][]string{}}
	w.platform = newPlatformPrincipals(declared)
	policy, err := rbac.Parse(snap.Kubernetes)
	if err != nil {
		return nil, fmt.Errorf("RBAC objects: %w", err)
	}
	w.policy = policy
	tenants := map[string]bool{}
	for _, id := range s.TenantIDs() {
		tenants[id] = true
	}
	shared := map[string]bool{isolation.Platform: true}
	for _, id := range s.TenantIDs() {
		if s.Tenant(id).Namespace == "" {
			shared[id] = true
		}
	}
	objs := snap.Kubernetes
	for i := range objs {
		if u := &objs[i]; u.GetKind() == "Namespace" && u.GroupVersionKind().Group == "" {
			n := w.namespace(u.GetName(), metaValue(u, "labels", tenantplan.LabelTenant))
			if n.owner != "" && n.owner != isolation.Platform {
				tenants[n.owner] = true
			}
		}
	}
	for i := range objs {
		u := &objs[i]
		gk := u.GroupVersionKind().GroupKind()
		res, ok := resources[gk]
		if !ok || gk.Kind == "Namespace" {
			continue
		}
		nsName := u.GetNamespace()
		owner := ""
		if nsName != "" {
			n := w.namespaceOf(nsName)
			owner = n.owner
			if n.shared {
				owner = isolation.Platform
				if l := metaValue(u, "labels", tenantplan.LabelTenant); l != "" {
					owner = l
					shared[l], tenants[l] = true, true
				}
			}
		} else if l := metaValue(u, "labels", tenantplan.LabelTenant); l != "" {
			owner = l
		} else {
			owner = isolation.Platform
		}
		o := object{owner: owner}
		switch gk.Kind {
		case "Pod":
			o.sa, _, _ = unstructured.NestedString(u.Object, "spec", "serviceAccountName")
			if o.sa == "" {
				o.sa = "default"
			}
		case "Secret":
			if t, _, _ := unstructured.NestedString(u.Object, "type"); t == "kubernetes.io/service-account-token" {
				if o.sa = metaValue(u, "annotations", "kubernetes.io/service-account.name"); o.sa != "" {
					w.tokens[nsName] = append(w.tokens[nsName], o.sa)
				}
			}
		case "ServiceAccount":
			w.addServiceAccount(nsName, u.GetName(), owner)
		}
		w.objects[objectKey{res, nsName, u.GetName()}] = o
	}
	for _, n := range w.ns {
		w.nsNames = append(w.nsNames, n.name)
	}
	slices.Sort(w.nsNames)
	for id := range tenants {
		w.tenants = append(w.tenants, id)
	}
	slices.Sort(w.tenants)
	for id := range shared {
		w.sharedOwners = append(w.sharedOwners, id)
	}
	slices.Sort(w.sharedOwners)
	w.indexBoundUsers()
	return w, nil
}

// namespace records a namespace of the snapshot and decides its owner, by the rules of the
// network analysis: the declaring binding, the shared and ingress namespaces, the live tenant
// label, else the platform.
func (w *world) namespace(name, label string) *namespace {
	if n := w.ns[name]; n != nil {
		return n
	}
	n := &namespace{name: name}
	switch id, declared := w.scope.DeclaredNamespace(name); {
	case name == w.scope.SharedNamespace:
		n.shared, n.how = true, "the environment's shared namespace, where each object belongs to the tenant its "+tenantplan.LabelTenant+" label names"
	case name == w.scope.IngressNamespace:
		n.owner, n.how = isolation.Platform, "the environment's platform ingress namespace"
	case declared:
		n.owner, n.how = id, "namespace "+name+" is declared by the binding of "+id
	case label != "":
		n.owner, n.how = label, fmt.Sprintf("namespace %s is labelled %s=%s (declared by no binding)", name, tenantplan.LabelTenant, label)
	default:
		n.owner, n.how = isolation.Platform, "namespace "+name+" is declared by no binding and carries no tenant label"
	}
	w.ns[name] = n
	return n
}

// namespaceOf returns a namespace of the snapshot, or decides the owner of one it does not hold
// (a subject's namespace that does not exist) without recording it.
func (w *world) namespaceOf(name string) *namespace {
	if n := w.ns[name]; n != nil {
		return n
	}
	n := w.namespace(name, "")
	delete(w.ns, name)
	return n
}

func (w *world) addServiceAccount(ns, name, owner string) {
	n := w.namespaceOf(ns)
	sa := &serviceAccount{ns: ns, name: name, owner: owner}
	switch {
	case w.platform.declares(sa.subject()):
		sa.owner, sa.how = isolation.Platform, "ServiceAccount "+ns+"/"+name+" is a declared platform principal"
	case n.shared && owner != isolation.Platform:
		sa.how = fmt.Sprintf("ServiceAccount %s/%s in the shared namespace is labelled %s=%s", ns, name, tenantplan.LabelTenant, owner)
	default:
		sa.how = "ServiceAccount " + ns + "/" + name + ": " + n.how
	}
	if sa.owner == isolation.Platform && n.owner != isolation.Platform {
		n.platformSA = true
	}
	if m := w.ns[ns]; m != nil {
		m.sas = append(m.sas, sa)
	}
	w.sas[sa.subject()] = sa
}

// indexBoundUsers records, for every user and group a binding names, the tenants in whose scope
// the binding lies: a RoleBinding in a tenant's namespace (in the shared namespace, one labelled
// with the tenant), or a ClusterRoleBinding labelled with it. Such a user or group is that
// tenant's principal.
func (w *world) indexBoundUsers() {
	visit := func(b *rbac.Binding) {
		owner := w.bindingOwner(b)
		if owner == "" || owner == isolation.Platform {
			return
		}
		for _, s := range b.Subjects {
			if s.Kind == rbac.KindServiceAccount || isSystem(s.Name) || w.platform.declares(s) {
				continue
			}
			if !slices.Contains(w.boundIn[s], owner) {
				w.boundIn[s] = append(w.boundIn[s], owner)
			}
		}
	}
	for _, b := range w.policy.ClusterRoleBindings {
		visit(b)
	}
	for _, b := range w.policy.RoleBindings {
		visit(b)
	}
	for _, list := range w.boundIn {
		slices.Sort(list)
	}
}

// bindingOwner is the party whose scope holds a binding.
func (w *world) bindingOwner(b *rbac.Binding) string {
	label := b.Labels[tenantplan.LabelTenant]
	if b.Kind == rbac.KindClusterRoleBinding {
		if label != "" {
			return label
		}
		return isolation.Platform
	}
	n := w.namespaceOf(b.Namespace)
	if n.shared {
		if label != "" {
			return label
		}
		return isolation.Platform
	}
	return n.owner
}

// clusterObjectOwner is the party whose scope holds a cluster-scoped RBAC object: the tenant its
// label names, else the platform.
func (w *world) clusterObjectOwner(r *rbac.Role) string {
	if r != nil && r.Labels[tenantplan.LabelTenant] != "" {
		return r.Labels[tenantplan.LabelTenant]
	}
	return isolation.Platform
}

// ownersOf are the parties whose objects of a namespace an unnamed rule reaches.
func (w *world) ownersOf(n *namespace) []string {
	if n.shared {
		return w.sharedOwners
	}
	return []string{n.owner}
}

// covers reports whether the snapshot listed resource in namespace ns, so that an object it lacks
// does not exist.
func (w *world) covers(resource, ns string) bool {
	gk, ok := kindOf[resource]
	return ok && w.snap.Covers(gk, ns)
}

func isSystem(name string) bool { return strings.HasPrefix(name, "system:") }

// namespacesWith lists the namespaces holding an object of resource called name.
func (w *world) namespacesWith(resource, name string) []string {
	if w.byName == nil {
		w.byName = map[[2]string][]string{}
		for k := range w.objects {
			if k.ns != "" {
				key := [2]string{k.resource, k.name}
				w.byName[key] = append(w.byName[key], k.ns)
			}
		}
		for _, list := range w.byName {
			slices.Sort(list)
		}
	}
	return w.byName[[2]string{resource, name}]
}

// sharedNameOwner is the shared tenant whose name an object of the shared namespace carries
// (t-<id>, t-<id>-<suffix>, t-<id>.<ref>: the programs name every tenant object after its
// tenant there, so a name alone tells the owner); the longest matching id wins.
func (w *world) sharedNameOwner(name string) string {
	best := ""
	for _, id := range w.sharedOwners {
		if id == isolation.Platform {
			continue
		}
		base := tenantplan.TenantObjectName(id)
		if (name == base || strings.HasPrefix(name, base+"-") || strings.HasPrefix(name, base+".")) && len(id) > len(best) {
			best = id
		}
	}
	return best
}

// metaValue reads one label or annotation without copying the object's map (GetLabels does, and
// a fleet's snapshot holds a hundred thousand objects).
func metaValue(u *unstructured.Unstructured, field, key string) string {
	meta, _ := u.Object["metadata"].(map[string]any)
	m, _ := meta[field].(map[string]any)
	v, _ := m[key].(string)
	return v
}
