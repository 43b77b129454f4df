package azureidentity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	authfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	kvfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	msifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi/fake"
	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

const sub = "11111111-2222-3333-4444-555555555555"

func env() *isolation.Environment {
	return &isolation.Environment{
		Metadata: isolation.ObjectMeta{Name: "test"},
		Spec: isolation.EnvironmentSpec{
			Target:         isolation.TargetAzure,
			Azure:          &isolation.AzureSpec{SubscriptionID: sub, Location: "westeurope"},
			Hub:            isolation.HubSpec{VNetName: "vnet-hub"},
			SharedCluster:  isolation.ClusterSpec{Name: "aks-shared", IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants"},
			SharedVault:    isolation.VaultSpec{Name: "kv-shared"},
			SharedDatabase: isolation.DatabaseSpec{Server: "psql-shared"},
		},
	}
}

func bindings() []*isolation.RuntimeTenantBinding {
	b := func(id string, tier isolation.Tier, secrets ...isolation.SecretBinding) *isolation.RuntimeTenantBinding {
		return &isolation.RuntimeTenantBinding{Metadata: isolation.ObjectMeta{Name: id}, Source: isolation.Source{File: id + ".yaml"},
			Spec: isolation.BindingSpec{TenantID: id, Environment: "test", Tier: tier, Secrets: secrets}}
	}
	return []*isolation.RuntimeTenantBinding{
		b("acme", isolation.TierSilo, isolation.SecretBinding{Name: "db", KeyVaultRef: "kv-acme", SecretName: "db"}),
		b("globex", isolation.TierPool),
		b("initech", isolation.TierShared),
	}
}

func rg(name string) string { return "/subscriptions/" + sub + "/resourceGroups/" + name }

func resID(group, typ, name string) string { return rg(group) + "/providers/" + typ + "/" + name }

func identityID(tenant string) string {
	return resID("rg-"+tenant+"-test", azureidentity.TypeIdentity, "id-"+tenant+"-test")
}

func vaultID(group, name string) string { return resID(group, azureidentity.TypeVault, name) }

// Built-in role definitions, as Azure returns them (abridged to their permissions).
var (
	secretsUser  = definition("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", nil, nil, []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"})
	reader       = definition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", []string{"*/read"}, nil, nil)
	contributor  = definition("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", []string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"}, nil)
	owner        = definition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", []string{"*"}, nil, nil)
	blobReader   = definition("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read"}, nil, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"})
	netContrib   = definition("4d97b98b-1d4f-4787-a291-c67834d212e7", "Network Contributor", []string{"Microsoft.Network/*"}, nil, nil)
	allDefs      = []*armauthorization.RoleDefinition{secretsUser, reader, contributor, owner, blobReader, netContrib}
	principalIDs = map[string]string{"acme": "aaaaaaaa-0000-0000-0000-000000000001", "globex": "bbbbbbbb-0000-0000-0000-000000000002", "aks": "cccccccc-0000-0000-0000-000000000003"}
)

func definition(guid, name string, actions, notActions, dataActions []string) *armauthorization.RoleDefinition {
	return &armauthorization.RoleDefinition{
		ID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid), Name: to.Ptr(guid),
		Type: to.Ptr(azureidentity.TypeRoleDefinition),
		Properties: &armauthorization.RoleDefinitionProperties{RoleName: to.Ptr(name), RoleType: to.Ptr("BuiltInRole"),
			Permissions: []*armauthorization.Permission{{Actions: to.SliceOfPtrs(actions...), NotActions: to.SliceOfPtrs(notActions...),
				DataActions: to.SliceOfPtrs(dataActions...), NotDataActions: []*string{}}}},
	}
}

func assignment(name, principal string, def *armauthorization.RoleDefinition, scope string) *armauthorization.RoleAssignment {
	return &armauthorization.RoleAssignment{
		ID: to.Ptr(scope + "/providers/Microsoft.Authorization/roleAssignments/" + name), Name: to.Ptr(name), Type: to.Ptr(azureidentity.TypeRoleAssignment),
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(principalIDs[principal]), RoleDefinitionID: def.ID,
			Scope: to.Ptr(scope), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}
}

func identity(group, name, principal string, tags map[string]*string) *armmsi.Identity {
	return &armmsi.Identity{ID: to.Ptr(resID(group, azureidentity.TypeIdentity, name)), Name: to.Ptr(name), Type: to.Ptr(azureidentity.TypeIdentity),
		Location: to.Ptr("westeurope"), Tags: tags,
		Properties: &armmsi.UserAssignedIdentityProperties{PrincipalID: to.Ptr(principalIDs[principal]), ClientID: to.Ptr("client-" + principal), TenantID: to.Ptr("tid")}}
}

func vault(group, name string, rbac bool, policies ...*armkeyvault.AccessPolicyEntry) *armkeyvault.Vault {
	return &armkeyvault.Vault{ID: to.Ptr(vaultID(group, name)), Name: to.Ptr(name), Type: to.Ptr(azureidentity.TypeVault), Location: to.Ptr("westeurope"),
		Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr("tid"), EnableRbacAuthorization: to.Ptr(rbac), AccessPolicies: policies,
			SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}}}
}

