package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// TenantRef names a tenant in an environment.
type TenantRef struct {
	Environment string `json:"environment"`
	TenantID    string `json:"tenantId"`
}

func (t TenantRef) String() string {
	if t.Environment == "" {
		return t.TenantID
	}
	return t.Environment + "/" + t.TenantID
}

// FleetGroup is one cause found in several tenants: the same rule, peering or conflicting manager
// (finding.CauseKey), so it is fixed once at its source rather than tenant by tenant.
type FleetGroup struct {
	Cause    string           `json:"cause"`
	Kind     finding.Kind     `json:"kind"`
	Severity finding.Severity `json:"severity"`
	// What is the cause in words: "NSG rule allow-10.0.0.0-8", "field spec.replicas of Deployment api".
	What    string      `json:"what"`
	Tenants []TenantRef `json:"tenants"`
	// Fingerprints of the grouped findings.
	Fingerprints []string `json:"fingerprints"`
}

// Summary is the one-line form: "40 tenants: same NSG rule allow-10.0.0.0-8 (cross-tenant-route, critical)".
func (g FleetGroup) Summary() string {
	return fmt.Sprintf("%d tenants: same %s (%s, %s)", len(g.Tenants), g.What, g.Kind, g.Severity)
}

// Fleet groups findings by cause and returns the causes seen in at least two tenants, the most
// widespread (then most severe) first.
func Fleet(findings []finding.Finding) []FleetGroup {
	byCause := map[string]*FleetGroup{}
	seen := map[string]map[TenantRef]bool{}
	var order []string
	for _, f := range findings {
		f = f.Normalize()
		key := f.CauseKey()
		g, ok := byCause[key]
		if !ok {
			g = &FleetGroup{Cause: key, Kind: f.Kind, Severity: f.Severity, What: describeCause(f)}
			byCause[key] = g
			seen[key] = map[TenantRef]bool{}
			order = append(order, key)
		}
		if f.Severity.Rank() < g.Severity.Rank() {
			g.Severity = f.Severity
		}
		ref := TenantRef{Environment: f.Environment, TenantID: f.TenantID}
		if !seen[key][ref] {
			seen[key][ref] = true
			g.Tenants = append(g.Tenants, ref)
		}
		g.Fingerprints = append(g.Fingerprints, f.Fingerprint())
	}
	var out []FleetGroup
	for _, key := range order {
		g := byCause[key]
		if len(g.Tenants) < 2 {
			continue
		}
		slices.SortFunc(g.Tenants, func(a, b TenantRef) int { return strings.Compare(a.String(), b.String()) })
		slices.Sort(g.Fingerprints)
		out = append(out, *g)
	}
	slices.SortStableFunc(out, func(a, b FleetGroup) int {
		return cmp.Or(-cmp.Compare(len(a.Tenants), len(b.Tenants)), cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
			cmp.Compare(a.What, b.What))
	})
	return out
}

// friendlyTypes are the resource types people name differently from their API type.
var friendlyTypes = map[string]string{
	"microsoft.network/networksecuritygroups/securityrules":            "NSG rule",
	"microsoft.network/networksecuritygroups":                          "NSG",
	"microsoft.network/virtualnetworks/virtualnetworkpeerings":         "VNet peering",
	"microsoft.network/routetables/routes":                             "route",
	"microsoft.network/routetables":                                    "route table",
	"microsoft.network/privateendpoints":                               "private endpoint",
	"microsoft.network/virtualnetworks":                                "VNet",
	"microsoft.network/virtualnetworks/subnets":                        "subnet",
	"microsoft.keyvault/vaults":                                        "Key Vault",
	"networking.k8s.io/v1/networkpolicy":                               "NetworkPolicy",
	"rbac.authorization.k8s.io/v1/rolebinding":                         "RoleBinding",
	"microsoft.network/privatelinkservices/privateendpointconnections": "private endpoint connection",
}

// FriendlyType is how people call a resource type: "NSG rule" for
// Microsoft.Network/networkSecurityGroups/securityRules, "ConfigMap" for v1/ConfigMap.
func FriendlyType(t string) string {
	if f, ok := friendlyTypes[strings.ToLower(t)]; ok {
		return f
	}
	if i := strings.LastIndex(t, "/"); i >= 0 {
		return t[i+1:]
	}
	return t
}

func describeCause(f finding.Finding) string {
	what := strings.TrimSpace(FriendlyType(f.Resource.Type) + " " + f.Resource.Name)
	switch {
	case f.Field != "" && f.Manager != "":
		return fmt.Sprintf("field %s of %s taken by %s", f.Field, what, f.Manager)
	case f.Field != "":
		return fmt.Sprintf("field %s of %s", f.Field, what)
	}
	return what
}
