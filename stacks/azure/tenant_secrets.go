package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/keyvault/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
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

// deploySecrets realises the planned secrets layer (tenantplan.AzureSecrets): the dedicated vault
// with its private endpoint, or per-secret grants in the shared vault, or nothing in Azure.
//
// No secret value passes through the program: it creates vaults and grants, and emits references.
func deploySecrets(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, tenantID string,
	net *tenantNetwork, id *UserAssignedIdentity, out *TenantOutputs) error {
	s, az := pl.Secrets.Azure, pl.Azure
	out.KeyVaultReferences = s.KeyVaultReferences
	var vault *keyvault.Vault
	if v := s.Vault; v != nil {
		var err error
		if vault, err = keyvault.NewVault(ctx, v.Name, vaultArgs(v.Name, az.Location, tenantID, group, az.Tags), azOpts(parent, p)...); err != nil {
			return fmt.Errorf("vault %s: %w", v.Name, err)
		}
		out.Vault = v.Name
		out.VaultURI = v.URI
	}
	for _, g := range s.Grants {
		// A grant on the tenant's own vault waits for the vault; one on a shared-vault secret
		// names a scope that already exists.
		scopeRef := pulumi.StringInput(pulumi.String(g.Scope))
		if vault != nil && g.Scope == s.Vault.ID {
			scopeRef = vault.ID().ToStringOutput()
		}
		if _, err := assignRole(ctx, parent, p, az.SubscriptionID, g, id.PrincipalID, scopeRef); err != nil {
			return err
		}
		out.RoleAssignments = append(out.RoleAssignments, g)
	}
	if vault == nil {
		return nil
	}
	if s.Vault.PrivateEndpoint == nil {
		ctx.Log.Warn(fmt.Sprintf("tenant %s: dedicated vault %s has public network access disabled and no private endpoint (the tenant has no dedicated VNet); connect it to the cluster network with a private endpoint", pl.TenantID, s.Vault.Name), nil)
		return nil
	}
	return deployVaultEndpoint(ctx, pl, parent, p, group, vault, net, out)
}

func deployVaultEndpoint(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, vault *keyvault.Vault, net *tenantNetwork, out *TenantOutputs) error {
	pe, tags := pl.Secrets.Azure.Vault.PrivateEndpoint, pulumi.ToStringMap(pl.Azure.Tags)
	endpoint, err := network.NewPrivateEndpoint(ctx, pe.Name, &network.PrivateEndpointArgs{
		ResourceGroupName:   group,
		PrivateEndpointName: pulumi.String(pe.Name),
		Location:            pulumi.String(pl.Azure.Location),
		Subnet:              &network.SubnetTypeArgs{Id: net.subnets[pe.Subnet].ID().ToStringOutput()},
		PrivateLinkServiceConnections: network.PrivateLinkServiceConnectionArray{network.PrivateLinkServiceConnectionArgs{
			Name:                 pulumi.String("vault"),
			PrivateLinkServiceId: vault.ID().ToStringOutput(),
			GroupIds:             pulumi.ToStringArray([]string{"vault"}),
		}},
		Tags: tags,
	}, azOpts(parent, p)...)
	if err != nil {
		return fmt.Errorf("private endpoint %s: %w", pe.Name, err)
	}
	if _, err := network.NewPrivateDnsZoneGroup(ctx, pe.Name+"/default", &network.PrivateDnsZoneGroupArgs{
		ResourceGroupName:       group,
		PrivateEndpointName:     endpoint.Name,
		PrivateDnsZoneGroupName: pulumi.String("default"),
		PrivateDnsZoneConfigs: network.PrivateDnsZoneConfigArray{network.PrivateDnsZoneConfigArgs{
			Name:             pulumi.String("vault"),
			PrivateDnsZoneId: pulumi.String(pe.DNSZoneID),
		}},
	}, azOpts(parent, p)...); err != nil {
		return fmt.Errorf("private DNS zone group of %s: %w", pe.Name, err)
	}
	if _, err := network.NewVirtualNetworkLink(ctx, pe.DNSZone+"/"+pe.DNSZoneLink, &network.VirtualNetworkLinkArgs{
		ResourceGroupName:      pulumi.String(pe.DNSZoneGroup),
		PrivateZoneName:        pulumi.String(pe.DNSZone),
		VirtualNetworkLinkName: pulumi.String(pe.DNSZoneLink),
		Location:               pulumi.String("global"),
		VirtualNetwork:         &network.SubResourceArgs{Id: net.vnet.ID().ToStringOutput()},
		RegistrationEnabled:    pulumi.Bool(false),
		Tags:                   tags,
	}, azOpts(parent, p)...); err != nil {
		return fmt.Errorf("private DNS zone link of %s: %w", pe.DNSZoneLink, err)
	}
	out.PrivateEndpoint = pe.Name
	return nil
}
