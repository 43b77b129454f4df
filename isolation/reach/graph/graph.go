// Package graph is the vocabulary of reachability analysis shared by the Kubernetes and Azure
// analysers and by the renderers: the graph (tenants and the platform as nodes, routes as edges
// with their evidence), port sets, address tries and the ownership scope derived from desired
// state.
package graph

import (
	"cmp"
	"slices"

	"github.com/connectsoft/tenantctl/isolation"
)

// NodeKind tells a tenant from the platform pseudo-tenant.
type NodeKind string

const (
	NodeTenant   NodeKind = "tenant"
	NodePlatform NodeKind = "platform"
)

// Node is one party that can be reached: a tenant or the platform.
type Node struct {
	ID   string         `json:"id"`
	Tier isolation.Tier `json:"tier,omitempty"`
	Kind NodeKind       `json:"kind"`
	// Declared is false for a tenant that appears in live objects (a tenant label, a tag) but has
	// no binding in the environment.
	Declared bool `json:"declared"`
}

// Verdict classifies an edge against what the environment allows.
type Verdict string

const (
	// VerdictAllowed: the route is declared in the environment's allowedRoutes or is one of the
	// platform routes the programs create (platform ingress, cluster DNS, hub peering).
	VerdictAllowed Verdict = "allowed"
	// VerdictUnexpected: the route exists and nothing declares it.
	VerdictUnexpected Verdict = "unexpected"
	// VerdictUnknown: the snapshot cannot decide whether the route exists (Reason says why); it is
	// never treated as safe.
	VerdictUnknown Verdict = "unknown"
)

// rank orders verdicts from the most to the least alarming.
func (v Verdict) rank() int {
	switch v {
	case VerdictUnexpected:
		return 0
	case VerdictUnknown:
		return 1
	}
	return 2
}

// EdgeKind is the mechanism that carries a route across the tenant boundary.
type EdgeKind string

const (
	KindNetworkPolicy   EdgeKind = "networkpolicy"
	KindPeering         EdgeKind = "peering"
	KindRoute           EdgeKind = "route"
	KindNSG             EdgeKind = "nsg"
	KindPrivateEndpoint EdgeKind = "private-endpoint"
	KindFirewall        EdgeKind = "firewall"
	// KindNodeSubnet: pods' traffic that leaves the cluster's pod and service ranges (or enters
	// pods from outside them) through their node pool's subnet: the NetworkPolicy and the Azure
	// path from (or to) that subnet both admit it. Its evidence holds both layers' hops.
	KindNodeSubnet EdgeKind = "node-subnet"

	// Identity-plane kinds: one tenant's principal can act on, or as, another tenant. They carry
	// no ports.

	// KindIdentityRBAC: Kubernetes RBAC lets a principal of From read or change objects in To's
	// scope that expose To (Secrets, ConfigMaps, pods and their exec/attach/portforward, RBAC).
	KindIdentityRBAC EdgeKind = "identity-rbac"
	// KindIdentityImpersonation: a principal of From can become one of To's (impersonate it,
	// mint its ServiceAccount token, run a pod or workload as its ServiceAccount).
	KindIdentityImpersonation EdgeKind = "identity-impersonation"
	// KindIdentityEscalation: a principal of From can take the whole cluster (cluster-admin,
	// bind/escalate, nodes/proxy, CSR approval, admission configuration, ...): an edge to every
	// tenant and to the platform.
	KindIdentityEscalation EdgeKind = "identity-escalation"
	// KindAzureRoleAssignment: an Azure role assignment gives From's managed identity write or
	// data actions on a scope of To's (or a scope above it).
	KindAzureRoleAssignment EdgeKind = "azure-role-assignment"
	// KindKeyVaultAccessPolicy: a Key Vault access policy of To's vault names From's principal.
	KindKeyVaultAccessPolicy EdgeKind = "keyvault-access-policy"
	// KindFederatedCredential: a federated identity credential on To's managed identity accepts
	// tokens of From's ServiceAccount.
	KindFederatedCredential EdgeKind = "federated-credential"

	// Data-plane kinds: one tenant's PostgreSQL role can read or write another tenant's data.
	// Database roles are principals, so these are identity-plane too (no ports).

	// KindDataGrant: a privilege of From's role on To's database, schema, table, sequence or
	// SECURITY DEFINER function (directly, through PUBLIC, or as a default privilege of To's
	// future objects).
	KindDataGrant EdgeKind = "data-grant"
	// KindDataMembership: From's role is a member of To's role, so it holds To's privileges.
	KindDataMembership EdgeKind = "data-membership"
	// KindDataRowSecurity: on a shared table, row-level security does not keep From to its own
	// rows (disabled or not forced, a policy that does not bind rows to From, From owns the
	// table): an edge to every tenant whose rows the table holds.
	KindDataRowSecurity EdgeKind = "data-row-security"
	// KindDataEscalation: From's role is SUPERUSER, BYPASSRLS or CREATEROLE, which reaches every
	// tenant's data.
	KindDataEscalation EdgeKind = "data-escalation"
)

// EdgeKinds lists every kind in a stable order.
var EdgeKinds = []EdgeKind{KindNetworkPolicy, KindPeering, KindRoute, KindNSG, KindPrivateEndpoint, KindFirewall, KindNodeSubnet,
	KindIdentityRBAC, KindIdentityImpersonation, KindIdentityEscalation, KindAzureRoleAssignment, KindKeyVaultAccessPolicy, KindFederatedCredential,
	KindDataGrant, KindDataMembership, KindDataRowSecurity, KindDataEscalation}

