package graph

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Tenant is one tenant of the analysed environment as the desired state declares it.
type Tenant struct {
	ID    string
	Tier  isolation.Tier
	Modes map[isolation.Layer]isolation.Mode
	// Namespace is the tenant's own namespace, "" when it lives in the shared namespace.
	Namespace string
	// Ranges are the silo VNet's address space and subnets; empty for pool and shared tenants.
	Ranges []netip.Prefix
	// Vaults are the dedicated Key Vaults the binding's secrets reference (silo secrets mode).
	Vaults []string
	Source isolation.Source
	// Binding is the tenant's declaration, for analyses that read its plan (tenantplan).
	Binding *isolation.RuntimeTenantBinding
}

// Scope is what the desired state says about ownership in one environment: which tenant owns
// which namespace and address range, where the platform lives, and which routes are declared.
type Scope struct {
	Env              *isolation.Environment
	IngressNamespace string
	SharedNamespace  string
	// PlatformRanges are the environment's platform address space and hub.
	PlatformRanges []netip.Prefix
	HubRanges      []netip.Prefix
	// PodCIDR and ServiceCIDR of the shared cluster; invalid when the environment omits them.
	PodCIDR     netip.Prefix
	ServiceCIDR netip.Prefix

	tenants    map[string]*Tenant
	vaults     map[string]string
	ids        []string
	namespaces map[string]string
	ranges     Trie[string]
	allowed    map[[2]string]string
}

// NewScope derives ownership from an environment and its bindings (bindings of other
// environments are ignored).
func NewScope(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) (*Scope, error) {
	if env == nil {
		return nil, fmt.Errorf("reachability scope: environment is nil")
	}
	s := &Scope{
		Env:              env,
		IngressNamespace: tenantplan.IngressNamespace(env),
		SharedNamespace:  tenantplan.SharedNamespace(env),
		tenants:          map[string]*Tenant{},
		namespaces:       map[string]string{},
		vaults:           map[string]string{},
		allowed:          map[[2]string]string{},
	}
	var err error
	if s.PlatformRanges, err = parseAll("environment "+env.Name()+" platformAddressSpace", env.Spec.PlatformAddressSpace); err != nil {
		return nil, err
	}
	if s.HubRanges, err = parseAll("environment "+env.Name()+" hub.addressSpace", env.Spec.Hub.AddressSpace); err != nil {
		return nil, err
	}
	for _, p := range Merge(append(slices.Clone(s.PlatformRanges), s.HubRanges...)) {
		s.ranges.Insert(p, isolation.Platform)
	}
	if c := env.Spec.SharedCluster.PodCIDR; c != "" {
		if s.PodCIDR, err = ParsePrefix(c); err != nil {
			return nil, fmt.Errorf("environment %s sharedCluster.podCIDR: %w", env.Name(), err)
		}
	}
	if c := env.Spec.SharedCluster.ServiceCIDR; c != "" {
		if s.ServiceCIDR, err = ParsePrefix(c); err != nil {
			return nil, fmt.Errorf("environment %s sharedCluster.serviceCIDR: %w", env.Name(), err)
		}
	}
	for _, r := range env.Spec.AllowedRoutes {
		s.allowed[[2]string{r.From, r.To}] = r.Reason
	}
	for _, b := range bindings {
		if b.Spec.Environment != env.Name() {
			continue
		}
		if err := s.addTenant(b); err != nil {
			return nil, err
		}
	}
	slices.Sort(s.ids)
	return s, nil
}

