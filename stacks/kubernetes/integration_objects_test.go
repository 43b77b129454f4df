package kubernetes_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	spcv1 "sigs.k8s.io/secrets-store-csi-driver/apis/v1"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// specOpts compares quantities by value ("1" and "1000m" are the same quota) and treats nil and
// empty alike, as the API server does when it round-trips an object.
var specOpts = cmp.Options{
	cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }),
	cmpopts.EquateEmpty(),
}

// Expected objects, written out as docs/stacks.md describes them rather than derived from the
// programs, so a change to a program that breaks the documented isolation fails here.
func tenantLabels(id, tier, costCenter string) map[string]string {
	return map[string]string{
		"tenantctl.io/tenant":          id,
		"tenantctl.io/tier":            tier,
		"tenantctl.io/environment":     "dev",
		"app.kubernetes.io/managed-by": "tenantctl",
		"cost-center":                  costCenter,
	}
}

func platformLabels() map[string]string {
	return map[string]string{
		"tenantctl.io/owner":           "platform",
		"tenantctl.io/environment":     "dev",
		"app.kubernetes.io/managed-by": "tenantctl",
	}
}

func podSecurity(level string) map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce":         level,
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/audit":           level,
		"pod-security.kubernetes.io/warn":            level,
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func selectNamespace(name string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}
}

var (
	bothDirections = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	udp, tcp       = corev1.ProtocolUDP, corev1.ProtocolTCP
	dnsPort        = intstr.FromInt32(53)

	specDefaultDeny = networkingv1.NetworkPolicySpec{PolicyTypes: bothDirections}
	specSameNS      = networkingv1.NetworkPolicySpec{
		PolicyTypes: bothDirections,
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
	}
	specDNS = networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: selectNamespace("kube-system"),
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dnsPort}, {Protocol: &tcp, Port: &dnsPort}},
		}},
	}
	specFromIngress = networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: selectNamespace(ingressNS)}}}},
	}
)

func specSameTenant(id string) networkingv1.NetworkPolicySpec {
	own := &metav1.LabelSelector{MatchLabels: map[string]string{"tenantctl.io/tenant": id}}
	return networkingv1.NetworkPolicySpec{
		PodSelector: *own,
		PolicyTypes: bothDirections,
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: own}}}},
		Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: own}}}},
	}
}

// secretProviderClasses is the Secrets Store CSI driver's resource.
var secretProviderClasses = schema.GroupVersionResource{Group: spcv1.GroupVersion.Group, Version: spcv1.GroupVersion.Version, Resource: "secretproviderclasses"}

// policy is one expected NetworkPolicy.
type policy struct {
	Labels map[string]string
	Spec   networkingv1.NetworkPolicySpec
}

