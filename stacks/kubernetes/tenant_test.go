package kubernetes

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const providerRef = "urn:pulumi:tenant.acme.dev::tenantctl::pulumi:providers:kubernetes::k8s::k8s-id"

// tree renders every resource as "type name <- parent type name", the shape of the state.
func tree(rec *recorder) []string {
	out := make([]string, 0, len(rec.All()))
	for _, r := range rec.All() {
		line := typeName{r.Type, r.Name}.String() + " <- "
		if r.Parent != (typeName{}) {
			line += r.Parent.String()
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func TestTenantProgramResourceTree(t *testing.T) {
	const (
		tenant  = "tenantctl:tenant:Tenant acme"
		compute = "tenantctl:compute:TenantCompute acme"
		network = "tenantctl:network:TenantNetwork acme"
		quota   = "tenantctl:quota:TenantQuota acme"
		secrets = "tenantctl:secrets:TenantSecrets acme"
	)
	ownNamespace := []string{
		tProvider + " k8s <- ",
		tenant + " <- ",
		compute + " <- " + tenant,
		network + " <- " + tenant,
		quota + " <- " + tenant,
		secrets + " <- " + tenant,
		tNamespace + " t-acme <- " + compute,
		tServiceAccount + " t-acme/t-acme <- " + compute,
		tRole + " t-acme/t-acme <- " + compute,
		tRoleBinding + " t-acme/t-acme <- " + compute,
		tNetworkPolicy + " t-acme/default-deny <- " + network,
		tNetworkPolicy + " t-acme/allow-same-namespace <- " + network,
		tNetworkPolicy + " t-acme/allow-dns <- " + network,
		tNetworkPolicy + " t-acme/allow-from-ingress <- " + network,
		tResourceQuota + " t-acme/t-acme <- " + quota,
		tLimitRange + " t-acme/t-acme <- " + quota,
		tSPC + " t-acme/t-acme <- " + secrets,
	}
	tests := []struct {
		tier isolation.Tier
		want []string
	}{
		{isolation.TierSilo, ownNamespace},
		{isolation.TierPool, ownNamespace},
		{isolation.TierShared, []string{
			tProvider + " k8s <- ",
			tenant + " <- ",
			compute + " <- " + tenant,
			network + " <- " + tenant,
			quota + " <- " + tenant,
			secrets + " <- " + tenant,
			tServiceAccount + " shared-tenants/t-acme <- " + compute,
			tRole + " shared-tenants/t-acme <- " + compute,
			tRoleBinding + " shared-tenants/t-acme <- " + compute,
			tNetworkPolicy + " shared-tenants/t-acme-allow-same-tenant <- " + network,
			tPriorityClass + " tenantctl-shared-acme <- " + quota,
			tResourceQuota + " shared-tenants/t-acme <- " + quota,
			tSPC + " shared-tenants/t-acme <- " + secrets,
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(testInputs("acme", tc.tier)))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, tree(rec)); d != "" {
				t.Errorf("resource tree (-want +got):\n%s", d)
			}
			wantLabels := map[string]string{
				tenantplan.LabelTenant:      "acme",
				tenantplan.LabelTier:        string(tc.tier),
				tenantplan.LabelEnvironment: "dev",
				tenantplan.LabelManagedBy:   tenantplan.ManagedBy,
				"cost-center":               "cc-acme",
			}
			for _, r := range rec.All() {
				if !r.Custom || r.Type == tProvider {
					continue
				}
				if r.Provider != providerRef {
					t.Errorf("%s %s uses provider %q, want the explicit one", r.Type, r.Name, r.Provider)
				}
				if r.Type == tNamespace {
					continue // checked with its Pod Security labels below
				}
				if d := cmp.Diff(wantLabels, stackstest.StringMap(stackstest.Path(r.Inputs, "metadata.labels"))); d != "" {
					t.Errorf("%s %s labels (-want +got):\n%s", r.Type, r.Name, d)
				}
			}
		})
	}
}

func TestTenantNamespaceLabelsAndPinning(t *testing.T) {
	base := func(tier string) map[string]string {
		return map[string]string{
			tenantplan.LabelTenant: "acme", tenantplan.LabelTier: tier, tenantplan.LabelEnvironment: "dev",
			tenantplan.LabelManagedBy: tenantplan.ManagedBy, "cost-center": "cc-acme",
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
			"pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted",
		}
	}
	silo := base("silo")
	for k, v := range map[string]string{
		"tenantctl.io/compute": "dedicated-node-pool", "tenantctl.io/network": "dedicated-vnet",
		"tenantctl.io/data": "dedicated-database", "tenantctl.io/secrets": "dedicated-vault", "tenantctl.io/quota": "full-capacity",
	} {
		silo[k] = v
	}
	pool := base("pool")
	for k, v := range map[string]string{
		"tenantctl.io/compute": "dedicated-namespace", "tenantctl.io/network": "policy-per-tenant",
		"tenantctl.io/data": "shared-partitioned", "tenantctl.io/secrets": "shared-vault-access-policy", "tenantctl.io/quota": "allocated",
	} {
		pool[k] = v
	}
	tests := []struct {
		tier            isolation.Tier
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		{isolation.TierSilo, silo, map[string]string{
			tenantplan.AnnotationNodeSelector:       "tenantctl.io/tenant=acme",
			tenantplan.AnnotationDefaultTolerations: `[{"key":"tenantctl.io/tenant","operator":"Equal","value":"acme","effect":"NoSchedule"}]`,
		}},
		{isolation.TierPool, pool, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(testInputs("acme", tc.tier)))
			if err != nil {
				t.Fatal(err)
			}
			ns := rec.Get(t, tNamespace, "t-acme")
			if d := cmp.Diff(tc.wantLabels, stackstest.StringMap(stackstest.Path(ns.Inputs, "metadata.labels"))); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantAnnotations, stackstest.StringMap(stackstest.Path(ns.Inputs, "metadata.annotations"))); d != "" {
				t.Errorf("annotations (-want +got):\n%s", d)
			}
		})
	}
}

