package tenantplan

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

func loadExamples(t *testing.T) *isolation.DesiredState {
	t.Helper()
	st, err := isolation.Load(context.Background(), "../examples/tenants")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// inProd moves the example dev bindings into the azure environment prod.
func inProd(st *isolation.DesiredState) []*isolation.RuntimeTenantBinding {
	var out []*isolation.RuntimeTenantBinding
	for _, b := range st.BindingsIn("dev") {
		c := *b
		c.Spec.Environment = "prod"
		out = append(out, &c)
	}
	return out
}

func planAll(t *testing.T, env *isolation.Environment, bs []*isolation.RuntimeTenantBinding) []*Tenant {
	t.Helper()
	p, err := ForPlatform(env)
	if err != nil {
		t.Fatal(err)
	}
	var out []*Tenant
	for _, b := range bs {
		pl, err := ForTenant(Inputs{Binding: b, Env: env, Platform: p.Outputs()})
		if err != nil {
			t.Fatalf("%s: %v", b.Spec.TenantID, err)
		}
		out = append(out, pl)
	}
	return out
}

// TestPlansAreDeterministicData: the same inputs give byte-identical JSON, and the JSON decodes
// back to the same plan (nothing is hidden in unexported state).
func TestPlansAreDeterministicData(t *testing.T) {
	st := loadExamples(t)
	for _, tc := range []struct {
		env      string
		bindings []*isolation.RuntimeTenantBinding
	}{{"dev", st.BindingsIn("dev")}, {"prod", prodBindings(st)}} {
		env := st.Environment(tc.env)
		first, second := planAll(t, env, tc.bindings), planAll(t, env, tc.bindings)
		for i := range first {
			a, err := json.Marshal(first[i])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(second[i])
			if string(a) != string(b) {
				t.Errorf("%s: two plans of the same inputs differ", first[i].Stack)
			}
			var back Tenant
			if err := json.Unmarshal(a, &back); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(first[i], &back); d != "" {
				t.Errorf("%s: JSON round trip (-plan +decoded):\n%s", first[i].Stack, d)
			}
		}
	}
}

func TestTenantPlanPerTier(t *testing.T) {
	st := loadExamples(t)
	type summary struct {
		Target, Namespace, ServiceAccount string
		OwnNamespace                      bool
		Policies                          []string
		PriorityClass                     string
		AzureIdentity, VNet, NodePool     string
		Vault                             string
		Grants                            int
	}
	sum := func(pl *Tenant) summary {
		s := summary{Target: pl.Target, Namespace: pl.Namespace, ServiceAccount: pl.Identity.ServiceAccount.Metadata.Name,
			OwnNamespace: pl.Compute.OwnNamespace != nil}
		for _, p := range pl.Network.Policies {
			s.Policies = append(s.Policies, p.Metadata.Name)
		}
		if pc := pl.Quota.PriorityClass; pc != nil {
			s.PriorityClass = pc.Metadata.Name
		}
		if a := pl.Identity.Azure; a != nil {
			s.AzureIdentity = a.Name
		}
		if v := pl.Network.VNet; v != nil {
			s.VNet = v.Name
		}
		if np := pl.Compute.NodePool; np != nil {
			s.NodePool = np.Name
		}
		if a := pl.Secrets.Azure; a != nil {
			s.Grants = len(a.Grants)
			if a.Vault != nil {
				s.Vault = a.Vault.Name
			}
		}
		return s
	}
	own := []string{PolicyDefaultDeny, PolicyAllowSameNamespace, PolicyAllowDNS, PolicyAllowFromIngress}
	want := map[string]summary{
		"tenant.acme.dev":     {Target: "kubernetes", Namespace: "t-acme", ServiceAccount: "t-acme", OwnNamespace: true, Policies: own},
		"tenant.globex.dev":   {Target: "kubernetes", Namespace: "t-globex", ServiceAccount: "t-globex", OwnNamespace: true, Policies: own},
		"tenant.initech.dev":  {Target: "kubernetes", Namespace: "shared-tenants", ServiceAccount: "t-initech", Policies: []string{"t-initech-allow-same-tenant"}, PriorityClass: "tenantctl-shared-initech"},
		"tenant.acme.prod":    {Target: "azure", Namespace: "t-acme", ServiceAccount: "t-acme", OwnNamespace: true, Policies: own, AzureIdentity: "id-acme-prod", VNet: "vnet-acme-prod", NodePool: AgentPoolName("acme"), Vault: "kv-acme-dev", Grants: 1},
		"tenant.globex.prod":  {Target: "azure", Namespace: "t-globex", ServiceAccount: "t-globex", OwnNamespace: true, Policies: own, AzureIdentity: "id-globex-prod", Grants: 1},
		"tenant.initech.prod": {Target: "azure", Namespace: "shared-tenants", ServiceAccount: "t-initech", Policies: []string{"t-initech-allow-same-tenant"}, PriorityClass: "tenantctl-shared-initech", AzureIdentity: "id-initech-prod", Grants: 1},
	}
	got := map[string]summary{}
	for _, pl := range append(planAll(t, st.Environment("dev"), st.BindingsIn("dev")), planAll(t, st.Environment("prod"), prodBindings(st))...) {
		got[pl.Stack] = sum(pl)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plans (-want +got):\n%s", d)
	}
}

// prodBindings are the example bindings in prod. The pool and shared tenants' references name
// dev's shared vault, which a tenant of prod may not read (TestSharedVaultOnly), so they are
// moved to prod's shared vault here.
func prodBindings(st *isolation.DesiredState) []*isolation.RuntimeTenantBinding {
	bs := inProd(st)
	for _, b := range bs {
		if b.Spec.Tier == isolation.TierSilo {
			continue
		}
		secrets := slices.Clone(b.Spec.Secrets)
		for i := range secrets {
			secrets[i].KeyVaultRef = "kv-connectsoft-prod"
		}
		b.Spec.Secrets = secrets
	}
	return bs
}

// TestSharedVaultOnly: a pool tenant's references must be its own secrets in the environment's
// shared vault, each granted on its own.
func TestSharedVaultOnly(t *testing.T) {
	st := loadExamples(t)
	env := st.Environment("prod")
	in := Inputs{Binding: inProd(st)[1], Env: env, Platform: ExpectedPlatformOutputs(env)}
	if in.Binding.Spec.TenantID != "globex" {
		t.Fatalf("examples changed: %s", in.Binding.Spec.TenantID)
	}
	if _, err := ForTenant(in); err == nil || !strings.Contains(err.Error(), "reads the shared vault kv-connectsoft-prod only") {
		t.Fatalf("dev vault in prod: error = %v", err)
	}
	in.Binding.Spec.Secrets = []isolation.SecretBinding{{Name: "db", KeyVaultRef: "kv-connectsoft-prod", SecretName: "globex-db"}, {Name: "db2", KeyVaultRef: "kv-connectsoft-prod", SecretName: "globex-db"}}
	pl, err := ForTenant(in)
	if err != nil {
		t.Fatal(err)
	}
	vault := ResourceID(env.Spec.Azure.SubscriptionID, VaultResourceGroup(env), TypeVault, "kv-connectsoft-prod")
	want := []AzureRoleGrant{NewAzureRoleGrant(RoleKeyVaultSecretsUser, SecretScope(vault, "globex-db"), "identity:id-globex-prod")}
	if d := cmp.Diff(want, pl.Secrets.Azure.Grants); d != "" {
		t.Errorf("grants (-want +got):\n%s", d)
	}
}

// TestLayersPlansOnlyWhatIsAsked: a reader of one layer is not stopped by another layer the
// programs would refuse.
func TestLayersPlansOnlyWhatIsAsked(t *testing.T) {
	st := loadExamples(t)
	env := st.Environment("dev")
	b := *st.Binding("dev", "globex")
	b.Spec.Quota.CPU = "" // an allocated quota without cpu: the quota layer refuses it
	in := Inputs{Binding: &b, Env: env, Platform: ExpectedPlatformOutputs(env)}
	if _, err := ForTenant(in); err == nil || !strings.Contains(err.Error(), "quota.cpu is required") {
		t.Fatalf("full plan: error = %v, want the quota's", err)
	}
	pl, err := ForTenant(in, Layers(isolation.LayerNetwork))
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Network.Policies) != 4 || pl.Quota.ResourceQuota.Metadata.Name != "" || pl.Identity.Role.Metadata.Name != "" {
		t.Errorf("network-only plan: %d policies, quota %q, role %q", len(pl.Network.Policies), pl.Quota.ResourceQuota.Metadata.Name, pl.Identity.Role.Metadata.Name)
	}
	if got := len(pl.KubernetesObjects()); got != 5 {
		t.Errorf("network-only plan renders %d objects, want the namespace and its 4 policies", got)
	}
}

