package identity

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// everyParty is the target of a permission that reaches every tenant and the platform.
const everyParty = "*"

// exposure is what one rule of one binding's role gives over one target, whoever the binding
// names.
type exposure struct {
	b    *rbac.Binding
	role *rbac.Role
	rule *rbac.SourcedRule
	c    *check
	// attrs is the permission as asked for this target (namespace and name filled in).
	attrs rbac.Attributes
	// to is the party exposed: a tenant, the platform, or everyParty.
	to string
	// becomes is the identity a become permission reaches (nil when it reaches the owner's
	// namespace as a whole); a platform identity's own permissions are inherited.
	becomes *rbac.Subject
	target  string // what is reached, for evidence
	how     string // why `to` owns it
	unknown string // why the snapshot cannot decide, "" when it can
	// escalates: the permission takes the cluster although its check is not an escalation by
	// itself (impersonating any user or group, system:masters).
	escalates bool
}

func (e *exposure) kind() graph.EdgeKind {
	switch {
	case e.escalates:
		return graph.KindIdentityEscalation
	case e.becomes != nil && e.c.eff != escalate:
		return graph.KindIdentityImpersonation
	}
	return e.c.eff.kind()
}

// hit is a check one rule of a role allows.
type hit struct {
	rule *rbac.SourcedRule
	c    *check
}

// foldPairs bounds the edges one grant may fan out to: a grant from every tenant to every tenant
// (system:authenticated bound to cluster-admin) is drawn as one escalation edge per tenant to
// the platform, its evidence saying it reaches every tenant, instead of N² edges.
var foldPairs = 200_000

// kubeAnalysis finds the Kubernetes identity edges of one snapshot.
type kubeAnalysis struct {
	w         *world
	b         *graph.Builder
	hits      map[*rbac.Role][]hit
	exps      map[*rbac.Binding][]*exposure
	closures  map[rbac.Subject][]inherited
	parties   map[rbac.Subject]parties
	grants    []Grant
	parts     map[string]map[string]partGrant // source (or everyParty) → part → grant
	noteRoles map[string]bool
	declared  *declaredPlans
	openers   map[*rbac.Binding]string
}

func (a *kubeAnalysis) partiesOf(s rbac.Subject) parties {
	p, ok := a.parties[s]
	if !ok {
		p = a.w.partiesOf(s)
		a.parties[s] = p
	}
	return p
}

func (a *kubeAnalysis) run(ctx context.Context) error {
	for _, list := range [][]*rbac.Binding{a.w.policy.ClusterRoleBindings, a.w.policy.RoleBindings} {
		for i, b := range list {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			a.binding(b)
		}
	}
	a.conjunctions()
	return nil
}

// binding adds the edges one binding opens for the tenants its subjects stand for.
func (a *kubeAnalysis) binding(b *rbac.Binding) {
	var subjects []rbac.Subject
	var ps []parties
	onlyOwner := b.Kind == rbac.KindRoleBinding
	var n *namespace
	if onlyOwner {
		n = a.w.namespaceOf(b.Namespace)
		onlyOwner = !n.shared && !n.platformSA
	}
	for _, s := range b.Subjects {
		p := a.partiesOf(s)
		if !p.hasTenant() {
			continue
		}
		subjects = append(subjects, s)
		ps = append(ps, p)
		if onlyOwner && (p.all || len(p.tenants) != 1 || p.tenants[0] != n.owner) {
			onlyOwner = false
		}
	}
	// A binding naming no tenant's principal opens nothing; one in a tenant's own namespace
	// naming only that tenant's principals stays inside it (a RoleBinding grants nothing beyond
	// its namespace), unless a platform account lives there to be become; the tenant stack's own
	// binding, as planned, is declared.
	if len(subjects) == 0 || onlyOwner || a.declared.declares(b) {
		return
	}
	exps := a.exposuresOf(b)
	for i, s := range subjects {
		p := ps[i]
		own := !p.all && !p.platform && len(p.tenants) == 1
		for _, e := range exps {
			if !own || e.to != p.tenants[0] {
				a.grants = append(a.grants, Grant{Subject: s, e: e})
			}
			a.fanOut(p, s, e, nil)
		}
	}
}

