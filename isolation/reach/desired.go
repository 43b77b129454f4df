package reach

import (
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// The objects below are what the platform and tenant programs of stacks/kubernetes create, built
// without running Pulumi. That package exposes no pure manifest function (its programs build
// Pulumi resource arguments), so the manifests are synthesised here from the same names and
// label constants it uses; the DNS selectors repeat its unexported ones. A change to the programs'
// policies must be mirrored here, and TestDesiredMatchesPrograms in this package's tests pins the
// policy names against the programs' constants.
const (
	dnsNamespace     = "kube-system"
	dnsPodLabel      = "k8s-app"
	dnsPodLabelValue = "kube-dns"
	metadataName     = "kubernetes.io/metadata.name"
)

// Desired builds the snapshot the programs would produce for env and its bindings: the platform
// namespaces and the shared namespace's policies, and each tenant's namespace (or slice of the
// shared namespace) with its policies. For an environment with target azure it adds the
// hub-and-spoke network the seed prescribes (see desiredAzure).
func Desired(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) (*inventory.Snapshot, error) {
	snap := &inventory.Snapshot{}
	add := func(o map[string]any) {
		snap.Kubernetes = append(snap.Kubernetes, unstructured.Unstructured{Object: o})
	}

	platform := tenantplan.PlatformLabels(env)
	ingressNS, sharedNS := tenantplan.IngressNamespace(env), tenantplan.SharedNamespace(env)
	add(namespaceObj(dnsNamespace, nil))
	add(namespaceObj(ingressNS, tenantplan.Merge(platform, tenantplan.PodSecurityLabels(tenantplan.PSSBaseline), map[string]string{tenantplan.LabelRole: tenantplan.RoleIngress})))
	add(namespaceObj(sharedNS, tenantplan.Merge(platform, tenantplan.PodSecurityLabels(tenantplan.PSSRestricted), map[string]string{
		tenantplan.LabelRole:                          tenantplan.RoleSharedTenants,
		tenantplan.LayerLabel(isolation.LayerCompute): string(isolation.ComputeSharedNamespace),
		tenantplan.LayerLabel(isolation.LayerNetwork): string(isolation.NetworkSharedWithPolicy),
	})))
	add(defaultDeny(sharedNS, platform))
	add(allowDNS(sharedNS, platform))
	add(allowFromIngress(sharedNS, ingressNS, platform))

	for _, b := range bindings {
		if b.Spec.Environment != env.Name() {
			continue
		}
		labels := tenantplan.TenantLabels(b)
		modes := isolation.Resolve(b)
		if modes[isolation.LayerCompute] == isolation.ComputeSharedNamespace {
			add(allowSameTenant(sharedNS, b.Spec.TenantID, labels))
			continue
		}
		ns := tenantplan.TenantNamespace(b.Spec.TenantID)
		layers := map[string]string{}
		for l, m := range modes {
			layers[tenantplan.LayerLabel(l)] = string(m)
		}
		add(namespaceObj(ns, tenantplan.Merge(labels, tenantplan.PodSecurityLabels(tenantplan.PSSRestricted), layers)))
		add(defaultDeny(ns, labels))
		add(allowSameNamespace(ns, labels))
		add(allowDNS(ns, labels))
		add(allowFromIngress(ns, ingressNS, labels))
	}
	if env.Spec.Target == "azure" {
		az, err := desiredAzure(env, bindings)
		if err != nil {
			return nil, err
		}
		snap.Azure = az
	}
	return snap, nil
}

func namespaceObj(name string, labels map[string]string) map[string]any {
	l := map[string]any{metadataName: name}
	for k, v := range labels {
		l[k] = v
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name, "labels": l},
	}
}

func policyObj(ns, name string, labels map[string]string, spec map[string]any) map[string]any {
	l := map[string]any{}
	for k, v := range labels {
		l[k] = v
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": l},
		"spec":     spec,
	}
}

func matchLabels(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range maps.All(m) {
		out[k] = v
	}
	return map[string]any{"matchLabels": out}
}

func types(ts ...string) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

func defaultDeny(ns string, labels map[string]string) map[string]any {
	return policyObj(ns, tenantplan.PolicyDefaultDeny, labels, map[string]any{
		"podSelector": map[string]any{}, "policyTypes": types("Ingress", "Egress"),
	})
}

func allowSameNamespace(ns string, labels map[string]string) map[string]any {
	return policyObj(ns, tenantplan.PolicyAllowSameNamespace, labels, map[string]any{
		"podSelector": map[string]any{}, "policyTypes": types("Ingress", "Egress"),
		"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": map[string]any{}}}}},
		"egress":  []any{map[string]any{"to": []any{map[string]any{"podSelector": map[string]any{}}}}},
	})
}

func allowDNS(ns string, labels map[string]string) map[string]any {
	return policyObj(ns, tenantplan.PolicyAllowDNS, labels, map[string]any{
		"podSelector": map[string]any{}, "policyTypes": types("Egress"),
		"egress": []any{map[string]any{
			"to": []any{map[string]any{
				"namespaceSelector": matchLabels(map[string]string{metadataName: dnsNamespace}),
				"podSelector":       matchLabels(map[string]string{dnsPodLabel: dnsPodLabelValue}),
			}},
			"ports": []any{
				map[string]any{"protocol": "UDP", "port": int64(53)},
				map[string]any{"protocol": "TCP", "port": int64(53)},
			},
		}},
	})
}

func allowFromIngress(ns, ingressNS string, labels map[string]string) map[string]any {
	return policyObj(ns, tenantplan.PolicyAllowFromIngress, labels, map[string]any{
		"podSelector": map[string]any{}, "policyTypes": types("Ingress"),
		"ingress": []any{map[string]any{"from": []any{map[string]any{
			"namespaceSelector": matchLabels(map[string]string{metadataName: ingressNS}),
		}}}},
	})
}

func allowSameTenant(ns, tenantID string, labels map[string]string) map[string]any {
	own := matchLabels(map[string]string{tenantplan.LabelTenant: tenantID})
	return policyObj(ns, tenantplan.SharedTenantPolicyName(tenantID), labels, map[string]any{
		"podSelector": own, "policyTypes": types("Ingress", "Egress"),
		"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": own}}}},
		"egress":  []any{map[string]any{"to": []any{map[string]any{"podSelector": own}}}},
	})
}
