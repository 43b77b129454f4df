package azurenet

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

type vnet struct {
	id, name string
	owner    string
	how      string
	hub      bool
	space    []netip.Prefix
	subnets  []*subnet
	peerings []*peering
	// tag caches the VirtualNetwork service tag per route table (nil key: no table).
	tag map[*routeTable]*prefixSet
}

type subnet struct {
	id, name   string
	vnet       *vnet
	ranges     []netip.Prefix
	nsg        *nsg
	table      *routeTable
	pePolicies string
	nics       []*nic
}

type peering struct {
	id, name       string
	local          *vnet
	remoteID       string
	remote         *vnet    // nil when the remote VNet is not in the snapshot
	reverse        *peering // the remote VNet's peering back, when the snapshot has it
	up             bool     // connected(), decided once the topology is built
	state          string
	access         bool
	forwarded      bool
	gatewayTransit bool
	remoteGateways bool
	remoteSpace    []netip.Prefix
}

type routeTable struct {
	id, name string
	routes   []route
	trie     graph.Table[int]
}

type route struct {
	name    string
	prefix  netip.Prefix
	nextHop string
	ip      netip.Addr
	// system marks Azure's own routes (VNet, peering, RFC1918 None, Internet).
	system bool
	via    *peering
}

type nic struct {
	id, name   string
	ips        []netip.Addr
	subnet     *subnet
	nsg        *nsg
	forwarding bool
	endpoint   bool
}

type privateEndpoint struct {
	id, name string
	subnet   *subnet
	ips      []netip.Addr
	conns    []peConn
}

type peConn struct {
	name, target, status string
}

// topology is the analysed Azure network.
type topology struct {
	scope    *graph.Scope
	vnets    []*vnet
	byID     map[string]*vnet
	subnets  map[string]*subnet
	nsgs     map[string]*nsg
	tables   map[string]*routeTable
	nics     []*nic
	nicByID  map[string]*nic
	byIP     map[netip.Addr]*nic
	pes      []*privateEndpoint
	fws      []*firewall
	fwByIP   map[netip.Addr]*firewall
	tags     map[string]map[string]string
	sysCache map[*vnet]*systemRoutes
	problems []string
}

func prefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		if q, err := graph.ParsePrefix(p); err == nil {
			out = append(out, q)
		}
	}
	return out
}

func build(sc *graph.Scope, d *decoded) (*topology, error) {
	t := &topology{
		scope: sc, byID: map[string]*vnet{}, subnets: map[string]*subnet{}, nsgs: map[string]*nsg{},
		tables: map[string]*routeTable{}, byIP: map[netip.Addr]*nic{}, nicByID: map[string]*nic{}, fwByIP: map[netip.Addr]*firewall{}, tags: d.tags,
		sysCache: map[*vnet]*systemRoutes{},
	}
	for _, g := range d.nsgs {
		n, err := parseNSG(g)
		if err != nil {
			return nil, err
		}
		t.nsgs[lower(n.id)] = n
	}
	for _, rt := range d.tables {
		tbl, err := parseRouteTable(rt)
		if err != nil {
			return nil, err
		}
		t.tables[lower(tbl.id)] = tbl
	}
	for _, v := range d.vnets {
		t.addVNet(v)
	}
	// Peerings and subnets listed as resources of their own join their VNet unless it lists them
	// inline already.
	for _, p := range d.peerings {
		if v := t.byID[lower(parentID(p.id))]; v != nil && !slices.ContainsFunc(v.peerings, func(x *peering) bool { return strings.EqualFold(x.id, p.id) }) {
			v.peerings = append(v.peerings, newPeering(v, p))
		}
	}
	for _, sn := range d.subnets {
		if v := t.byID[lower(parentID(sn.id))]; v != nil && t.subnets[lower(sn.id)] == nil {
			t.addSubnet(v, sn)
		}
	}
	// Resolve remotes and the reverse peering through an index: a hub has a peering per tenant,
	// and scanning it for every spoke would cost tenants².
	byPair := map[[2]*vnet]*peering{}
	for _, v := range t.vnets {
		for _, p := range v.peerings {
			p.remote = t.byID[lower(p.remoteID)]
			if p.remote != nil {
				byPair[[2]*vnet{v, p.remote}] = p
			}
		}
	}
	for _, v := range t.vnets {
		for _, p := range v.peerings {
			if p.remote != nil {
				p.reverse = byPair[[2]*vnet{p.remote, v}]
			}
		}
	}
	for _, v := range t.vnets {
		for _, p := range v.peerings {
			p.up = p.isConnected()
		}
	}
	for _, n := range d.nics {
		t.addNIC(n)
	}
	for _, pe := range d.endpoints {
		t.addEndpoint(pe)
	}
	for _, f := range d.firewalls {
		fw, err := t.parseFirewall(f)
		if err != nil {
			return nil, err
		}
		t.fws = append(t.fws, fw)
		for _, ip := range fw.ips {
			t.fwByIP[ip] = fw
		}
	}
	slices.SortFunc(t.vnets, func(a, b *vnet) int { return cmp.Compare(lower(a.id), lower(b.id)) })
	for _, v := range t.vnets {
		t.own(v)
	}
	return t, nil
}

