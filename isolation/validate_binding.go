package isolation

import (
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// bindingEntry is a decoded binding with what its checks resolved, ready for cross-file checks.
type bindingEntry struct {
	d     *document
	b     *RuntimeTenantBinding
	env   *envEntry       // nil when the environment is unknown
	modes map[Layer]Mode  // nil when the tier is unknown
	idOK  bool            // the tenant id is valid, so names may be checked against it
	vnet  []indexedPrefix // the silo VNet's parsed addressSpace
	// vaults are the dedicated vaults the binding references, by field path.
	vaults []vaultRef
}

type vaultRef struct{ name, field string }

var (
	databaseName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)
	schemaName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	subnetName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?$`)
)

// Subnet purposes.
const (
	SubnetNodes     = "nodes"
	SubnetEndpoints = "endpoints"
	SubnetWorkloads = "workloads"
)

func checkBinding(errs *errorList, d *document, b *RuntimeTenantBinding, envs map[string]*envEntry) *bindingEntry {
	s := &b.Spec
	entry := &bindingEntry{d: d, b: b}
	if b.Metadata.Name == "" {
		errs.at(d, "metadata.name", "required")
	} else if msgs := content.IsDNS1123Subdomain(b.Metadata.Name); len(msgs) > 0 {
		errs.at(d, "metadata.name", "%s is not a DNS-1123 subdomain: %s", shown(b.Metadata.Name), strings.Join(msgs, "; "))
	}
	checkLabels(errs, d, "metadata.labels", b.Metadata.Labels, false)
	checkLabels(errs, d, "spec.labels", s.Labels, true)

	switch {
	case s.Environment == "":
		errs.at(d, "spec.environment", "required")
	case envs[s.Environment] == nil:
		errs.at(d, "spec.environment", "unknown environment %s; declared: %s", shown(s.Environment), declared(envs))
	default:
		entry.env = envs[s.Environment]
	}
	entry.idOK = checkTenantID(errs, d, s.TenantID, entry.env)

	switch s.Tier {
	case TierSilo, TierPool, TierShared:
		checkOverrides(errs, d, b)
		entry.modes = Resolve(b)
	case "":
		errs.at(d, "spec.tier", "required: silo, pool or shared")
	default:
		errs.at(d, "spec.tier", "unknown tier %s; want silo, pool or shared", shown(string(s.Tier)))
	}
	if entry.modes == nil {
		if len(s.Overrides) > 0 {
			errs.at(d, "spec.overrides", "overrides need a valid tier")
		}
		return entry // the remaining checks depend on the tier
	}
	checkNetwork(errs, entry)
	checkQuota(errs, d, b, entry.env)
	checkData(errs, entry)
	checkSecrets(errs, entry)
	return entry
}

func declared(envs map[string]*envEntry) string {
	if len(envs) == 0 {
		return "none (add an Environment document)"
	}
	names := make([]string, 0, len(envs))
	for n := range envs {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func checkTenantID(errs *errorList, d *document, id string, env *envEntry) bool {
	const field = "spec.tenantId"
	switch {
	case id == "":
		errs.at(d, field, "required")
	case dnsLabelProblem(id) != "":
		errs.at(d, field, "%s is not a DNS-1123 label: %s", shown(id), dnsLabelProblem(id))
	case IsReservedTenantID(id):
		errs.at(d, field, "%s is reserved for the platform (reserved: %s and kube-*)", shown(id), strings.Join(ReservedTenantIDs, ", "))
	case env != nil && (id == env.env.Spec.SharedCluster.IngressNamespace || id == env.env.Spec.SharedCluster.SharedNamespace):
		errs.at(d, field, "%s is a platform namespace of environment %s", shown(id), env.env.Name())
	default:
		return true
	}
	return false
}

func checkOverrides(errs *errorList, d *document, b *RuntimeTenantBinding) {
	layers := make([]string, 0, len(b.Spec.Overrides))
	for l := range b.Spec.Overrides {
		layers = append(layers, string(l))
	}
	sort.Strings(layers)
	for _, l := range layers {
		m := b.Spec.Overrides[Layer(l)]
		if ok, why := AllowedOverride(b.Spec.Tier, Layer(l), m); !ok {
			errs.at(d, fieldpath.AppendField("spec.overrides", l), "%s", why)
		}
	}
}

func checkNetwork(errs *errorList, e *bindingEntry) {
	d, b := e.d, e.b
	n := b.Spec.Network
	if e.modes[LayerNetwork] != NetworkDedicatedVNet {
		if n != nil {
			errs.at(d, "spec.network", "%s tenants get network policy on the shared cluster, not a VNet; remove spec.network", b.Spec.Tier)
		}
		return
	}
	if n == nil {
		errs.at(d, "spec.network", "required for silo tenants: the dedicated VNet's addressSpace and subnets")
		return
	}
	if len(n.AddressSpace) == 0 {
		errs.at(d, "spec.network.addressSpace", "required: the dedicated VNet's address ranges")
	}
	e.vnet = checkCIDRList(errs, d, "spec.network.addressSpace", n.AddressSpace)
	if env := e.env; env != nil && len(env.ranges) > 0 {
		for _, p := range e.vnet {
			if !within(p.prefix, env.ranges) {
				errs.at(d, fieldpath.AppendIndex("spec.network.addressSpace", p.index), "%s is outside the address space of environment %s (%s)",
					p.prefix, env.env.Name(), Source{File: env.d.src.File, Line: env.d.fields.line("spec.addressSpace", env.d.src.Line)})
			}
		}
	}
	checkSubnets(errs, e)
}

func checkSubnets(errs *errorList, e *bindingEntry) {
	d, n := e.d, e.b.Spec.Network
	if len(n.Subnets) == 0 {
		errs.at(d, "spec.network.subnets", "required: at least a subnet with purpose nodes")
		return
	}
	vnet := prefixesOf(e.vnet)
	names := map[string]int{}
	hasNodes := false
	var subnets []span
	var subnetIdx []int
	for i, sn := range n.Subnets {
		f := fieldpath.AppendIndex("spec.network.subnets", i)
		switch {
		case sn.Name == "":
			errs.at(d, f+".name", "required")
		case !subnetName.MatchString(sn.Name):
			errs.at(d, f+".name", "%s is not a subnet name (letters, digits, '.', '-', '_'; at most 80)", shown(sn.Name))
		default:
			if first, dup := names[sn.Name]; dup {
				errs.at(d, f+".name", "duplicate subnet name %s; first used by spec.network.subnets[%d]", shown(sn.Name), first)
			} else {
				names[sn.Name] = i
			}
		}
		switch sn.Purpose {
		case SubnetNodes:
			hasNodes = true
		case SubnetEndpoints, SubnetWorkloads, "":
		default:
			errs.at(d, f+".purpose", "unknown purpose %s; want nodes, endpoints or workloads", shown(sn.Purpose))
		}
		if sn.AddressPrefix == "" {
			errs.at(d, f+".addressPrefix", "required")
			continue
		}
		p, problem := parsePrefix(sn.AddressPrefix)
		if problem != "" {
			errs.at(d, f+".addressPrefix", "%s", problem)
			continue
		}
		if len(vnet) > 0 && !within(p, vnet) {
			errs.at(d, f+".addressPrefix", "%s is outside the VNet's addressSpace", p)
		}
		subnets = append(subnets, span{prefix: p})
		subnetIdx = append(subnetIdx, i)
	}
	for _, o := range findOverlaps(subnets) {
		errs.at(d, fieldpath.AppendIndex("spec.network.subnets", subnetIdx[o.inner])+".addressPrefix", "%s overlaps subnet %s (%s)",
			subnets[o.inner].prefix, n.Subnets[subnetIdx[o.outer]].Name, subnets[o.outer].prefix)
	}
	if !hasNodes {
		errs.at(d, "spec.network.subnets", "a silo VNet needs a subnet with purpose nodes for its node pool")
	}
}
