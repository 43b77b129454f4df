package isolation

import (
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Environment targets: which programs stacks/ runs for the environment.
const (
	TargetKubernetes = "kubernetes"
	TargetAzure      = "azure"
)

// envEntry is a decoded Environment with what its checks parsed, ready for binding checks.
type envEntry struct {
	d        *document
	env      *Environment
	capacity capacity
	// ranges is the environment's addressSpace; platform its own ranges (platform space, hub,
	// shared cluster pod and service CIDRs) that no tenant may overlap.
	ranges   []netip.Prefix
	platform []platformRange
}

type platformRange struct {
	prefix netip.Prefix
	field  string
}

// capacity holds the parsed per-tenant limits of an environment; nil quantities were absent or
// invalid and are not enforced.
type capacity struct {
	cpu, memory, storage *resource.Quantity
	pods, maxNodes       int
}

// DatabaseEngines are the values spec.sharedDatabase.engine may take, compared without regard to
// case: PostgreSQL (also the meaning of an empty engine) and SQL Server, each under the names
// tenantplan.DatabaseEngine reads.
var DatabaseEngines = []string{"postgresql", "postgres", "sqlserver", "azuresql", "sql"}

var (
	// tableName is a table of the shared schema: lowercase, so that the unquoted name in SQL and
	// the name in the catalog agree.
	tableName    = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	registryHost = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)
	azureGUID    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	azureRegion  = regexp.MustCompile(`^[a-z][a-z0-9]{1,39}$`)
	// entraAdminName is the Entra administrator's role as the data layer names every role
	// (pgcatalog.ValidateIdent): the stacks make it a member of the owner roles, by name.
	entraAdminName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,62}$`)
)

func checkEnvironment(errs *errorList, d *document, e *Environment) *envEntry {
	entry := &envEntry{d: d, env: e}
	s := &e.Spec
	if e.Metadata.Name == "" {
		errs.at(d, "metadata.name", "required: the environment's name, referenced by bindings' spec.environment")
	} else if p := dnsLabelProblem(e.Metadata.Name); p != "" {
		errs.at(d, "metadata.name", "%s is not a DNS-1123 label: %s", shown(e.Metadata.Name), p)
	}
	checkLabels(errs, d, "metadata.labels", e.Metadata.Labels, false)
	checkLabels(errs, d, "spec.labels", s.Labels, false)

	switch s.Target {
	case TargetKubernetes, TargetAzure:
	case "":
		errs.at(d, "spec.target", "required: %s or %s", TargetKubernetes, TargetAzure)
	default:
		errs.at(d, "spec.target", "unknown target %s; want %s or %s", shown(s.Target), TargetKubernetes, TargetAzure)
	}

	if len(s.AddressSpace) == 0 {
		errs.at(d, "spec.addressSpace", "required: the range every silo VNet must fall inside")
	}
	entry.ranges = checkCIDRs(errs, d, "spec.addressSpace", s.AddressSpace)
	for _, p := range checkCIDRList(errs, d, "spec.platformAddressSpace", s.PlatformAddressSpace) {
		entry.platform = append(entry.platform, platformRange{p.prefix, fieldpath.AppendIndex("spec.platformAddressSpace", p.index)})
	}
	for _, p := range checkCIDRList(errs, d, "spec.hub.addressSpace", s.Hub.AddressSpace) {
		entry.platform = append(entry.platform, platformRange{p.prefix, fieldpath.AppendIndex("spec.hub.addressSpace", p.index)})
	}
	if s.Target == TargetAzure {
		if s.Hub.VNetName == "" {
			errs.at(d, "spec.hub.vnetName", "required for the azure target: silo VNets peer to the hub")
		}
		if len(s.Hub.AddressSpace) == 0 {
			errs.at(d, "spec.hub.addressSpace", "required for the azure target")
		}
	}
	if s.Hub.FirewallIP != "" {
		if _, err := netip.ParseAddr(s.Hub.FirewallIP); err != nil {
			errs.at(d, "spec.hub.firewallIP", "%s is not an IP address", shown(s.Hub.FirewallIP))
		}
	}

	checkSharedCluster(errs, d, entry)
	if s.SharedVault.Name == "" {
		errs.at(d, "spec.sharedVault.name", "required: the shared Key Vault of pool and shared tenants")
	} else if !isVaultName(s.SharedVault.Name) {
		errs.at(d, "spec.sharedVault.name", "%s is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter)", shown(s.SharedVault.Name))
	}
	if s.SharedDatabase.Server == "" {
		errs.at(d, "spec.sharedDatabase.server", "required: the shared database server of pool and shared tenants")
	}
	if e := s.SharedDatabase.Engine; e != "" && !slices.Contains(DatabaseEngines, strings.ToLower(e)) {
		errs.at(d, "spec.sharedDatabase.engine", "unknown engine %s; want postgresql or sqlserver", shown(e))
	}
	if a := s.SharedDatabase.EntraAdmin; a != "" {
		switch {
		case s.Target != TargetAzure:
			errs.at(d, "spec.sharedDatabase.entraAdmin", "only for the azure target: the kubernetes target signs in with --postgres-connection")
		case s.SharedDatabase.Engine != "" && !strings.HasPrefix(strings.ToLower(s.SharedDatabase.Engine), "postgres"):
			errs.at(d, "spec.sharedDatabase.entraAdmin", "only for engine postgresql: the stacks create no objects inside a SQL Server database")
		case !entraAdminName.MatchString(a) || strings.HasPrefix(a, "pg_"):
			errs.at(d, "spec.sharedDatabase.entraAdmin", "%s is not a role name tenantctl manages (lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 63, not pg_...): add the stacks' identity as the server's Microsoft Entra administrator under such a principal name", shown(a))
		}
	}
	seenTable := map[string]bool{}
	for i, t := range s.SharedDatabase.Tables {
		field := fieldpath.AppendIndex("spec.sharedDatabase.tables", i)
		switch {
		case !tableName.MatchString(t):
			errs.at(d, field, "%s is not a table name (lowercase letters, digits and '_', not starting with a digit; at most 63)", shown(t))
		case seenTable[t]:
			errs.at(d, field, "table %s is listed twice", t)
		}
		seenTable[t] = true
	}
	if len(s.TrustedRegistries) == 0 {
		errs.at(d, "spec.trustedRegistries", "required: images are pulled only from trusted registries")
	}
	for i, r := range s.TrustedRegistries {
		if !registryHost.MatchString(r) {
			errs.at(d, fieldpath.AppendIndex("spec.trustedRegistries", i), "%s is not a registry host (lowercase host name with optional :port, no scheme or path)", shown(r))
		}
	}
	entry.capacity = checkCapacity(errs, d, &s.Capacity)
	checkAzure(errs, d, s)
	for i, r := range s.AllowedRoutes {
		f := fieldpath.AppendIndex("spec.allowedRoutes", i)
		for _, end := range []struct{ name, value string }{{"from", r.From}, {"to", r.To}} {
			switch {
			case end.value == "":
				errs.at(d, f+"."+end.name, "required: a tenant id or %q", Platform)
			case end.value != Platform && dnsLabelProblem(end.value) != "":
				errs.at(d, f+"."+end.name, "%s is not a tenant id or %q", shown(end.value), Platform)
			}
		}
		if r.From != "" && r.From == r.To {
			errs.at(d, f+".to", "a route from a tenant to itself never crosses a boundary")
		}
		if r.Reason == "" {
			errs.at(d, f+".reason", "required: say why this cross-tenant route is legitimate")
		}
	}
	checkPlatformPrincipals(errs, d, s.PlatformPrincipals)
	checkWorkloadIdentity(errs, d, s)
	return entry
}

// checkWorkloadIdentity: the kubernetes target's declared Entra identities are GUIDs, keyed by
// tenant ids, one identity per tenant. Which tenants the keys name is checked against the
// bindings (checkWorkloadIdentityTenants).
func checkWorkloadIdentity(errs *errorList, d *document, s *EnvironmentSpec) {
	w := s.WorkloadIdentity
	if w == nil {
		return
	}
	if s.Target == TargetAzure {
		errs.at(d, "spec.workloadIdentity", "the azure target creates each tenant's workload identity in its stack; declare identities only for the %s target", TargetKubernetes)
		return
	}
	if w.TenantID == "" {
		errs.at(d, "spec.workloadIdentity.tenantId", "required: the Microsoft Entra tenant (directory) id of the vaults")
	} else if !azureGUID.MatchString(w.TenantID) {
		errs.at(d, "spec.workloadIdentity.tenantId", "must be a Microsoft Entra tenant id (a GUID)")
	}
	owner := map[string]string{}
	for _, tenant := range sortedKeys(w.ClientIDs) {
		f := "spec.workloadIdentity.clientIds." + tenant
		id := w.ClientIDs[tenant]
		if p := dnsLabelProblem(tenant); p != "" {
			errs.at(d, "spec.workloadIdentity.clientIds", "key %s is not a tenant id: %s", shown(tenant), p)
			continue
		}
		if !azureGUID.MatchString(id) {
			errs.at(d, f, "must be a client (application) id, a GUID")
			continue
		}
		if first, dup := owner[strings.ToLower(id)]; dup {
			errs.at(d, f, "is also the identity of tenant %s: a shared identity lets each tenant read the other's secrets", first)
			continue
		}
		owner[strings.ToLower(id)] = tenant
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkPlatformPrincipals(errs *errorList, d *document, list []PlatformPrincipal) {
	for i, p := range list {
		f := fieldpath.AppendIndex("spec.platformPrincipals", i)
		switch p.Kind {
		case PrincipalUser, PrincipalGroup:
			if p.Namespace != "" {
				errs.at(d, f+".namespace", "only a ServiceAccount has a namespace")
			}
		case PrincipalServiceAccount:
			if p.Namespace == "" {
				errs.at(d, f+".namespace", "required for a ServiceAccount")
			} else if pr := dnsLabelProblem(p.Namespace); pr != "" {
				errs.at(d, f+".namespace", "%s is not a namespace name: %s", shown(p.Namespace), pr)
			}
		case "":
			errs.at(d, f+".kind", "required: User, Group or ServiceAccount")
		default:
			errs.at(d, f+".kind", "unknown kind %s; want User, Group or ServiceAccount", shown(p.Kind))
		}
		if p.Name == "" {
			errs.at(d, f+".name", "required")
		}
	}
}

func checkSharedCluster(errs *errorList, d *document, entry *envEntry) {
	c := &entry.env.Spec.SharedCluster
	if c.Name == "" {
		errs.at(d, "spec.sharedCluster.name", "required: the cluster pool and shared tenants run on")
	}
	for _, ns := range []struct{ field, value string }{
		{"spec.sharedCluster.ingressNamespace", c.IngressNamespace},
		{"spec.sharedCluster.sharedNamespace", c.SharedNamespace},
	} {
		if ns.value == "" {
			errs.at(d, ns.field, "required")
		} else if p := dnsLabelProblem(ns.value); p != "" {
			errs.at(d, ns.field, "%s is not a namespace name: %s", shown(ns.value), p)
		}
	}
	if c.IngressNamespace != "" && c.IngressNamespace == c.SharedNamespace {
		errs.at(d, "spec.sharedCluster.sharedNamespace", "must differ from ingressNamespace: shared tenants do not run in the platform ingress namespace")
	}
	for _, f := range []struct{ field, value string }{
		{"spec.sharedCluster.podCIDR", c.PodCIDR},
		{"spec.sharedCluster.serviceCIDR", c.ServiceCIDR},
	} {
		if f.value == "" {
			continue
		}
		if p, problem := parsePrefix(f.value); problem != "" {
			errs.at(d, f.field, "%s", problem)
		} else {
			entry.platform = append(entry.platform, platformRange{p, f.field})
		}
	}
}

func checkCapacity(errs *errorList, d *document, c *CapacitySpec) capacity {
	var out capacity
	out.cpu = requiredQuantity(errs, d, "spec.capacity.cpu", c.CPU)
	out.memory = requiredQuantity(errs, d, "spec.capacity.memory", c.Memory)
	if c.Storage != "" {
		out.storage = positiveQuantity(errs, d, "spec.capacity.storage", c.Storage)
	}
	if c.Pods <= 0 {
		errs.at(d, "spec.capacity.pods", "required: a positive number of pods one tenant may run")
	} else {
		out.pods = c.Pods
	}
	if c.MaxNodes < 0 {
		errs.at(d, "spec.capacity.maxNodes", "must not be negative")
	} else {
		out.maxNodes = c.MaxNodes
	}
	return out
}

func requiredQuantity(errs *errorList, d *document, field, value string) *resource.Quantity {
	if value == "" {
		errs.at(d, field, "required")
		return nil
	}
	return positiveQuantity(errs, d, field, value)
}

func positiveQuantity(errs *errorList, d *document, field, value string) *resource.Quantity {
	q, ok := parseQuantity(errs, d, field, value)
	if !ok {
		return nil
	}
	if q.Sign() <= 0 {
		errs.at(d, field, "must be greater than zero")
		return nil
	}
	return &q
}

func checkAzure(errs *errorList, d *document, s *EnvironmentSpec) {
	if s.Azure == nil {
		if s.Target == TargetAzure {
			errs.at(d, "spec.azure", "required for the azure target: subscriptionId and location")
		}
		return
	}
	if s.Azure.SubscriptionID == "" {
		errs.at(d, "spec.azure.subscriptionId", "required")
	} else if !azureGUID.MatchString(s.Azure.SubscriptionID) {
		errs.at(d, "spec.azure.subscriptionId", "must be a subscription GUID")
	}
	if s.Azure.Location == "" {
		errs.at(d, "spec.azure.location", "required")
	} else if !azureRegion.MatchString(s.Azure.Location) {
		errs.at(d, "spec.azure.location", "%s is not an Azure region name (e.g. westeurope)", shown(s.Azure.Location))
	}
}

// checkCIDRs reports every entry of list that is not a canonical CIDR and returns those that are.
func checkCIDRs(errs *errorList, d *document, field string, list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range checkCIDRList(errs, d, field, list) {
		out = append(out, p.prefix)
	}
	return out
}

type indexedPrefix struct {
	prefix netip.Prefix
	index  int
}

func checkCIDRList(errs *errorList, d *document, field string, list []string) []indexedPrefix {
	var out []indexedPrefix
	for i, s := range list {
		p, problem := parsePrefix(s)
		if problem != "" {
			errs.at(d, fieldpath.AppendIndex(field, i), "%s", problem)
			continue
		}
		out = append(out, indexedPrefix{p, i})
	}
	return out
}