func TestTenantNetworkPolicies(t *testing.T) {
	all := map[string]any{}
	both := []any{"Ingress", "Egress"}
	ownNamespace := map[string]any{
		"default-deny":         map[string]any{"podSelector": all, "policyTypes": both},
		"allow-same-namespace": map[string]any{"podSelector": all, "policyTypes": both, "ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": all}}}}, "egress": []any{map[string]any{"to": []any{map[string]any{"podSelector": all}}}}},
		"allow-dns": map[string]any{"podSelector": all, "policyTypes": []any{"Egress"}, "egress": []any{map[string]any{
			"to": []any{map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
			}},
			"ports": []any{map[string]any{"protocol": "UDP", "port": float64(53)}, map[string]any{"protocol": "TCP", "port": float64(53)}},
		}}},
		"allow-from-ingress": map[string]any{"podSelector": all, "policyTypes": []any{"Ingress"}, "ingress": []any{map[string]any{"from": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "platform-ingress"}},
		}}}}},
	}
	own := map[string]any{"matchLabels": map[string]any{"tenantctl.io/tenant": "acme"}}
	tests := []struct {
		tier isolation.Tier
		ns   string
		want map[string]any
	}{
		{isolation.TierSilo, "t-acme", ownNamespace},
		{isolation.TierPool, "t-acme", ownNamespace},
		{isolation.TierShared, "shared-tenants", map[string]any{
			"t-acme-allow-same-tenant": map[string]any{"podSelector": own, "policyTypes": both,
				"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": own}}}},
				"egress":  []any{map[string]any{"to": []any{map[string]any{"podSelector": own}}}}},
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(testInputs("acme", tc.tier)))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, np := range rec.OfType(tNetworkPolicy) {
				if ns := stackstest.Path(np.Inputs, "metadata.namespace"); ns != tc.ns {
					t.Errorf("%s in namespace %v, want %s", np.Name, ns, tc.ns)
				}
				got[stackstest.Path(np.Inputs, "metadata.name").(string)] = np.Inputs["spec"]
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("network policies (-want +got):\n%s", d)
			}
		})
	}
}

