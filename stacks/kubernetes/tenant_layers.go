package kubernetes

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	schedulingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/scheduling/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// Namespace annotations read by the PodNodeSelector and PodTolerationRestriction admission plugins
// where the API server enables them (not on AKS): they default a silo pod's nodeSelector and
// toleration. Enforcement does not depend on them; see PolicySiloNodePinning.
const (
	AnnotationNodeSelector       = "scheduler.alpha.kubernetes.io/node-selector"
	AnnotationDefaultTolerations = "scheduler.alpha.kubernetes.io/defaultTolerations"
)

// deployCompute creates the tenant's namespace (when it has one), its ServiceAccount and the Role
// and RoleBinding that limit that account to the tenant's own objects. It returns the scope the
// other layers create their objects in.
func deployCompute(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantPlan, out *TenantOutputs) (scope, error) {
	c, err := NewComponent(ctx, TypeTenantCompute, pl.id, root)
	if err != nil {
		return scope{}, err
	}
	sc := scope{name: pl.namespace, ref: pulumi.String(pl.namespace)}
	if pl.ownNamespace {
		ann, err := pl.namespaceAnnotations()
		if err != nil {
			return scope{}, err
		}
		meta := &metav1.ObjectMetaArgs{Name: pulumi.String(pl.namespace), Labels: pulumi.ToStringMap(pl.namespaceLabels())}
		if len(ann) > 0 {
			meta.Annotations = pulumi.ToStringMap(ann)
		}
		ns, err := corev1.NewNamespace(ctx, pl.namespace, &corev1.NamespaceArgs{Metadata: meta}, resOpts(c, p)...)
		if err != nil {
			return scope{}, fmt.Errorf("namespace %s: %w", pl.namespace, err)
		}
		sc.ref = ns.Metadata.Name()
	}

	name := stacks.TenantObjectName(pl.id)
	key := objectKey(sc.name, name)
	sa, err := corev1.NewServiceAccount(ctx, key, &corev1.ServiceAccountArgs{
		Metadata: objectMeta(sc, name, pl.labels),
		// Pods that need the API mount a projected token explicitly; nothing gets one by default.
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, resOpts(c, p)...)
	if err != nil {
		return scope{}, fmt.Errorf("service account %s: %w", key, err)
	}
	role, err := rbacv1.NewRole(ctx, key, &rbacv1.RoleArgs{
		Metadata: objectMeta(sc, name, pl.labels),
		Rules:    policyRules(pl.tenantRules()),
	}, resOpts(c, p)...)
	if err != nil {
		return scope{}, fmt.Errorf("role %s: %w", key, err)
	}
	if _, err := rbacv1.NewRoleBinding(ctx, key, &rbacv1.RoleBindingArgs{
		Metadata: objectMeta(sc, name, pl.labels),
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
	out.ServiceAccounts = []string{name}
	return sc, finishComponent(ctx, c, pl.modes[isolation.LayerCompute], pulumi.Map{
		OutputNamespace:       pulumi.String(pl.namespace),
		OutputServiceAccounts: pulumi.ToStringArray(out.ServiceAccounts),
	})
}

// namespaceLabels are the tenant labels, Pod Security restricted, and every layer's mode; the
// compute mode is what the platform's admission bindings select on.
func (pl *tenantPlan) namespaceLabels() map[string]string {
	layers := map[string]string{}
	for l, m := range pl.modes {
		layers[stacks.LayerLabel(l)] = string(m)
	}
	return stacks.Merge(pl.labels, stacks.PodSecurityLabels(stacks.PSSRestricted), layers)
}

func (pl *tenantPlan) namespaceAnnotations() (map[string]string, error) {
	if !pl.pinned {
		return nil, nil
	}
	tols, err := json.Marshal(pl.tolerations())
	if err != nil {
		return nil, fmt.Errorf("default tolerations: %w", err)
	}
	return map[string]string{
		AnnotationNodeSelector:       NodeLabelTenant + "=" + pl.id,
		AnnotationDefaultTolerations: string(tols),
	}, nil
}

// deployNetwork creates the tenant's NetworkPolicies: in a namespace of its own, default-deny plus
// same-namespace, DNS and platform-ingress allowances; in the shared namespace, whose deny, DNS and
// ingress policies the platform owns, only the path between the tenant's own pods.
func deployNetwork(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantPlan, sc scope, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantNetwork, pl.id, root)
	if err != nil {
		return err
	}
	var pols []netpol
	if pl.ownNamespace {
		pols = []netpol{
			defaultDeny(sc, pl.labels),
			allowSameNamespace(sc, pl.labels),
			allowDNS(sc, pl.labels),
			allowFromIngress(sc, pl.ingressNamespace, pl.labels),
		}
	} else {
		pols = []netpol{allowSameTenant(sc, pl.id, pl.labels)}
	}
	names, err := createPolicies(ctx, c, p, sc, pols...)
	if err != nil {
		return err
	}
	out.NetworkPolicies = names
	return finishComponent(ctx, c, pl.modes[isolation.LayerNetwork], pulumi.Map{OutputNetworkPolicies: pulumi.ToStringArray(names)})
}

// deployQuota creates the tenant's quota. In a namespace of its own that is a ResourceQuota and a
// LimitRange. In the shared namespace a ResourceQuota cannot select pods by label, so each shared
// tenant gets a PriorityClass of its own and a ResourceQuota scoped to it (scopeSelector
// PriorityClass In [...]); PolicySharedTenantIdentity makes every shared pod use its tenant's
// class, so every pod counts against exactly its tenant's slice.
func deployQuota(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantPlan, sc scope, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantQuota, pl.id, root)
	if err != nil {
		return err
	}
	name := stacks.TenantObjectName(pl.id)
	key := objectKey(sc.name, name)
	spec := &corev1.ResourceQuotaSpecArgs{Hard: pulumi.ToStringMap(pl.quota.Hard)}
	if !pl.ownNamespace {
		pcName := stacks.SharedPriorityClassName(pl.id)
		pc, err := schedulingv1.NewPriorityClass(ctx, pcName, &schedulingv1.PriorityClassArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(pcName), Labels: pulumi.ToStringMap(pl.labels)},
			// Every shared tenant gets the same value and never preempts: the class keys a quota
			// slice, it must not buy one tenant scheduling priority over another.
			Value:            pulumi.Int(0),
			PreemptionPolicy: pulumi.String("Never"),
			GlobalDefault:    pulumi.Bool(false),
			Description:      pulumi.String("Quota slice of shared tenant " + pl.id),
		}, resOpts(c, p)...)
		if err != nil {
			return fmt.Errorf("priority class %s: %w", pcName, err)
		}
		spec.ScopeSelector = &corev1.ScopeSelectorArgs{MatchExpressions: corev1.ScopedResourceSelectorRequirementArray{
			corev1.ScopedResourceSelectorRequirementArgs{
				ScopeName: pulumi.String("PriorityClass"),
				Operator:  pulumi.String("In"),
				Values:    pulumi.StringArray{pc.Metadata.Name().Elem()},
			},
		}}
		out.PriorityClass = pcName
	}
	if _, err := corev1.NewResourceQuota(ctx, key, &corev1.ResourceQuotaArgs{
		Metadata: objectMeta(sc, name, pl.labels),
		Spec:     spec,
	}, resOpts(c, p)...); err != nil {
		return fmt.Errorf("resource quota %s: %w", key, err)
	}
	out.ResourceQuota = name
	if pl.ownNamespace {
		if _, err := corev1.NewLimitRange(ctx, key, &corev1.LimitRangeArgs{
			Metadata: objectMeta(sc, name, pl.labels),
			Spec:     &corev1.LimitRangeSpecArgs{Limits: limitRangeItems(pl.quota.Container, pl.quota.PVC)},
		}, resOpts(c, p)...); err != nil {
			return fmt.Errorf("limit range %s: %w", key, err)
		}
		out.LimitRange = name
	}
	return finishComponent(ctx, c, pl.modes[isolation.LayerQuota], pulumi.Map{
		OutputResourceQuota: pulumi.String(out.ResourceQuota),
		OutputLimitRange:    pulumi.String(out.LimitRange),
		OutputPriorityClass: pulumi.String(out.PriorityClass),
	})
}

