package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	. "github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
)

func tenants() []*isolation.RuntimeTenantBinding {
	return []*isolation.RuntimeTenantBinding{
		Binding("acme", isolation.TierSilo), Binding("globex", isolation.TierPool),
		Binding("initech", isolation.TierShared), Binding("umbrella", isolation.TierShared),
	}
}

func analyze(t *testing.T, env *isolation.Environment, snap *inventory.Snapshot) (*graph.Graph, *identity.Result) {
	t.Helper()
	return analyzeFleet(t, env, tenants(), snap)
}

// analyzeFleet is analyze over the given bindings.
func analyzeFleet(t *testing.T, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding, snap *inventory.Snapshot) (*graph.Graph, *identity.Result) {
	t.Helper()
	sc, err := graph.NewScope(env, bindings)
	if err != nil {
		t.Fatal(err)
	}
	b := graph.NewBuilder(sc)
	res, err := identity.Analyze(context.Background(), sc, snap, b)
	if err != nil {
		t.Fatal(err)
	}
	return b.Graph("snapshot"), res
}

// edges summarises the graph's edges: "from→to kind [verdict]" (verdict when not unexpected).
func edges(g *graph.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		s := fmt.Sprintf("%s→%s %s", e.From, e.To, e.Kind)
		if e.Verdict != graph.VerdictUnexpected {
			s += " " + string(e.Verdict)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// all is "from→every party kind" for the four test tenants and the platform.
func all(from string, kinds ...graph.EdgeKind) []string {
	var out []string
	for _, to := range []string{"acme", "globex", "initech", "platform", "umbrella"} {
		if to == from {
			continue
		}
		for _, k := range kinds {
			out = append(out, fmt.Sprintf("%s→%s %s", from, to, k))
		}
	}
	return out
}

func sorted(s ...[]string) []string {
	var out []string
	for _, x := range s {
		out = append(out, x...)
	}
	slices.Sort(out)
	return out
}

const (
	rbacKind    = graph.KindIdentityRBAC
	becomeKind  = graph.KindIdentityImpersonation
	escalation  = graph.KindIdentityEscalation
	acmeSA      = "t-acme"
	acmeNS      = "t-acme"
	globexNS    = "t-globex"
	globexSA    = "t-globex"
	initechSA   = "t-initech"
	initechSecr = "t-initech.db"
)

func TestKubernetesIdentityRoutes(t *testing.T) {
	acme := SA(acmeNS, acmeSA)
	tests := []struct {
		name string
		add  []unstructured.Unstructured
		env  func(*isolation.Environment)
		want []string
	}{
		{name: "what the programs create opens nothing"},
		{name: "edit bound in another tenant's namespace", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "partner-access", "edit", nil, acme),
		}, want: []string{"acme→globex identity-impersonation", "acme→globex identity-rbac"}},
		{name: "cluster-admin cluster-wide", add: []unstructured.Unstructured{
			ClusterRoleBinding("acme-debug", "cluster-admin", nil, acme),
		}, want: all("acme", escalation, becomeKind, rbacKind)},
		{name: "an aggregated ClusterRole grants what its labelled parts hold", add: []unstructured.Unstructured{
			AggregatedClusterRole("partner-reader", nil, map[string]string{"example.com/aggregate-to-partner": "true"}),
			ClusterRole("partner-secrets", map[string]string{"example.com/aggregate-to-partner": "true"}, Rule(S("get"), S(""), S("secrets"))),
			RoleBinding(globexNS, "partner", "partner-reader", nil, acme),
		}, want: []string{"acme→globex identity-rbac"}},
		{name: "impersonate another tenant's ServiceAccount", add: []unstructured.Unstructured{
			Role(globexNS, "impersonator", nil, Rule(S("impersonate"), S(""), S("serviceaccounts"), globexSA)),
			RoleBinding(globexNS, "impersonator", "Role/impersonator", nil, acme),
		}, want: []string{"acme→globex identity-impersonation"}},
		{name: "impersonate a user bound in another tenant's scope", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "globex-admin", "admin", nil, User("dana@globex.example")),
			ClusterRole("impersonate-dana", nil, Rule(S("impersonate"), S(""), S("users"), "dana@globex.example")),
			ClusterRoleBinding("acme-as-dana", "impersonate-dana", nil, acme),
		}, want: []string{"acme→globex identity-impersonation"}},
		{name: "impersonate system:masters", add: []unstructured.Unstructured{
			ClusterRole("masters", nil, Rule(S("impersonate"), S(""), S("groups"), "system:masters")),
			ClusterRoleBinding("acme-masters", "masters", nil, acme),
		}, want: all("acme", escalation)},
		{name: "mint another tenant's ServiceAccount tokens", add: []unstructured.Unstructured{
			Role(globexNS, "tokens", nil, Rule(S("create"), S(""), S("serviceaccounts/token"))),
			RoleBinding(globexNS, "tokens", "Role/tokens", nil, acme),
		}, want: []string{"acme→globex identity-impersonation"}},
		{name: "exec into another tenant's pods", add: []unstructured.Unstructured{
			Role(globexNS, "exec", nil, Rule(S("create"), S(""), S("pods/exec"))),
			RoleBinding(globexNS, "exec", "Role/exec", nil, acme),
		}, want: []string{"acme→globex identity-impersonation"}},
		{name: "the namespace's ServiceAccount group", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "acme-pods", "view", nil, Group("system:serviceaccounts:t-acme")),
		}, want: []string{"acme→globex identity-rbac"}},
		{name: "every authenticated principal", add: []unstructured.Unstructured{
			Role(globexNS, "secrets", nil, Rule(S("get"), S(""), S("secrets"))),
			RoleBinding(globexNS, "everyone", "Role/secrets", nil, Group("system:authenticated")),
		}, want: []string{"acme→globex identity-rbac", "initech→globex identity-rbac", "umbrella→globex identity-rbac"}},
		{name: "a user bound in two tenants' scopes is both tenants' principal", add: []unstructured.Unstructured{
			RoleBinding(acmeNS, "ops", "edit", nil, User("sam")),
			RoleBinding(globexNS, "ops", "view", nil, User("sam")),
		}, want: []string{"acme→globex identity-rbac", "globex→acme identity-impersonation", "globex→acme identity-rbac"}},
		{name: "a named Secret of another shared tenant", add: []unstructured.Unstructured{
			Role(SharedNamespace, "peek", Tenant("umbrella"), Rule(S("get"), S(""), S("secrets"), initechSecr)),
			RoleBinding(SharedNamespace, "peek", "Role/peek", Tenant("umbrella"), SA(SharedNamespace, "t-umbrella")),
		}, want: []string{"umbrella→initech identity-rbac"}},
		{name: "unnamed Secrets of the shared namespace expose every shared tenant and the platform", add: []unstructured.Unstructured{
			Role(SharedNamespace, "peek", Tenant("umbrella"), Rule(S("list"), S(""), S("secrets"))),
			RoleBinding(SharedNamespace, "peek", "Role/peek", Tenant("umbrella"), SA(SharedNamespace, "t-umbrella")),
		}, want: []string{"umbrella→initech identity-rbac", "umbrella→platform identity-rbac"}},
		{name: "secrets of a platform namespace", add: []unstructured.Unstructured{
			RoleBinding("kube-system", "acme-reads", "view", nil, acme),
		}, want: []string{"acme→platform identity-rbac"}},
		{name: "becoming a platform account inherits its permissions", add: []unstructured.Unstructured{
			Role("kube-system", "run", nil, Rule(S("create"), S(""), S("pods"))),
			RoleBinding("kube-system", "acme-runs", "Role/run", nil, acme),
		}, want: sorted(all("acme", escalation), []string{"acme→platform identity-impersonation"})},
		{name: "a service-account-token Secret is its account", add: []unstructured.Unstructured{
			TokenSecret("kube-system", "aggregator-token", "clusterrole-aggregation-controller"),
			Role("kube-system", "read-token", nil, Rule(S("get"), S(""), S("secrets"), "aggregator-token")),
			RoleBinding("kube-system", "acme-reads", "Role/read-token", nil, acme),
		}, want: sorted(all("acme", escalation), []string{"acme→platform identity-impersonation", "acme→platform identity-rbac"})},
		{name: "approving CSRs needs the approval and a signer", add: []unstructured.Unstructured{
			ClusterRole("approver", nil, Rule(S("update"), S("certificates.k8s.io"), S("certificatesigningrequests/approval"))),
			ClusterRoleBinding("acme-approves", "approver", nil, acme),
		}},
		{name: "approving CSRs with a client signer escalates", add: []unstructured.Unstructured{
			ClusterRole("approver", nil, Rule(S("update"), S("certificates.k8s.io"), S("certificatesigningrequests/approval")),
				Rule(S("approve"), S("certificates.k8s.io"), S("signers"), "kubernetes.io/kube-apiserver-client")),
			ClusterRoleBinding("acme-approves", "approver", nil, acme),
		}, want: all("acme", escalation)},
		{name: "admission configuration", add: []unstructured.Unstructured{
			ClusterRole("webhooks", nil, Rule(S("patch"), S("admissionregistration.k8s.io"), S("validatingadmissionpolicies"))),
			ClusterRoleBinding("acme-webhooks", "webhooks", nil, acme),
		}, want: all("acme", escalation)},
		{name: "nodes/proxy", add: []unstructured.Unstructured{
			ClusterRole("kubelet", nil, Rule(S("get"), S(""), S("nodes/proxy"))),
			ClusterRoleBinding("acme-kubelet", "kubelet", nil, acme),
		}, want: all("acme", escalation)},
		{name: "bind on ClusterRoles cluster-wide", add: []unstructured.Unstructured{
			ClusterRole("binder", nil, Rule(S("bind"), S("rbac.authorization.k8s.io"), S("clusterroles"))),
			ClusterRoleBinding("acme-binds", "binder", nil, acme),
		}, want: all("acme", escalation)},
		{name: "bind on a named ClusterRole that does not escalate", add: []unstructured.Unstructured{
			ClusterRole("binder", nil, Rule(S("bind"), S("rbac.authorization.k8s.io"), S("clusterroles"), "view")),
			ClusterRoleBinding("acme-binds", "binder", nil, acme),
		}},
		{name: "bind on a ClusterRole within one's own namespace", add: []unstructured.Unstructured{
			ClusterRole("binder", nil, Rule(S("bind", "escalate"), S("rbac.authorization.k8s.io"), S("clusterroles"))),
			RoleBinding(acmeNS, "acme-binds", "binder", nil, acme),
		}},
		{name: "relabel another tenant's namespace", add: []unstructured.Unstructured{
			ClusterRole("labeller", nil, Rule(S("patch"), S(""), S("namespaces"), globexNS)),
			ClusterRoleBinding("acme-labels", "labeller", nil, acme),
		}, want: []string{"acme→globex identity-rbac"}},
		{name: "the API server's logs", add: []unstructured.Unstructured{
			ClusterRole("logs", nil, NonResourceRule(S("get"), S("/logs/*"))),
			ClusterRoleBinding("acme-logs", "logs", nil, acme),
		}, want: []string{"acme→platform identity-rbac"}},
		{name: "a declared platform user is nobody's tenant principal", add: []unstructured.Unstructured{
			RoleBinding(acmeNS, "ops", "edit", nil, User("ops@platform.example")),
			ClusterRoleBinding("ops-admin", "cluster-admin", nil, User("ops@platform.example")),
		}, env: func(e *isolation.Environment) {
			e.Spec.PlatformPrincipals = []isolation.PlatformPrincipal{{Kind: "User", Name: "ops@platform.example"}}
		}},
		{name: "the same user undeclared is acme's", add: []unstructured.Unstructured{
			RoleBinding(acmeNS, "ops", "edit", nil, User("ops@platform.example")),
			ClusterRoleBinding("ops-admin", "cluster-admin", nil, User("ops@platform.example")),
		}, want: all("acme", escalation, becomeKind, rbacKind)},
		// Traps: none of these is a route.
		{name: "trap: a binding to a role without rules", add: []unstructured.Unstructured{
			ClusterRole("nothing", nil),
			RoleBinding(globexNS, "nothing", "nothing", nil, acme),
			AggregatedClusterRole("selects-nothing", nil, map[string]string{"example.com/none": "true"}),
			ClusterRoleBinding("selects-nothing", "selects-nothing", nil, acme),
		}},
		{name: "trap: a ConfigMap resourceName that does not exist there", add: []unstructured.Unstructured{
			Role(globexNS, "ghost", nil, Rule(S("get"), S(""), S("configmaps"), "ghost")),
			RoleBinding(globexNS, "ghost", "Role/ghost", nil, acme),
		}},
		{name: "trap: a subject that exists in no tenant", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "strangers", "edit", nil, SA("nowhere", "x"), SA(SharedNamespace, "t-nobody")),
			ClusterRoleBinding("stranger-admin", "cluster-admin", nil, User("bob"), Group("contractors"), SA("", "no-namespace")),
		}},
		{name: "trap: a binding to a missing role", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "missing", "Role/does-not-exist", nil, acme),
			ClusterRoleBinding("missing", "does-not-exist", nil, acme),
		}},
		{name: "trap: a RoleBinding's Role of the same name elsewhere", add: []unstructured.Unstructured{
			RoleBinding(globexNS, "borrow", "Role/t-acme", nil, acme), // Role t-acme is in t-acme, not t-globex
		}},
		{name: "trap: list with a resourceName and create with one", add: []unstructured.Unstructured{
			Role(globexNS, "named", nil, Rule(S("create"), S(""), S("pods", "secrets"), "db")),
			RoleBinding(globexNS, "named", "Role/named", nil, acme),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := Env()
			if tc.env != nil {
				tc.env(env)
			}
			objs := append(Fleet(tenants()...), tc.add...)
			g, _ := analyze(t, env, &inventory.Snapshot{Kubernetes: objs})
			if diff := cmp.Diff(sorted(tc.want), edges(g)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvidence: the chain names the principal, the binding (which opens the route), the role
// with the exact rule and where it came from, and what it reaches.
func TestEvidence(t *testing.T) {
	objs := append(Fleet(tenants()...), RoleBinding(globexNS, "partner-access", "edit", nil, SA(acmeNS, acmeSA)))
	g, _ := analyze(t, Env(), &inventory.Snapshot{Kubernetes: objs})
	var got []graph.EvidenceStep
	for _, e := range g.Edges {
		if e.From == "acme" && e.To == "globex" && e.Kind == graph.KindIdentityRBAC {
			got = e.Evidence
		}
	}
	want := []graph.EvidenceStep{
		{Kind: "principal", Resource: "ServiceAccount t-acme/t-acme", Detail: "ServiceAccount t-acme/t-acme: namespace t-acme is declared by the binding of acme"},
		{Kind: "binding", Resource: "rbac.authorization.k8s.io/v1/RoleBinding t-globex/partner-access", Opens: true,
			Detail: "grants ClusterRole edit to ServiceAccount t-acme/t-acme in namespace t-globex",
			Ref:    graph.ResourceRef{Provider: "kubernetes", Type: "rbac.authorization.k8s.io/v1/RoleBinding", Namespace: "t-globex", Name: "partner-access", ID: "t-globex/partner-access", Owner: "globex"}},
		{Kind: "role", Resource: "rbac.authorization.k8s.io/v1/ClusterRole edit",
			Detail: `rule verbs=[get list watch] apiGroups=[""] resources=[pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy] (aggregated from ClusterRole system:aggregate-to-edit, whose labels its aggregationRule selects)`,
			Ref:    graph.ResourceRef{Provider: "kubernetes", Type: "rbac.authorization.k8s.io/v1/ClusterRole", Name: "edit", ID: "edit"}},
		{Kind: "target", Resource: "secrets of namespace t-globex", Detail: "read Secrets: get secrets in namespace t-globex; namespace t-globex is declared by the binding of globex"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

// TestUnknownWhenNotListed: a resourceNames rule on a type the snapshot did not list cannot be
// decided; the edge is unknown, never safe.
func TestUnknownWhenNotListed(t *testing.T) {
	objs := append(Fleet(tenants()...),
		Role(globexNS, "named", nil, Rule(S("get"), S(""), S("configmaps"), "settings")),
		RoleBinding(globexNS, "named", "Role/named", nil, SA(acmeNS, acmeSA)))
	var kept []unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" {
			kept = append(kept, o)
		}
	}
	cov := &inventory.Coverage{AllNamespaces: true, Types: []string{"v1/Namespace", "v1/ServiceAccount", "v1/Secret", "v1/Pod",
		"rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io/v1/ClusterRoleBinding"}}
	g, _ := analyze(t, Env(), &inventory.Snapshot{Kubernetes: kept, Coverage: cov})
	if diff := cmp.Diff([]string{"acme→globex identity-rbac unknown"}, edges(g)); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	// Listed and absent: no route.
	cov.Types = append(cov.Types, "v1/ConfigMap")
	g, _ = analyze(t, Env(), &inventory.Snapshot{Kubernetes: kept, Coverage: cov})
	if len(g.Edges) != 0 {
		t.Errorf("edges %v, want none", edges(g))
	}
	// A live snapshot that did not list the identity types says so.
	g, _ = analyze(t, Env(), &inventory.Snapshot{Kubernetes: kept, Coverage: &inventory.Coverage{AllNamespaces: true, Types: []string{"v1/Namespace"}}})
	if !slices.ContainsFunc(g.Unresolved, func(s string) bool { return strings.Contains(s, "identity routes through them are not analysed") }) {
		t.Errorf("unresolved %v: want the identity coverage note", g.Unresolved)
	}
}

// TestOfflineSnapshot: an exported snapshot read back gives the same routes.
func TestOfflineSnapshot(t *testing.T) {
	objs := append(Fleet(tenants()...),
		RoleBinding(globexNS, "partner-access", "edit", nil, SA(acmeNS, acmeSA)),
		ClusterRoleBinding("acme-debug", "cluster-admin", nil, SA(acmeNS, acmeSA)))
	live, _ := analyze(t, Env(), &inventory.Snapshot{Kubernetes: objs})
	var buf bytes.Buffer
	if err := inventory.Write(&buf, &inventory.Snapshot{Kubernetes: objs}); err != nil {
		t.Fatal(err)
	}
	snap, err := inventory.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	offline, _ := analyze(t, Env(), snap)
	if diff := cmp.Diff(edges(live), edges(offline)); diff != "" || len(live.Edges) == 0 {
		t.Errorf("offline edges differ (-live +offline):\n%s", diff)
	}
}

// TestGrants: the analysis keeps each exposing permission with the subject it is held through.
func TestGrants(t *testing.T) {
	objs := append(Fleet(tenants()...),
		Role(globexNS, "exec", nil, Rule(S("create"), S(""), S("pods/exec"))),
		RoleBinding(globexNS, "exec", "Role/exec", nil, SA(acmeNS, acmeSA)))
	_, res := analyze(t, Env(), &inventory.Snapshot{Kubernetes: objs})
	var got []string
	for _, g := range res.Grants {
		got = append(got, fmt.Sprintf("%s %s %s → %s %s", g.Subject, g.Check(), g.Attributes(), g.To(), g.Kind()))
	}
	want := []string{"ServiceAccount t-acme/t-acme create pods/exec create pods/exec in namespace t-globex → globex identity-impersonation"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
}

// TestFederatedCredentialSubjects: the Azure analysis reads federated credential subjects
// against the cluster's ServiceAccounts (a tenant namespace's, a shared tenant's labelled one).
func TestFederatedCredentialSubjects(t *testing.T) {
	const sub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-globex-test/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-globex-test"
	doc := `[
	 {"id": "` + sub + `", "name": "id-globex-test", "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "properties": {"principalId": "p-globex"}},
	 {"id": "` + sub + `/federatedIdentityCredentials/own", "name": "own", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	  "properties": {"issuer": "https://oidc.example/", "subject": "system:serviceaccount:t-globex:t-globex", "audiences": ["api://AzureADTokenExchange"]}},
	 {"id": "` + sub + `/federatedIdentityCredentials/acme", "name": "acme", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	  "properties": {"issuer": "https://oidc.example/", "subject": "system:serviceaccount:t-acme:anything", "audiences": ["api://AzureADTokenExchange"]}},
	 {"id": "` + sub + `/federatedIdentityCredentials/initech", "name": "initech", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	  "properties": {"issuer": "https://oidc.example/", "subject": "system:serviceaccount:shared-tenants:t-initech", "audiences": ["api://AzureADTokenExchange"]}},
	 {"id": "` + sub + `/federatedIdentityCredentials/shared-wildcard", "name": "shared-wildcard", "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
	  "properties": {"issuer": "https://oidc.example/", "subject": "system:serviceaccount:shared-tenants:t-umb*", "audiences": ["api://AzureADTokenExchange"]}}
	]`
	var az []inventory.AzureResource
	if err := json.Unmarshal([]byte(doc), &az); err != nil {
		t.Fatal(err)
	}
	sc, err := graph.NewScope(Env(), tenants())
	if err != nil {
		t.Fatal(err)
	}
	b := graph.NewBuilder(sc)
	if _, err := identity.Analyze(context.Background(), sc, &inventory.Snapshot{Kubernetes: Fleet(tenants()...), Azure: az}, b,
		identity.WithAzure(azureidentity.WithTrustedIssuers("https://oidc.example/"))); err != nil {
		t.Fatal(err)
	}
	want := []string{"acme→globex federated-credential", "initech→globex federated-credential", "umbrella→globex federated-credential"}
	if diff := cmp.Diff(want, edges(b.Graph("snapshot"))); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
}

// TestMalformedRBAC: a snapshot with a malformed binding is refused with an error naming the
// object and the field, not analysed in part.
func TestMalformedRBAC(t *testing.T) {
	bad := RoleBinding(globexNS, "broken", "edit", nil, SA(acmeNS, acmeSA))
	bad.Object["roleRef"] = "edit"
	sc, err := graph.NewScope(Env(), tenants())
	if err != nil {
		t.Fatal(err)
	}
	_, err = identity.Analyze(context.Background(), sc, &inventory.Snapshot{Kubernetes: append(Fleet(tenants()...), bad)}, graph.NewBuilder(sc))
	if err == nil || err.Error() != "RBAC objects: RoleBinding t-globex/broken: roleRef: missing or not an object" {
		t.Errorf("error = %v", err)
	}
}