func (t *topology) addVNet(r resource) {
	if r.id == "" || t.byID[lower(r.id)] != nil {
		return
	}
	vn := &vnet{id: r.id, name: r.name, tag: map[*routeTable]*prefixSet{}}
	vn.space = graph.Merge(prefixes(r.props.obj("addressSpace").strs("addressPrefixes")))
	for _, sn := range r.props.list("subnets") {
		t.addSubnet(vn, nested(sn))
	}
	for _, p := range r.props.list("virtualNetworkPeerings") {
		vn.peerings = append(vn.peerings, newPeering(vn, nested(p)))
	}
	t.byID[lower(vn.id)] = vn
	t.vnets = append(t.vnets, vn)
}

func (t *topology) addSubnet(v *vnet, r resource) {
	if r.id == "" {
		return
	}
	p := r.props
	sub := &subnet{id: r.id, name: r.name, vnet: v, pePolicies: p.str("privateEndpointNetworkPolicies")}
	if sub.pePolicies == "" {
		// ARM's default when the property is absent.
		sub.pePolicies = string(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesDisabled)
	}
	sub.ranges = graph.Merge(prefixes(p.strAndList("addressPrefix", "addressPrefixes")))
	if id := p.ref("networkSecurityGroup"); id != "" {
		if sub.nsg = t.nsgs[lower(id)]; sub.nsg == nil {
			t.problems = append(t.problems, fmt.Sprintf("%s: NSG %s is not in the snapshot; the subnet is treated as having none", sub.id, id))
		}
	}
	if id := p.ref("routeTable"); id != "" {
		if sub.table = t.tables[lower(id)]; sub.table == nil {
			t.problems = append(t.problems, fmt.Sprintf("%s: route table %s is not in the snapshot; only system routes are used", sub.id, id))
		}
	}
	v.subnets = append(v.subnets, sub)
	t.subnets[lower(sub.id)] = sub
}

func newPeering(v *vnet, r resource) *peering {
	q := r.props
	return &peering{
		id: r.id, name: r.name, local: v,
		remoteID:       q.ref("remoteVirtualNetwork"),
		state:          q.str("peeringState"),
		access:         q.boolean("allowVirtualNetworkAccess", true),
		forwarded:      q.boolean("allowForwardedTraffic", false),
		gatewayTransit: q.boolean("allowGatewayTransit", false),
		remoteGateways: q.boolean("useRemoteGateways", false),
		remoteSpace:    prefixes(q.obj("remoteAddressSpace").strs("addressPrefixes")),
	}
}

func (t *topology) addNIC(r resource) {
	p := r.props
	x := &nic{id: r.id, name: r.name, forwarding: p.boolean("enableIPForwarding", false), endpoint: p.ref("privateEndpoint") != ""}
	if id := p.ref("networkSecurityGroup"); id != "" {
		x.nsg = t.nsgs[lower(id)]
	}
	for _, c := range p.list("ipConfigurations") {
		cp := c.props()
		if a, err := netip.ParseAddr(cp.str("privateIPAddress")); err == nil {
			x.ips = append(x.ips, a.Unmap())
			t.byIP[a.Unmap()] = x
		}
		if id := cp.ref("subnet"); id != "" && x.subnet == nil {
			x.subnet = t.subnets[lower(id)]
		}
	}
	if x.subnet != nil && !x.endpoint {
		x.subnet.nics = append(x.subnet.nics, x)
	}
	t.nics = append(t.nics, x)
	t.nicByID[lower(x.id)] = x
}

