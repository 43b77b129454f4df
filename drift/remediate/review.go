package remediate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
)

// Review-only grants: identity objects that open a cross-tenant route but that tenantctl never
// deletes, because they lie outside every tenant's own scope — cluster-scoped RBAC objects
// (ClusterRoleBindings, ClusterRoles), bindings in another tenant's or the platform's namespace,
// and Azure role assignments, Key Vault access policies and federated identity credentials. A
// plan lists each with the exact command a person runs after reviewing it (ActionReview);
// applying a plan never runs it and says so, audited.

const rbacGroup = "rbac.authorization.k8s.io"

// reviewOnlyGrant reports whether r is an identity grant whose removal is a person's decision.
func reviewOnlyGrant(r finding.Resource) bool {
	if r.Provider == finding.ProviderAzure {
		return azureGrantCommand(r.Type, r.ID) != ""
	}
	return r.Provider == finding.ProviderKubernetes && strings.HasPrefix(r.Type, rbacGroup+"/")
}

// ReviewCommand is the command a person runs to remove t; "" when t is not a review-only grant.
// It is derived from the target alone, so a plan file cannot carry another command.
func ReviewCommand(t Target) string {
	switch t.Provider {
	case finding.ProviderAzure:
		return azureGrantCommand(t.Type, t.ID)
	case finding.ProviderPostgreSQL:
		return dataCommand(t.Data)
	case finding.ProviderKubernetes:
		if !strings.HasPrefix(t.Type, rbacGroup+"/") || t.Name == "" {
			return ""
		}
		kind := strings.ToLower(t.Type[strings.LastIndexByte(t.Type, '/')+1:])
		cmd := "kubectl"
		if t.Namespace != "" {
			cmd += " -n " + shellWord(t.Namespace)
		}
		return cmd + " delete " + kind + "." + rbacGroup + " " + shellWord(t.Name)
	}
	return ""
}

// armID splits an ARM id's subscription, resource group and the names after each type segment.
var (
	vaultPolicyID = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.KeyVault/vaults/([^/]+)/accessPolicies/([^/]+)$`)
	federatedID   = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/([^/]+)/federatedIdentityCredentials/([^/]+)$`)
	assignmentID  = regexp.MustCompile(`(?i)/providers/Microsoft\.Authorization/roleAssignments/[^/]+$`)
)

func azureGrantCommand(typ, id string) string {
	switch {
	case strings.EqualFold(typ, azureidentity.TypeRoleAssignment) && assignmentID.MatchString(id):
		return "az role assignment delete --ids " + shellWord(id)
	case strings.EqualFold(typ, azureidentity.TypeVault+"/accessPolicies"):
		if m := vaultPolicyID.FindStringSubmatch(id); m != nil {
			return fmt.Sprintf("az keyvault delete-policy --subscription %s --resource-group %s --name %s --object-id %s",
				shellWord(m[1]), shellWord(m[2]), shellWord(m[3]), shellWord(m[4]))
		}
	case strings.EqualFold(typ, azureidentity.TypeFederatedCredential):
		if m := federatedID.FindStringSubmatch(id); m != nil {
			return fmt.Sprintf("az identity federated-credential delete --subscription %s --resource-group %s --identity-name %s --name %s --yes",
				shellWord(m[1]), shellWord(m[2]), shellWord(m[3]), shellWord(m[4]))
		}
	}
	return ""
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9._:/@=+-]+$`)

// shellWord quotes a word for a POSIX shell when it needs it.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