// sources are the tenants a subject's parties stand for.
func (a *kubeAnalysis) sources(p parties) []string {
	if p.all {
		return a.w.tenants
	}
	return p.tenants
}

// fanOut adds the paths of exposure e for every tenant p stands for; via is the chain of
// platform identities the tenant became first (nil for a direct grant).
func (a *kubeAnalysis) fanOut(p parties, s rbac.Subject, e *exposure, via []viaStep) {
	srcs := a.sources(p)
	if e.c.part != "" {
		if p.all {
			a.part(everyParty, e.c.part, p.fold, a.opener(e, via), func() []graph.EvidenceStep { return a.evidence("every tenant", s, p, e, via) })
			return
		}
		for _, src := range srcs {
			a.part(src, e.c.part, p.fold, a.opener(e, via), func() []graph.EvidenceStep { return a.evidence(src, s, p, e, via) })
		}
		return
	}
	fold := p.fold || len(srcs)*a.targetCount(e) > foldPairs
	for _, src := range srcs {
		if e.becomes != nil && e.to == isolation.Platform {
			a.inherit(src, p, s, e, via, fold)
		}
		if fold {
			a.path(src, isolation.Platform, e, via, func() []graph.EvidenceStep {
				return append(a.evidence(src, s, p, e, via), graph.EvidenceStep{Kind: "fold",
					Detail: fmt.Sprintf("this grant reaches every one of %d tenants and the platform; its edges are folded into one per tenant to the platform", len(a.w.tenants))})
			})
			continue
		}
		if e.to != everyParty {
			a.path(src, e.to, e, via, func() []graph.EvidenceStep { return a.evidence(src, s, p, e, via) })
			continue
		}
		// One chain serves every target: the edges share it rather than each building its own.
		var chain []graph.EvidenceStep
		ev := func() []graph.EvidenceStep {
			if chain == nil {
				chain = a.evidence(src, s, p, e, via)
			}
			return chain
		}
		a.path(src, isolation.Platform, e, via, ev)
		for _, t := range a.w.tenants {
			a.path(src, t, e, via, ev)
		}
	}
}

// targetCount is how many parties an exposure reaches.
func (a *kubeAnalysis) targetCount(e *exposure) int {
	if e.to == everyParty || e.c.part != "" {
		return len(a.w.tenants) + 1
	}
	return 1
}

func (a *kubeAnalysis) path(from, to string, e *exposure, via []viaStep, ev func() []graph.EvidenceStep) {
	a.b.Add(graph.Path{From: from, To: to, Kind: e.kind(), Unknown: e.unknown, Evidence: ev, Via: a.opener(e, via)})
}

// opener is the resource whose deletion closes the path: the first binding of the chain (the
// evidence's opening step). One string per binding: a grant fans out to many paths.
func (a *kubeAnalysis) opener(e *exposure, via []viaStep) string {
	if len(via) > 0 {
		e = via[0].e
	}
	r, ok := a.openers[e.b]
	if !ok {
		r = bindingResource(e.b)
		a.openers[e.b] = r
	}
	return r
}

// partGrant is one half of a conjunctive escalation held by a tenant (or every tenant).
type partGrant struct {
	steps []graph.EvidenceStep
	fold  bool
	via   string
}

func (a *kubeAnalysis) part(src, part string, fold bool, via string, ev func() []graph.EvidenceStep) {
	if a.parts[src] == nil {
		a.parts[src] = map[string]partGrant{}
	}
	if _, ok := a.parts[src][part]; !ok {
		a.parts[src][part] = partGrant{steps: ev(), fold: fold, via: via}
	}
}

