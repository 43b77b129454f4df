package identity_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name  string
		chain []graph.EvidenceStep
		want  string
	}{
		{name: "a binding, its role's rule and what it reaches", chain: []graph.EvidenceStep{
			{Kind: identity.StepPrincipal, Resource: "ServiceAccount t-acme/t-acme"},
			{Kind: identity.StepBinding, Resource: "rbac.authorization.k8s.io/v1/RoleBinding t-globex/x", Opens: true, Detail: "grants ClusterRole edit to …"},
			{Kind: identity.StepRole, Resource: "rbac.authorization.k8s.io/v1/ClusterRole edit", Detail: "rule verbs=[get] resources=[secrets]"},
			{Kind: identity.StepTarget, Resource: "secrets of namespace t-globex", Detail: "read Secrets: get secrets in namespace t-globex; namespace t-globex is globex's"},
		}, want: "ServiceAccount t-acme/t-acme may read Secrets: get secrets in namespace t-globex (ClusterRole edit rule verbs=[get] resources=[secrets])"},
		{name: "through a platform identity", chain: []graph.EvidenceStep{
			{Kind: identity.StepPrincipal, Resource: "ServiceAccount t-acme/t-acme"},
			{Kind: identity.StepBinding, Resource: "rbac.authorization.k8s.io/v1/RoleBinding kube-system/x", Opens: true},
			{Kind: identity.StepRole, Resource: "rbac.authorization.k8s.io/v1/Role kube-system/x", Detail: "rule verbs=[create] resources=[pods]"},
			{Kind: identity.StepBecome, Resource: "ServiceAccount kube-system/ctrl"},
			{Kind: identity.StepBinding, Resource: "rbac.authorization.k8s.io/v1/ClusterRoleBinding ctrl"},
			{Kind: identity.StepRole, Resource: "rbac.authorization.k8s.io/v1/ClusterRole ctrl", Detail: "rule verbs=[impersonate] resources=[users]"},
			{Kind: identity.StepTarget, Detail: "impersonate users: impersonate users"},
		}, want: "ServiceAccount t-acme/t-acme, acting as ServiceAccount kube-system/ctrl may impersonate users (ClusterRole ctrl rule verbs=[impersonate] resources=[users])"},
		{name: "an Azure role assignment says what it gives", chain: []graph.EvidenceStep{
			{Kind: identity.StepPrincipal, Resource: "00000000-0000-0000-0000-000000000001"},
			{Kind: "role-assignment", Resource: "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a", Opens: true, Detail: "assigns role Contributor to principal id-acme-dev at scope /subscriptions/s/resourceGroups/rg-globex-dev"},
			{Kind: identity.StepRole, Resource: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/b", Detail: "role Contributor grants action * (not excluded by notActions)"},
			{Kind: identity.StepTarget, Resource: "/subscriptions/s/resourceGroups/rg-globex-dev", Detail: "globex's resource group"},
		}, want: "00000000-0000-0000-0000-000000000001: assigns role Contributor to principal id-acme-dev at scope /subscriptions/s/resourceGroups/rg-globex-dev; role Contributor grants action * (not excluded by notActions)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, identity.Summarize(tc.chain)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := identity.ShortResource("rbac.authorization.k8s.io/v1/RoleBinding t-globex/x"); got != "RoleBinding t-globex/x" {
		t.Errorf("ShortResource = %q", got)
	}
}
