package kubernetes

import (
	"fmt"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	schedulingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/scheduling/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// deployCompute creates the tenant's namespace (when it has one), and its identity: the
// ServiceAccount and the Role and RoleBinding that limit that account to the tenant's own
// objects. It returns the scope the other layers create their objects in.
func deployCompute(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantplan.Tenant, wi WorkloadIdentity, out *TenantOutputs) (scope, error) {
	c, err := NewComponent(ctx, TypeTenantCompute, pl.TenantID, root)
	if err != nil {
		return scope{}, err
	}
	sc := scope{name: pl.Namespace, ref: pulumi.String(pl.Namespace)}
	if ns := pl.Compute.OwnNamespace; ns != nil {
		created, err := corev1.NewNamespace(ctx, ns.Metadata.Name, &corev1.NamespaceArgs{Metadata: objectMeta(scope{}, ns.Metadata)}, resOpts(c, p)...)
		if err != nil {
			return scope{}, fmt.Errorf("namespace %s: %w", ns.Metadata.Name, err)
		}
		sc.ref = created.Metadata.Name()
	}

	id := pl.Identity
	key := objectKey(sc.name, id.ServiceAccount.Metadata.Name)
	saMeta := objectMeta(sc, id.ServiceAccount.Metadata)
	if wi.ClientID != nil {
		saMeta.Annotations = pulumi.StringMap{tenantplan.AnnotationWorkloadClientID: wi.ClientID, tenantplan.AnnotationWorkloadTenantID: wi.TenantID}
	}
	sa, err := corev1.NewServiceAccount(ctx, key, &corev1.ServiceAccountArgs{
		Metadata: saMeta,
		// Pods that need the API mount a projected token explicitly; nothing gets one by default.
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, resOpts(c, p)...)
	if err != nil {
		return scope{}, fmt.Errorf("service account %s: %w", key, err)
	}
	role, err := rbacv1.NewRole(ctx, objectKey(sc.name, id.Role.Metadata.Name), &rbacv1.RoleArgs{
		Metadata: objectMeta(sc, id.Role.Metadata),
		Rules:    policyRules(id.Role.Rules),
	}, resOpts(c, p)...)
	if err != nil {
		return scope{}, fmt.Errorf("role %s: %w", key, err)
	}
	if _, err := rbacv1.NewRoleBinding(ctx, objectKey(sc.name, id.RoleBinding.Metadata.Name), &rbacv1.RoleBindingArgs{
		Metadata: objectMeta(sc, id.RoleBinding.Metadata),
		RoleRef: rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"),
			Kind:     pulumi.String("Role"),
			Name:     role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{
			Kind:      pulumi.String("ServiceAccount"),
			Name:      sa.Metadata.Name().Elem(),
			Namespace: pulumi.String(sc.name),
		}},
	}, resOpts(c, p)...); err != nil {
		return scope{}, fmt.Errorf("role binding %s: %w", key, err)
	}
	out.ServiceAccounts = []string{id.ServiceAccount.Metadata.Name}
	return sc, finishComponent(ctx, c, pl.Compute.Mode, pulumi.Map{
		OutputNamespace:       pulumi.String(pl.Namespace),
		OutputServiceAccounts: pulumi.ToStringArray(out.ServiceAccounts),
	})
}

// deployNetwork creates the tenant's NetworkPolicies.
func deployNetwork(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantplan.Tenant, sc scope, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantNetwork, pl.TenantID, root)
	if err != nil {
		return err
	}
	names, err := createPolicies(ctx, c, p, sc, pl.Network.Policies)
	if err != nil {
		return err
	}
	out.NetworkPolicies = names
	return finishComponent(ctx, c, pl.Network.Mode, pulumi.Map{OutputNetworkPolicies: pulumi.ToStringArray(names)})
}