func (s *Scope) addTenant(b *isolation.RuntimeTenantBinding) error {
	id := b.Spec.TenantID
	if id == isolation.Platform {
		return fmt.Errorf("%s: tenant id %q is reserved for the platform", b.Source.File, id)
	}
	if _, dup := s.tenants[id]; dup {
		return fmt.Errorf("%s: tenant %s is bound twice in environment %s", b.Source.File, id, s.Env.Name())
	}
	modes := isolation.Resolve(b)
	t := &Tenant{ID: id, Tier: b.Spec.Tier, Modes: modes, Source: b.Source, Binding: b}
	if modes[isolation.LayerCompute] != isolation.ComputeSharedNamespace {
		t.Namespace = tenantplan.TenantNamespace(id)
		s.namespaces[t.Namespace] = id
	}
	if modes[isolation.LayerSecrets] == isolation.SecretsDedicatedVault {
		for _, sec := range b.Spec.Secrets {
			if v := vaultName(sec.KeyVaultRef); v != "" && !slices.Contains(t.Vaults, v) {
				t.Vaults = append(t.Vaults, v)
				s.vaults[strings.ToLower(v)] = id
			}
		}
	}
	if n := b.Spec.Network; n != nil {
		ranges, err := parseAll("tenant "+id+" network.addressSpace", n.AddressSpace)
		if err != nil {
			return err
		}
		for _, sub := range n.Subnets {
			p, err := ParsePrefix(sub.AddressPrefix)
			if err != nil {
				return fmt.Errorf("tenant %s subnet %s: %w", id, sub.Name, err)
			}
			ranges = append(ranges, p)
		}
		t.Ranges = Merge(ranges)
		for _, p := range t.Ranges {
			s.ranges.Insert(p, id)
		}
	}
	s.tenants[id] = t
	s.ids = append(s.ids, id)
	return nil
}

func parseAll(what string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range list {
		p, err := ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Tenant returns the declared tenant id, or nil.
func (s *Scope) Tenant(id string) *Tenant { return s.tenants[id] }

// TenantIDs lists the declared tenants, sorted.
func (s *Scope) TenantIDs() []string { return s.ids }

// DeclaredNamespace returns the tenant whose binding gives it the namespace name.
func (s *Scope) DeclaredNamespace(name string) (string, bool) {
	id, ok := s.namespaces[name]
	return id, ok
}

// Allowed returns the declared reason when the environment allows routes from one node to
// another.
func (s *Scope) Allowed(from, to string) (string, bool) {
	r, ok := s.allowed[[2]string{from, to}]
	return r, ok
}

// RangeOwner is an owner of an address range and how much of a queried range it holds.
type RangeOwner struct {
	Owner  string
	Prefix netip.Prefix
}

// OwnersOf lists the declared owners (tenants and the platform) of ranges overlapping p, widest
// first. Silo ranges lie inside the environment's space and outside the platform's, so a single
// prefix normally has one owner; a prefix spanning several returns each.
func (s *Scope) OwnersOf(p netip.Prefix) []RangeOwner {
	var out []RangeOwner
	s.ranges.Overlapping(p, func(q netip.Prefix, owner string) bool {
		out = append(out, RangeOwner{Owner: owner, Prefix: q})
		return true
	})
	return out
}

// OwnerOf returns the single owner whose ranges contain all of p ("" when none or when p spans
// several owners). The narrowest containing range wins, so a tenant carved out of a wider
// platform range keeps its own addresses.
func (s *Scope) OwnerOf(p netip.Prefix) string {
	_, owners, ok := s.ranges.Longest(p)
	if !ok {
		return ""
	}
	inside := ""
	s.ranges.Within(p, func(q netip.Prefix, o string) bool {
		if q.Bits() > Canon(p).Bits() && o != owners[0] {
			inside = o
			return false
		}
		return true
	})
	if inside != "" {
		return ""
	}
	return owners[0]
}

// vaultName reads a keyVaultRef: a vault name, or its URL https://<name>.vault.azure.net.
func vaultName(ref string) string {
	if u, err := url.Parse(ref); err == nil && u.Host != "" {
		name, _, _ := strings.Cut(u.Host, ".")
		return name
	}
	return ref
}

// VaultOwner returns the tenant whose binding references the dedicated vault called name.
func (s *Scope) VaultOwner(name string) (string, bool) {
	id, ok := s.vaults[strings.ToLower(name)]
	return id, ok
}

// SourceOf returns the binding file of a declared tenant, for findings' locations.
func (s *Scope) SourceOf(id string) isolation.Source {
	if t := s.tenants[id]; t != nil {
		return t.Source
	}
	return isolation.Source{}
}
