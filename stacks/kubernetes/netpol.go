package kubernetes

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/stacks"
)

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
	return stacks.TenantObjectName(tenantID) + "-allow-same-tenant"
}

// DNS is reached at the cluster DNS pods in kube-system; the selectors are the ones every
// conformant distribution (kubeadm, AKS, kind) uses for CoreDNS.
const (
	kubeSystemNamespace = "kube-system"
	dnsPodLabel         = "k8s-app"
	dnsPodLabelValue    = "kube-dns"
	// namespaceNameLabel is set by the API server on every namespace and cannot be forged, unlike
	// any label a namespace owner chooses.
	namespaceNameLabel = "kubernetes.io/metadata.name"
)

const (
	policyIngress = "Ingress"
	policyEgress  = "Egress"
)

// scope is the namespace objects are created in: its name (for logical names and selectors) and
// the input that orders creation after the namespace when the same stack owns it.
type scope struct {
	name string
	ref  pulumi.StringPtrInput
}

func objectMeta(sc scope, name string, labels map[string]string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{
		Name:      pulumi.String(name),
		Namespace: sc.ref,
		Labels:    pulumi.ToStringMap(labels),
	}
}

func selectAll() *metav1.LabelSelectorArgs { return &metav1.LabelSelectorArgs{} }

func selectLabels(m map[string]string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(m)}
}

func selectNamespace(name string) *metav1.LabelSelectorArgs {
	return selectLabels(map[string]string{namespaceNameLabel: name})
}

// netpol is one NetworkPolicy to create: its name and its manifest.
type netpol struct {
	name string
	args *networkingv1.NetworkPolicyArgs
}

func newNetpol(sc scope, name string, labels map[string]string, spec *networkingv1.NetworkPolicySpecArgs) netpol {
	return netpol{name: name, args: &networkingv1.NetworkPolicyArgs{Metadata: objectMeta(sc, name, labels), Spec: spec}}
}

func ingressFrom(peers ...networkingv1.NetworkPolicyPeerArgs) networkingv1.NetworkPolicyIngressRuleArray {
	from := networkingv1.NetworkPolicyPeerArray{}
	for _, p := range peers {
		from = append(from, p)
	}
	return networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{From: from}}
}

func egressTo(peer networkingv1.NetworkPolicyPeerArgs, ports ...networkingv1.NetworkPolicyPortArgs) networkingv1.NetworkPolicyEgressRuleArray {
	rule := networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{peer}}
	if len(ports) > 0 {
		arr := networkingv1.NetworkPolicyPortArray{}
		for _, p := range ports {
			arr = append(arr, p)
		}
		rule.Ports = arr
	}
	return networkingv1.NetworkPolicyEgressRuleArray{rule}
}

// defaultDeny selects every pod for both directions and allows nothing: any traffic must be
// admitted by another, named policy.
func defaultDeny(sc scope, labels map[string]string) netpol {
	return newNetpol(sc, PolicyDefaultDeny, labels, &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selectAll(),
		PolicyTypes: pulumi.ToStringArray([]string{policyIngress, policyEgress}),
	})
}

// allowSameNamespace admits traffic between pods of one (tenant-owned) namespace.
func allowSameNamespace(sc scope, labels map[string]string) netpol {
	return newNetpol(sc, PolicyAllowSameNamespace, labels, &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selectAll(),
		PolicyTypes: pulumi.ToStringArray([]string{policyIngress, policyEgress}),
		Ingress:     ingressFrom(networkingv1.NetworkPolicyPeerArgs{PodSelector: selectAll()}),
		Egress:      egressTo(networkingv1.NetworkPolicyPeerArgs{PodSelector: selectAll()}),
	})
}

// allowDNS lets every pod query the cluster DNS pods, and only them, on port 53.
func allowDNS(sc scope, labels map[string]string) netpol {
	return newNetpol(sc, PolicyAllowDNS, labels, &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selectAll(),
		PolicyTypes: pulumi.ToStringArray([]string{policyEgress}),
		Egress: egressTo(
			networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: selectNamespace(kubeSystemNamespace),
				PodSelector:       selectLabels(map[string]string{dnsPodLabel: dnsPodLabelValue}),
			},
			networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
			networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(53)},
		),
	})
}

// allowFromIngress admits traffic from the platform ingress namespace to every pod.
func allowFromIngress(sc scope, ingressNamespace string, labels map[string]string) netpol {
	return newNetpol(sc, PolicyAllowFromIngress, labels, &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selectAll(),
		PolicyTypes: pulumi.ToStringArray([]string{policyIngress}),
		Ingress:     ingressFrom(networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: selectNamespace(ingressNamespace)}),
	})
}

// allowSameTenant is allowSameNamespace narrowed to one tenant's pods in the shared namespace:
// the shared namespace has no allow-same-namespace, so this is the only path between its pods.
func allowSameTenant(sc scope, tenantID string, labels map[string]string) netpol {
	own := map[string]string{stacks.LabelTenant: tenantID}
	return newNetpol(sc, SharedTenantPolicyName(tenantID), labels, &networkingv1.NetworkPolicySpecArgs{
		PodSelector: selectLabels(own),
		PolicyTypes: pulumi.ToStringArray([]string{policyIngress, policyEgress}),
		Ingress:     ingressFrom(networkingv1.NetworkPolicyPeerArgs{PodSelector: selectLabels(own)}),
		Egress:      egressTo(networkingv1.NetworkPolicyPeerArgs{PodSelector: selectLabels(own)}),
	})
}

// createPolicies creates the policies under parent, in order, and returns their names.
func createPolicies(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, sc scope, policies ...netpol) ([]string, error) {
	names := make([]string, 0, len(policies))
	for _, np := range policies {
		if _, err := networkingv1.NewNetworkPolicy(ctx, objectKey(sc.name, np.name), np.args, resOpts(parent, p)...); err != nil {
			return nil, fmt.Errorf("network policy %s: %w", objectKey(sc.name, np.name), err)
		}
		names = append(names, np.name)
	}
	return names, nil
}