func policyFor(principal string) *armkeyvault.AccessPolicyEntry {
	return &armkeyvault.AccessPolicyEntry{ObjectID: to.Ptr(principalIDs[principal]), TenantID: to.Ptr("tid"),
		Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissionsList)}}}
}

func credential(identity, name, issuer, subject string) *armmsi.FederatedIdentityCredential {
	return &armmsi.FederatedIdentityCredential{ID: to.Ptr(identity + "/federatedIdentityCredentials/" + name), Name: to.Ptr(name),
		Type:       to.Ptr(azureidentity.TypeFederatedCredential),
		Properties: &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr(issuer), Subject: to.Ptr(subject), Audiences: to.SliceOfPtrs("api://AzureADTokenExchange")}}
}

const issuer = "https://westeurope.oic.prod-aks.azurenet.com/tid/cluster/"

// world is what the fake subscription holds.
type world struct {
	assignments []*armauthorization.RoleAssignment
	vaults      []*armkeyvault.Vault
	identities  []*armmsi.Identity
	credentials map[string][]*armmsi.FederatedIdentityCredential // by identity name
}

func baseWorld() *world {
	return &world{
		identities: []*armmsi.Identity{
			identity("rg-acme-test", "id-acme-test", "acme", nil),
			identity("rg-globex-test", "id-globex-test", "globex", nil),
			identity("rg-platform-test", "id-aks-control-plane", "aks", nil),
		},
		vaults: []*armkeyvault.Vault{vault("rg-acme-test", "kv-acme", true), vault("rg-platform-test", "kv-shared", true)},
		assignments: []*armauthorization.RoleAssignment{
			// What the programs create: each identity reads its own vault or its own shared secrets;
			// the cluster's identity joins a tenant subnet.
			assignment("own-vault", "acme", secretsUser, vaultID("rg-acme-test", "kv-acme")),
			assignment("subnet", "aks", netContrib, resID("rg-acme-test", "Microsoft.Network/virtualNetworks", "vnet-acme-test")+"/subnets/nodes"),
		},
		credentials: map[string][]*armmsi.FederatedIdentityCredential{
			"id-acme-test":   {credential(identityID("acme"), "fic-acme", issuer, "system:serviceaccount:t-acme:t-acme")},
			"id-globex-test": {credential(identityID("globex"), "fic-globex", issuer, "system:serviceaccount:t-globex:t-globex")},
		},
	}
}

// transport routes each SDK's requests to its fake server factory.
type transport map[string]policy.Transporter

func (t transport) Do(req *http.Request) (*http.Response, error) {
	for prefix, tr := range t {
		if strings.Contains(strings.ToLower(req.URL.Path), prefix) {
			return tr.Do(req)
		}
	}
	return nil, fmt.Errorf("no fake server for %s", req.URL.Path)
}

