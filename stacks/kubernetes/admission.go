package kubernetes

import (
	"fmt"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// Admission policy names. Each ValidatingAdmissionPolicy has one binding of the same name.
//
// Silo pinning is enforced with ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA
// since Kubernetes 1.30) because it needs no webhook server and no API server flag: it works the
// same on AKS and on a bare kube-apiserver. The PodNodeSelector/PodTolerationRestriction
// annotations that silo namespaces also carry only default the fields where those plugins happen
// to be enabled; the policies below are what rejects a pod.
const (
	// PolicySiloNodePinning: pods in a dedicated-node-pool namespace must select and tolerate their
	// tenant's nodes.
	PolicySiloNodePinning = "tenantctl-silo-node-pinning"
	// PolicyTenantScheduling: pods in any tenant namespace (and the shared one) may not select,
	// tolerate or bypass the scheduler onto another tenant's nodes.
	PolicyTenantScheduling = "tenantctl-tenant-scheduling"
	// PolicySharedTenantIdentity: pods in the shared namespace must say which tenant they belong to
	// and run under that tenant's ServiceAccount and quota slice.
	PolicySharedTenantIdentity = "tenantctl-shared-tenant-identity"
)

// AdmissionPolicies lists every policy the platform program creates.
var AdmissionPolicies = []string{PolicySiloNodePinning, PolicyTenantScheduling, PolicySharedTenantIdentity}

// Node pinning vocabulary: silo nodes carry the label tenantctl.io/tenant=<id> and the taint
// tenantctl.io/tenant=<id>:NoSchedule; silo pods carry the matching nodeSelector and toleration.
const (
	NodeLabelTenant = stacks.LabelTenant
	NodeTaintEffect = "NoSchedule"
)

// celTenant is the tenant a pod belongs to: its namespace's tenant label in a tenant namespace,
// the pod's own label in the shared namespace (which carries no tenant label), the empty string otherwise.
const celTenant = `has(namespaceObject.metadata.labels) && '` + stacks.LabelTenant + `' in namespaceObject.metadata.labels ? ` +
	`namespaceObject.metadata.labels['` + stacks.LabelTenant + `'] : ` +
	`(has(object.metadata.labels) && '` + stacks.LabelTenant + `' in object.metadata.labels ? object.metadata.labels['` + stacks.LabelTenant + `'] : '')`

// validation is one CEL rule of a policy.
type validation struct {
	Expression string
	Message    string
}

// admissionPolicy is one ValidatingAdmissionPolicy and the namespaces its binding applies to.
type admissionPolicy struct {
	Name        string
	Validations []validation
	// Namespaces selects by the namespace's compute-mode label: In these modes, or, when empty,
	// every namespace that has the label (all tenant namespaces and the shared one).
	ComputeModes []isolation.Mode
}

// admissionPolicies is the platform's pod admission, as data so tests can evaluate every
// expression against example pods.
func admissionPolicies() []admissionPolicy {
	const key = stacks.LabelTenant
	return []admissionPolicy{
		{
			Name:         PolicySiloNodePinning,
			ComputeModes: []isolation.Mode{isolation.ComputeDedicatedNodePool},
			Validations: []validation{
				{`variables.tenant != ''`, "silo namespace carries no " + key + " label"},
				{`has(object.spec.nodeSelector) && '` + key + `' in object.spec.nodeSelector && object.spec.nodeSelector['` + key + `'] == variables.tenant`,
					"silo pods must set nodeSelector " + key + "=<their tenant>"},
				{`has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && t.key == '` + key + `' && (!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == variables.tenant && has(t.effect) && t.effect == '` + NodeTaintEffect + `')`,
					"silo pods must tolerate " + key + "=<their tenant>:" + NodeTaintEffect},
			},
		},
		{
			Name: PolicyTenantScheduling,
			Validations: []validation{
				// A toleration without a key is operator Exists on every taint (the API rejects a
				// keyless Equal), so it would tolerate every tenant's nodes.
				{`!has(object.spec.tolerations) || object.spec.tolerations.all(t, has(t.key) && t.key != '')`,
					"tenant pods may not tolerate every taint"},
				{`!has(object.spec.tolerations) || object.spec.tolerations.all(t, !has(t.key) || t.key != '` + key + `' || ((!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == variables.tenant))`,
					"tenant pods may only tolerate their own tenant's taint"},
				{`!has(object.spec.nodeSelector) || !('` + key + `' in object.spec.nodeSelector) || object.spec.nodeSelector['` + key + `'] == variables.tenant`,
					"tenant pods may only select their own tenant's nodes"},
				// spec.nodeName skips the scheduler and with it every NoSchedule taint. The scheduler
				// binds through pods/binding, which this policy does not match, so only a pod created
				// with a node name is refused.
				{`request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''`,
					"tenant pods may not bypass the scheduler with spec.nodeName"},
			},
		},
		{
			Name:         PolicySharedTenantIdentity,
			ComputeModes: []isolation.Mode{isolation.ComputeSharedNamespace},
			Validations: []validation{
				{`variables.tenant != ''`, "pods in the shared namespace must carry the " + key + " label"},
				{`has(object.spec.serviceAccountName) && object.spec.serviceAccountName == '` + stacks.TenantObjectName("") + `' + variables.tenant`,
					"pods in the shared namespace must run as their tenant's ServiceAccount t-<tenant>"},
				{`has(object.spec.priorityClassName) && object.spec.priorityClassName == '` + stacks.SharedPriorityClassName("") + `' + variables.tenant`,
					"pods in the shared namespace must use their tenant's quota slice, priorityClassName tenantctl-shared-<tenant>"},
			},
		},
	}
}

func (ap admissionPolicy) policyArgs(labels map[string]string) *admissionv1.ValidatingAdmissionPolicyArgs {
	vals := admissionv1.ValidationArray{}
	for _, v := range ap.Validations {
		vals = append(vals, admissionv1.ValidationArgs{Expression: pulumi.String(v.Expression), Message: pulumi.String(v.Message)})
	}
	return &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ap.Name), Labels: pulumi.ToStringMap(labels)},
		Spec: &admissionv1.ValidatingAdmissionPolicySpecArgs{
			// A policy that cannot be evaluated must not let the pod through.
			FailurePolicy: pulumi.String("Fail"),
			MatchConstraints: &admissionv1.MatchResourcesArgs{
				ResourceRules: admissionv1.NamedRuleWithOperationsArray{admissionv1.NamedRuleWithOperationsArgs{
					ApiGroups:   pulumi.ToStringArray([]string{""}),
					ApiVersions: pulumi.ToStringArray([]string{"v1"}),
					Operations:  pulumi.ToStringArray([]string{"CREATE", "UPDATE"}),
					Resources:   pulumi.ToStringArray([]string{"pods"}),
				}},
			},
			Variables:   admissionv1.VariableArray{admissionv1.VariableArgs{Name: pulumi.String("tenant"), Expression: pulumi.String(celTenant)}},
			Validations: vals,
		},
	}
}

