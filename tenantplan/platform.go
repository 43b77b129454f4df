package tenantplan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Platform is everything an environment's platform stack creates: the ingress namespace, the
// shared-tenants namespace with its deny-by-default policies and container defaults, and the
// admission policies that pin silo pods and keep tenants off each other's nodes; on the azure
// target also the environment's shared Azure resources.
type Platform struct {
	Environment string `json:"environment"`
	Target      string `json:"target"`
	Stack       string `json:"stack"`
	// Labels are the labels of every Kubernetes object the platform stack creates.
	Labels           map[string]string `json:"labels"`
	IngressNamespace Namespace         `json:"ingressNamespace"`
	SharedNamespace  Namespace         `json:"sharedNamespace"`
	// SharedLimitRange supplies defaults in the shared namespace: shared tenants' quota slices
	// need every pod to declare requests and limits.
	SharedLimitRange LimitRange `json:"sharedLimitRange"`
	// SharedPolicies are the shared namespace's policies. There is no allow-same-namespace: pods
	// of different shared tenants must not reach each other; each shared tenant's stack adds the
	// policy between its own pods.
	SharedPolicies    []NetworkPolicy   `json:"sharedPolicies"`
	AdmissionPolicies []AdmissionPolicy `json:"admissionPolicies"`
	// Azure is the environment's shared Azure resources; nil on the kubernetes target.
	Azure *AzurePlatform `json:"azure,omitempty"`
}

// SharedLimitRangeName is the LimitRange of the shared namespace.
const SharedLimitRangeName = "tenantctl-defaults"

// ForPlatform plans env's platform stack on the environment's target.
func ForPlatform(env *isolation.Environment) (*Platform, error) {
	if env != nil && env.Spec.Target == isolation.TargetAzure {
		if err := checkAzureEnv(env); err != nil {
			return nil, fmt.Errorf("platform: %w", err)
		}
	}
	if err := checkPlatformEnv(env); err != nil {
		return nil, err
	}
	limits, err := sharedContainerLimits(env.Spec.Capacity)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", env.Name(), err)
	}
	labels := PlatformLabels(env)
	ingressNS, sharedNS := IngressNamespace(env), SharedNamespace(env)
	p := &Platform{
		Environment: env.Name(),
		Target:      isolation.TargetKubernetes,
		Stack:       PlatformStackName(env.Name()),
		Labels:      labels,
		// Baseline rather than restricted because common ingress controllers need capabilities
		// restricted forbids.
		IngressNamespace: Namespace{Metadata: meta(ingressNS, "", Merge(labels, PodSecurityLabels(PSSBaseline), map[string]string{LabelRole: RoleIngress}))},
		SharedNamespace: Namespace{Metadata: meta(sharedNS, "", Merge(labels, PodSecurityLabels(PSSRestricted), map[string]string{
			LabelRole: RoleSharedTenants,
			// The compute label is what the admission bindings select the shared namespace by.
			LayerLabel(isolation.LayerCompute): string(isolation.ComputeSharedNamespace),
			LayerLabel(isolation.LayerNetwork): string(isolation.NetworkSharedWithPolicy),
		}))},
		SharedLimitRange:  LimitRange{Metadata: meta(SharedLimitRangeName, sharedNS, labels), Container: limits},
		SharedPolicies:    []NetworkPolicy{defaultDeny(sharedNS, labels), allowDNS(sharedNS, labels), allowFromIngress(sharedNS, ingressNS, labels)},
		AdmissionPolicies: AdmissionPolicies(),
	}
	if env.Spec.Target == isolation.TargetAzure {
		p.Target = isolation.TargetAzure
		if p.Azure, err = planAzurePlatform(env); err != nil {
			return nil, fmt.Errorf("platform: %w", err)
		}
	}
	return p, nil
}

// Outputs are what the platform stack exports for its tenant stacks once it is up; previews of
// tenants whose platform stack does not exist yet use them.
func (p *Platform) Outputs() PlatformOutputs {
	names := make([]string, len(p.AdmissionPolicies))
	for i, ap := range p.AdmissionPolicies {
		names[i] = ap.Name
	}
	return PlatformOutputs{
		Environment:       p.Environment,
		IngressNamespace:  p.IngressNamespace.Metadata.Name,
		SharedNamespace:   p.SharedNamespace.Metadata.Name,
		AdmissionPolicies: names,
	}
}