func pages[T any, R any](items []T, size int, wrap func([]T) R) azfake.PagerResponder[R] {
	var resp azfake.PagerResponder[R]
	for i := 0; i < len(items) || i == 0; i += size {
		resp.AddPage(http.StatusOK, wrap(items[i:min(i+size, len(items))]), nil)
	}
	return resp
}

func (w *world) clientOptions() arm.ClientOptions {
	auth := &authfake.ServerFactory{
		RoleAssignmentsServer: authfake.RoleAssignmentsServer{NewListForSubscriptionPager: func(*armauthorization.RoleAssignmentsClientListForSubscriptionOptions) azfake.PagerResponder[armauthorization.RoleAssignmentsClientListForSubscriptionResponse] {
			return pages(w.assignments, 2, func(v []*armauthorization.RoleAssignment) armauthorization.RoleAssignmentsClientListForSubscriptionResponse {
				return armauthorization.RoleAssignmentsClientListForSubscriptionResponse{RoleAssignmentListResult: armauthorization.RoleAssignmentListResult{Value: v}}
			})
		}},
		RoleDefinitionsServer: authfake.RoleDefinitionsServer{NewListPager: func(scope string, _ *armauthorization.RoleDefinitionsClientListOptions) azfake.PagerResponder[armauthorization.RoleDefinitionsClientListResponse] {
			return pages(allDefs, 4, func(v []*armauthorization.RoleDefinition) armauthorization.RoleDefinitionsClientListResponse {
				return armauthorization.RoleDefinitionsClientListResponse{RoleDefinitionListResult: armauthorization.RoleDefinitionListResult{Value: v}}
			})
		}},
	}
	kv := &kvfake.ServerFactory{VaultsServer: kvfake.VaultsServer{NewListBySubscriptionPager: func(*armkeyvault.VaultsClientListBySubscriptionOptions) azfake.PagerResponder[armkeyvault.VaultsClientListBySubscriptionResponse] {
		return pages(w.vaults, 2, func(v []*armkeyvault.Vault) armkeyvault.VaultsClientListBySubscriptionResponse {
			return armkeyvault.VaultsClientListBySubscriptionResponse{VaultListResult: armkeyvault.VaultListResult{Value: v}}
		})
	}}}
	msi := &msifake.ServerFactory{
		UserAssignedIdentitiesServer: msifake.UserAssignedIdentitiesServer{NewListBySubscriptionPager: func(*armmsi.UserAssignedIdentitiesClientListBySubscriptionOptions) azfake.PagerResponder[armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse] {
			return pages(w.identities, 2, func(v []*armmsi.Identity) armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse {
				return armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse{UserAssignedIdentitiesListResult: armmsi.UserAssignedIdentitiesListResult{Value: v}}
			})
		}},
		FederatedIdentityCredentialsServer: msifake.FederatedIdentityCredentialsServer{NewListPager: func(group, name string, _ *armmsi.FederatedIdentityCredentialsClientListOptions) azfake.PagerResponder[armmsi.FederatedIdentityCredentialsClientListResponse] {
			return pages(w.credentials[name], 1, func(v []*armmsi.FederatedIdentityCredential) armmsi.FederatedIdentityCredentialsClientListResponse {
				return armmsi.FederatedIdentityCredentialsClientListResponse{FederatedIdentityCredentialsListResult: armmsi.FederatedIdentityCredentialsListResult{Value: v}}
			})
		}},
	}
	return arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: transport{
		"/microsoft.authorization/":   authfake.NewServerFactoryTransport(auth),
		"/microsoft.keyvault/":        kvfake.NewServerFactoryTransport(kv),
		"/microsoft.managedidentity/": msifake.NewServerFactoryTransport(msi),
	}}}
}

