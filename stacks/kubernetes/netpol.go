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

func portArgs(ports []tenantplan.NetworkPolicyPort) networkingv1.NetworkPolicyPortArray {
	if len(ports) == 0 {
		return nil
	}
	out := networkingv1.NetworkPolicyPortArray{}
	for _, p := range ports {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(p.Protocol), Port: pulumi.Int(p.Port)})
	}
	return out
}

func networkPolicyArgs(sc scope, np tenantplan.NetworkPolicy) *networkingv1.NetworkPolicyArgs {
	spec := &networkingv1.NetworkPolicySpecArgs{
		PodSelector: labelSelector(np.PodSelector),
		PolicyTypes: pulumi.ToStringArray(np.PolicyTypes),
	}
	if len(np.Ingress) > 0 {
		rules := networkingv1.NetworkPolicyIngressRuleArray{}
		for _, r := range np.Ingress {
			rule := networkingv1.NetworkPolicyIngressRuleArgs{From: peerArgs(r.Peers)}
			if ports := portArgs(r.Ports); ports != nil {
				rule.Ports = ports
			}
			rules = append(rules, rule)
		}
		spec.Ingress = rules
	}
	if len(np.Egress) > 0 {
		rules := networkingv1.NetworkPolicyEgressRuleArray{}
		for _, r := range np.Egress {
			rule := networkingv1.NetworkPolicyEgressRuleArgs{To: peerArgs(r.Peers)}
			if ports := portArgs(r.Ports); ports != nil {
				rule.Ports = ports
			}
			rules = append(rules, rule)
		}
		spec.Egress = rules
	}
	return &networkingv1.NetworkPolicyArgs{Metadata: objectMeta(sc, np.Metadata), Spec: spec}
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
