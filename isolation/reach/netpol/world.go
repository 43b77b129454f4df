package netpol

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// namespace is a namespace with its live labels, its owner and its policies.
type namespace struct {
	name        string
	labels      map[string]string
	annotations map[string]string
	// owner is the tenant (or platform) whose pods run here; "" for the shared namespace, whose
	// pods belong to the tenant their label names.
	owner string
	// how says why owner owns it, for evidence.
	how      string
	shared   bool
	ingress  bool
	policies []*policy
	inSet    policySet
	outSet   policySet
	// In the shared namespace, policies whose pod selector requires the tenant label to take
	// given values can only select those tenants' pods; indexing them by value keeps each
	// tenant's share of the namespace from being checked against every other tenant's policies.
	polByPin    map[string][]*policy
	polUnpinned []*policy
	eps         []*endpoint
	// byPin indexes the shared namespace's endpoints by the tenant label admission pins.
	byPin    map[string][]*endpoint
	unpinned []*endpoint
	missing  bool
}

func (n *namespace) resource() string { return TypeNamespace + " " + n.name }

// endpoint is the unit of analysis: every pod a tenant could run in one namespace (a pod endpoint,
// whose labels are free but for pin) or a range of addresses that are not pods (nodes, a silo
// VNet, the platform's ranges), which only ipBlock peers can name.
type endpoint struct {
	id    int
	owner string
	ns    *namespace // nil for address endpoints
	pin   *selector  // what admission forces on the labels of pods here
	// ranges hold the endpoint's addresses: for pods, the ranges pod IPs are allocated from, and
	// rangesHow the address plan that says so.
	ranges    []netip.Prefix
	rangesHow string
	what      string // address endpoints: "node n1", "silo address space"
	pods      []podObj
	// policies are those that may select pods here; inSet and outSet their selectors by type.
	policies      []*policy
	inSet, outSet *policySet
	// alternatives by which traffic may leave or enter a pod of this endpoint.
	egressSpecific, egressAny   []alt
	ingressSpecific, ingressAny []alt
}

func (e *endpoint) isPod() bool { return e.ns != nil }

func (e *endpoint) String() string {
	if e.ns == nil {
		return e.what + " of " + e.owner
	}
	if e.ns.shared {
		return "pods of " + e.owner + " in " + e.ns.name
	}
	return "pods in " + e.ns.name
}

// alt is one way a pod's traffic is admitted in one direction: a rule of a policy selecting the
// pod, or the pod being selected by no policy of that type (open).
type alt struct {
	pol  *policy
	rule *rule
	open bool
}

func (a alt) ports() graph.PortSet {
	if a.open {
		return graph.AllPorts()
	}
	return a.rule.ports
}

// world is the analysed cluster.
type world struct {
	scope    *graph.Scope
	ns       map[string]*namespace
	nsList   []*namespace
	nsIndex  map[string]map[string][]*namespace
	eps      []*endpoint
	trie     graph.Trie[*endpoint]
	intern   interner
	cache    satCache
	problems []string
	ipam     ipam
	// cross receives pod ↔ address paths instead of the builder (WithCrossings).
	cross func(graph.Crossing)
}

func newWorld(s *graph.Scope, objs []unstructured.Unstructured) (*world, error) {
	w := &world{scope: s, ns: map[string]*namespace{}, nsIndex: map[string]map[string][]*namespace{}, intern: interner{}, cache: satCache{}}
	var pods []podObj
	var nodes []nodeObj
	for i := range objs {
		u := &objs[i]
		switch gvk := u.GroupVersionKind(); {
		case gvk.Group == "" && gvk.Kind == "Namespace":
			n := w.namespace(u.GetName())
			n.missing = false
			n.labels = u.GetLabels()
			if n.labels == nil {
				n.labels = map[string]string{}
			}
			// The API server sets this label on every namespace; hand-written snapshots may omit it.
			n.labels[labelMetadataName] = n.name
			n.annotations = u.GetAnnotations()
		case w.ipam.read(u):
		case gvk.Group == "" && gvk.Kind == "Pod":
			pods = append(pods, parsePod(u))
		case gvk.Group == "" && gvk.Kind == "Node":
			nodes = append(nodes, parseNode(u))
		case gvk.Group == "networking.k8s.io" && gvk.Kind == "NetworkPolicy":
			p, err := parsePolicy(w.intern, u)
			if err != nil {
				return nil, fmt.Errorf("%s %s/%s: %w", TypeNetworkPolicy, u.GetNamespace(), u.GetName(), err)
			}
			n := w.namespace(p.ns)
			n.policies = append(n.policies, p)
		}
	}
	for _, p := range pods {
		w.namespace(p.ns)
	}
	w.resolveOwners()
	w.buildEndpoints(pods, nodes)
	w.index()
	return w, nil
}

// namespace returns the namespace called name, creating a placeholder for one the snapshot
// references but does not contain.
func (w *world) namespace(name string) *namespace {
	if n := w.ns[name]; n != nil {
		return n
	}
	n := &namespace{name: name, labels: map[string]string{labelMetadataName: name}, missing: true}
	w.ns[name] = n
	return n
}

