// Package identitybench generates large fleets for the identity analysis benchmark: N tenants, a
// third of each tier, with the identity objects the programs create (namespace, ServiceAccounts,
// Role and RoleBinding; in the shared namespace, the labelled ones) and about five bindings per
// tenant in all (its users, groups and service accounts bound to its own Role and to the
// built-in roles in its own scope); for the azure target, each silo tenant's user-assigned
// identity, its federated credential and its role assignment on its own vault. A few
// cross-tenant routes are planted; their number grows with N.
package identitybench

import (
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	t "github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Fleet is a generated environment, its bindings and its inventory.
type Fleet struct {
	Env      *isolation.Environment
	Bindings []*isolation.RuntimeTenantBinding
	Snapshot *inventory.Snapshot
	// Bindings counts the RoleBindings and ClusterRoleBindings; Objects every object and resource.
	RBACBindings, Objects int
	// Planted maps each planted route's source tenant to the tenants it must reach.
	Planted map[string][]string
	// Escalator is the tenant planted with cluster-admin: it reaches every tenant.
	Escalator string
}

const (
	sub    = "00000000-0000-0000-0000-0000000000be"
	issuer = "https://oidc.example/bench/"
	// plantEvery plants one cross-tenant route per this many tenants.
	plantEvery = 999 // a multiple of 3, so planted tenants keep their tier
)

var secretsUser = "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"

// Generate builds a fleet of n tenants (n ≥ 6).
func Generate(n int) (*Fleet, error) {
	env := t.Env()
	env.Spec.Target = isolation.TargetAzure
	env.Spec.Azure = &isolation.AzureSpec{SubscriptionID: sub, Location: "westeurope"}
	var bindings []*isolation.RuntimeTenantBinding
	for i := range n {
		bindings = append(bindings, t.Binding(t.Name(i), isolation.Tiers[i%3]))
	}
	return For(env, bindings)
}

// For generates the identity objects of bindings (tenant i a third of each tier, in order: the
// tiers repeat every three, as Generate and the network benchmark's generator lay them out) in
// env, an azure environment whose shared and ingress namespaces are identitytest's.
func For(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) (*Fleet, error) {
	f := &Fleet{Env: env, Bindings: bindings, Planted: map[string][]string{}}
	n, envNm := len(bindings), env.Name()
	group := func(id string) string { return "rg-" + id + "-" + envNm }
	objs := t.Cluster()
	var az []inventory.AzureResource
	add := func(v any, id, name, typ string) error {
		r, err := azurenet.Resource(v, id, name, typ, nil)
		if err != nil {
			return err
		}
		az = append(az, r)
		return nil
	}
	def := &armauthorization.RoleDefinition{ID: to.Ptr(secretsUser), Name: to.Ptr("4633458b-17de-408a-b874-0445c86b69e6"), Type: to.Ptr(azureidentity.TypeRoleDefinition),
		Properties: &armauthorization.RoleDefinitionProperties{RoleName: to.Ptr("Key Vault Secrets User"),
			Permissions: []*armauthorization.Permission{{DataActions: to.SliceOfPtrs("Microsoft.KeyVault/vaults/secrets/getSecret/action")}}}}
	if err := add(def, *def.ID, *def.Name, azureidentity.TypeRoleDefinition); err != nil {
		return nil, err
	}
	for i, b := range f.Bindings {
		id := b.Spec.TenantID
		objs = append(objs, t.TenantObjects(b)...)
		objs = append(objs, ownBindings(b)...)
		if b.Spec.Tier != isolation.TierSilo {
			continue
		}
		identityID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/id-%s-%s", sub, group(id), azureidentity.TypeIdentity, id, envNm)
		vaultID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/kv-%s", sub, group(id), id)
		ident := &armmsi.Identity{ID: to.Ptr(identityID), Name: to.Ptr("id-" + id + "-" + envNm), Type: to.Ptr(azureidentity.TypeIdentity), Location: to.Ptr("westeurope"),
			Properties: &armmsi.UserAssignedIdentityProperties{PrincipalID: to.Ptr(principal(i)), ClientID: to.Ptr(principal(i))}}
		fic := &armmsi.FederatedIdentityCredential{ID: to.Ptr(identityID + "/federatedIdentityCredentials/fic-" + id), Name: to.Ptr("fic-" + id),
			Type: to.Ptr(azureidentity.TypeFederatedCredential), Properties: &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr(issuer),
				Subject: to.Ptr("system:serviceaccount:" + tenantplan.TenantNamespace(id) + ":" + tenantplan.TenantObjectName(id)), Audiences: to.SliceOfPtrs("api://AzureADTokenExchange")}}
		ra := roleAssignment(i, vaultID, "own-"+id)
		for _, r := range []struct {
			v        any
			id, name string
			typ      string
		}{{ident, identityID, *ident.Name, azureidentity.TypeIdentity}, {fic, *fic.ID, *fic.Name, azureidentity.TypeFederatedCredential}, {ra, *ra.ID, *ra.Name, azureidentity.TypeRoleAssignment}} {
			if err := add(r.v, r.id, r.name, r.typ); err != nil {
				return nil, err
			}
		}
	}
	// Planted routes: every plantEvery-th pool tenant gets edit in the next pool tenant's
	// namespace; every plantEvery-th silo tenant's identity reads the next silo's vault. One
	// tenant holds cluster-admin.
	for i := 1; i+3 < n; i += plantEvery {
		src, dst := bindings[i].Spec.TenantID, bindings[i+3].Spec.TenantID // tiers repeat every 3: i and i+3 share one
		objs = append(objs, t.RoleBinding(tenantplan.TenantNamespace(dst), "planted-"+src, "edit", nil, t.SA(tenantplan.TenantNamespace(src), tenantplan.TenantObjectName(src))))
		f.Planted[src] = append(f.Planted[src], dst)
	}
	for i := 0; i+3 < n; i += plantEvery {
		src, dst := bindings[i].Spec.TenantID, bindings[i+3].Spec.TenantID
		vaultID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/kv-%s", sub, group(dst), dst)
		ra := roleAssignment(i, vaultID, "planted-"+src)
		if err := add(ra, *ra.ID, *ra.Name, azureidentity.TypeRoleAssignment); err != nil {
			return nil, err
		}
		f.Planted[src] = append(f.Planted[src], dst)
	}
	f.Escalator = bindings[4].Spec.TenantID // a pool tenant
	objs = append(objs, t.ClusterRoleBinding("planted-debug", "cluster-admin", nil, t.SA(tenantplan.TenantNamespace(f.Escalator), tenantplan.TenantObjectName(f.Escalator))))
	for _, o := range objs {
		if k := o.GetKind(); k == "RoleBinding" || k == "ClusterRoleBinding" {
			f.RBACBindings++
		}
	}
	// Round-trip through JSON as a snapshot file holds the objects, so the analysis reads what
	// an export gives it (maps of []any, int64 numbers).
	raw, err := json.Marshal(objs)
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	k8s := make([]unstructured.Unstructured, len(items))
	for i, it := range items {
		k8s[i] = unstructured.Unstructured{Object: it}
	}
	f.Snapshot = &inventory.Snapshot{Kubernetes: k8s, Azure: az}
	f.Objects = len(k8s) + len(az)
	return f, nil
}