// addEndpoint reads a private endpoint: where it sits, its addresses (custom DNS configs, static
// IP configurations, or its NIC) and its connections.
func (t *topology) addEndpoint(r resource) {
	p := r.props
	x := &privateEndpoint{id: r.id, name: r.name, subnet: t.subnets[lower(p.ref("subnet"))]}
	addIP := func(str string) {
		if a, err := netip.ParseAddr(str); err == nil && !slices.Contains(x.ips, a.Unmap()) {
			x.ips = append(x.ips, a.Unmap())
		}
	}
	for _, c := range p.list("customDnsConfigs") {
		for _, ip := range c.strs("ipAddresses") {
			addIP(ip)
		}
	}
	for _, c := range p.list("ipConfigurations") {
		addIP(c.props().str("privateIPAddress"))
	}
	for _, ni := range p.list("networkInterfaces") {
		if n := t.nicByID[lower(ni.str("id"))]; n != nil {
			for _, ip := range n.ips {
				addIP(ip.String())
			}
		}
	}
	for _, key := range []string{"privateLinkServiceConnections", "manualPrivateLinkServiceConnections"} {
		for _, c := range p.list(key) {
			cp := c.props()
			conn := peConn{name: c.str("name"), target: cp.str("privateLinkServiceId"), status: cp.obj("privateLinkServiceConnectionState").str("status")}
			if conn.status == "" {
				conn.status = "Pending"
			}
			x.conns = append(x.conns, conn)
		}
	}
	if x.subnet == nil {
		t.problems = append(t.problems, fmt.Sprintf("%s: its subnet is not in the snapshot", x.id))
		return
	}
	t.pes = append(t.pes, x)
}

// TagTenant is the Azure tag naming the tenant a resource belongs to, as the plans tag every
// tenant resource. Azure tag names cannot contain "/", so it is not the Kubernetes label key.
const TagTenant = tenantplan.TagTenant

// own decides who owns a VNet, in order of authority: the desired state's address ranges (a
// binding's network or the platform's ranges), the environment's hub VNet name, the resource
// group naming convention rg-<tenant>-<environment>, and last the tenantctl-tenant tag (tags can
// be written by whoever may write the resource, so they never override the desired state).
func (t *topology) own(v *vnet) {
	hub := t.scope.Env.Spec.Hub
	owners := map[string]bool{}
	for _, p := range v.space {
		owners[t.scope.OwnerOf(p)] = true
	}
	if len(owners) == 1 && !owners[""] {
		for o := range owners {
			v.owner, v.how = o, fmt.Sprintf("address space %v is %s's in the desired state", v.space, o)
		}
	}
	if hub.VNetName != "" && strings.EqualFold(v.name, hub.VNetName) && (hub.ResourceGroup == "" || strings.EqualFold(resourceGroup(v.id), hub.ResourceGroup)) {
		v.hub = true
		if v.owner == "" {
			v.owner, v.how = isolation.Platform, "the environment's hub VNet "+hub.VNetName
		}
	}
	if v.owner == "" {
		v.owner, v.how = t.ownerByNaming(v.id)
	}
	if v.owner == "" {
		t.problems = append(t.problems, fmt.Sprintf("%s: owner unknown (address space %v matches no binding, no tenant tag or resource group)", v.id, v.space))
	}
}

// ownerByNaming resolves an Azure resource id by resource group convention, then by tag.
func (t *topology) ownerByNaming(id string) (string, string) {
	env := t.scope.Env.Name()
	rg := strings.ToLower(resourceGroup(id))
	for _, tid := range t.scope.TenantIDs() {
		if rg == strings.ToLower(tenantplan.TenantResourceGroup(tid, env)) {
			return tid, "resource group " + resourceGroup(id) + " follows rg-<tenant>-<environment>"
		}
	}
	if tag := t.tags[lower(id)][TagTenant]; tag != "" {
		return tag, "tag " + TagTenant + "=" + tag
	}
	return "", ""
}

// targetOwner decides who owns the resource a private endpoint connects to: the environment's
// shared vault and database belong to the platform, a silo's dedicated vault (a keyVaultRef of
// its binding) to the tenant; otherwise the naming rules of ownerByNaming.
func (t *topology) targetOwner(id string) (string, string) {
	name := lastSegment(id)
	spec := t.scope.Env.Spec
	if name != "" && (strings.EqualFold(name, spec.SharedVault.Name) || strings.EqualFold(name, spec.SharedDatabase.Server)) {
		return isolation.Platform, "the environment's shared vault or database"
	}
	if tid, ok := t.scope.VaultOwner(name); ok {
		return tid, "the dedicated Key Vault of " + tid + "'s binding"
	}
	return t.ownerByNaming(id)
}