func limitRangeItems(container limitItem, pvc map[string]string) corev1.LimitRangeItemArray {
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

// deploySecrets publishes the tenant's secret references as a ConfigMap: one key per reference,
// whose value names the Key Vault secret and version and the in-cluster Secret it is synced to.
// Values never pass through the program.
func deploySecrets(ctx *pulumi.Context, root pulumi.Resource, p pulumi.ProviderResource, pl *tenantPlan, sc scope, out *TenantOutputs) error {
	c, err := NewComponent(ctx, TypeTenantSecrets, pl.id, root)
	if err != nil {
		return err
	}
	data := map[string]string{}
	for _, r := range pl.secretRefs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("secret reference %s: %w", r.Name, err)
		}
		data[r.Name] = string(b)
	}
	name := stacks.TenantSecretRefsName(pl.id)
	key := objectKey(sc.name, name)
	if _, err := corev1.NewConfigMap(ctx, key, &corev1.ConfigMapArgs{
		Metadata: objectMeta(sc, name, pl.labels),
		Data:     pulumi.ToStringMap(data),
	}, resOpts(c, p)...); err != nil {
		return fmt.Errorf("config map %s: %w", key, err)
	}
	out.SecretRefsConfigMap = name
	return finishComponent(ctx, c, pl.modes[isolation.LayerSecrets], pulumi.Map{OutputSecretRefsConfigMap: pulumi.String(name)})
}