func TestTenantQuota(t *testing.T) {
	container := func(defCPU, defMem, reqCPU, reqMem, maxCPU, maxMem string) map[string]any {
		return map[string]any{"type": "Container",
			"default":        map[string]any{"cpu": defCPU, "memory": defMem},
			"defaultRequest": map[string]any{"cpu": reqCPU, "memory": reqMem},
			"max":            map[string]any{"cpu": maxCPU, "memory": maxMem}}
	}
	hard := func(cpu, mem, pods string, extra ...string) map[string]any {
		h := map[string]any{"requests.cpu": cpu, "limits.cpu": cpu, "requests.memory": mem, "limits.memory": mem, "pods": pods}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	tests := []struct {
		name       string
		tier       isolation.Tier
		quota      *isolation.QuotaSpec // nil keeps the fixture's
		ns         string
		wantQuota  map[string]any
		wantLimits any // nil: no LimitRange
		wantClass  map[string]any
	}{
		{name: "silo uses its binding", tier: isolation.TierSilo, ns: "t-acme",
			wantQuota: map[string]any{"hard": hard("4", "8Gi", "50", "requests.storage", "100Gi")},
			wantLimits: []any{container("500m", "512Mi", "100m", "128Mi", "4", "8Gi"),
				map[string]any{"type": "PersistentVolumeClaim", "max": map[string]any{"storage": "100Gi"}}}},
		{name: "silo fills empty fields from capacity", tier: isolation.TierSilo, ns: "t-acme", quota: &isolation.QuotaSpec{CPU: "6"},
			wantQuota: map[string]any{"hard": hard("6", "16Gi", "200", "requests.storage", "500Gi")},
			wantLimits: []any{container("500m", "512Mi", "100m", "128Mi", "6", "16Gi"),
				map[string]any{"type": "PersistentVolumeClaim", "max": map[string]any{"storage": "500Gi"}}}},
		{name: "pool", tier: isolation.TierPool, ns: "t-acme",
			wantQuota:  map[string]any{"hard": hard("2", "4Gi", "20")},
			wantLimits: []any{container("500m", "512Mi", "100m", "128Mi", "2", "4Gi")}},
		{name: "pool with a quota below the defaults caps them, canonical", tier: isolation.TierPool, ns: "t-acme",
			quota:      &isolation.QuotaSpec{CPU: "0.05", Memory: "100Mi", Pods: 2},
			wantQuota:  map[string]any{"hard": hard("50m", "100Mi", "2")},
			wantLimits: []any{container("50m", "100Mi", "50m", "100Mi", "50m", "100Mi")}},
		{name: "shared slice keyed by priority class", tier: isolation.TierShared, ns: "shared-tenants",
			wantQuota: map[string]any{"hard": hard("2", "4Gi", "20"), "scopeSelector": map[string]any{"matchExpressions": []any{
				map[string]any{"scopeName": "PriorityClass", "operator": "In", "values": []any{"tenantctl-shared-acme"}},
			}}},
			wantClass: map[string]any{"value": float64(0), "preemptionPolicy": "Never", "globalDefault": false, "description": "Quota slice of shared tenant acme"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := testInputs("acme", tc.tier)
			if tc.quota != nil {
				in.Binding.Spec.Quota = *tc.quota
			}
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(in))
			if err != nil {
				t.Fatal(err)
			}
			q := rec.Get(t, tResourceQuota, tc.ns+"/t-acme")
			if d := cmp.Diff(tc.wantQuota, q.Inputs["spec"]); d != "" {
				t.Errorf("quota spec (-want +got):\n%s", d)
			}
			lr := rec.OfType(tLimitRange)
			var gotLimits any
			if len(lr) == 1 {
				gotLimits = stackstest.Path(lr[0].Inputs, "spec.limits")
			} else if len(lr) > 1 {
				t.Fatalf("%d LimitRanges", len(lr))
			}
			if d := cmp.Diff(tc.wantLimits, gotLimits); d != "" {
				t.Errorf("limit range (-want +got):\n%s", d)
			}
			pcs := rec.OfType(tPriorityClass)
			var gotClass map[string]any
			if len(pcs) == 1 {
				gotClass = map[string]any{}
				for _, k := range []string{"value", "preemptionPolicy", "globalDefault", "description"} {
					gotClass[k] = pcs[0].Inputs[k]
				}
			}
			if d := cmp.Diff(tc.wantClass, gotClass); d != "" {
				t.Errorf("priority class (-want +got):\n%s", d)
			}
		})
	}
}