// resolveOwners decides who owns each namespace. A namespace a binding declares belongs to that
// tenant whatever its labels say: the tenant's stack created it and only that tenant's account
// may create pods in it. Its live labels still decide what selectors match, so a relabelled
// namespace shows up as the route it opens rather than changing hands.
func (w *world) resolveOwners() {
	for name, n := range w.ns {
		label := n.labels[tenantplan.LabelTenant]
		switch id, declared := w.scope.DeclaredNamespace(name); {
		case name == w.scope.SharedNamespace:
			n.shared, n.how = true, "the environment's shared namespace: each pod belongs to the tenant its "+tenantplan.LabelTenant+" label names (enforced by admission)"
		case name == w.scope.IngressNamespace:
			n.owner, n.how, n.ingress = isolation.Platform, "the environment's platform ingress namespace", true
		case declared:
			n.owner, n.how = id, "declared by the binding of "+id
			if label != "" && label != id {
				n.how += fmt.Sprintf("; relabelled: carries %s=%s", tenantplan.LabelTenant, label)
			}
		case label != "":
			n.owner, n.how = label, fmt.Sprintf("not declared by any binding; live label %s=%s", tenantplan.LabelTenant, label)
		default:
			n.owner, n.how = isolation.Platform, "not declared by any binding and carries no tenant label"
		}
		if n.missing {
			w.problems = append(w.problems, fmt.Sprintf("%s %s: referenced but not in the snapshot; its labels are unknown", TypeNamespace, name))
		}
	}
	w.nsList = make([]*namespace, 0, len(w.ns))
	for _, n := range w.ns {
		slices.SortFunc(n.policies, func(a, b *policy) int { return cmp.Compare(a.name, b.name) })
		for _, p := range n.policies {
			if p.ingress {
				n.inSet.add(p.sel)
			}
			if p.egress {
				n.outSet.add(p.sel)
			}
			p.ref.Owner = n.owner
			if n.shared {
				p.ref.Owner = p.sharedOwner()
				if vals := p.pinnedValues(); vals != nil {
					if n.polByPin == nil {
						n.polByPin = map[string][]*policy{}
					}
					for _, v := range vals {
						n.polByPin[v] = append(n.polByPin[v], p)
					}
				} else {
					n.polUnpinned = append(n.polUnpinned, p)
				}
			}
		}
		w.nsList = append(w.nsList, n)
	}
	slices.SortFunc(w.nsList, func(a, b *namespace) int { return cmp.Compare(a.name, b.name) })
}

// sharedOwner is the tenant a policy in the shared namespace belongs to: the tenant its pod
// selector pins, else the platform.
func (p *policy) sharedOwner() string {
	for _, r := range p.sel.reqs {
		if r.key == tenantplan.LabelTenant && r.op == opIn && len(r.values) == 1 {
			return r.values[0]
		}
	}
	return isolation.Platform
}

// pinnedValues are the tenant label values a policy's pod selector requires (nil when it
// requires none).
func (p *policy) pinnedValues() []string {
	for _, r := range p.sel.reqs {
		if r.key == tenantplan.LabelTenant && r.op == opIn {
			return r.values
		}
	}
	return nil
}

// applicable sets the policies that may select e's pods and their selector sets.
func (e *endpoint) applicable() {
	n := e.ns
	if !n.shared {
		e.policies, e.inSet, e.outSet = n.policies, &n.inSet, &n.outSet
		return
	}
	e.policies = n.polUnpinned
	if e.owner != isolation.Platform {
		e.policies = append(slices.Clip(n.polUnpinned), n.polByPin[e.owner]...)
		slices.SortFunc(e.policies, func(a, b *policy) int { return cmp.Compare(a.name, b.name) })
	}
	e.inSet, e.outSet = &policySet{}, &policySet{}
	for _, p := range e.policies {
		if p.ingress {
			e.inSet.add(p.sel)
		}
		if p.egress {
			e.outSet.add(p.sel)
		}
	}
}

