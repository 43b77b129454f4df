package kubernetes

import (
	"fmt"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Silo pinning is enforced with ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA
// since Kubernetes 1.30) because it needs no webhook server and no API server flag: it works the
// same on AKS and on a bare kube-apiserver. The policies themselves are data in the plan
// (tenantplan.AdmissionPolicies); this renders them.

func policyArgs(ap tenantplan.AdmissionPolicy, labels map[string]string) *admissionv1.ValidatingAdmissionPolicyArgs {
	vals := admissionv1.ValidationArray{}
	for _, v := range ap.Validations {
		vals = append(vals, admissionv1.ValidationArgs{Expression: pulumi.String(v.Expression), Message: pulumi.String(v.Message)})
	}
	return &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ap.Name), Labels: pulumi.ToStringMap(labels)},
		Spec: &admissionv1.ValidatingAdmissionPolicySpecArgs{
			FailurePolicy: pulumi.String(tenantplan.AdmissionFailurePolicy),
			MatchConstraints: &admissionv1.MatchResourcesArgs{
				ResourceRules: admissionv1.NamedRuleWithOperationsArray{admissionv1.NamedRuleWithOperationsArgs{
					ApiGroups:   pulumi.ToStringArray([]string{""}),
					ApiVersions: pulumi.ToStringArray([]string{"v1"}),
					Operations:  pulumi.ToStringArray([]string{"CREATE", "UPDATE"}),
					Resources:   pulumi.ToStringArray([]string{"pods"}),
				}},
			},
			Variables:   admissionv1.VariableArray{admissionv1.VariableArgs{Name: pulumi.String("tenant"), Expression: pulumi.String(tenantplan.CELTenant)}},
			Validations: vals,
		},
	}
}

func bindingArgs(ap tenantplan.AdmissionPolicy, labels map[string]string) *admissionv1.ValidatingAdmissionPolicyBindingArgs {
	req := metav1.LabelSelectorRequirementArgs{Key: pulumi.String(tenantplan.LayerLabel(isolation.LayerCompute)), Operator: pulumi.String("Exists")}
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
func createAdmission(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, policies []tenantplan.AdmissionPolicy, labels map[string]string) ([]string, error) {
	var names []string
	for _, ap := range policies {
		pol, err := admissionv1.NewValidatingAdmissionPolicy(ctx, ap.Name, policyArgs(ap, labels), resOpts(parent, p)...)
		if err != nil {
			return nil, fmt.Errorf("admission policy %s: %w", ap.Name, err)
		}
		if _, err := admissionv1.NewValidatingAdmissionPolicyBinding(ctx, ap.Name, bindingArgs(ap, labels),
			resOpts(parent, p, pulumi.DependsOn([]pulumi.Resource{pol}))...); err != nil {
			return nil, fmt.Errorf("admission policy binding %s: %w", ap.Name, err)
		}
		names = append(names, ap.Name)
	}
	return names, nil
}
