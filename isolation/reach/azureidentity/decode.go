// Package azureidentity finds identity-plane routes between tenants in Azure: role assignments
// that give one tenant's user-assigned managed identity write or data actions on another
// tenant's resources (or a scope above them), Key Vault access policies naming another tenant's
// principal, and federated identity credentials that let one tenant's Kubernetes ServiceAccount
// (or an untrusted issuer) act as another tenant's identity. Read lists the resources it needs
// through the ARM SDK (armauthorization, armkeyvault, armmsi).
//
// Resources are read in their generic ARM JSON form, as the network analysis does: the field
// names are the SDK's, and the reader marshals the SDK's values back to ARM JSON.
package azureidentity

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/inventory"
)

// ARM resource types the analysis reads.
const (
	TypeRoleAssignment      = "Microsoft.Authorization/roleAssignments"
	TypeRoleDefinition      = "Microsoft.Authorization/roleDefinitions"
	TypeVault               = "Microsoft.KeyVault/vaults"
	TypeIdentity            = "Microsoft.ManagedIdentity/userAssignedIdentities"
	TypeFederatedCredential = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
	TypeManagedCluster      = "Microsoft.ContainerService/managedClusters"
)

// TagTenant is the tag naming a resource's tenant (stacks/azure.TagTenant; tag names cannot
// hold "/", so it is not the Kubernetes label key).
const TagTenant = "tenantctl-tenant"

// obj is an ARM JSON object in generic form.
type obj map[string]any

func (o obj) str(k string) string {
	s, _ := o[k].(string)
	return s
}

func (o obj) obj(k string) obj {
	m, _ := o[k].(map[string]any)
	return m
}

func (o obj) strs(k string) []string {
	l, _ := o[k].([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (o obj) list(k string) []obj {
	l, _ := o[k].([]any)
	out := make([]obj, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// boolean reads a bool that may be absent (def).
func (o obj) boolean(k string, def bool) bool {
	if b, ok := o[k].(bool); ok {
		return b
	}
	return def
}

// resource is one ARM resource with its properties.
type resource struct {
	id, name, typ string
	props         obj
	tags          map[string]string
}

// decoded is the snapshot's identity resources by type, and every resource's tags by id.
type decoded struct {
	assignments, definitions, vaults, identities, credentials, clusters []resource
	tags                                                                map[string]map[string]string
}

func decode(resources []inventory.AzureResource) (*decoded, error) {
	d := &decoded{tags: map[string]map[string]string{}}
	for _, r := range resources {
		if len(r.Tags) > 0 {
			d.tags[lower(r.ID)] = r.Tags
		}
		var list *[]resource
		switch strings.ToLower(r.Type) {
		case strings.ToLower(TypeRoleAssignment):
			list = &d.assignments
		case strings.ToLower(TypeRoleDefinition):
			list = &d.definitions
		case strings.ToLower(TypeVault):
			list = &d.vaults
		case strings.ToLower(TypeIdentity):
			list = &d.identities
		case strings.ToLower(TypeFederatedCredential):
			list = &d.credentials
		case strings.ToLower(TypeManagedCluster):
			list = &d.clusters
		default:
			continue
		}
		props, err := properties(r)
		if err != nil {
			return nil, err
		}
		*list = append(*list, resource{id: r.ID, name: r.Name, typ: r.Type, props: props, tags: r.Tags})
	}
	return d, nil
}

// properties are the resource's ARM properties. `az role assignment list` flattens them into the
// resource itself (principalId, roleDefinitionId, scope at the top): such a resource is read from
// its top level.
func properties(r inventory.AzureResource) (obj, error) {
	if r.Properties != nil {
		return r.Properties, nil
	}
	if len(r.Raw) == 0 {
		return obj{}, nil
	}
	var top map[string]any
	if err := json.Unmarshal(r.Raw, &top); err != nil {
		return nil, fmt.Errorf("azure resource %s (%s): %w", r.ID, r.Type, err)
	}
	if p, ok := top["properties"].(map[string]any); ok {
		return p, nil
	}
	return top, nil
}

// lower is how ARM ids are compared: they are case-insensitive.
func lower(id string) string { return strings.ToLower(id) }

// segments splits an ARM id into its "/"-separated parts, without the empty first one.
func segments(id string) []string {
	return strings.Split(strings.Trim(id, "/"), "/")
}

// resourceGroup returns the resource group of an ARM id ("" above resource groups).
func resourceGroup(id string) string {
	parts := segments(id)
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// parentID strips the last "/type/name" pair of an ARM id.
func parentID(id string) string {
	i := strings.LastIndex(strings.TrimRight(id, "/"), "/")
	if i <= 0 {
		return ""
	}
	j := strings.LastIndex(id[:i], "/")
	if j < 0 {
		return ""
	}
	return id[:j]
}

// lastSegment returns the name at the end of an ARM id.
func lastSegment(id string) string {
	id = strings.TrimRight(id, "/")
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}
