package kubernetes

import (
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/stacks"
)

// rule is one RBAC PolicyRule.
type rule struct {
	APIGroups     []string
	Resources     []string
	Verbs         []string
	ResourceNames []string
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

// namespaceWorkloadRules is what a tenant's ServiceAccount may do in a namespace of its own: run
// and expose workloads. It cannot touch what isolates it (NetworkPolicies, ResourceQuotas,
// LimitRanges, RBAC, ServiceAccounts, the namespace) nor read Secrets beyond its references.
var namespaceWorkloadRules = []rule{
	{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "configmaps", "persistentvolumeclaims"}, Verbs: writeVerbs},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: readVerbs},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "replicasets"}, Verbs: writeVerbs},
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: writeVerbs},
	{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: writeVerbs},
	{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: writeVerbs},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: writeVerbs},
}

// tenantRules is the Role of a tenant's ServiceAccount. In the shared namespace it may only read
// its own references ConfigMap and its own referenced Secrets, by name: the platform runs shared
// workloads, and RBAC cannot scope create/list to one tenant's objects.
func (pl *tenantPlan) tenantRules() []rule {
	var rules []rule
	if pl.ownNamespace {
		rules = append(rules, namespaceWorkloadRules...)
	} else {
		rules = append(rules, rule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"},
			ResourceNames: []string{stacks.TenantSecretRefsName(pl.id)}})
	}
	// An empty resourceNames would grant every Secret in the namespace, so the rule exists only
	// when there is something to name.
	if len(pl.secretRefs) > 0 {
		names := make([]string, len(pl.secretRefs))
		for i, r := range pl.secretRefs {
			names[i] = r.SecretObject
		}
		rules = append(rules, rule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: names})
	}
	return rules
}

func policyRules(rules []rule) rbacv1.PolicyRuleArray {
	out := rbacv1.PolicyRuleArray{}
	for _, r := range rules {
		pr := rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray(r.APIGroups),
			Resources: pulumi.ToStringArray(r.Resources),
			Verbs:     pulumi.ToStringArray(r.Verbs),
		}
		if len(r.ResourceNames) > 0 {
			pr.ResourceNames = pulumi.ToStringArray(r.ResourceNames)
		}
		out = append(out, pr)
	}
	return out
}
