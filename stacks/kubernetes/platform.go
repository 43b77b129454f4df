package kubernetes

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Platform component types.
const (
	TypePlatform        = "tenantctl:platform:Platform"
	TypePlatformIngress = "tenantctl:network:PlatformIngress"
	TypeSharedTenancy   = "tenantctl:compute:SharedTenancy"
	TypeTenantAdmission = "tenantctl:admission:TenantAdmission"
)

// PlatformProgram is the inline program of an environment's platform stack
// (tenantplan.PlatformStackName). Run it before any tenant stack of the environment: tenant
// stacks consume its outputs (tenantplan.PlatformOutputsFromMap) and refuse to run without its
// policies.
func PlatformProgram(env *isolation.Environment) pulumi.RunFunc { return platformProgram(env, nil) }

// platformProgram lets tests observe the outputs the program exports.
func platformProgram(env *isolation.Environment, observe func(*tenantplan.PlatformOutputs)) pulumi.RunFunc {
	var pl *tenantplan.Platform
	return Program(
		func() (err error) { pl, err = tenantplan.ForPlatform(env); return err },
		func(ctx *pulumi.Context) (providers, error) { return newProviders(ctx, env) },
		func(ctx *pulumi.Context, p providers) (*tenantplan.PlatformOutputs, error) {
			out, err := DeployPlatform(ctx, pl, p.k8s)
			if err != nil || p.data == nil {
				return out, err
			}
			return out, deployPlatformData(ctx, nil, p.data, tenantplan.PlanPlatformPostgres(env))
		},
		PlatformExports, observe)
}

// DeployPlatform creates a planned environment's shared Kubernetes objects under provider p: the
// ingress namespace, the shared-tenants namespace with its deny-by-default policies, and the
// admission policies that pin silo pods and keep tenants off each other's nodes.
func DeployPlatform(ctx *pulumi.Context, pl *tenantplan.Platform, p pulumi.ProviderResource, opts ...pulumi.ResourceOption) (*tenantplan.PlatformOutputs, error) {
	env := pl.Environment
	root := &Component{}
	if err := ctx.RegisterComponentResource(TypePlatform, env, root, opts...); err != nil {
		return nil, fmt.Errorf("platform %s: %w", env, err)
	}

	ingress, err := NewComponent(ctx, TypePlatformIngress, env, root)
	if err != nil {
		return nil, err
	}
	// The ingress controller is installed into this namespace by the platform team. The provider
	// (v4.25, server-side apply) adopts a namespace that already exists, e.g. one a Helm release
	// created; destroying the platform stack must not delete the controller with it, so the
	// namespace is retained.
	ingressNS := pl.IngressNamespace.Metadata
	if _, err := corev1.NewNamespace(ctx, ingressNS.Name, &corev1.NamespaceArgs{Metadata: objectMeta(scope{}, ingressNS)},
		resOpts(ingress, p, pulumi.RetainOnDelete(true))...); err != nil {
		return nil, fmt.Errorf("platform %s ingress namespace: %w", env, err)
	}
	if err := ctx.RegisterResourceOutputs(ingress, pulumi.Map{tenantplan.OutputIngressNamespace: pulumi.String(ingressNS.Name)}); err != nil {
		return nil, err
	}

	shared, err := NewComponent(ctx, TypeSharedTenancy, env, root)
	if err != nil {
		return nil, err
	}
	sharedNS := pl.SharedNamespace.Metadata
	ns, err := corev1.NewNamespace(ctx, sharedNS.Name, &corev1.NamespaceArgs{Metadata: objectMeta(scope{}, sharedNS)}, resOpts(shared, p)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s shared namespace: %w", env, err)
	}
	sc := scope{name: sharedNS.Name, ref: ns.Metadata.Name()}
	lr := pl.SharedLimitRange
	if _, err := corev1.NewLimitRange(ctx, objectKey(sc.name, lr.Metadata.Name), &corev1.LimitRangeArgs{
		Metadata: objectMeta(sc, lr.Metadata),
		Spec:     &corev1.LimitRangeSpecArgs{Limits: limitRangeItems(lr.Container, lr.PVC)},
	}, resOpts(shared, p)...); err != nil {
		return nil, fmt.Errorf("platform %s shared limit range: %w", env, err)
	}
	policies, err := createPolicies(ctx, shared, p, sc, pl.SharedPolicies)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env, err)
	}
	if err := ctx.RegisterResourceOutputs(shared, pulumi.Map{
		tenantplan.OutputSharedNamespace: pulumi.String(sharedNS.Name),
		"networkPolicies":                pulumi.ToStringArray(policies),
	}); err != nil {
		return nil, err
	}

	admission, err := NewComponent(ctx, TypeTenantAdmission, env, root)
	if err != nil {
		return nil, err
	}
	names, err := createAdmission(ctx, admission, p, pl.AdmissionPolicies, pl.Labels)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env, err)
	}
	if err := ctx.RegisterResourceOutputs(admission, pulumi.Map{tenantplan.OutputAdmissionPolicies: pulumi.ToStringArray(names)}); err != nil {
		return nil, err
	}

	out := &tenantplan.PlatformOutputs{
		Environment:       env,
		IngressNamespace:  ingressNS.Name,
		SharedNamespace:   sharedNS.Name,
		AdmissionPolicies: names,
	}
	if err := ctx.RegisterResourceOutputs(root, PlatformExports(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// PlatformExports renders the outputs every platform stack exports for its tenants, on every
// target; tenantplan.PlatformOutputsFromMap reads them back.
func PlatformExports(o *tenantplan.PlatformOutputs) pulumi.Map {
	return pulumi.Map{
		tenantplan.OutputEnvironment:       pulumi.String(o.Environment),
		tenantplan.OutputIngressNamespace:  pulumi.String(o.IngressNamespace),
		tenantplan.OutputSharedNamespace:   pulumi.String(o.SharedNamespace),
		tenantplan.OutputAdmissionPolicies: pulumi.ToStringArray(o.AdmissionPolicies),
	}
}