// ExpectedPlatformOutputs is what a platform stack of env exports once it is up, for an
// environment the platform plan accepts.
func ExpectedPlatformOutputs(env *isolation.Environment) PlatformOutputs {
	return PlatformOutputs{
		Environment:       env.Name(),
		IngressNamespace:  IngressNamespace(env),
		SharedNamespace:   SharedNamespace(env),
		AdmissionPolicies: slices.Clone(AdmissionPolicyNames),
	}
}

// KubernetesObjects are the manifests of every Kubernetes object the platform stack creates, in
// the order the program creates them.
func (p *Platform) KubernetesObjects() []map[string]any {
	out := []map[string]any{p.IngressNamespace.Manifest(), p.SharedNamespace.Manifest(), p.SharedLimitRange.Manifest()}
	for _, np := range p.SharedPolicies {
		out = append(out, np.Manifest())
	}
	for _, ap := range p.AdmissionPolicies {
		pol, binding := ap.Manifests(p.Labels)
		out = append(out, pol, binding)
	}
	return out
}

func checkPlatformEnv(env *isolation.Environment) error {
	if env == nil {
		return errors.New("platform: environment is nil")
	}
	if err := CheckDNSLabel("environment name", env.Name(), 63); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	ingressNS, sharedNS := IngressNamespace(env), SharedNamespace(env)
	for _, ns := range []struct{ what, name string }{{"sharedCluster.ingressNamespace", ingressNS}, {"sharedCluster.sharedNamespace", sharedNS}} {
		if err := CheckDNSLabel(ns.what, ns.name, 63); err != nil {
			return fmt.Errorf("platform %s: %w", env.Name(), err)
		}
		// Tenant namespaces are t-<tenantId>; a platform namespace by that pattern could be
		// claimed by a tenant called after it.
		if strings.HasPrefix(ns.name, TenantNamespace("")) {
			return fmt.Errorf("platform %s: %s %q uses the tenant namespace prefix %q", env.Name(), ns.what, ns.name, TenantNamespace(""))
		}
	}
	if ingressNS == sharedNS {
		return fmt.Errorf("platform %s: ingress and shared namespace are both %q", env.Name(), ingressNS)
	}
	if _, err := sharedContainerLimits(env.Spec.Capacity); err != nil {
		return fmt.Errorf("platform %s: %w", env.Name(), err)
	}
	return nil
}

// sharedContainerLimits are the shared namespace's defaults, capped by the environment's
// per-tenant capacity where it states one.
func sharedContainerLimits(c isolation.CapacitySpec) (LimitItem, error) {
	cpu, err := optionalQuantity("capacity.cpu", c.CPU)
	if err != nil {
		return LimitItem{}, err
	}
	mem, err := optionalQuantity("capacity.memory", c.Memory)
	if err != nil {
		return LimitItem{}, err
	}
	return containerLimits(cpu, mem), nil
}

// AzurePlatform is an azure environment's shared resources: resource groups, the hub VNet, the
// private DNS zone of vault endpoints, the Log Analytics workspace, the shared Key Vault and the
// shared database server with its shared tenants' database. The AKS cluster is referenced, not
// created: the platform team owns its shape.
type AzurePlatform struct {
	SubscriptionID string            `json:"subscriptionId"`
	Location       string            `json:"location"`
	Production     bool              `json:"production"`
	Tags           map[string]string `json:"tags"`
	ResourceGroup  string            `json:"resourceGroup"`
	// ResourceGroups are the groups the stack creates: every platform group but the cluster's,
	// which exists before the stack runs, each once.
	ResourceGroups       []string            `json:"resourceGroups"`
	Cluster              string              `json:"cluster"`
	ClusterResourceGroup string              `json:"clusterResourceGroup"`
	Hub                  AzureHub            `json:"hub"`
	VaultDNSZone         AzureDNSZone        `json:"vaultDnsZone"`
	LogAnalytics         AzureWorkspace      `json:"logAnalytics"`
	SharedVault          AzureSharedVault    `json:"sharedVault"`
	SharedDatabase       AzureSharedDatabase `json:"sharedDatabase"`
}

// AzureHub is the environment's hub VNet. It declares no subnets: they are the platform team's
// (firewall, gateway, resolvers), and tenant stacks add their peerings to it.
type AzureHub struct {
	Name          string   `json:"name"`
	ResourceGroup string   `json:"resourceGroup"`
	ID            string   `json:"id"`
	AddressSpace  []string `json:"addressSpace"`
}

// AzureDNSZone is a private DNS zone, linked to the hub VNet.
type AzureDNSZone struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// AzureWorkspace is the Log Analytics workspace.
type AzureWorkspace struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	RetentionDays int    `json:"retentionDays"`
}

