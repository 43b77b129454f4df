package check

import (
	"fmt"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// routeFindings turns a graph's unexpected and unknown edges, and its exposures, into drift
// findings of kind cross-tenant-route (always critical), each pointing at the file locate names
// for its tenant (nil: no location). An edge yields one finding per resource that opens
// it (a policy, a peering, an NSG or firewall rule, a route, a private endpoint), naming that
// resource, so the drift engine can decide per resource whether it is managed (restore) or not
// (delete). An edge that no single resource opens (both sides simply unprotected) yields one
// finding on its destination. Allowed edges yield nothing.
func routeFindings(g *reach.Graph, locate func(tenantID string) isolation.Source) []finding.Finding {
	var out []finding.Finding
	seen := map[string]bool{}
	add := func(f finding.Finding) {
		key := f.Resource.ID + "\x00" + f.Resource.Name + "\x00" + f.TenantID + "\x00" + f.PeerTenant + "\x00" + string(f.Remediation)
		if seen[key] {
			return
		}
		seen[key] = true
		if locate != nil {
			f.Location = finding.Location(locate(f.TenantID))
		}
		out = append(out, f.Normalize())
	}
	var ids identityOpenings
	for _, e := range g.Edges {
		if e.Verdict == reach.VerdictAllowed {
			continue
		}
		if e.Kind.Identity() {
			ids.add(e)
			continue
		}
		evidence := evidenceLines(e.Evidence)
		remediation, prefix := finding.RemediationDelete, ""
		if e.Verdict == reach.VerdictUnknown {
			remediation, prefix = finding.RemediationReport, "possible "
		}
		openers := 0
		for _, st := range e.Evidence {
			if !st.Opens || st.Ref.IsZero() {
				continue
			}
			openers++
			tenant, peer := sides(e, st.Ref.Owner)
			add(finding.Finding{
				Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: g.Environment,
				Resource: findingResource(st.Ref), Evidence: evidence, Remediation: remediation, Detector: finding.DetectorFastPath,
				Message: fmt.Sprintf("%s%s route %s → %s %s opened by %s: %s", prefix, e.Kind, e.From, e.To, e.Carries(), st.Resource, e.Reason),
			})
		}
		if openers == 0 {
			ref := lastRef(e)
			tenant, peer := sides(e, ref.Owner)
			add(finding.Finding{
				Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: g.Environment,
				Resource: findingResource(ref), Evidence: evidence, Remediation: finding.RemediationReport, Detector: finding.DetectorFastPath,
				Message: fmt.Sprintf("%s%s route %s → %s %s: nothing restricts it (%s)", prefix, e.Kind, e.From, e.To, e.Carries(), e.Reason),
			})
		}
	}
	for _, f := range ids.findings(g.Environment) {
		add(f)
	}
	for _, x := range g.Exposures {
		tenant, peer := x.Tenant, x.Peer
		if tenant == isolation.Platform {
			tenant, peer = peer, tenant
		}
		lines := append([]string{x.Detail}, evidenceLines(x.Evidence)...)
		add(finding.Finding{
			Kind: finding.KindCrossTenantRoute, TenantID: tenant, PeerTenant: peer, Environment: g.Environment,
			Resource: findingResource(x.Resource), Evidence: lines, Remediation: finding.RemediationDelete, Detector: finding.DetectorFastPath,
			Message: fmt.Sprintf("%s opening between %s and %s: %s", x.Kind, x.Tenant, x.Peer, x.Detail),
		})
	}
	return out
}

// sides picks the finding's tenant (whose scope holds the resource) and peer. A platform-owned
// resource is reported against the tenant end, since findings belong to tenants.
func sides(e reach.Edge, owner string) (string, string) {
	switch {
	case owner == e.To && owner != isolation.Platform:
		return e.To, e.From
	case e.From == isolation.Platform:
		return e.To, e.From
	}
	return e.From, e.To
}

func lastRef(e reach.Edge) graph.ResourceRef {
	for i := len(e.Evidence) - 1; i >= 0; i-- {
		st := e.Evidence[i]
		if !st.Ref.IsZero() {
			return st.Ref
		}
	}
	for i := len(e.Evidence) - 1; i >= 0; i-- {
		if st := e.Evidence[i]; st.Kind == "owner" && st.Resource != "" {
			return refFromResource(st.Resource, e.To)
		}
	}
	return graph.ResourceRef{Provider: "kubernetes", Type: "v1/Namespace", Name: e.To, Owner: e.To}
}

// refFromResource turns an evidence resource ("v1/Namespace t-acme" or an Azure id) into a ref.
func refFromResource(res, owner string) graph.ResourceRef {
	if len(res) > 0 && res[0] == '/' {
		return graph.ResourceRef{Provider: "azure", Type: "Microsoft.Network/virtualNetworks", Name: res, ID: res, Owner: owner}
	}
	typ, name := res, ""
	for i := len(res) - 1; i >= 0; i-- {
		if res[i] == ' ' {
			typ, name = res[:i], res[i+1:]
			break
		}
	}
	return graph.ResourceRef{Provider: "kubernetes", Type: typ, Name: name, ID: name, Owner: owner}
}

func findingResource(r graph.ResourceRef) finding.Resource {
	p := finding.ProviderKubernetes
	if r.Provider == "azure" {
		p = finding.ProviderAzure
	}
	return finding.Resource{Provider: p, Type: r.Type, Namespace: r.Namespace, Name: r.Name, ID: r.ID}
}

func evidenceLines(steps []reach.EvidenceStep) []string {
	out := make([]string, 0, len(steps))
	for _, st := range steps {
		line := st.Kind + ": "
		if st.Resource != "" {
			line += st.Resource + ": "
		}
		out = append(out, line+st.Detail)
	}
	return out
}
