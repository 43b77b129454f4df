package graph

import "net/netip"

// Crossing is a Kubernetes path one of whose ends is not a pod but an address range outside the
// cluster's pod and service ranges (a silo VNet, a node, the platform's space). NetworkPolicy
// alone decides it only when nothing lies between the cluster and those addresses; on a cluster
// whose pods' traffic leaves from their node's IP (Azure CNI Overlay, kubenet) or from a VNet
// subnet (Azure CNI), the network under the nodes must carry it too. The Kubernetes analyser
// hands such paths to whoever knows that network instead of adding them to the graph itself.
type Crossing struct {
	// Path is the Kubernetes path (kind networkpolicy, its ports, evidence and verdict inputs).
	Path Path
	// Egress: pods → addresses; otherwise addresses → pods.
	Egress bool
	// PodOwner and Namespace are the pod end: whose pods, in which namespace.
	PodOwner  string
	Namespace string
	// Addrs are the address end's ranges, as far as the policy's ipBlock admits them.
	Addrs []netip.Prefix
	// AddrOwner owns Addrs; AddrWhat says what they are ("silo address space", "node n1").
	AddrOwner, AddrWhat string
}