func TestTenantRBAC(t *testing.T) {
	write := []any{"get", "list", "watch", "create", "update", "patch", "delete"}
	workload := []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"pods", "pods/log", "services", "configmaps", "persistentvolumeclaims"}, "verbs": write},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"events"}, "verbs": []any{"get", "list", "watch"}},
		map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments", "statefulsets", "replicasets"}, "verbs": write},
		map[string]any{"apiGroups": []any{"batch"}, "resources": []any{"jobs", "cronjobs"}, "verbs": write},
		map[string]any{"apiGroups": []any{"autoscaling"}, "resources": []any{"horizontalpodautoscalers"}, "verbs": write},
		map[string]any{"apiGroups": []any{"policy"}, "resources": []any{"poddisruptionbudgets"}, "verbs": write},
		map[string]any{"apiGroups": []any{"networking.k8s.io"}, "resources": []any{"ingresses"}, "verbs": write},
	}
	secretRule := func(names ...any) map[string]any {
		return map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"get"}, "resourceNames": names}
	}
	// The account may read its own SecretProviderClass, by name, whatever the tier.
	spcRule := map[string]any{"apiGroups": []any{"secrets-store.csi.x-k8s.io"}, "resources": []any{"secretproviderclasses"}, "verbs": []any{"get"}, "resourceNames": []any{"t-acme"}}
	tests := []struct {
		name      string
		tier      isolation.Tier
		noSecrets bool
		ns        string
		want      []any
	}{
		{name: "pool", tier: isolation.TierPool, ns: "t-acme", want: append(append([]any{}, workload...), spcRule, secretRule("db"))},
		{name: "silo", tier: isolation.TierSilo, ns: "t-acme", want: append(append([]any{}, workload...), spcRule, secretRule("db"))},
		// Without references there must be no secrets rule at all: an empty resourceNames would
		// grant every Secret in the namespace.
		{name: "pool without secrets", tier: isolation.TierPool, noSecrets: true, ns: "t-acme", want: append(append([]any{}, workload...), spcRule)},
		{name: "shared", tier: isolation.TierShared, ns: "shared-tenants", want: []any{spcRule, secretRule("t-acme.db")}},
		{name: "shared without secrets", tier: isolation.TierShared, noSecrets: true, ns: "shared-tenants", want: []any{spcRule}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := testInputs("acme", tc.tier)
			if tc.noSecrets {
				in.Binding.Spec.Secrets = nil
			}
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(in))
			if err != nil {
				t.Fatal(err)
			}
			role := rec.Get(t, tRole, tc.ns+"/t-acme")
			if d := cmp.Diff(tc.want, role.Inputs["rules"]); d != "" {
				t.Errorf("role rules (-want +got):\n%s", d)
			}
			rb := rec.Get(t, tRoleBinding, tc.ns+"/t-acme")
			wantRB := map[string]any{
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "t-acme"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "t-acme", "namespace": tc.ns}},
			}
			if d := cmp.Diff(wantRB, map[string]any{"roleRef": rb.Inputs["roleRef"], "subjects": rb.Inputs["subjects"]}); d != "" {
				t.Errorf("role binding (-want +got):\n%s", d)
			}
			sa := rec.Get(t, tServiceAccount, tc.ns+"/t-acme")
			if sa.Inputs["automountServiceAccountToken"] != false {
				t.Errorf("service account automounts its token: %v", sa.Inputs["automountServiceAccountToken"])
			}
		})
	}
}