func (ap admissionPolicy) bindingArgs(labels map[string]string) *admissionv1.ValidatingAdmissionPolicyBindingArgs {
	req := metav1.LabelSelectorRequirementArgs{Key: pulumi.String(stacks.LayerLabel(isolation.LayerCompute)), Operator: pulumi.String("Exists")}
	if len(ap.ComputeModes) > 0 {
		modes := make([]string, len(ap.ComputeModes))
		for i, m := range ap.ComputeModes {
			modes[i] = string(m)
		}
		req = metav1.LabelSelectorRequirementArgs{Key: req.Key, Operator: pulumi.String("In"), Values: pulumi.ToStringArray(modes)}
	}
	return &admissionv1.ValidatingAdmissionPolicyBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ap.Name), Labels: pulumi.ToStringMap(labels)},
		Spec: &admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        pulumi.String(ap.Name),
			ValidationActions: pulumi.ToStringArray([]string{"Deny"}),
			MatchResources: &admissionv1.MatchResourcesArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{req}},
			},
		},
	}
}

// createAdmission creates every policy and its binding under parent; the binding depends on its
// policy so it never points at a policy that does not exist yet.
func createAdmission(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, labels map[string]string) ([]string, error) {
	var names []string
	for _, ap := range admissionPolicies() {
		pol, err := admissionv1.NewValidatingAdmissionPolicy(ctx, ap.Name, ap.policyArgs(labels), resOpts(parent, p)...)
		if err != nil {
			return nil, fmt.Errorf("admission policy %s: %w", ap.Name, err)
		}
		if _, err := admissionv1.NewValidatingAdmissionPolicyBinding(ctx, ap.Name, ap.bindingArgs(labels),
			resOpts(parent, p, pulumi.DependsOn([]pulumi.Resource{pol}))...); err != nil {
			return nil, fmt.Errorf("admission policy binding %s: %w", ap.Name, err)
		}
		names = append(names, ap.Name)
	}
	return names, nil
}