func checkObjects(ctx context.Context, t *testing.T, cs kubernetes.Interface, dyn dynamic.Interface, state *isolation.DesiredState) {
	acme, globex, initech := tenantLabels("acme", "silo", "cc-1001"), tenantLabels("globex", "pool", "cc-2002"), tenantLabels("initech", "shared", "cc-3003")

	t.Run("namespaces", func(t *testing.T) {
		acmeTolerations := `[{"key":"tenantctl.io/tenant","operator":"Equal","value":"acme","effect":"NoSchedule"}]`
		tests := []struct {
			name        string
			labels      map[string]string
			annotations map[string]string
		}{
			{acmeNS, merge(acme, podSecurity("restricted"), map[string]string{
				"kubernetes.io/metadata.name": acmeNS,
				"tenantctl.io/compute":        "dedicated-node-pool", "tenantctl.io/network": "dedicated-vnet",
				"tenantctl.io/data": "dedicated-database", "tenantctl.io/secrets": "dedicated-vault", "tenantctl.io/quota": "full-capacity",
			}), map[string]string{
				"scheduler.alpha.kubernetes.io/node-selector":      "tenantctl.io/tenant=acme",
				"scheduler.alpha.kubernetes.io/defaultTolerations": acmeTolerations,
			}},
			{globexNS, merge(globex, podSecurity("restricted"), map[string]string{
				"kubernetes.io/metadata.name": globexNS,
				"tenantctl.io/compute":        "dedicated-namespace", "tenantctl.io/network": "policy-per-tenant",
				"tenantctl.io/data": "shared-partitioned", "tenantctl.io/secrets": "shared-vault-access-policy", "tenantctl.io/quota": "allocated",
			}), nil},
			{sharedNS, merge(platformLabels(), podSecurity("restricted"), map[string]string{
				"kubernetes.io/metadata.name": sharedNS, "tenantctl.io/role": "shared-tenants",
				"tenantctl.io/compute": "shared-namespace", "tenantctl.io/network": "shared-with-policy",
			}), nil},
			{ingressNS, merge(platformLabels(), podSecurity("baseline"), map[string]string{
				"kubernetes.io/metadata.name": ingressNS, "tenantctl.io/role": "ingress",
			}), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ns, err := cs.CoreV1().Namespaces().Get(ctx, tt.name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.labels, ns.Labels); diff != "" {
					t.Errorf("labels (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.annotations, ns.Annotations, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("annotations (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("networkpolicies", func(t *testing.T) {
		own := func(labels map[string]string) map[string]policy {
			return map[string]policy{
				"default-deny":         {labels, specDefaultDeny},
				"allow-same-namespace": {labels, specSameNS},
				"allow-dns":            {labels, specDNS},
				"allow-from-ingress":   {labels, specFromIngress},
			}
		}
		tests := map[string]map[string]policy{
			acmeNS:   own(acme),
			globexNS: own(globex),
			// No allow-same-namespace in the shared namespace: only each tenant's own pods reach
			// each other.
			sharedNS: {
				"default-deny":                {platformLabels(), specDefaultDeny},
				"allow-dns":                   {platformLabels(), specDNS},
				"allow-from-ingress":          {platformLabels(), specFromIngress},
				"t-initech-allow-same-tenant": {initech, specSameTenant("initech")},
			},
		}
		for ns, want := range tests {
			t.Run(ns, func(t *testing.T) {
				l, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]policy{}
				for _, np := range l.Items {
					got[np.Name] = policy{np.Labels, np.Spec}
				}
				if diff := cmp.Diff(want, got, specOpts); diff != "" {
					t.Errorf("network policies (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("quota", func(t *testing.T) {
		scoped := &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
			ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"tenantctl-shared-initech"},
		}}}
		tests := []struct {
			tenant, ns string
			labels     map[string]string
			scope      *corev1.ScopeSelector
			limitRange bool
		}{
			{"acme", acmeNS, acme, nil, true},
			{"globex", globexNS, globex, nil, true},
			{"initech", sharedNS, initech, scoped, false},
		}
		for _, tt := range tests {
			t.Run(tt.tenant, func(t *testing.T) {
				q := binding(t, state, tt.tenant).Spec.Quota
				hard := quotaFromBinding(t, q)
				rq, err := cs.CoreV1().ResourceQuotas(tt.ns).Get(ctx, "t-"+tt.tenant, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.labels, rq.Labels); diff != "" {
					t.Errorf("quota labels (-want +got):\n%s", diff)
				}
				want := corev1.ResourceQuotaSpec{Hard: hard, ScopeSelector: tt.scope}
				if diff := cmp.Diff(want, rq.Spec, specOpts); diff != "" {
					t.Errorf("quota of %s (-want +got):\n%s", tt.tenant, diff)
				}
				lr, err := cs.CoreV1().LimitRanges(tt.ns).Get(ctx, "t-"+tt.tenant, metav1.GetOptions{})
				if !tt.limitRange {
					if err == nil {
						t.Errorf("shared tenant %s has a LimitRange of its own in %s; the platform's applies", tt.tenant, tt.ns)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				// Every container is capped at the tenant's whole cpu and memory quota.
				wantMax := corev1.ResourceList{corev1.ResourceCPU: hard[corev1.ResourceLimitsCPU], corev1.ResourceMemory: hard[corev1.ResourceLimitsMemory]}
				var gotMax corev1.ResourceList
				for _, it := range lr.Spec.Limits {
					if it.Type == corev1.LimitTypeContainer {
						gotMax = it.Max
					}
				}
				if diff := cmp.Diff(wantMax, gotMax, specOpts); diff != "" {
					t.Errorf("container max of %s (-want +got):\n%s", tt.tenant, diff)
				}
			})
		}
		pc, err := cs.SchedulingV1().PriorityClasses().Get(ctx, "tenantctl-shared-initech", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type class struct {
			Value         int32
			Preemption    corev1.PreemptionPolicy
			GlobalDefault bool
			Labels        map[string]string
		}
		// The class keys a quota slice and must buy no priority over other shared tenants.
		want := class{0, corev1.PreemptNever, false, initech}
		got := class{pc.Value, deref(pc.PreemptionPolicy), pc.GlobalDefault, pc.Labels}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("priority class tenantctl-shared-initech (-want +got):\n%s", diff)
		}
	})

	t.Run("identity", func(t *testing.T) {
		checkIdentity(ctx, t, cs, dyn, state, map[string]map[string]string{"acme": acme, "globex": globex, "initech": initech})
	})
}

// checkIdentity checks each tenant's ServiceAccount, Role, RoleBinding and secret references.
func checkIdentity(ctx context.Context, t *testing.T, cs kubernetes.Interface, dyn dynamic.Interface, state *isolation.DesiredState, labels map[string]map[string]string) {
	tests := []struct {
		tenant, ns string
		// secretObjects maps a reference name to the in-cluster Secret it resolves to.
		secretObjects map[string]string
	}{
		{"acme", acmeNS, map[string]string{"db-connection": "db-connection"}},
		{"globex", globexNS, map[string]string{"db-connection": "db-connection"}},
		{"initech", sharedNS, map[string]string{"api-key": "t-initech.api-key"}},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			name := "t-" + tt.tenant
			sa, err := cs.CoreV1().ServiceAccounts(tt.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("service account %s/%s mounts a token by default", tt.ns, name)
			}
			if diff := cmp.Diff(labels[tt.tenant], sa.Labels); diff != "" {
				t.Errorf("service account labels (-want +got):\n%s", diff)
			}
			rb, err := cs.RbacV1().RoleBindings(tt.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantRB := rbacv1.RoleBinding{
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: tt.ns}},
			}
			if diff := cmp.Diff(wantRB, rbacv1.RoleBinding{RoleRef: rb.RoleRef, Subjects: rb.Subjects}); diff != "" {
				t.Errorf("role binding (-want +got):\n%s", diff)
			}
			role, err := cs.RbacV1().Roles(tt.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Secrets are readable only by name, only the tenant's own.
			var secretRules []rbacv1.PolicyRule
			for _, r := range role.Rules {
				for _, res := range r.Resources {
					if res == "secrets" || res == "*" {
						secretRules = append(secretRules, r)
					}
				}
			}
			// The tenant's synced Key Vault secrets and its database credentials.
			wantSecrets := append(sortedValues(tt.secretObjects), tenantplan.TenantDataSecretName(tt.tenant))
			wantRules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: wantSecrets}}
			if diff := cmp.Diff(wantRules, secretRules); diff != "" {
				t.Errorf("role rules on secrets (-want +got):\n%s", diff)
			}
			checkSecretProviderClass(ctx, t, cs, dyn, state, tt.tenant, tt.ns, tt.secretObjects)
		})
	}
}

// checkSecretProviderClass: the tenant's SecretProviderClass, read back through the driver's
// own API type, names its vault, each referenced secret at its pinned version (empty: the
// latest), the workload identity the environment declares, and the Secret each reference is
// synced to; the ServiceAccount carries the same identity. Written out here rather than derived
// from the plan.
func checkSecretProviderClass(ctx context.Context, t *testing.T, cs kubernetes.Interface, dyn dynamic.Interface, state *isolation.DesiredState, tenant, ns string, objects map[string]string) {
	t.Helper()
	b := binding(t, state, tenant)
	wi := state.Environment("dev").Spec.WorkloadIdentity
	if wi == nil || wi.ClientIDs[tenant] == "" {
		t.Fatalf("examples declare no workload identity for %s; the check would be vacuous", tenant)
	}
	u, err := dyn.Resource(secretProviderClasses).Namespace(ns).Get(ctx, "t-"+tenant, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var spc spcv1.SecretProviderClass
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &spc); err != nil {
		t.Fatal(err)
	}
	var objs strings.Builder
	objs.WriteString("array:\n")
	vault := ""
	want := spcv1.SecretProviderClassSpec{Provider: "azure"}
	for _, s := range b.Spec.Secrets {
		fmt.Fprintf(&objs, "  - |\n    objectName: %q\n    objectType: \"secret\"\n    objectVersion: %q\n    objectAlias: %q\n", s.SecretName, s.CurrentVersion, s.Name)
		vault, _ = isolation.VaultName(s.KeyVaultRef)
		want.SecretObjects = append(want.SecretObjects, &spcv1.SecretObject{SecretName: objects[s.Name], Type: "Opaque", Labels: spc.Labels,
			Data: []*spcv1.SecretObjectData{{ObjectName: s.Name, Key: "value"}}})
	}
	want.Parameters = map[string]string{"usePodIdentity": "false", "keyvaultName": vault, "tenantId": wi.TenantID, "clientID": wi.ClientIDs[tenant], "objects": objs.String()}
	if diff := cmp.Diff(want, spc.Spec); diff != "" {
		t.Errorf("secret provider class of %s (-want +got):\n%s", tenant, diff)
	}
	if spc.Labels["tenantctl.io/tenant"] != tenant {
		t.Errorf("secret provider class labels = %v", spc.Labels)
	}
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "t-"+tenant, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantAnn := map[string]string{"azure.workload.identity/client-id": wi.ClientIDs[tenant], "azure.workload.identity/tenant-id": wi.TenantID}
	if diff := cmp.Diff(wantAnn, sa.Annotations); diff != "" {
		t.Errorf("service account annotations of %s (-want +got):\n%s", tenant, diff)
	}
	// The references ConfigMap of earlier versions is gone.
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "t-"+tenant+"-secret-refs", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("legacy ConfigMap t-%s-secret-refs: %v, want not found", tenant, err)
	}
}

func binding(t *testing.T, state *isolation.DesiredState, tenant string) *isolation.RuntimeTenantBinding {
	t.Helper()
	b := state.Binding("dev", tenant)
	if b == nil {
		t.Fatalf("examples have no binding for %s in dev", tenant)
	}
	return b
}

// quotaFromBinding is the ResourceQuota hard list the binding's quota stands for: requests and
// limits both capped at the binding's cpu and memory.
func quotaFromBinding(t *testing.T, q isolation.QuotaSpec) corev1.ResourceList {
	t.Helper()
	parse := func(field, s string) resource.Quantity {
		v, err := resource.ParseQuantity(s)
		if err != nil {
			t.Fatalf("binding quota.%s %q: %v", field, s, err)
		}
		return v
	}
	cpu, mem := parse("cpu", q.CPU), parse("memory", q.Memory)
	hard := corev1.ResourceList{
		corev1.ResourceRequestsCPU: cpu, corev1.ResourceLimitsCPU: cpu,
		corev1.ResourceRequestsMemory: mem, corev1.ResourceLimitsMemory: mem,
		corev1.ResourcePods: *resource.NewQuantity(int64(q.Pods), resource.DecimalSI),
	}
	if q.Storage != "" {
		hard[corev1.ResourceRequestsStorage] = parse("storage", q.Storage)
	}
	return hard
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