func (w *world) read(t *testing.T) []inventory.AzureResource {
	t.Helper()
	res, err := azureidentity.Read(context.Background(), &azfake.TokenCredential{}, sub, azurenet.WithClientOptions(w.clientOptions()))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// kube is the cluster the federated credentials' subjects live in.
type kube struct{}

func (kube) ServiceAccountOwner(ns, name string) string {
	switch {
	case strings.HasPrefix(ns, "t-"):
		return strings.TrimPrefix(ns, "t-")
	case ns == "shared-tenants" && strings.HasPrefix(name, "t-"):
		return strings.TrimPrefix(name, "t-")
	case ns == "kube-system":
		return isolation.Platform
	}
	return ""
}
func (kube) OpenNamespaces() map[string]string {
	return map[string]string{"t-acme": "acme", "t-globex": "globex", "kube-system": isolation.Platform}
}
func (kube) ServiceAccounts() [][3]string {
	return [][3]string{{"shared-tenants", "t-initech", "initech"}}
}

func analyze(t *testing.T, res []inventory.AzureResource, opts ...azureidentity.Option) *graph.Graph {
	t.Helper()
	sc, err := graph.NewScope(env(), bindings())
	if err != nil {
		t.Fatal(err)
	}
	b := graph.NewBuilder(sc)
	if err := azureidentity.Analyze(context.Background(), sc, res, kube{}, b, append([]azureidentity.Option{azureidentity.WithTrustedIssuers(issuer)}, opts...)...); err != nil {
		t.Fatal(err)
	}
	return b.Graph("snapshot")
}

func summary(g *graph.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		s := fmt.Sprintf("%s→%s %s", e.From, e.To, e.Kind)
		if e.Verdict != graph.VerdictUnexpected {
			s += " " + string(e.Verdict)
		}
		out = append(out, s)
	}
	for _, x := range g.Exposures {
		out = append(out, fmt.Sprintf("exposure %s↔%s %s %s", x.Tenant, x.Peer, x.Kind, x.Resource.Name))
	}
	slices.Sort(out)
	return out
}

func every(from string, kind graph.EdgeKind) []string {
	var out []string
	for _, to := range []string{"acme", "globex", "initech", "platform"} {
		if to != from {
			out = append(out, fmt.Sprintf("%s→%s %s", from, to, kind))
		}
	}
	return out
}