// deployQuota creates the tenant's quota: a ResourceQuota and a LimitRange in a namespace of its
// own; in the shared namespace a PriorityClass and the ResourceQuota scoped to it.
func deployQuota(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantplan.Tenant, sc scope, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantQuota, pl.TenantID, root)
	if err != nil {
		return err
	}
	q := pl.Quota
	key := objectKey(sc.name, q.ResourceQuota.Metadata.Name)
	spec := &corev1.ResourceQuotaSpecArgs{Hard: pulumi.ToStringMap(q.ResourceQuota.Hard)}
	if pc := q.PriorityClass; pc != nil {
		created, err := schedulingv1.NewPriorityClass(ctx, pc.Metadata.Name, &schedulingv1.PriorityClassArgs{
			Metadata:         objectMeta(scope{}, pc.Metadata),
			Value:            pulumi.Int(pc.Value),
			PreemptionPolicy: pulumi.String(pc.PreemptionPolicy),
			GlobalDefault:    pulumi.Bool(false),
			Description:      pulumi.String(pc.Description),
		}, resOpts(c, p)...)
		if err != nil {
			return fmt.Errorf("priority class %s: %w", pc.Metadata.Name, err)
		}
		// The scope names the class through its resource, so the quota waits for it.
		spec.ScopeSelector = &corev1.ScopeSelectorArgs{MatchExpressions: corev1.ScopedResourceSelectorRequirementArray{
			corev1.ScopedResourceSelectorRequirementArgs{
				ScopeName: pulumi.String("PriorityClass"),
				Operator:  pulumi.String("In"),
				Values:    pulumi.StringArray{created.Metadata.Name().Elem()},
			},
		}}
		out.PriorityClass = pc.Metadata.Name
	}
	if _, err := corev1.NewResourceQuota(ctx, key, &corev1.ResourceQuotaArgs{
		Metadata: objectMeta(sc, q.ResourceQuota.Metadata),
		Spec:     spec,
	}, resOpts(c, p)...); err != nil {
		return fmt.Errorf("resource quota %s: %w", key, err)
	}
	out.ResourceQuota = q.ResourceQuota.Metadata.Name
	if lr := q.LimitRange; lr != nil {
		if _, err := corev1.NewLimitRange(ctx, objectKey(sc.name, lr.Metadata.Name), &corev1.LimitRangeArgs{
			Metadata: objectMeta(sc, lr.Metadata),
			Spec:     &corev1.LimitRangeSpecArgs{Limits: limitRangeItems(lr.Container, lr.PVC)},
		}, resOpts(c, p)...); err != nil {
			return fmt.Errorf("limit range %s: %w", key, err)
		}
		out.LimitRange = lr.Metadata.Name
	}
	return finishComponent(ctx, c, pl.Quota.Mode, pulumi.Map{
		OutputResourceQuota: pulumi.String(out.ResourceQuota),
		OutputLimitRange:    pulumi.String(out.LimitRange),
		OutputPriorityClass: pulumi.String(out.PriorityClass),
	})
}

func limitRangeItems(container tenantplan.LimitItem, pvc map[string]string) corev1.LimitRangeItemArray {
	c := corev1.LimitRangeItemArgs{
		Type:           pulumi.String("Container"),
		Default:        pulumi.ToStringMap(container.Default),
		DefaultRequest: pulumi.ToStringMap(container.DefaultRequest),
	}
	if len(container.Max) > 0 {
		c.Max = pulumi.ToStringMap(container.Max)
	}
	items := corev1.LimitRangeItemArray{c}
	if len(pvc) > 0 {
		items = append(items, corev1.LimitRangeItemArgs{Type: pulumi.String("PersistentVolumeClaim"), Max: pulumi.ToStringMap(pvc)})
	}
	return items
}

// deploySecrets creates the tenant's SecretProviderClass: which vault, which secrets at which
// versions, as which workload identity. Values never pass through the program; the Secrets Store
// CSI driver reads them from Key Vault when a pod mounts the class.
func deploySecrets(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantplan.Tenant, sc scope, wi WorkloadIdentity, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantSecrets, pl.TenantID, root)
	if err != nil {
		return err
	}
	spc := pl.Secrets.ProviderClass
	if spc == nil {
		return finishComponent(ctx, c, pl.Secrets.Mode, pulumi.Map{OutputSecretProviderClass: pulumi.String("")})
	}
	key := objectKey(sc.name, spc.Metadata.Name)
	if _, err := apiextensions.NewCustomResource(ctx, key, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(tenantplan.SecretProviderClassAPIVersion),
		Kind:        pulumi.String(tenantplan.SecretProviderClassKind),
		Metadata:    objectMeta(sc, spc.Metadata),
		OtherFields: k8s.UntypedArgs{"spec": secretProviderClassSpec(spc, wi)},
	}, resOpts(c, p)...); err != nil {
		return fmt.Errorf("secret provider class %s: %w", key, err)
	}
	out.SecretProviderClass = spc.Metadata.Name
	return finishComponent(ctx, c, pl.Secrets.Mode, pulumi.Map{OutputSecretProviderClass: pulumi.String(spc.Metadata.Name)})
}

// secretProviderClassSpec renders the planned class; the identity's ids come from wi when the
// target creates the identity in the same stack.
func secretProviderClassSpec(spc *tenantplan.SecretProviderClass, wi WorkloadIdentity) pulumi.Map {
	params := pulumi.Map{}
	for k, v := range spc.Parameters() {
		params[k] = pulumi.String(v)
	}
	if wi.ClientID != nil {
		params["clientID"], params["tenantId"] = wi.ClientID, wi.TenantID
	}
	spec := pulumi.Map{"provider": pulumi.String(tenantplan.SecretProviderAzure), "parameters": params}
	if len(spc.SecretObjects) > 0 {
		objs := pulumi.Array{}
		for _, so := range spc.SecretObjects {
			data := pulumi.Array{}
			for _, d := range so.Data {
				data = append(data, pulumi.Map{"objectName": pulumi.String(d.ObjectName), "key": pulumi.String(d.Key)})
			}
			m := pulumi.Map{"secretName": pulumi.String(so.SecretName), "type": pulumi.String(so.Type), "data": data}
			if len(so.Labels) > 0 {
				m["labels"] = pulumi.ToStringMap(so.Labels)
			}
			objs = append(objs, m)
		}
		spec["secretObjects"] = objs
	}
	return spec
}
