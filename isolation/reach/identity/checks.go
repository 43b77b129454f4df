package identity

import (
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// effect is what a permission gives over the party that owns its target.
type effect uint8

const (
	// read: the principal reads objects that expose the owner (Secret values, ConfigMaps, pod
	// specs and logs).
	read effect = iota
	// change: the principal changes what isolates or configures the owner (its Secrets,
	// ConfigMaps, pods, RBAC, NetworkPolicies, namespace).
	change
	// become: the principal acts as one of the owner's identities (a ServiceAccount its pods run
	// as, a user or group bound in its scope).
	become
	// escalate: the principal can take the whole cluster.
	escalate
)

// kind is the edge kind an effect yields.
func (e effect) kind() graph.EdgeKind {
	switch e {
	case become:
		return graph.KindIdentityImpersonation
	case escalate:
		return graph.KindIdentityEscalation
	}
	return graph.KindIdentityRBAC
}

// scopeKind says where a permission applies.
type scopeKind uint8

const (
	namespaced  scopeKind = iota // a namespaced resource: a RoleBinding grants it in its namespace
	clusterWide                  // a cluster-scoped resource: only a ClusterRoleBinding grants it
	nonResource                  // a non-resource URL: only a ClusterRoleBinding grants it
)

// becomeVia says which identities a become permission reaches.
type becomeVia uint8

const (
	viaNone becomeVia = iota
	// viaAnySA: any ServiceAccount of the namespace (pods and workloads are created with any
	// serviceAccountName; a created service-account-token Secret is filled with any account's
	// token; an unnamed token or impersonation rule names every account).
	viaAnySA
	// viaNamedSA: the ServiceAccount the rule names (serviceaccounts/token, impersonate).
	viaNamedSA
	// viaPodSA: the ServiceAccount the named pod runs as (exec, attach, a changed image).
	viaPodSA
	// viaUser, viaGroup: the user or group an impersonate rule names.
	viaUser
	viaGroup
)

// check is one exposing permission: a request the authorizer is asked, what it gives and over
// which objects.
type check struct {
	id    string
	attrs rbac.Attributes // verb, group, resource, subresource or path
	scope scopeKind
	eff   effect
	via   becomeVia
	// named: requests for this permission carry an object name, so a rule limited to
	// resourceNames can allow it (false for create, which has no name yet).
	named bool
	// part marks one half of a permission that escalates only together with its other half
	// (approving a CSR needs the approval subresource and the signer).
	part string
	what string
}

const (
	partCSRApproval = "csr-approval"
	partCSRSigner   = "csr-signer"
)

// checks is the catalogue of permissions that expose a tenant or the cluster. Requests the
// authorizer sees for ordinary use of these objects; the list is what the analysis asks of
// every rule and what the probe asks the API server.
var checks = buildChecks()

func buildChecks() []*check {
	var out []*check
	add := func(c check) {
		cc := c
		cc.id = c.attrs.Verb + " " + resourceID(c.attrs)
		out = append(out, &cc)
	}
	ns := func(verbs []string, group, resource, sub string, eff effect, via becomeVia, named bool, what string) {
		for _, v := range verbs {
			add(check{attrs: rbac.Attributes{Verb: v, Group: group, Resource: resource, Subresource: sub}, scope: namespaced,
				eff: eff, via: via, named: named && v != "create" || named && sub != "", what: what})
		}
	}
	readVerbs := []string{"get", "list", "watch"}
	changeVerbs := []string{"update", "patch", "delete"}
	ns(readVerbs, "", "secrets", "", read, viaNone, true, "read Secrets")
	ns([]string{"create"}, "", "secrets", "", become, viaAnySA, false, "create Secrets (a service-account-token Secret is filled with any ServiceAccount's token)")
	ns(changeVerbs, "", "secrets", "", change, viaNone, true, "change Secrets")
	ns(readVerbs, "", "configmaps", "", read, viaNone, true, "read ConfigMaps")
	ns(append([]string{"create"}, changeVerbs...), "", "configmaps", "", change, viaNone, true, "change ConfigMaps")
	ns(readVerbs, "", "pods", "", read, viaNone, true, "read pod specs")
	ns([]string{"create"}, "", "pods", "", become, viaAnySA, false, "create pods (run as any ServiceAccount of the namespace)")
	ns([]string{"update", "patch"}, "", "pods", "", become, viaPodSA, true, "change running pods' images (run code as their ServiceAccount)")
	ns([]string{"delete"}, "", "pods", "", change, viaNone, true, "delete pods")
	ns([]string{"create"}, "", "pods", "exec", become, viaPodSA, true, "exec into pods")
	ns([]string{"create"}, "", "pods", "attach", become, viaPodSA, true, "attach to pods")
	ns([]string{"update", "patch"}, "", "pods", "ephemeralcontainers", become, viaPodSA, true, "add ephemeral containers to pods")
	ns([]string{"create"}, "", "pods", "portforward", change, viaNone, true, "port-forward into pods")
	ns([]string{"get", "create"}, "", "pods", "proxy", change, viaNone, true, "proxy to pods")
	ns([]string{"get"}, "", "pods", "log", read, viaNone, true, "read pod logs")
	ns([]string{"get", "create"}, "", "services", "proxy", change, viaNone, true, "proxy to services")
	ns([]string{"create"}, "", "serviceaccounts", "token", become, viaNamedSA, true, "mint ServiceAccount tokens")
	ns([]string{"impersonate"}, "", "serviceaccounts", "", become, viaNamedSA, true, "impersonate ServiceAccounts")
	for _, w := range []struct{ group, resource string }{
		{"apps", "deployments"}, {"apps", "statefulsets"}, {"apps", "daemonsets"}, {"apps", "replicasets"},
		{"batch", "jobs"}, {"batch", "cronjobs"}, {"", "replicationcontrollers"},
	} {
		ns([]string{"create", "update", "patch"}, w.group, w.resource, "", become, viaAnySA, true, "run workloads ("+w.resource+") as any ServiceAccount of the namespace")
	}
	ns(append([]string{"create"}, changeVerbs...), rbac.Group, "roles", "", change, viaNone, true, "change Roles")
	ns(append([]string{"create"}, changeVerbs...), rbac.Group, "rolebindings", "", change, viaNone, true, "change RoleBindings")
	ns([]string{"bind", "escalate"}, rbac.Group, "roles", "", change, viaNone, true, "bind or escalate Roles")
	ns(append([]string{"create"}, changeVerbs...), "networking.k8s.io", "networkpolicies", "", change, viaNone, true, "change NetworkPolicies")

	cluster := func(verbs []string, group, resource, sub string, eff effect, via becomeVia, named bool, part, what string) {
		for _, v := range verbs {
			add(check{attrs: rbac.Attributes{Verb: v, Group: group, Resource: resource, Subresource: sub}, scope: clusterWide,
				eff: eff, via: via, named: named && v != "create", part: part, what: what})
		}
	}
	cluster(changeVerbs, "", "namespaces", "", change, viaNone, true, "", "relabel or delete namespaces")
	cluster([]string{"impersonate"}, "", "users", "", become, viaUser, true, "", "impersonate users")
	cluster([]string{"impersonate"}, "", "groups", "", become, viaGroup, true, "", "impersonate groups")
	cluster([]string{"create", "update", "patch"}, rbac.Group, "clusterrolebindings", "", escalate, viaNone, true, "", "bind any ClusterRole cluster-wide")
	cluster([]string{"bind", "escalate"}, rbac.Group, "clusterroles", "", escalate, viaNone, true, "", "bind or escalate ClusterRoles")
	cluster([]string{"get", "create"}, "", "nodes", "proxy", escalate, viaNone, true, "", "proxy to kubelets (exec in any pod)")
	cluster([]string{"update"}, "certificates.k8s.io", "certificatesigningrequests", "approval", escalate, viaNone, true, partCSRApproval, "approve CertificateSigningRequests")
	cluster([]string{"approve"}, "certificates.k8s.io", "signers", "", escalate, viaNone, true, partCSRSigner, "approve for a client-certificate signer")
	for _, r := range []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies",
		"validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"} {
		cluster(append([]string{"create"}, changeVerbs...), "admissionregistration.k8s.io", r, "", escalate, viaNone, true, "", "change admission ("+r+")")
	}
	cluster([]string{"create", "update", "patch"}, "apiregistration.k8s.io", "apiservices", "", escalate, viaNone, true, "", "redirect API groups (apiservices)")
	add(check{attrs: rbac.Attributes{Verb: "get", Path: "/logs/"}, scope: nonResource, eff: read, what: "read the API server host's logs"})
	return out
}

// resourceID renders "secrets", "pods/exec", "deployments.apps", "clusterroles.rbac.authorization.k8s.io" or a path.
func resourceID(a rbac.Attributes) string {
	if a.Path != "" {
		return a.Path
	}
	s := a.Resource
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Subresource != "" {
		s += "/" + a.Subresource
	}
	return s
}

// signers are the client-certificate signers whose approval mints a certificate the API server
// accepts for any user and group, system:masters included; an approve rule for the whole domain
// is "kubernetes.io/*".
var signers = []string{"kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/legacy-unknown", "kubernetes.io/*"}
