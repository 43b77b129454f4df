package kubernetes

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// scope is the namespace objects are created in: its name (for logical names) and the input that
// orders creation after the namespace when the same stack owns it.
type scope struct {
	name string
	ref  pulumi.StringPtrInput
}

// objectMeta renders a planned object's metadata in sc.
func objectMeta(sc scope, m tenantplan.ObjectMeta) *metav1.ObjectMetaArgs {
	args := &metav1.ObjectMetaArgs{Name: pulumi.String(m.Name), Labels: pulumi.ToStringMap(m.Labels)}
	if sc.ref != nil {
		args.Namespace = sc.ref
	}
	if len(m.Annotations) > 0 {
		args.Annotations = pulumi.ToStringMap(m.Annotations)
	}
	return args
}

func labelSelector(s tenantplan.LabelSelector) *metav1.LabelSelectorArgs {
	if s.MatchLabels == nil {
		return &metav1.LabelSelectorArgs{}
	}
	return &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(s.MatchLabels)}
}

func peerArgs(peers []tenantplan.NetworkPolicyPeer) networkingv1.NetworkPolicyPeerArray {
	out := networkingv1.NetworkPolicyPeerArray{}
	for _, p := range peers {
		a := networkingv1.NetworkPolicyPeerArgs{}
		if p.PodSelector != nil {
			a.PodSelector = labelSelector(*p.PodSelector)
		}
		if p.NamespaceSelector != nil {
			a.NamespaceSelector = labelSelector(*p.NamespaceSelector)
		}
		out = append(out, a)
	}
	return out
}

func networkPolicyArgs(sc scope, np tenantplan.NetworkPolicy) *networkingv1.NetworkPolicyArgs {
	spec := &networkingv1.NetworkPolicySpecArgs{
		PodSelector: labelSelector(np.PodSelector),
		PolicyTypes: pulumi.ToStringArray(np.PolicyTypes),
	}
	// Ports stay unset on a rule without ports (every port), rather than an empty list.
	if len(np.Ingress) > 0 {
		spec.Ingress = networkingv1.NetworkPolicyIngressRuleArray(rulesOf(np.Ingress,
			func(peers networkingv1.NetworkPolicyPeerArray, ports networkingv1.NetworkPolicyPortArrayInput) networkingv1.NetworkPolicyIngressRuleInput {
				return networkingv1.NetworkPolicyIngressRuleArgs{From: peers, Ports: ports}
			}))
	}
	if len(np.Egress) > 0 {
		spec.Egress = networkingv1.NetworkPolicyEgressRuleArray(rulesOf(np.Egress,
			func(peers networkingv1.NetworkPolicyPeerArray, ports networkingv1.NetworkPolicyPortArrayInput) networkingv1.NetworkPolicyEgressRuleInput {
				return networkingv1.NetworkPolicyEgressRuleArgs{To: peers, Ports: ports}
			}))
	}
	return &networkingv1.NetworkPolicyArgs{Metadata: objectMeta(sc, np.Metadata), Spec: spec}
}

// rulesOf renders planned rules as ingress or egress rule arguments.
func rulesOf[R any](rules []tenantplan.NetworkPolicyRule, rule func(networkingv1.NetworkPolicyPeerArray, networkingv1.NetworkPolicyPortArrayInput) R) []R {
	out := make([]R, 0, len(rules))
	for _, r := range rules {
		var ports networkingv1.NetworkPolicyPortArrayInput
		if len(r.Ports) > 0 {
			arr := networkingv1.NetworkPolicyPortArray{}
			for _, p := range r.Ports {
				arr = append(arr, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(p.Protocol), Port: pulumi.Int(p.Port)})
			}
			ports = arr
		}
		out = append(out, rule(peerArgs(r.Peers), ports))
	}
	return out
}

// createPolicies creates the planned policies under parent, in order, and returns their names.
func createPolicies(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, sc scope, policies []tenantplan.NetworkPolicy) ([]string, error) {
	names := make([]string, 0, len(policies))
	for _, np := range policies {
		key := objectKey(sc.name, np.Metadata.Name)
		if _, err := networkingv1.NewNetworkPolicy(ctx, key, networkPolicyArgs(sc, np), resOpts(parent, p)...); err != nil {
			return nil, fmt.Errorf("network policy %s: %w", key, err)
		}
		names = append(names, np.Metadata.Name)
	}
	return names, nil
}
