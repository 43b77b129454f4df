// Package underlay composes the Kubernetes and Azure analyses. On an Azure cluster a pod's
// traffic to an address outside the cluster's pod and service ranges leaves from its node's IP
// in the node pool's subnet (Azure CNI Overlay, kubenet) or from a VNet subnet (Azure CNI) and
// then follows the Azure path: that subnet's route table and NSG, peerings, the hub firewall,
// the destination subnet's NSG. A path between pods and a VNet, a node or the platform's space
// exists only when the NetworkPolicy and that Azure path both admit it; traffic from a VNet
// reaches pods the same way back, through the node subnet or an internal load balancer.
//
// The package finds each party's node pools (the managed cluster's agent pool profiles and
// agent pools with their subnets, Node objects' agent pool labels and addresses; a tenant whose
// compute layer is a dedicated node pool is pinned to its own pool by the platform's admission
// policies, every other party runs on the shared pools) and turns each graph.Crossing the
// Kubernetes analysis hands over into node-subnet paths carrying both layers' evidence.
package underlay

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Applies reports whether env's pods send through a network the analysis knows: an azure
// environment. On the kubernetes target nothing is known below the cluster, and NetworkPolicy
// alone decides.
func Applies(env *isolation.Environment) bool {
	return env != nil && env.Spec.Target == isolation.TargetAzure
}

// Composer decides crossings against the Azure network (nil when the snapshot holds none).
type Composer struct {
	scope *graph.Scope
	net   *azurenet.Network
	pools *pools
	ilbs  map[string][]netip.Addr
	memo  map[memoKey]legs
}

type memoKey struct {
	subnet string
	egress bool
	addrs  string
}

type legs struct {
	list    []azurenet.Leg
	missing []netip.Prefix
	err     error
}

// New reads the node pools and the internal load balancers of snap.
func New(s *graph.Scope, snap *inventory.Snapshot, net *azurenet.Network) (*Composer, error) {
	c := &Composer{scope: s, net: net, ilbs: map[string][]netip.Addr{}, memo: map[memoKey]legs{}}
	if net != nil {
		ps, err := readPools(s, snap, net)
		if err != nil {
			return nil, fmt.Errorf("node pools: %w", err)
		}
		c.pools = ps
	}
	for i := range snap.Kubernetes {
		u := &snap.Kubernetes[i]
		if u.GetKind() == "Service" && u.GroupVersionKind().Group == "" {
			c.ilbs[u.GetNamespace()] = append(c.ilbs[u.GetNamespace()], loadBalancerIPs(u)...)
		}
	}
	return c, nil
}