func (w *world) buildEndpoints(pods []podObj, nodes []nodeObj) {
	byNS := map[string][]podObj{}
	for _, p := range pods {
		byNS[p.ns] = append(byNS[p.ns], p)
	}
	// Pod CIDRs by the tenant label of their node ("" for shared nodes).
	w.ipam.nodes, w.ipam.nodeCIDRs = nodes, map[string][]netip.Prefix{}
	for _, n := range nodes {
		t := n.labels[tenantplan.LabelTenant]
		w.ipam.nodeCIDRs[t] = append(w.ipam.nodeCIDRs[t], n.podCIDRs...)
	}
	for t, rs := range w.ipam.nodeCIDRs {
		w.ipam.nodeCIDRs[t] = graph.Merge(rs)
	}
	for _, p := range w.ipam.calico {
		if p.problem != "" {
			w.problems = append(w.problems, p.problem)
		}
	}
	ranges := func(n *namespace, owner string) ([]netip.Prefix, string) { return w.ipam.rangesFor(w.scope, n, owner) }
	add := func(e *endpoint) {
		e.id = len(w.eps)
		w.eps = append(w.eps, e)
	}
	for _, n := range w.nsList {
		nsPods := byNS[n.name]
		if !n.shared {
			e := &endpoint{owner: n.owner, ns: n, pin: emptySelector, pods: nsPods}
			e.ranges, e.rangesHow = ranges(n, n.owner)
			e.ranges = withPodIPs(e.ranges, nsPods)
			n.eps = append(n.eps, e)
			add(e)
			continue
		}
		owners := map[string][]podObj{}
		for _, id := range w.scope.TenantIDs() {
			if w.scope.Tenant(id).Namespace == "" {
				owners[id] = nil
			}
		}
		for _, p := range nsPods {
			owner := p.tenant
			if owner == "" {
				owner = isolation.Platform
			}
			owners[owner] = append(owners[owner], p)
		}
		for _, owner := range slices.Sorted(maps.Keys(owners)) {
			pin := labelSelector(tenantplan.LabelTenant, owner)
			if owner == isolation.Platform {
				pin = absentSelector(tenantplan.LabelTenant)
			}
			e := &endpoint{owner: owner, ns: n, pin: w.intern.intern(pin), pods: owners[owner]}
			e.ranges, e.rangesHow = ranges(n, owner)
			e.ranges = withPodIPs(e.ranges, owners[owner])
			n.eps = append(n.eps, e)
			add(e)
		}
	}
	w.addressEndpoints(nodes, add)
}

func withPodIPs(ranges []netip.Prefix, pods []podObj) []netip.Prefix {
	out := slices.Clone(ranges)
	for _, p := range pods {
		for _, ip := range p.ips {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return graph.Merge(out)
}

// addressEndpoints adds the non-pod ranges: silo address spaces, tenant and shared nodes, the
// platform's ranges.
func (w *world) addressEndpoints(nodes []nodeObj, add func(*endpoint)) {
	for _, id := range w.scope.TenantIDs() {
		if t := w.scope.Tenant(id); len(t.Ranges) > 0 {
			add(&endpoint{owner: id, ranges: t.Ranges, what: "silo address space"})
		}
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b nodeObj) int { return cmp.Compare(a.name, b.name) })
	for _, n := range sorted {
		owner := n.labels[tenantplan.LabelTenant]
		if owner == "" {
			owner = isolation.Platform
		}
		var rs []netip.Prefix
		for _, a := range n.addrs {
			rs = append(rs, netip.PrefixFrom(a, a.BitLen()))
		}
		if len(rs) > 0 {
			add(&endpoint{owner: owner, ranges: rs, what: "node " + n.name})
		}
	}
	if len(w.scope.PlatformRanges)+len(w.scope.HubRanges) > 0 {
		add(&endpoint{owner: isolation.Platform, ranges: graph.Merge(append(slices.Clone(w.scope.PlatformRanges), w.scope.HubRanges...)), what: "platform address space"})
	}
}

// index builds the namespace label index, the per-namespace pin index, the address trie and every
// pod endpoint's alternatives.
func (w *world) index() {
	for _, n := range w.nsList {
		for k, v := range n.labels {
			m := w.nsIndex[k]
			if m == nil {
				m = map[string][]*namespace{}
				w.nsIndex[k] = m
			}
			m[v] = append(m[v], n)
		}
		if n.shared {
			n.byPin = map[string][]*endpoint{}
			for _, e := range n.eps {
				if e.owner == isolation.Platform {
					n.unpinned = append(n.unpinned, e)
				} else {
					n.byPin[e.owner] = append(n.byPin[e.owner], e)
				}
			}
		}
	}
	for _, e := range w.eps {
		for _, r := range e.ranges {
			w.trie.Insert(r, e)
		}
		if e.isPod() {
			w.alternatives(e)
		}
	}
}

func (w *world) alternatives(e *endpoint) {
	e.applicable()
	for _, p := range e.policies {
		if !w.cache.sat(e.pin, p.sel, nil, nil) {
			continue
		}
		if p.egress {
			for i := range p.out {
				a := alt{pol: p, rule: &p.out[i]}
				if a.rule.peers == nil {
					e.egressAny = append(e.egressAny, a)
				} else {
					e.egressSpecific = append(e.egressSpecific, a)
				}
			}
		}
		if p.ingress {
			for i := range p.in {
				a := alt{pol: p, rule: &p.in[i]}
				if a.rule.peers == nil {
					e.ingressAny = append(e.ingressAny, a)
				} else {
					e.ingressSpecific = append(e.ingressSpecific, a)
				}
			}
		}
	}
	if w.cache.sat(e.pin, nil, nil, e.outSet) {
		e.egressAny = append(e.egressAny, alt{open: true})
	}
	if w.cache.sat(e.pin, nil, nil, e.inSet) {
		e.ingressAny = append(e.ingressAny, alt{open: true})
	}
}
