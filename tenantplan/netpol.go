package tenantplan

// NetworkPolicy names. Every tenant namespace and the shared namespace get the same predictable
// names, so the drift engine can tell a managed policy from one added out of band.
const (
	PolicyDefaultDeny        = "default-deny"
	PolicyAllowSameNamespace = "allow-same-namespace"
	PolicyAllowDNS           = "allow-dns"
	PolicyAllowFromIngress   = "allow-from-ingress"
)

// SharedTenantPolicyName is the policy that lets a shared tenant's pods reach each other, and
// nothing else of the shared namespace.
func SharedTenantPolicyName(tenantID string) string {
	return TenantObjectName(tenantID) + "-allow-same-tenant"
}

// DNS is reached at the cluster DNS pods in kube-system; the selectors are the ones every
// conformant distribution (kubeadm, AKS, kind) uses for CoreDNS.
const (
	DNSNamespace     = "kube-system"
	dnsPodLabel      = "k8s-app"
	dnsPodLabelValue = "kube-dns"
	// NamespaceNameLabel is set by the API server on every namespace and cannot be forged, unlike
	// any label a namespace owner chooses.
	NamespaceNameLabel = "kubernetes.io/metadata.name"
)

const (
	policyIngress = "Ingress"
	policyEgress  = "Egress"
)

func selectAll() *LabelSelector { return &LabelSelector{} }

func selectLabels(m map[string]string) *LabelSelector { return &LabelSelector{MatchLabels: m} }

func selectNamespace(name string) *LabelSelector {
	return selectLabels(map[string]string{NamespaceNameLabel: name})
}

func newPolicy(ns, name string, labels map[string]string, podSelector LabelSelector, types ...string) NetworkPolicy {
	return NetworkPolicy{Metadata: meta(name, ns, labels), PodSelector: podSelector, PolicyTypes: types}
}

// defaultDeny selects every pod for both directions and allows nothing: any traffic must be
// admitted by another, named policy.
func defaultDeny(ns string, labels map[string]string) NetworkPolicy {
	return newPolicy(ns, PolicyDefaultDeny, labels, LabelSelector{}, policyIngress, policyEgress)
}

// allowSameNamespace admits traffic between pods of one (tenant-owned) namespace.
func allowSameNamespace(ns string, labels map[string]string) NetworkPolicy {
	p := newPolicy(ns, PolicyAllowSameNamespace, labels, LabelSelector{}, policyIngress, policyEgress)
	p.Ingress = []NetworkPolicyRule{{Peers: []NetworkPolicyPeer{{PodSelector: selectAll()}}}}
	p.Egress = []NetworkPolicyRule{{Peers: []NetworkPolicyPeer{{PodSelector: selectAll()}}}}
	return p
}

// allowDNS lets every pod query the cluster DNS pods, and only them, on port 53.
func allowDNS(ns string, labels map[string]string) NetworkPolicy {
	p := newPolicy(ns, PolicyAllowDNS, labels, LabelSelector{}, policyEgress)
	p.Egress = []NetworkPolicyRule{{
		Peers: []NetworkPolicyPeer{{
			NamespaceSelector: selectNamespace(DNSNamespace),
			PodSelector:       selectLabels(map[string]string{dnsPodLabel: dnsPodLabelValue}),
		}},
		Ports: []NetworkPolicyPort{{Protocol: "UDP", Port: 53}, {Protocol: "TCP", Port: 53}},
	}}
	return p
}

// allowFromIngress admits traffic from the platform ingress namespace to every pod.
func allowFromIngress(ns, ingressNamespace string, labels map[string]string) NetworkPolicy {
	p := newPolicy(ns, PolicyAllowFromIngress, labels, LabelSelector{}, policyIngress)
	p.Ingress = []NetworkPolicyRule{{Peers: []NetworkPolicyPeer{{NamespaceSelector: selectNamespace(ingressNamespace)}}}}
	return p
}

// allowSameTenant is allowSameNamespace narrowed to one tenant's pods in the shared namespace:
// the shared namespace has no allow-same-namespace, so this is the only path between its pods.
func allowSameTenant(ns, tenantID string, labels map[string]string) NetworkPolicy {
	own := func() *LabelSelector { return selectLabels(map[string]string{LabelTenant: tenantID}) }
	p := newPolicy(ns, SharedTenantPolicyName(tenantID), labels, *own(), policyIngress, policyEgress)
	p.Ingress = []NetworkPolicyRule{{Peers: []NetworkPolicyPeer{{PodSelector: own()}}}}
	p.Egress = []NetworkPolicyRule{{Peers: []NetworkPolicyPeer{{PodSelector: own()}}}}
	return p
}