// TestTenantSecretProviderClass: the tenant's class names its vault, each referenced secret at
// its pinned version (or the latest), the workload identity the environment declares, and the
// Kubernetes Secret each reference is synced to; the ServiceAccount carries the identity.
func TestTenantSecretProviderClass(t *testing.T) {
	objects := `array:
  - |
    objectName: "acme-db-password"
    objectType: "secret"
    objectVersion: "v1"
    objectAlias: "db"
  - |
    objectName: "acme-api-key"
    objectType: "secret"
    objectVersion: ""
    objectAlias: "api"
`
	synced := func(db, api string, labels map[string]any) []any {
		return []any{
			map[string]any{"secretName": db, "type": "Opaque", "labels": labels, "data": []any{map[string]any{"objectName": "db", "key": "value"}}},
			map[string]any{"secretName": api, "type": "Opaque", "labels": labels, "data": []any{map[string]any{"objectName": "api", "key": "value"}}},
		}
	}
	const directory, client = "11111111-2222-4333-8444-555555555555", "0a1c0000-0000-4000-8000-00000000ac3e"
	tests := []struct {
		tier       isolation.Tier
		ns         string
		db, api    string
		identity   bool
		wantClient string
	}{
		{isolation.TierSilo, "t-acme", "db", "api", true, client},
		{isolation.TierPool, "t-acme", "db", "api", false, ""},
		{isolation.TierShared, "shared-tenants", "t-acme.db", "t-acme.api", true, client},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			in := testInputs("acme", tc.tier)
			in.Binding.Spec.Secrets = append(in.Binding.Spec.Secrets, isolation.SecretBinding{Name: "api", KeyVaultRef: "kv-acme", SecretName: "acme-api-key"})
			if tc.identity {
				in.Env.Spec.WorkloadIdentity = &isolation.WorkloadIdentitySpec{TenantID: directory, ClientIDs: map[string]string{"acme": client, "other": "0a1c0000-0000-4000-8000-000000000001"}}
			}
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(in))
			if err != nil {
				t.Fatal(err)
			}
			spc := rec.Get(t, tSPC, tc.ns+"/t-acme")
			labels := stackstest.Path(spc.Inputs, "metadata.labels").(map[string]any)
			wantTenant := ""
			if tc.identity {
				wantTenant = directory
			}
			want := map[string]any{
				"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
				"metadata": map[string]any{"name": "t-acme", "namespace": tc.ns, "labels": labels},
				"spec": map[string]any{
					"provider": "azure",
					"parameters": map[string]any{"usePodIdentity": "false", "keyvaultName": "kv-acme", "tenantId": wantTenant,
						"clientID": tc.wantClient, "objects": objects},
					"secretObjects": synced(tc.db, tc.api, labels),
				},
			}
			if d := cmp.Diff(want, spc.Inputs); d != "" {
				t.Errorf("secret provider class (-want +got):\n%s", d)
			}
			if labels["tenantctl.io/tenant"] != "acme" {
				t.Errorf("class labels = %v", labels)
			}
			sa := rec.Get(t, tServiceAccount, tc.ns+"/t-acme")
			var wantAnn any
			if tc.identity {
				wantAnn = map[string]any{"azure.workload.identity/client-id": client, "azure.workload.identity/tenant-id": directory}
			}
			if d := cmp.Diff(wantAnn, stackstest.Path(sa.Inputs, "metadata.annotations")); d != "" {
				t.Errorf("service account annotations (-want +got):\n%s", d)
			}
		})
	}
}

