package kubernetes

import (
	"errors"
	"fmt"
	"strings"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// Platform component types.
const (
	TypePlatform        = "tenantctl:platform:Platform"
	TypePlatformIngress = "tenantctl:network:PlatformIngress"
	TypeSharedTenancy   = "tenantctl:compute:SharedTenancy"
	TypeTenantAdmission = "tenantctl:admission:TenantAdmission"
)

// SharedLimitRangeName is the LimitRange of the shared namespace: shared tenants' quota slices
// need every pod to declare requests and limits, and this supplies defaults.
const SharedLimitRangeName = "tenantctl-defaults"

// PlatformProgram is the inline program of an environment's platform stack
// (stacks.PlatformStackName). Run it before any tenant stack of the environment: tenant stacks
// consume its outputs (stacks.PlatformOutputsFromMap) and refuse to run without its policies.
func PlatformProgram(env *isolation.Environment) pulumi.RunFunc { return platformProgram(env, nil) }

// platformProgram lets tests observe the outputs the program exports.
func platformProgram(env *isolation.Environment, observe func(*stacks.PlatformOutputs)) pulumi.RunFunc {
	return Program(
		func() error { return checkPlatformEnv(env) },
		func(ctx *pulumi.Context) (*k8s.Provider, error) { return NewProvider(ctx, env) },
		func(ctx *pulumi.Context, p *k8s.Provider) (*stacks.PlatformOutputs, error) {
			return DeployPlatform(ctx, env, p)
		},
		platformExports, observe)
}

// DeployPlatform creates the environment's shared Kubernetes objects under provider p: the ingress
// namespace, the shared-tenants namespace with its deny-by-default policies, and the admission
// policies that pin silo pods and keep tenants off each other's nodes.
func DeployPlatform(ctx *pulumi.Context, env *isolation.Environment, p pulumi.ProviderResource, opts ...pulumi.ResourceOption) (*stacks.PlatformOutputs, error) {
	if err := checkPlatformEnv(env); err != nil {
		return nil, err
	}
	labels := stacks.PlatformLabels(env)
	ingressNS, sharedNS := stacks.IngressNamespace(env), stacks.SharedNamespace(env)
	sharedLimits, err := sharedContainerLimits(env.Spec.Capacity)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env.Name(), err)
	}

	root := &Component{}
	if err := ctx.RegisterComponentResource(TypePlatform, env.Name(), root, opts...); err != nil {
		return nil, fmt.Errorf("platform %s: %w", env.Name(), err)
	}

	ingress, err := NewComponent(ctx, TypePlatformIngress, env.Name(), root)
	if err != nil {
		return nil, err
	}
	// The ingress controller is installed into this namespace by the platform team; baseline
	// rather than restricted because common controllers need capabilities restricted forbids.
	// The provider (v4.25, server-side apply) adopts a namespace that already exists, e.g. one a
	// Helm release created; destroying the platform stack must not delete the controller with it,
	// so the namespace is retained.
	if _, err := corev1.NewNamespace(ctx, ingressNS, &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{
		Name:   pulumi.String(ingressNS),
		Labels: pulumi.ToStringMap(stacks.Merge(labels, stacks.PodSecurityLabels(stacks.PSSBaseline), map[string]string{stacks.LabelRole: stacks.RoleIngress})),
	}}, resOpts(ingress, p, pulumi.RetainOnDelete(true))...); err != nil {
		return nil, fmt.Errorf("platform %s ingress namespace: %w", env.Name(), err)
	}
	if err := ctx.RegisterResourceOutputs(ingress, pulumi.Map{stacks.OutputIngressNamespace: pulumi.String(ingressNS)}); err != nil {
		return nil, err
	}

	shared, err := NewComponent(ctx, TypeSharedTenancy, env.Name(), root)
	if err != nil {
		return nil, err
	}
	ns, err := corev1.NewNamespace(ctx, sharedNS, &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{
		Name: pulumi.String(sharedNS),
		Labels: pulumi.ToStringMap(stacks.Merge(labels, stacks.PodSecurityLabels(stacks.PSSRestricted), map[string]string{
			stacks.LabelRole: stacks.RoleSharedTenants,
			// The compute label is what the admission bindings select the shared namespace by.
			stacks.LayerLabel(isolation.LayerCompute): string(isolation.ComputeSharedNamespace),
			stacks.LayerLabel(isolation.LayerNetwork): string(isolation.NetworkSharedWithPolicy),
		})),
	}}, resOpts(shared, p)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s shared namespace: %w", env.Name(), err)
	}
	sc := scope{name: sharedNS, ref: ns.Metadata.Name()}
	if _, err := corev1.NewLimitRange(ctx, objectKey(sharedNS, SharedLimitRangeName), &corev1.LimitRangeArgs{
		Metadata: objectMeta(sc, SharedLimitRangeName, labels),
		Spec:     &corev1.LimitRangeSpecArgs{Limits: limitRangeItems(sharedLimits, nil)},
	}, resOpts(shared, p)...); err != nil {
		return nil, fmt.Errorf("platform %s shared limit range: %w", env.Name(), err)
	}
	// No allow-same-namespace here: pods of different shared tenants must not reach each other.
	// Each shared tenant's stack adds the policy between its own pods.
	policies, err := createPolicies(ctx, shared, p, sc,
		defaultDeny(sc, labels), allowDNS(sc, labels), allowFromIngress(sc, ingressNS, labels))
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env.Name(), err)
	}
	if err := ctx.RegisterResourceOutputs(shared, pulumi.Map{
		stacks.OutputSharedNamespace: pulumi.String(sharedNS),
		"networkPolicies":            pulumi.ToStringArray(policies),
	}); err != nil {
		return nil, err
	}

	admission, err := NewComponent(ctx, TypeTenantAdmission, env.Name(), root)
	if err != nil {
		return nil, err
	}
	names, err := createAdmission(ctx, admission, p, labels)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env.Name(), err)
	}
	if err := ctx.RegisterResourceOutputs(admission, pulumi.Map{stacks.OutputAdmissionPolicies: pulumi.ToStringArray(names)}); err != nil {
		return nil, err
	}

	out := &stacks.PlatformOutputs{
		Environment:       env.Name(),
		IngressNamespace:  ingressNS,
		SharedNamespace:   sharedNS,
		AdmissionPolicies: names,
	}
	if err := ctx.RegisterResourceOutputs(root, platformExports(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// platformExports is the stack outputs stacks.PlatformOutputsFromMap reads back.
func platformExports(o *stacks.PlatformOutputs) pulumi.Map {
	return pulumi.Map{
		stacks.OutputEnvironment:       pulumi.String(o.Environment),
		stacks.OutputIngressNamespace:  pulumi.String(o.IngressNamespace),
		stacks.OutputSharedNamespace:   pulumi.String(o.SharedNamespace),
		stacks.OutputAdmissionPolicies: pulumi.ToStringArray(o.AdmissionPolicies),
	}
}

func checkPlatformEnv(env *isolation.Environment) error {
	if env == nil {
		return errors.New("platform: environment is nil")
	}
	if err := stacks.CheckDNSLabel("environment name", env.Name(), 63); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	ingressNS, sharedNS := stacks.IngressNamespace(env), stacks.SharedNamespace(env)
	for what, ns := range map[string]string{"sharedCluster.ingressNamespace": ingressNS, "sharedCluster.sharedNamespace": sharedNS} {
		if err := stacks.CheckDNSLabel(what, ns, 63); err != nil {
			return fmt.Errorf("platform %s: %w", env.Name(), err)
		}
		// Tenant namespaces are t-<tenantId>; a platform namespace by that pattern could be
		// claimed by a tenant called after it.
		if strings.HasPrefix(ns, stacks.TenantNamespace("")) {
			return fmt.Errorf("platform %s: %s %q uses the tenant namespace prefix %q", env.Name(), what, ns, stacks.TenantNamespace(""))
		}
	}
	if ingressNS == sharedNS {
		return fmt.Errorf("platform %s: ingress and shared namespace are both %q", env.Name(), ingressNS)
	}
	if _, err := sharedContainerLimits(env.Spec.Capacity); err != nil {
		return fmt.Errorf("platform %s: %w", env.Name(), err)
	}
	return nil
}

// sharedContainerLimits are the shared namespace's defaults, capped by the environment's
// per-tenant capacity where it states one.
func sharedContainerLimits(c isolation.CapacitySpec) (limitItem, error) {
	cpu, err := optionalQuantity("capacity.cpu", c.CPU)
	if err != nil {
		return limitItem{}, err
	}
	mem, err := optionalQuantity("capacity.memory", c.Memory)
	if err != nil {
		return limitItem{}, err
	}
	return containerLimits(cpu, mem), nil
}