// conjunctions adds the escalations that need two permissions together: approving a
// CertificateSigningRequest (the approval subresource and a client-certificate signer).
func (a *kubeAnalysis) conjunctions() {
	all := a.parts[everyParty]
	parties := append([]string{isolation.Platform}, a.w.tenants...)
	for _, src := range a.w.tenants {
		own := a.parts[src]
		var steps []graph.EvidenceStep
		var via string
		ok, everyone, fold := true, true, false
		for _, part := range []string{partCSRApproval, partCSRSigner} {
			g, has := own[part]
			if has {
				everyone = false
			} else {
				g, has = all[part]
			}
			if !has {
				ok = false
				break
			}
			steps = append(steps, g.steps...)
			fold = fold || g.fold
			if via == "" {
				via = g.via
			}
		}
		if !ok {
			continue
		}
		steps = append(steps, graph.EvidenceStep{Kind: "escalation", Detail: "approving CertificateSigningRequests for a client-certificate signer mints a certificate for any user and group, system:masters included"})
		targets := parties
		if fold || everyone && len(a.w.tenants)*len(parties) > foldPairs {
			targets = parties[:1]
			steps = append(steps, graph.EvidenceStep{Kind: "fold", Detail: "every tenant holds this; its edges are folded into one per tenant to the platform"})
		}
		for _, to := range targets {
			a.b.Add(graph.Path{From: src, To: to, Kind: graph.KindIdentityEscalation, Via: via, Evidence: func() []graph.EvidenceStep { return steps }})
		}
	}
}

// inherited is an exposure a platform identity holds, reached through a chain of becomes.
type inherited struct {
	e   *exposure
	via []viaStep
}

// viaStep is one identity become on the way: the subject and the exposure that lets its
// predecessor become it.
type viaStep struct {
	s rbac.Subject
	p parties
	e *exposure
}

// inherit gives the tenant src, which can become the platform identity e.becomes, everything
// that identity (and any platform identity it can become in turn) may do.
func (a *kubeAnalysis) inherit(src string, p parties, s rbac.Subject, e *exposure, via []viaStep, fold bool) {
	if len(via) > 0 {
		return // closure already followed the chain
	}
	chain := []viaStep{{s: s, p: p, e: e}}
	for _, in := range a.closure(*e.becomes) {
		x := in.e
		if x.becomes != nil && x.to == isolation.Platform {
			continue // the closure lists what it leads to
		}
		// What all the grant's tenants inherit is folded when they are too many to draw pairwise.
		xfold := fold || len(a.sources(p))*a.targetCount(x) > foldPairs
		xp := parties{tenants: []string{src}, how: "acting as " + e.becomes.String(), fold: xfold}
		a.fanOut(xp, *e.becomes, x, append(slices.Clone(chain), in.via...))
	}
}

// closure lists the exposures of a platform identity and of every platform identity it can
// become, each with the chain that reaches it.
func (a *kubeAnalysis) closure(x rbac.Subject) []inherited {
	if c, ok := a.closures[x]; ok {
		return c
	}
	a.closures[x] = nil // cycles end here
	var out []inherited
	seen := map[rbac.Subject]bool{x: true}
	type item struct {
		s   rbac.Subject
		via []viaStep
	}
	queue := []item{{s: x}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		u := userOf(it.s)
		a.w.policy.VisitBindings(u, func(b *rbac.Binding) bool {
			if viaEveryone(b, u) {
				return true // the tenant holds these grants itself
			}
			for _, e := range a.exposuresOf(b) {
				out = append(out, inherited{e: e, via: it.via})
				if e.becomes != nil && e.to == isolation.Platform && !seen[*e.becomes] {
					seen[*e.becomes] = true
					queue = append(queue, item{s: *e.becomes, via: append(slices.Clone(it.via), viaStep{s: it.s, p: parties{platform: true, how: "acting as " + it.s.String()}, e: e})})
				}
			}
			return true
		})
	}
	a.closures[x] = out
	return out
}