// loadBalancerIPs are the frontend addresses of a LoadBalancer Service.
func loadBalancerIPs(u *unstructured.Unstructured) []netip.Addr {
	if t, _, _ := unstructured.NestedString(u.Object, "spec", "type"); t != "LoadBalancer" {
		return nil
	}
	ing, _, _ := unstructured.NestedSlice(u.Object, "status", "loadBalancer", "ingress")
	var out []netip.Addr
	for _, x := range ing {
		m, _ := x.(map[string]any)
		s, _ := m["ip"].(string)
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// Add decides one crossing and adds what exists to b.
func (c *Composer) Add(ctx context.Context, x graph.Crossing, b *graph.Builder) {
	addrs := c.outsideCluster(x.Addrs)
	if len(addrs) == 0 {
		// Only the cluster's own ranges: NetworkPolicy alone decides.
		b.Add(x.Path)
		return
	}
	x.Addrs = addrs
	if c.net == nil {
		c.add(b, x, graph.AllPorts(), "the Azure network is not in the snapshot, so the subnet "+x.PodOwner+"'s pods send from and the path beyond it cannot be decided", nil)
		return
	}
	places, why := c.pools.of(x.PodOwner)
	if len(places) == 0 {
		c.add(b, x, graph.AllPorts(), why, nil)
		return
	}
	if !x.Egress {
		places = append(places, c.frontends(x.Namespace, places)...)
	}
	for _, pl := range places {
		if ctx.Err() != nil {
			return
		}
		c.place(b, x, pl)
	}
}

// frontends are the subnets, other than the node subnets, holding the frontend of an internal
// load balancer of namespace ns: its backends are the pods' nodes, so a VNet reaching the
// frontend reaches the pods.
func (c *Composer) frontends(ns string, places []placement) []placement {
	var out []placement
	for _, ip := range c.ilbs[ns] {
		sn, ok := c.net.SubnetOf(ip)
		if !ok || slices.ContainsFunc(places, func(p placement) bool { return strings.EqualFold(p.subnet, sn.ID) }) ||
			slices.ContainsFunc(out, func(p placement) bool { return p.subnet == sn.ID }) {
			continue
		}
		out = append(out, placement{subnet: sn.ID, frontendOnly: true,
			how: fmt.Sprintf("a LoadBalancer Service in %s has its frontend %s in subnet %s; its backends are the pods' nodes", ns, ip, sn.ID)})
	}
	return out
}

// place adds the paths of x through one subnet of its pods.
func (c *Composer) place(b *graph.Builder, x graph.Crossing, pl placement) {
	poolStep := graph.EvidenceStep{Kind: "node-pool", Resource: pl.subnet, Detail: pl.how}
	var ls legs
	if !pl.frontendOnly {
		ls = c.legs(pl.subnet, x.Egress, x.Addrs, nil)
	}
	if !x.Egress {
		// From a VNet, pods are reached at their nodes (a NodePort, or a LoadBalancer Service
		// with externalTrafficPolicy Local, keeps the client's address) and at the internal
		// load balancers of their namespace whose frontends lie in the subnet.
		if ips := c.ilbs[x.Namespace]; len(ips) > 0 {
			sn, _ := c.net.Subnet(pl.subnet)
			var at []netip.Prefix
			for _, ip := range ips {
				p := netip.PrefixFrom(ip, ip.BitLen())
				if graph.Cover(p, sn.Ranges) == graph.CoverFull {
					at = append(at, p)
				}
			}
			if len(at) > 0 {
				ilb := c.legs(pl.subnet, false, x.Addrs, at)
				ls.list = append(slices.Clip(ls.list), ilb.list...)
			}
		}
	}
	if ls.err != nil {
		c.add(b, x, graph.AllPorts(), ls.err.Error(), []graph.EvidenceStep{poolStep})
		return
	}
	for _, l := range ls.list {
		ports := x.Path.Ports.Intersect(l.Ports)
		if ports.IsEmpty() {
			continue
		}
		steps := l.Evidence
		c.addLeg(b, x, ports, l.Unknown, func() []graph.EvidenceStep { return append([]graph.EvidenceStep{poolStep}, steps()...) })
	}
	if len(ls.missing) > 0 {
		c.add(b, x, graph.AllPorts(), fmt.Sprintf("%v lies in no VNet of the Azure snapshot, so whether the traffic from subnet %s arrives is unknown", ls.missing, pl.subnet),
			[]graph.EvidenceStep{poolStep})
	}
}

// legs asks the network once per subnet, direction and address set: every party on the shared
// pools sends from the same subnets.
func (c *Composer) legs(subnet string, egress bool, addrs, at []netip.Prefix) legs {
	key := memoKey{subnet: strings.ToLower(subnet), egress: egress, addrs: fmt.Sprint(addrs, at)}
	if l, ok := c.memo[key]; ok {
		return l
	}
	var l legs
	if egress {
		l.list, l.missing, l.err = c.net.From(subnet, addrs)
	} else {
		l.list, l.missing, l.err = c.net.To(addrs, subnet, at)
	}
	c.memo[key] = l
	return l
}

// add records x as undecided.
func (c *Composer) add(b *graph.Builder, x graph.Crossing, ports graph.PortSet, unknown string, steps []graph.EvidenceStep) {
	c.addLeg(b, x, x.Path.Ports.Intersect(ports), unknown, func() []graph.EvidenceStep { return steps })
}

// addLeg adds the composed path: the Kubernetes evidence, then the Azure hops, in the direction
// the traffic flows.
func (c *Composer) addLeg(b *graph.Builder, x graph.Crossing, ports graph.PortSet, unknown string, azure func() []graph.EvidenceStep) {
	p := x.Path
	kube := p.Evidence
	p.Kind, p.Ports = graph.KindNodeSubnet, ports
	if p.Unknown == "" {
		p.Unknown = unknown
	}
	p.Evidence = func() []graph.EvidenceStep {
		var k []graph.EvidenceStep
		if kube != nil {
			k = kube()
		}
		k = slices.DeleteFunc(k, func(st graph.EvidenceStep) bool { return st.Kind == "ports" })
		az := azure()
		var steps []graph.EvidenceStep
		if x.Egress {
			steps = append(k, az...)
		} else {
			steps = append(az, k...)
		}
		if unknown != "" {
			steps = append(steps, graph.EvidenceStep{Kind: "undecided", Detail: unknown})
		}
		return append(steps, graph.EvidenceStep{Kind: "ports", Detail: "ports the NetworkPolicy and every Azure hop admit: " + ports.String()})
	}
	b.Add(p)
}

// outsideCluster is the part of addrs outside the cluster's pod and service ranges: traffic to
// those stays in the cluster and NetworkPolicy alone decides it.
func (c *Composer) outsideCluster(addrs []netip.Prefix) []netip.Prefix {
	var inside []netip.Prefix
	for _, p := range []netip.Prefix{c.scope.PodCIDR, c.scope.ServiceCIDR} {
		if p.IsValid() {
			inside = append(inside, p)
		}
	}
	var out []netip.Prefix
	for _, a := range addrs {
		out = append(out, graph.Subtract(a, inside)...)
	}
	return graph.Merge(out)
}