// TestSecretProviderClassScope: a class reads one vault, a shared-vault tenant only its own
// prefix there, a dedicated one never the shared vault; the program refuses anything else
// before it registers a resource.
func TestSecretProviderClassScope(t *testing.T) {
	tests := []struct {
		name    string
		tier    isolation.Tier
		secrets []isolation.SecretBinding
		wantErr string
	}{
		{"two vaults", isolation.TierSilo, []isolation.SecretBinding{{Name: "a", KeyVaultRef: "kv-acme", SecretName: "x"}, {Name: "b", KeyVaultRef: "kv-acme-2", SecretName: "y"}},
			"a SecretProviderClass reads one vault"},
		{"silo reads the shared vault", isolation.TierSilo, []isolation.SecretBinding{{Name: "a", KeyVaultRef: "kv-shared-dev", SecretName: "acme-x"}},
			"secrets mode dedicated-vault reads the tenant's own vault"},
		{"pool reads another vault", isolation.TierPool, []isolation.SecretBinding{{Name: "a", KeyVaultRef: "kv-acme", SecretName: "acme-x"}},
			"reads the shared vault kv-shared-dev only"},
		{"shared reads another tenant's secret", isolation.TierShared, []isolation.SecretBinding{{Name: "a", KeyVaultRef: "https://kv-shared-dev.vault.azure.net", SecretName: "globex-x"}},
			`"globex-x" is outside the tenant's prefix "acme-"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := testInputs("acme", tc.tier)
			in.Env.Spec.SharedVault.Name = "kv-shared-dev"
			in.Binding.Spec.Secrets = tc.secrets
			rec, err := run(t, "tenant.acme.dev", testConfig, TenantProgram(in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if n := len(rec.All()); n > 1 {
				t.Errorf("%d resources registered before the refusal", n)
			}
		})
	}
}

func TestTenantOutputs(t *testing.T) {
	tests := []struct {
		tier isolation.Tier
		want TenantOutputs
	}{
		{isolation.TierSilo, TenantOutputs{
			TenantID: "acme", Environment: "dev", Modes: isolation.Resolve(testBinding("acme", isolation.TierSilo)),
			Namespace: "t-acme", ServiceAccounts: []string{"t-acme"},
			NetworkPolicies: []string{"default-deny", "allow-same-namespace", "allow-dns", "allow-from-ingress"},
			ResourceQuota:   "t-acme", LimitRange: "t-acme", SecretProviderClass: "t-acme",
			SecretRefs:        []tenantplan.SecretRef{{Name: "db", KeyVaultRef: "kv-acme", SecretName: "acme-db-password", Version: "v1", SecretObject: "db"}},
			NodeSelector:      map[string]string{"tenantctl.io/tenant": "acme"},
			Tolerations:       []tenantplan.Toleration{{Key: "tenantctl.io/tenant", Operator: "Equal", Value: "acme", Effect: "NoSchedule"}},
			AdmissionPolicies: []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicyTenantSecrets, tenantplan.PolicySiloNodePinning},
		}},
		{isolation.TierPool, TenantOutputs{
			TenantID: "acme", Environment: "dev", Modes: isolation.Resolve(testBinding("acme", isolation.TierPool)),
			Namespace: "t-acme", ServiceAccounts: []string{"t-acme"},
			NetworkPolicies: []string{"default-deny", "allow-same-namespace", "allow-dns", "allow-from-ingress"},
			ResourceQuota:   "t-acme", LimitRange: "t-acme", SecretProviderClass: "t-acme",
			SecretRefs:        []tenantplan.SecretRef{{Name: "db", KeyVaultRef: "kv-acme", SecretName: "acme-db-password", Version: "v1", SecretObject: "db"}},
			AdmissionPolicies: []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicyTenantSecrets},
		}},
		{isolation.TierShared, TenantOutputs{
			TenantID: "acme", Environment: "dev", Modes: isolation.Resolve(testBinding("acme", isolation.TierShared)),
			Namespace: "shared-tenants", ServiceAccounts: []string{"t-acme"},
			NetworkPolicies: []string{"t-acme-allow-same-tenant"},
			ResourceQuota:   "t-acme", PriorityClass: "tenantctl-shared-acme", SecretProviderClass: "t-acme",
			SecretRefs:        []tenantplan.SecretRef{{Name: "db", KeyVaultRef: "kv-acme", SecretName: "acme-db-password", Version: "v1", SecretObject: "t-acme.db"}},
			AdmissionPolicies: []string{tenantplan.PolicyTenantScheduling, tenantplan.PolicyTenantSecrets, tenantplan.PolicySharedTenantIdentity},
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			var got *TenantOutputs
			if _, err := run(t, "tenant.acme.dev", testConfig, tenantProgram(testInputs("acme", tc.tier), func(o *TenantOutputs) { got = o })); err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("program exported nothing")
			}
			if d := cmp.Diff(&tc.want, got); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
			if keys := len(got.Map()); keys != 17 {
				t.Errorf("exports %d keys, want all 17", keys)
			}
		})
	}
}

func TestProviderFromConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]string
		want map[string]any
	}{
		{"path only", testConfig, map[string]any{
			"kubeconfig": "/etc/tenantctl/kubeconfig", "clusterIdentifier": "dev/local",
			"enableServerSideApply": true, "deleteUnreachable": false, "enableConfigMapMutable": true,
		}},
		{"path and context", map[string]string{"tenantctl:kubeconfig": "/k/config", "tenantctl:kubecontext": "kind-local"}, map[string]any{
			"kubeconfig": "/k/config", "context": "kind-local", "clusterIdentifier": "dev/local",
			"enableServerSideApply": true, "deleteUnreachable": false, "enableConfigMapMutable": true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := run(t, "tenant.acme.dev", tc.cfg, TenantProgram(testInputs("acme", isolation.TierPool)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, rec.Get(t, tProvider, ProviderName).Inputs); d != "" {
				t.Errorf("provider inputs (-want +got):\n%s", d)
			}
		})
	}
}