func TestPlatformOutputsAreTheExpectedOnes(t *testing.T) {
	st := loadExamples(t)
	for name, env := range st.Environments {
		p, err := ForPlatform(env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(ExpectedPlatformOutputs(env), p.Outputs()); d != "" {
			t.Errorf("%s (-expected +plan):\n%s", name, d)
		}
		if err := p.Outputs().Check(env); err != nil {
			t.Errorf("%s: tenant plans would refuse the platform's own outputs: %v", name, err)
		}
		if (p.Azure != nil) != (env.Spec.Target == isolation.TargetAzure) {
			t.Errorf("%s: target %s, Azure part %v", name, env.Spec.Target, p.Azure != nil)
		}
	}
}

// TestStackOwner: a stack's resources belong to its tenant, a platform stack's to the platform.
func TestStackOwner(t *testing.T) {
	for name, want := range map[string]string{"tenant.acme.dev": "acme", "platform.dev": isolation.Platform} {
		id, err := ParseStackName(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := id.Owner(); got != want {
			t.Errorf("%s: owner %q, want %q", name, got, want)
		}
	}
}

// TestSecretProviderClassPlan: every example tenant's class reads its one vault as its workload
// identity: declared by the environment on the kubernetes target, filled in by the program from
// the identity the stack creates on the azure target.
func TestSecretProviderClassPlan(t *testing.T) {
	st := loadExamples(t)
	type view struct {
		Namespace, Vault, Client, Directory, Source, Annotation string
		Objects                                                 []SecretProviderObject
	}
	got := map[string]view{}
	for _, pl := range append(planAll(t, st.Environment("dev"), st.BindingsIn("dev")), planAll(t, st.Environment("prod"), prodBindings(st))...) {
		c := pl.Secrets.ProviderClass
		v := view{Namespace: c.Metadata.Namespace, Vault: c.KeyVaultName, Client: c.ClientID, Directory: c.TenantID, Objects: c.Objects,
			Source: pl.Identity.Workload.Source, Annotation: pl.Identity.ServiceAccount.Metadata.Annotations[AnnotationWorkloadClientID]}
		if c.Metadata.Name != "t-"+pl.TenantID || c.Metadata.Labels[LabelTenant] != pl.TenantID {
			t.Errorf("%s: class %s labels %v", pl.Stack, c.Metadata.Name, c.Metadata.Labels)
		}
		got[pl.Stack] = v
	}
	dir := "11111111-2222-4333-8444-555555555555"
	acme := []SecretProviderObject{{Name: "acme-db-connection", Type: "secret", Version: "3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c", Alias: "db-connection"}}
	globex := []SecretProviderObject{{Name: "globex-db-connection", Type: "secret", Alias: "db-connection"}}
	initech := []SecretProviderObject{{Name: "initech-api-key", Type: "secret", Alias: "api-key"}}
	want := map[string]view{
		"tenant.acme.dev":     {"t-acme", "kv-acme-dev", "0a1c0000-0000-4000-8000-00000000ac3e", dir, WorkloadIdentityFromEnvironment, "0a1c0000-0000-4000-8000-00000000ac3e", acme},
		"tenant.globex.dev":   {"t-globex", "kv-connectsoft-dev", "0a1c0000-0000-4000-8000-0000000091be", dir, WorkloadIdentityFromEnvironment, "0a1c0000-0000-4000-8000-0000000091be", globex},
		"tenant.initech.dev":  {"shared-tenants", "kv-connectsoft-dev", "0a1c0000-0000-4000-8000-000000001bec", dir, WorkloadIdentityFromEnvironment, "0a1c0000-0000-4000-8000-000000001bec", initech},
		"tenant.acme.prod":    {"t-acme", "kv-acme-dev", "", "", WorkloadIdentityFromStack, "", acme},
		"tenant.globex.prod":  {"t-globex", "kv-connectsoft-prod", "", "", WorkloadIdentityFromStack, "", globex},
		"tenant.initech.prod": {"shared-tenants", "kv-connectsoft-prod", "", "", WorkloadIdentityFromStack, "", initech},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("classes (-want +got):\n%s", d)
	}
}