func TestAzureIdentityRoutes(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *world)
		want   []string
	}{
		{name: "what the programs create opens nothing"},
		{name: "data actions on another tenant's vault", change: func(w *world) {
			w.vaults = append(w.vaults, vault("rg-globex-test", "kv-globex", true))
			w.assignments = append(w.assignments, assignment("peek", "acme", secretsUser, vaultID("rg-globex-test", "kv-globex")))
		}, want: []string{"acme→globex azure-role-assignment"}},
		{name: "trap: Reader on another tenant's resource group", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("look", "acme", reader, rg("rg-globex-test")))
		}},
		{name: "data actions on another tenant's storage", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("blobs", "acme", blobReader, resID("rg-globex-test", "Microsoft.Storage/storageAccounts", "stglobex")))
		}, want: []string{"acme→globex azure-role-assignment"}},
		{name: "Contributor on the subscription reaches everyone but cannot assign roles", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("contrib", "acme", contributor, "/subscriptions/"+sub))
		}, want: every("acme", graph.KindAzureRoleAssignment)},
		{name: "Owner on the subscription escalates", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("owner", "globex", owner, "/subscriptions/"+sub))
		}, want: every("globex", graph.KindIdentityEscalation)},
		{name: "the platform resource group holds every tenant's shared infrastructure", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("platform", "globex", contributor, rg("rg-platform-test")))
		}, want: every("globex", graph.KindAzureRoleAssignment)},
		{name: "a shared-vault secret carries its tenant's prefix", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("secret", "acme", secretsUser, vaultID("rg-platform-test", "kv-shared")+"/secrets/initech-db"))
		}, want: []string{"acme→initech azure-role-assignment"}},
		{name: "the whole shared vault holds the shared-vault tenants' secrets", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("vault", "acme", secretsUser, vaultID("rg-platform-test", "kv-shared")))
		}, want: []string{"acme→globex azure-role-assignment", "acme→initech azure-role-assignment", "acme→platform azure-role-assignment"}},
		{name: "a role definition the snapshot lacks is unknown", change: func(w *world) {
			missing := definition("00000000-0000-0000-0000-00000000dead", "Custom", []string{"*"}, nil, nil)
			w.assignments = append(w.assignments, assignment("custom", "acme", missing, rg("rg-globex-test")))
		}, want: []string{"acme→globex azure-role-assignment unknown"}},
		{name: "data actions on an access-policy vault are an exposure", change: func(w *world) {
			w.vaults = append(w.vaults, vault("rg-globex-test", "kv-globex", false))
			w.assignments = append(w.assignments, assignment("peek", "acme", secretsUser, vaultID("rg-globex-test", "kv-globex")))
		}, want: []string{"exposure globex↔acme azure-role-assignment peek"}},
		{name: "an access policy naming another tenant's principal", change: func(w *world) {
			w.vaults = append(w.vaults, vault("rg-globex-test", "kv-globex", false, policyFor("acme")))
		}, want: []string{"acme→globex keyvault-access-policy"}},
		{name: "an access policy on an RBAC vault is an exposure", change: func(w *world) {
			w.vaults = append(w.vaults, vault("rg-globex-test", "kv-globex", true, policyFor("acme")))
		}, want: []string{"exposure globex↔acme keyvault-access-policy " + principalIDs["acme"]}},
		{name: "trap: an access policy for the vault's own tenant", change: func(w *world) {
			w.vaults[0] = vault("rg-acme-test", "kv-acme", false, policyFor("acme"))
		}},
		{name: "a federated credential trusting another tenant's ServiceAccount", change: func(w *world) {
			w.credentials["id-globex-test"] = append(w.credentials["id-globex-test"], credential(identityID("globex"), "partner", issuer, "system:serviceaccount:t-acme:t-acme"))
		}, want: []string{"acme→globex federated-credential"}},
		{name: "a federated credential trusting a shared tenant's ServiceAccount", change: func(w *world) {
			w.credentials["id-globex-test"] = append(w.credentials["id-globex-test"], credential(identityID("globex"), "partner", issuer, "system:serviceaccount:shared-tenants:t-initech"))
		}, want: []string{"initech→globex federated-credential"}},
		{name: "a federated credential trusting an untrusted issuer", change: func(w *world) {
			w.credentials["id-globex-test"] = append(w.credentials["id-globex-test"], credential(identityID("globex"), "ci", "https://token.actions.githubusercontent.com", "repo:example/app:ref:refs/heads/main"))
		}, want: []string{"exposure globex↔* federated-credential ci"}},
		{name: "trap: a federated credential for an account of no tenant", change: func(w *world) {
			w.credentials["id-globex-test"] = append(w.credentials["id-globex-test"], credential(identityID("globex"), "ghost", issuer, "system:serviceaccount:nowhere:x"))
		}},
		{name: "a platform identity's grants are the platform's", change: func(w *world) {
			w.assignments = append(w.assignments, assignment("aks-admin", "aks", owner, "/subscriptions/"+sub))
		}},
		{name: "an identity owned by tag", change: func(w *world) {
			w.identities = append(w.identities, identity("rg-misc", "worker", "globex", map[string]*string{"tenantctl-tenant": to.Ptr("globex")}))
			w.identities = slices.DeleteFunc(w.identities, func(i *armmsi.Identity) bool { return *i.Name == "id-globex-test" })
			w.assignments = append(w.assignments, assignment("tagged", "globex", secretsUser, vaultID("rg-acme-test", "kv-acme")))
		}, want: []string{"globex→acme azure-role-assignment"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := baseWorld()
			if tc.change != nil {
				tc.change(w)
			}
			g := analyze(t, w.read(t))
			if diff := cmp.Diff(sorted(tc.want), summary(g)); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestEvidence: the assignment opens the route; the role names the action that grants it.
func TestEvidence(t *testing.T) {
	w := baseWorld()
	w.assignments = append(w.assignments, assignment("blobs", "acme", blobReader, resID("rg-globex-test", "Microsoft.Storage/storageAccounts", "stglobex")))
	g := analyze(t, w.read(t))
	if len(g.Edges) != 1 {
		t.Fatalf("edges %v", summary(g))
	}
	ev := g.Edges[0].Evidence
	raID := resID("rg-globex-test", "Microsoft.Storage/storageAccounts", "stglobex") + "/providers/Microsoft.Authorization/roleAssignments/blobs"
	want := []graph.EvidenceStep{
		{Kind: "principal", Resource: identityID("acme"), Detail: "identity id-acme-test is in resource group rg-acme-test (rg-<tenant>-<environment>)"},
		{Kind: "role-assignment", Resource: raID, Opens: true,
			Detail: "assigns role Storage Blob Data Reader to principal id-acme-test at scope " + resID("rg-globex-test", "Microsoft.Storage/storageAccounts", "stglobex"),
			Ref:    graph.ResourceRef{Provider: "azure", Type: azureidentity.TypeRoleAssignment, Name: "blobs", ID: raID, Owner: "globex"}},
		{Kind: "role", Resource: *blobReader.ID, Detail: "role Storage Blob Data Reader grants data action Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read (not excluded by notDataActions)"},
		{Kind: "target", Resource: resID("rg-globex-test", "Microsoft.Storage/storageAccounts", "stglobex"), Detail: "resource group rg-globex-test follows rg-<tenant>-<environment>"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

// TestARMJSON reads resources shaped as the REST API and `az` return them: a role assignment
// flattened by `az role assignment list`, and a federated credential with a claims-matching
// expression (a newer API version than the SDK's) whose wildcard reaches every tenant whose
// accounts it matches.
func TestARMJSON(t *testing.T) {
	doc := `[
	{"id": "` + rg("rg-globex-test") + `/providers/Microsoft.Authorization/roleAssignments/flat", "name": "flat",
	 "type": "Microsoft.Authorization/roleAssignments", "principalId": "` + principalIDs["acme"] + `",
	 "roleDefinitionId": "/subscriptions/` + sub + `/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
	 "scope": "` + rg("rg-globex-test") + `", "principalType": "ServicePrincipal"},
	{"id": "` + identityID("globex") + `/federatedIdentityCredentials/flex", "name": "flex",
	 "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	 "properties": {"issuer": "` + issuer + `", "audiences": ["api://AzureADTokenExchange"],
	   "claimsMatchingExpression": {"value": "claims['sub'] matches 'system:serviceaccount:t-*'", "languageVersion": 1}}}
	]`
	var res []inventory.AzureResource
	if err := json.Unmarshal([]byte(doc), &res); err != nil {
		t.Fatal(err)
	}
	res = append(res, baseWorld().read(t)...)
	g := analyze(t, res)
	want := []string{"acme→globex azure-role-assignment", "acme→globex federated-credential"}
	if diff := cmp.Diff(want, summary(g)); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

// TestReadFailure: a failed list fails the read, naming what was listed.
func TestReadFailure(t *testing.T) {
	w := baseWorld()
	opts := w.clientOptions()
	tr := opts.Transport.(transport)
	tr["/microsoft.keyvault/"] = kvfake.NewServerFactoryTransport(&kvfake.ServerFactory{VaultsServer: kvfake.VaultsServer{
		NewListBySubscriptionPager: func(*armkeyvault.VaultsClientListBySubscriptionOptions) (resp azfake.PagerResponder[armkeyvault.VaultsClientListBySubscriptionResponse]) {
			resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
			return
		}}})
	_, err := azureidentity.Read(context.Background(), &azfake.TokenCredential{}, sub, azurenet.WithClientOptions(opts))
	if err == nil || !strings.Contains(err.Error(), "list key vaults") || !strings.Contains(err.Error(), "AuthorizationFailed") {
		t.Errorf("Read error = %v, want the failed vault list", err)
	}
}