// viaEveryone reports whether b applies to u only through a group every tenant's principals
// belong to.
func viaEveryone(b *rbac.Binding, u rbac.User) bool {
	for _, s := range b.Subjects {
		if !s.AppliesTo(u) {
			continue
		}
		if s.Kind != rbac.KindGroup || (s.Name != rbac.AuthenticatedGroup && s.Name != rbac.AllServiceAccountsGroup) {
			return false
		}
	}
	return true
}

// exposuresOf lists what binding b gives, whoever it names.
func (a *kubeAnalysis) exposuresOf(b *rbac.Binding) []*exposure {
	if exps, ok := a.exps[b]; ok {
		return exps
	}
	var out []*exposure
	role := a.w.policy.RoleOf(b)
	if role == nil {
		a.missingRole(b)
	} else {
		for _, h := range a.hitsOf(role) {
			x := expander{a: a, b: b, role: role, h: h}
			switch {
			case h.c.scope == namespaced && b.Kind == rbac.KindRoleBinding:
				x.namespace(b.Namespace)
			case h.c.scope == namespaced:
				x.everyNamespace()
			case b.Kind == rbac.KindClusterRoleBinding:
				x.cluster()
			}
			out = append(out, x.out...)
		}
	}
	a.exps[b] = out
	return out
}

func (a *kubeAnalysis) missingRole(b *rbac.Binding) {
	kind := rbac.KindClusterRole
	if b.RoleKind == rbac.KindRole {
		kind = rbac.KindRole
	}
	ns := ""
	if kind == rbac.KindRole {
		ns = b.Namespace
	}
	if a.w.snap.Covers(schemaKind(kind), ns) {
		return // the role does not exist: the authorizer grants nothing through the binding
	}
	key := kind + " " + b.RoleName
	if !a.noteRoles[key] {
		a.noteRoles[key] = true
		a.b.Unresolved("%s references %s %s, which the snapshot does not hold: its identity routes are not analysed", b, kind, b.RoleName)
	}
}

// hitsOf lists, once per role, the exposing checks each of its rules allows.
func (a *kubeAnalysis) hitsOf(role *rbac.Role) []hit {
	if h, ok := a.hits[role]; ok {
		return h
	}
	// Check-major: the catalogue lists the most telling permissions first (reading Secrets), and
	// an edge's evidence is its first path's.
	var out []hit
	for _, c := range checks {
		for i := range role.Rules {
			if r := &role.Rules[i]; ruleAllowsCheck(&r.Rule, c) {
				out = append(out, hit{rule: r, c: c})
			}
		}
	}
	a.hits[role] = out
	return out
}

// ruleAllowsCheck reports whether r allows c for some object: every object when the rule names
// none, the named ones when the check's requests carry a name.
func ruleAllowsCheck(r *rbac.Rule, c *check) bool {
	attrs := c.attrs
	if !r.Named() {
		return r.Allows(attrs)
	}
	if !c.named {
		return false
	}
	if c.part == partCSRSigner {
		return slices.ContainsFunc(r.ResourceNames, func(n string) bool { return slices.Contains(signers, n) }) && r.Allows(withName(attrs, signerIn(r.ResourceNames)))
	}
	return r.Allows(withName(attrs, r.ResourceNames[0]))
}

func signerIn(names []string) string {
	for _, n := range names {
		if slices.Contains(signers, n) {
			return n
		}
	}
	return ""
}

func withName(a rbac.Attributes, name string) rbac.Attributes {
	a.Name = name
	return a
}

func withNamespace(a rbac.Attributes, ns string) rbac.Attributes {
	a.Namespace = ns
	return a
}

// escalatingRole reports whether a ClusterRole's rules escalate by themselves (bind or escalate
// on a role naming it is then an escalation).
func escalatingRole(r *rbac.Role) bool {
	for i := range r.Rules {
		for _, c := range checks {
			if c.eff == escalate && c.part == "" && !r.Rules[i].Named() && r.Rules[i].Allows(c.attrs) {
				return true
			}
		}
	}
	return false
}

func schemaKind(kind string) schema.GroupKind { return schema.GroupKind{Group: rbac.Group, Kind: kind} }