// Identity reports whether the kind is an identity-plane route (no traffic, so no ports).
func (k EdgeKind) Identity() bool {
	switch k {
	case KindIdentityRBAC, KindIdentityImpersonation, KindIdentityEscalation, KindAzureRoleAssignment, KindKeyVaultAccessPolicy, KindFederatedCredential,
		KindDataGrant, KindDataMembership, KindDataRowSecurity, KindDataEscalation:
		return true
	}
	return false
}

// EvidenceStep is one link of the chain that makes a route exist.
type EvidenceStep struct {
	// Kind is what the step is: networkpolicy, namespace, pod, ipblock, peering, route, nsg,
	// firewall, private-endpoint, owner.
	Kind string `json:"kind"`
	// Resource is "type ns/name" for Kubernetes objects or the Azure resource id.
	Resource string `json:"resource"`
	Detail   string `json:"detail"`
	// Opens marks the step whose resource admits the traffic (a policy rule, a peering, an NSG
	// rule): deleting that resource closes the route. Steps that only state a fact (ownership,
	// absence of any policy) do not open anything.
	Opens bool `json:"opens,omitempty"`
	// Ref locates Resource for findings; empty for steps that name no single object.
	Ref ResourceRef `json:"ref,omitzero"`
}

// ResourceRef identifies a live object well enough to turn it into a drift finding resource.
type ResourceRef struct {
	// Provider is "kubernetes" or "azure".
	Provider  string `json:"provider"`
	Type      string `json:"type"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	ID        string `json:"id,omitempty"`
	// Owner is the tenant (or platform) whose scope the object lives in.
	Owner string `json:"owner,omitempty"`
}

// IsZero reports whether r names nothing.
func (r ResourceRef) IsZero() bool { return r.Type == "" && r.ID == "" && r.Name == "" }

// Edge is a route from one node's scope into another's.
type Edge struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Verdict  Verdict        `json:"verdict"`
	Kind     EdgeKind       `json:"kind"`
	Ports    PortSet        `json:"ports"`
	Evidence []EvidenceStep `json:"evidence"`
	// Reason says why the verdict is what it is: the allowed route's declaration, or what the
	// snapshot could not decide.
	Reason string `json:"reason,omitempty"`
	// Paths counts the distinct endpoint pairs that realise the edge; Evidence shows the first.
	Paths int `json:"paths"`
	// Alternatives are the chains of the edge's other openings: paths opened by a different
	// resource than Evidence's (Path.Via; identity edges: every binding, assignment or credential
	// that grants the edge), one chain each, so every one of them is reported and can be removed.
	// At most MaxAlternatives are kept; AlternativesOmitted counts the rest.
	Alternatives        [][]EvidenceStep `json:"alternatives,omitempty"`
	AlternativesOmitted int              `json:"alternativesOmitted,omitempty"`
}

// MaxAlternatives bounds the chains one edge keeps besides its first: a grant repeated in a
// thousand namespaces reads as one finding per opening resource up to this many.
const MaxAlternatives = 64

// Chains are the edge's evidence chains: Evidence, then Alternatives.
func (e *Edge) Chains() [][]EvidenceStep {
	out := make([][]EvidenceStep, 0, 1+len(e.Alternatives))
	if len(e.Evidence) > 0 {
		out = append(out, e.Evidence)
	}
	return append(out, e.Alternatives...)
}

// Carries says what the edge carries for people: "on TCP/5432" for network routes; identity
// routes carry no traffic, so nothing ("").
func (e *Edge) Carries() string {
	if e.Kind.Identity() {
		return ""
	}
	return "on " + e.Ports.String()
}

// Exposure is a one-sided opening: a policy rule, NSG rule, route or peering that names another
// tenant's scope but does not (on its own) complete a route, because the other side still refuses
// it. Drift reports exposures as cross-tenant routes because one change on the other side
// completes them; verify does not fail on them.
type Exposure struct {
	Tenant   string         `json:"tenant"`
	Peer     string         `json:"peer"`
	Kind     EdgeKind       `json:"kind"`
	Resource ResourceRef    `json:"resource"`
	Detail   string         `json:"detail"`
	Evidence []EvidenceStep `json:"evidence,omitempty"`
}

// Graph is the reachability graph of one environment.
type Graph struct {
	Environment string `json:"environment"`
	// Mode is "snapshot" or "desired".
	Mode      string     `json:"mode"`
	Nodes     []Node     `json:"nodes"`
	Edges     []Edge     `json:"edges"`
	Exposures []Exposure `json:"exposures,omitempty"`
	// Unresolved lists objects whose owner could not be decided; they take no part in edges.
	Unresolved []string `json:"unresolved,omitempty"`
}

// Count returns how many edges have verdict v.
func (g *Graph) Count(v Verdict) int {
	n := 0
	for _, e := range g.Edges {
		if e.Verdict == v {
			n++
		}
	}
	return n
}

// Failing reports whether verify must fail: an unexpected or unknown edge exists.
func (g *Graph) Failing() bool {
	return g.Count(VerdictUnexpected) > 0 || g.Count(VerdictUnknown) > 0
}

// Node returns the node with id, or nil.
func (g *Graph) Node(id string) *Node {
	i, ok := slices.BinarySearchFunc(g.Nodes, id, func(n Node, id string) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return nil
	}
	return &g.Nodes[i]
}

// Sort puts nodes, edges and exposures in their canonical order so output is deterministic.
func (g *Graph) Sort() {
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.Verdict.rank(), b.Verdict.rank()), cmp.Compare(a.From, b.From),
			cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind))
	})
	slices.SortFunc(g.Exposures, func(a, b Exposure) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Resource.ID, b.Resource.ID), cmp.Compare(a.Resource.Name, b.Resource.Name), cmp.Compare(a.Detail, b.Detail))
	})
	slices.Sort(g.Unresolved)
	g.Unresolved = slices.Compact(g.Unresolved)
}