func principal(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

func roleAssignment(i int, scope, name string) *armauthorization.RoleAssignment {
	return &armauthorization.RoleAssignment{ID: to.Ptr(scope + "/providers/Microsoft.Authorization/roleAssignments/" + name), Name: to.Ptr(name),
		Type: to.Ptr(azureidentity.TypeRoleAssignment), Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID: to.Ptr(principal(i)), RoleDefinitionID: to.Ptr(secretsUser), Scope: to.Ptr(scope)}}
}

// ownBindings are the bindings a tenant adds in its own scope beyond what the programs create:
// its developers and operators, and its workloads' accounts.
func ownBindings(b *isolation.RuntimeTenantBinding) []unstructured.Unstructured {
	id := b.Spec.TenantID
	lbl := t.Tenant(id)
	if b.Spec.Tier == isolation.TierShared {
		ns, role := t.SharedNamespace, "Role/"+tenantplan.TenantObjectName(id)
		return []unstructured.Unstructured{
			t.RoleBinding(ns, tenantplan.TenantObjectName(id)+"-dev", role, lbl, t.User(id+"-dev@example.com")),
			t.RoleBinding(ns, tenantplan.TenantObjectName(id)+"-ops", role, lbl, t.Group(id+"-ops")),
		}
	}
	ns := tenantplan.TenantNamespace(id)
	return []unstructured.Unstructured{
		t.ServiceAccount(ns, "app", lbl),
		t.RoleBinding(ns, "app-view", "view", lbl, t.SA(ns, "app")),
		t.RoleBinding(ns, "dev-edit", "edit", lbl, t.User(id+"-dev@example.com")),
		t.RoleBinding(ns, "ops-admin", "admin", lbl, t.Group(id+"-ops")),
		t.RoleBinding(ns, "pods-own", "Role/"+tenantplan.TenantObjectName(id), lbl, t.Group("system:serviceaccounts:"+ns)),
	}
}
