package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
)

// identityOpenings collects the identity edges of a graph by the resource that opens them (a
// binding, a role assignment, an access policy, a federated credential) and the tenant it lets
// act, so that each such grant is one finding per peer it reaches: deleting it closes every
// edge kind it opens towards that peer. A grant that takes the whole cluster (an escalation)
// is one finding towards the platform, whatever the number of tenants it reaches.
type identityOpenings struct {
	order  []openingKey
	byKey  map[openingKey][]opening
	nochan []reach.Edge
}

type openingKey struct {
	ref  graph.ResourceRef
	from string
}

// opening is one edge as one chain opens it.
type opening struct {
	e      reach.Edge
	chain  []reach.EvidenceStep
	opener string
}

func (o *identityOpenings) add(e reach.Edge) {
	if o.byKey == nil {
		o.byKey = map[openingKey][]opening{}
	}
	chains := e.Chains()
	found := false
	for _, chain := range chains {
		// Each resource that opens the chain (the binding; a ClusterRole labelled into the
		// aggregated role the rule comes from) is a finding of its own: deleting either closes it.
		for _, st := range chain {
			if !st.Opens || st.Ref.IsZero() {
				continue
			}
			found = true
			k := openingKey{ref: st.Ref, from: e.From}
			if _, ok := o.byKey[k]; !ok {
				o.order = append(o.order, k)
			}
			o.byKey[k] = append(o.byKey[k], opening{e: e, chain: chain, opener: st.Resource})
		}
	}
	if !found {
		o.nochan = append(o.nochan, e)
	}
}

// findings turns the openings into cross-tenant-route findings (without location).
func (o *identityOpenings) findings(env string) []finding.Finding {
	var out []finding.Finding
	for _, k := range o.order {
		ops := o.byKey[k]
		if esc := escalation(ops); esc != nil {
			out = append(out, identityFinding(env, k.ref, []opening{*esc}, true))
			continue
		}
		var peers []string
		byPeer := map[string][]opening{}
		for _, op := range ops {
			if _, ok := byPeer[op.e.To]; !ok {
				peers = append(peers, op.e.To)
			}
			byPeer[op.e.To] = append(byPeer[op.e.To], op)
		}
		for _, p := range peers {
			out = append(out, identityFinding(env, k.ref, byPeer[p], false))
		}
	}
	for _, e := range o.nochan {
		ref := lastRef(e)
		tenant, peer := sides(e, ref.Owner)
		out = append(out, finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: env,
			Resource: findingResource(ref), Evidence: evidenceLines(e.Evidence), Remediation: finding.RemediationReport, Detector: finding.DetectorFastPath,
			Message: fmt.Sprintf("%s route %s → %s: %s (%s)", e.Kind, e.From, e.To, identity.Summarize(e.Evidence), e.Reason)})
	}
	return out
}

// escalation picks, among one grant's openings, the escalation to report: towards the
// platform when that edge is reported, else the first.
func escalation(ops []opening) *opening {
	var first *opening
	for i := range ops {
		if ops[i].e.Kind != graph.KindIdentityEscalation {
			continue
		}
		if ops[i].e.To == isolation.Platform {
			return &ops[i]
		}
		if first == nil {
			first = &ops[i]
		}
	}
	return first
}

// identityFinding is the finding of one grant towards one peer, over the edge kinds it opens
// there. Evidence lists each kind's chain: the principal, the binding (or assignment), the role
// and its exact rule, what it reaches and whose that is.
func identityFinding(env string, ref graph.ResourceRef, ops []opening, escalates bool) finding.Finding {
	// The vocabulary's order puts reading before becoming: the message tells the first.
	slices.SortStableFunc(ops, func(a, b opening) int {
		return slices.Index(graph.EdgeKinds, a.e.Kind) - slices.Index(graph.EdgeKinds, b.e.Kind)
	})
	first := ops[0]
	tenant, peer := sides(first.e, ref.Owner)
	var kinds []string
	var evidence []string
	unknown := true
	for _, op := range ops {
		kinds = append(kinds, string(op.e.Kind))
		if len(ops) > 1 {
			evidence = append(evidence, string(op.e.Kind)+":")
		}
		evidence = append(evidence, evidenceLines(op.chain)...)
		if op.e.Verdict != reach.VerdictUnknown {
			unknown = false
		}
	}
	to := first.e.To
	if escalates {
		to = "every tenant and the platform"
		evidence = append(evidence, "reaches: a grant that takes the cluster reaches every tenant and the platform; it is reported once, towards the platform")
	}
	remediation, prefix, reason := finding.RemediationDelete, "", ""
	if unknown {
		remediation, prefix, reason = finding.RemediationReport, "possible ", " ("+first.e.Reason+")"
	}
	return finding.Finding{
		Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: env,
		Resource: findingResource(ref), Evidence: evidence, Remediation: remediation, Detector: finding.DetectorFastPath,
		Message: fmt.Sprintf("%s%s route %s → %s opened by %s: %s%s", prefix, strings.Join(kinds, ", "), first.e.From, to,
			identity.ShortResource(first.opener), identity.Summarize(first.chain), reason),
	}
}
