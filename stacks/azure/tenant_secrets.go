package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/keyvault/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// vaultArgs are the settings of every vault tenantctl creates, the shared one included: RBAC
// authorization (no access policies, so access is only what role assignments grant), soft delete
// with purge protection (a deleted secret can be recovered and not purged), and no public
// network access.
func vaultArgs(name, location, tenantID string, group pulumi.StringInput, tags map[string]string) *keyvault.VaultArgs {
	return &keyvault.VaultArgs{
		ResourceGroupName: group,
		VaultName:         pulumi.String(name),
		Location:          pulumi.String(location),
		Properties: keyvault.VaultPropertiesArgs{
			TenantId:                  pulumi.String(tenantID),
			Sku:                       keyvault.SkuArgs{Family: pulumi.String("A"), Name: keyvault.SkuNameStandard},
			EnableRbacAuthorization:   pulumi.Bool(true),
			EnableSoftDelete:          pulumi.Bool(true),
			SoftDeleteRetentionInDays: pulumi.Int(90),
			EnablePurgeProtection:     pulumi.Bool(true),
			PublicNetworkAccess:       pulumi.String("Disabled"),
			NetworkAcls: keyvault.NetworkRuleSetArgs{
				DefaultAction: pulumi.String("Deny"),
				Bypass:        pulumi.String("None"),
			},
		},
		Tags: pulumi.ToStringMap(tags),
	}
}

// deploySecrets realises the secrets layer. Dedicated vault: the tenant's vault, reachable only
// through a private endpoint in its endpoints subnet (registered in the platform's private DNS
// zone, which the tenant VNet resolves through a link), and "Key Vault Secrets User" on that vault
// for the tenant identity. Shared vault with per-tenant access: "Key Vault Secrets User" on each
// secret the binding references, because Azure RBAC scopes a data-plane role to a vault or to one
// secret, never to a name prefix. Scoped references: nothing in Azure.
//
// No secret value passes through the program: it creates vaults and grants, and emits references.
func deploySecrets(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, tenantID string,
	net *tenantNetwork, id *UserAssignedIdentity, out *TenantOutputs) error {
	out.KeyVaultReferences = map[string]string{}
	for _, r := range pl.refs {
		out.KeyVaultReferences[r.Name] = secretURI(r)
	}
	principal := "identity:" + pl.identity
	switch {
	case pl.vault != nil:
		v := pl.vault
		vault, err := keyvault.NewVault(ctx, v.name, vaultArgs(v.name, pl.location, tenantID, group, pl.tags), azOpts(parent, p)...)
		if err != nil {
			return fmt.Errorf("vault %s: %w", v.name, err)
		}
		out.Vault = v.name
		out.VaultURI = vaultURI(v.name)
		vaultID := ResourceID(pl.sub, pl.group, typeVault, v.name)
		grant, err := assignRole(ctx, parent, p, pl.sub, roleGrant{Role: RoleKeyVaultSecretsUser, Scope: vaultID, Principal: principal},
			id.PrincipalID, vault.ID().ToStringOutput())
		if err != nil {
			return err
		}
		out.RoleAssignments = append(out.RoleAssignments, grant)
		if !v.endpoint {
			ctx.Log.Warn(fmt.Sprintf("tenant %s: dedicated vault %s has public network access disabled and no private endpoint (the tenant has no dedicated VNet); connect it to the cluster network with a private endpoint", pl.id, v.name), nil)
			return nil
		}
		return deployVaultEndpoint(ctx, pl, parent, p, group, vault, net, out)
	case len(pl.sharedRef) > 0:
		sharedID := ResourceID(pl.sub, pl.vaultGroup, typeVault, pl.sharedVault)
		for _, s := range pl.sharedRef {
			scope := SecretScope(sharedID, s.secretName)
			grant, err := assignRole(ctx, parent, p, pl.sub, roleGrant{Role: RoleKeyVaultSecretsUser, Scope: scope, Principal: principal},
				id.PrincipalID, pulumi.String(scope))
			if err != nil {
				return err
			}
			out.RoleAssignments = append(out.RoleAssignments, grant)
		}
	}
	return nil
}

func deployVaultEndpoint(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, vault *keyvault.Vault, net *tenantNetwork, out *TenantOutputs) error {
	v := pl.vault
	peName := PrivateEndpointName(v.name)
	subnet := net.subnets[pl.vnet.endpoints]
	pe, err := network.NewPrivateEndpoint(ctx, peName, &network.PrivateEndpointArgs{
		ResourceGroupName:   group,
		PrivateEndpointName: pulumi.String(peName),
		Location:            pulumi.String(pl.location),
		Subnet:              &network.SubnetTypeArgs{Id: subnet.ID().ToStringOutput()},
		PrivateLinkServiceConnections: network.PrivateLinkServiceConnectionArray{network.PrivateLinkServiceConnectionArgs{
			Name:                 pulumi.String("vault"),
			PrivateLinkServiceId: vault.ID().ToStringOutput(),
			GroupIds:             pulumi.ToStringArray([]string{"vault"}),
		}},
		Tags: pulumi.ToStringMap(pl.tags),
	}, azOpts(parent, p)...)
	if err != nil {
		return fmt.Errorf("private endpoint %s: %w", peName, err)
	}
	zoneID := ResourceID(pl.sub, pl.platformRG, typePrivateDNSZone, VaultPrivateDNSZone)
	if _, err := network.NewPrivateDnsZoneGroup(ctx, peName+"/default", &network.PrivateDnsZoneGroupArgs{
		ResourceGroupName:       group,
		PrivateEndpointName:     pe.Name,
		PrivateDnsZoneGroupName: pulumi.String("default"),
		PrivateDnsZoneConfigs: network.PrivateDnsZoneConfigArray{network.PrivateDnsZoneConfigArgs{
			Name:             pulumi.String("vault"),
			PrivateDnsZoneId: pulumi.String(zoneID),
		}},
	}, azOpts(parent, p)...); err != nil {
		return fmt.Errorf("private DNS zone group of %s: %w", peName, err)
	}
	link := pl.vnet.name
	if _, err := network.NewVirtualNetworkLink(ctx, VaultPrivateDNSZone+"/"+link, &network.VirtualNetworkLinkArgs{
		ResourceGroupName:      pulumi.String(pl.platformRG),
		PrivateZoneName:        pulumi.String(VaultPrivateDNSZone),
		VirtualNetworkLinkName: pulumi.String(link),
		Location:               pulumi.String("global"),
		VirtualNetwork:         &network.SubResourceArgs{Id: net.vnet.ID().ToStringOutput()},
		RegistrationEnabled:    pulumi.Bool(false),
		Tags:                   pulumi.ToStringMap(pl.tags),
	}, azOpts(parent, p)...); err != nil {
		return fmt.Errorf("private DNS zone link of %s: %w", link, err)
	}
	out.PrivateEndpoint = peName
	return nil
}
