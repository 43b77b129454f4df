package identity

import (
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// Evidence step kinds of identity edges.
const (
	StepPrincipal = "principal" // whose identity it is, and why it is the tenant's
	StepBinding   = "binding"   // the binding that grants (opens the route)
	StepRole      = "role"      // the role and the exact rule
	StepTarget    = "target"    // what the rule reaches, and whose it is
	StepBecome    = "become"    // an identity acted as on the way
	// StepAggregated: a ClusterRole labelled into the aggregated role the rule comes from (it
	// opens the route too, beside the binding).
	StepAggregated = "aggregated"
)

// evidence is the chain of a path from tenant src: who (s, p), then for each identity become on
// the way the grant that allows it, then the grant of e.
func (a *kubeAnalysis) evidence(src string, s rbac.Subject, p parties, e *exposure, via []viaStep) []graph.EvidenceStep {
	var out []graph.EvidenceStep
	if len(via) > 0 {
		s, p = via[0].s, via[0].p
	}
	detail := p.how
	if p.all {
		detail += " (" + src + " among them)"
	}
	out = append(out, graph.EvidenceStep{Kind: StepPrincipal, Resource: s.String(), Detail: detail})
	for _, v := range via {
		out = append(out, a.grantSteps(v.e, len(out) > 1)...)
		out = append(out, graph.EvidenceStep{Kind: StepBecome, Resource: v.e.becomes.String(),
			Detail: "acting as " + v.e.becomes.String() + " (" + v.e.how + "), with all it may do"})
	}
	return append(out, a.grantSteps(e, len(via) > 0)...)
}

// grantSteps are the binding, role and target of one exposure. Only the first binding of a
// chain opens the route: deleting it closes the route, and the platform's own bindings further
// down are not a tenant's to remove.
func (a *kubeAnalysis) grantSteps(e *exposure, inherited bool) []graph.EvidenceStep {
	where := "in namespace " + e.b.Namespace
	if e.b.Kind == rbac.KindClusterRoleBinding {
		where = "cluster-wide"
	}
	var subjects []string
	for _, s := range e.b.Subjects {
		subjects = append(subjects, s.String())
	}
	steps := []graph.EvidenceStep{{
		Kind: StepBinding, Resource: bindingResource(e.b), Opens: !inherited,
		Detail: fmt.Sprintf("grants %s to %s %s", e.role, strings.Join(subjects, ", "), where),
		Ref: graph.ResourceRef{Provider: "kubernetes", Type: typeOf(e.b.Kind), Namespace: e.b.Namespace, Name: e.b.Name,
			ID: objectID(e.b.Namespace, e.b.Name), Owner: a.w.bindingOwner(e.b)},
	}}
	rule := "rule " + e.rule.Rule.String()
	if e.rule.From != "" {
		rule += " (aggregated from ClusterRole " + e.rule.From + ", whose labels its aggregationRule selects)"
	}
	steps = append(steps, graph.EvidenceStep{Kind: StepRole, Resource: typeOf(e.role.Kind) + " " + objectID(e.role.Namespace, e.role.Name), Detail: rule,
		Ref: graph.ResourceRef{Provider: "kubernetes", Type: typeOf(e.role.Kind), Namespace: e.role.Namespace, Name: e.role.Name,
			ID: objectID(e.role.Namespace, e.role.Name)}})
	if from := e.rule.From; from != "" && !isSystem(from) {
		// A ClusterRole someone labelled into an aggregated role widens every binding of it:
		// deleting it closes the route too. Kubernetes' own parts (system:) are the platform's.
		steps = append(steps, graph.EvidenceStep{Kind: StepAggregated, Resource: typeOf(rbac.KindClusterRole) + " " + from, Opens: !inherited,
			Detail: fmt.Sprintf("adds the rule to %s through its aggregationRule", e.role),
			Ref:    graph.ResourceRef{Provider: "kubernetes", Type: typeOf(rbac.KindClusterRole), Name: from, ID: from, Owner: a.w.clusterObjectOwner(a.w.policy.ClusterRoles[from])}})
	}
	detail := e.c.what + ": " + e.attrs.String() + "; " + e.how
	if e.unknown != "" {
		detail += "; " + e.unknown
	}
	return append(steps, graph.EvidenceStep{Kind: StepTarget, Resource: e.target, Detail: detail})
}

// bindingResource is a binding as evidence names it ("rbac.authorization.k8s.io/v1/RoleBinding
// t-globex/partner-access"), also the Via of the paths it opens.
func bindingResource(b *rbac.Binding) string {
	return typeOf(b.Kind) + " " + objectID(b.Namespace, b.Name)
}

func typeOf(kind string) string { return rbac.Group + "/v1/" + kind }

func objectID(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// Summarize says in one line what a chain of an identity edge grants: who may do what, with the
// role and its exact rule (Kubernetes; the opening binding is the chain's) or what the
// assignment, policy or credential gives (Azure) — for a finding's message; the chain itself is
// the evidence.
func Summarize(chain []graph.EvidenceStep) string {
	var principal, opener, openerKind, openerDetail, role, target string
	var became []string
	for _, st := range chain {
		switch st.Kind {
		case StepPrincipal:
			if principal == "" {
				principal = st.Resource
			}
		case StepRole:
			role = ShortResource(st.Resource) + " " + st.Detail
			if strings.HasPrefix(st.Detail, "role ") {
				role = st.Detail // Azure: the role definition's id says less than its name
			}
		case StepTarget, "escalation":
			target, _, _ = strings.Cut(st.Detail, "; ")
			if what, attrs, ok := strings.Cut(target, ": "); ok && what == attrs {
				target = what // "impersonate users: impersonate users"
			}
		case StepBecome:
			became = append(became, st.Resource)
		}
		if st.Opens && opener == "" {
			opener, openerKind, openerDetail = ShortResource(st.Resource), st.Kind, st.Detail
		}
	}
	var b strings.Builder
	b.WriteString(principal)
	if len(became) > 0 {
		b.WriteString(", acting as " + strings.Join(became, ", then "))
	}
	if opener != "" && openerKind != StepBinding {
		// Azure: the assignment, policy or credential says what it gives.
		b.WriteString(": " + openerDetail)
		if role != "" {
			b.WriteString("; " + role)
		}
		return b.String()
	}
	if target != "" {
		b.WriteString(" may " + target)
	}
	if role != "" {
		b.WriteString(" (" + role + ")")
	}
	return b.String()
}

// ShortResource drops the API group and version of a Kubernetes evidence resource
// ("rbac.authorization.k8s.io/v1/RoleBinding t-globex/x" → "RoleBinding t-globex/x"); Azure ids
// stay whole.
func ShortResource(r string) string {
	typ, name, ok := strings.Cut(r, " ")
	if !ok || strings.HasPrefix(r, "/") {
		return r
	}
	if i := strings.LastIndexByte(typ, '/'); i >= 0 {
		typ = typ[i+1:]
	}
	return typ + " " + name
}