// AzureSharedVault is the Key Vault of pool and shared tenants.
type AzureSharedVault struct {
	Name          string `json:"name"`
	ResourceGroup string `json:"resourceGroup"`
	ID            string `json:"id"`
	URI           string `json:"uri"`
}

// AzureSharedDatabase is the shared database server and the database partitioned and
// row-filtered tenants share (retained on delete in production).
type AzureSharedDatabase struct {
	Engine              string `json:"engine"`
	Server              string `json:"server"`
	ResourceGroup       string `json:"resourceGroup"`
	ServerID            string `json:"serverId"`
	Database            string `json:"database"`
	BackupRetentionDays int    `json:"backupRetentionDays"`
	HighAvailability    string `json:"highAvailability"`
	// Host is a PostgreSQL server's FQDN, EntraAdmin the role of its Microsoft Entra
	// administrator the stacks sign in as (spec.sharedDatabase.entraAdmin; "" when not declared,
	// which the programs refuse), and Postgres the platform's objects inside the shared database,
	// the same as on the kubernetes target. All three are empty for SQL Server.
	Host       string            `json:"host,omitempty"`
	EntraAdmin string            `json:"entraAdmin,omitempty"`
	Postgres   *PlatformPostgres `json:"postgres,omitempty"`
}

// PlatformResourceGroups are the resource groups a platform stack creates: the platform's, the
// hub's, the shared vault's and the shared database's, each once, except the shared cluster's.
// The cluster exists before the platform stack runs (the Kubernetes part needs it), so its
// resource group does too; the stack creates resources in it but does not claim it.
func PlatformResourceGroups(env *isolation.Environment) []string {
	var out []string
	for _, g := range []string{PlatformResourceGroup(env), HubResourceGroup(env), VaultResourceGroup(env), DatabaseResourceGroup(env)} {
		if g != ClusterResourceGroup(env) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

func planAzurePlatform(env *isolation.Environment) (*AzurePlatform, error) {
	engine, err := DatabaseEngine(env)
	if err != nil {
		return nil, err
	}
	sub := env.Spec.Azure.SubscriptionID
	a := &AzurePlatform{
		SubscriptionID:       sub,
		Location:             env.Spec.Azure.Location,
		Production:           env.Spec.Production,
		Tags:                 PlatformTags(env),
		ResourceGroup:        PlatformResourceGroup(env),
		ResourceGroups:       PlatformResourceGroups(env),
		Cluster:              env.Spec.SharedCluster.Name,
		ClusterResourceGroup: ClusterResourceGroup(env),
		Hub: AzureHub{Name: HubVNet(env), ResourceGroup: HubResourceGroup(env),
			ID: ResourceID(sub, HubResourceGroup(env), TypeVirtualNetwork, HubVNet(env)), AddressSpace: slices.Clone(env.Spec.Hub.AddressSpace)},
		VaultDNSZone: AzureDNSZone{Name: VaultPrivateDNSZone, ID: ResourceID(sub, PlatformResourceGroup(env), TypePrivateDNSZone, VaultPrivateDNSZone)},
		LogAnalytics: AzureWorkspace{Name: LogAnalyticsWorkspace(env), ID: ResourceID(sub, PlatformResourceGroup(env), TypeWorkspace, LogAnalyticsWorkspace(env)), RetentionDays: 30},
		SharedVault: AzureSharedVault{Name: env.Spec.SharedVault.Name, ResourceGroup: VaultResourceGroup(env),
			ID: ResourceID(sub, VaultResourceGroup(env), TypeVault, env.Spec.SharedVault.Name), URI: VaultURI(env.Spec.SharedVault.Name)},
		SharedDatabase: AzureSharedDatabase{Engine: engine, Server: env.Spec.SharedDatabase.Server, ResourceGroup: DatabaseResourceGroup(env),
			ServerID: DatabaseServerID(sub, DatabaseResourceGroup(env), engine, env.Spec.SharedDatabase.Server), Database: SharedDatabaseName,
			BackupRetentionDays: 7, HighAvailability: "Disabled"},
	}
	if engine == EnginePostgres {
		db := &a.SharedDatabase
		db.Host, db.EntraAdmin, db.Postgres = PostgresServerFQDN(db.Server), env.Spec.SharedDatabase.EntraAdmin, PlanPlatformPostgres(env)
	}
	if env.Spec.Production {
		a.LogAnalytics.RetentionDays = 90
		a.SharedDatabase.BackupRetentionDays, a.SharedDatabase.HighAvailability = 35, "ZoneRedundant"
	}
	return a, nil
}
