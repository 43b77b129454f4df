package identity

import (
	"fmt"
	"strconv"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// expander turns one rule's allowed check into exposures: the targets it reaches in the
// binding's namespace, in every namespace, or cluster-wide.
type expander struct {
	a    *kubeAnalysis
	b    *rbac.Binding
	role *rbac.Role
	h    hit
	out  []*exposure
}

func (x *expander) add(e exposure) {
	e.b, e.role, e.rule, e.c = x.b, x.role, x.h.rule, x.h.c
	x.out = append(x.out, &e)
}

func (x *expander) names() []string { return x.h.rule.ResourceNames }

func (x *expander) resource() string { return x.h.c.attrs.Resource }

// namespace expands a check granted in one namespace (a RoleBinding).
func (x *expander) namespace(ns string) {
	n := x.a.w.namespaceOf(ns)
	attrs := withNamespace(x.h.c.attrs, ns)
	if names := x.names(); len(names) > 0 {
		for _, name := range names {
			x.named(n, attrs, name)
		}
		return
	}
	x.unnamed(n, attrs)
}

// unnamed: a rule without resourceNames reaches every object of the namespace, present and
// future, so every party owning objects there.
func (x *expander) unnamed(n *namespace, attrs rbac.Attributes) {
	c := x.h.c
	what := x.resource() + " of namespace " + n.name
	if c.eff == become {
		what = "identities of namespace " + n.name + " (its ServiceAccounts, and the Secrets its pods may mount)"
	}
	for _, owner := range x.a.w.ownersOf(n) {
		x.add(exposure{attrs: attrs, to: owner, target: what, how: n.how})
	}
	switch {
	case c.eff == become:
		for _, sa := range n.sas {
			if sa.owner == isolation.Platform {
				x.becomeSA(attrs, n.name, sa.name)
			}
		}
	case c.eff == read && x.resource() == "secrets":
		x.tokens(attrs, n.name)
	}
}

// tokens: reading a namespace's Secrets reads the ServiceAccount tokens among them.
func (x *expander) tokens(attrs rbac.Attributes, ns string) {
	for _, sa := range x.a.w.tokens[ns] {
		x.becomeSA(attrs, ns, sa)
	}
}

// named: a resourceNames rule exposes only the objects it names, and only those that exist; a
// name the snapshot lacks although it listed the type there is no route. When the snapshot did
// not list the type, the route is unknown.
func (x *expander) named(n *namespace, attrs rbac.Attributes, name string) {
	c, res := x.h.c, x.resource()
	attrs.Name = name
	obj, ok := x.a.w.objects[objectKey{res, n.name, name}]
	if !ok {
		if x.a.w.covers(res, n.name) {
			return
		}
		owners := x.a.w.ownersOf(n)
		if n.shared {
			if id := x.a.w.sharedNameOwner(name); id != "" {
				owners = []string{id}
			}
		}
		for _, owner := range owners {
			x.add(exposure{attrs: attrs, to: owner, target: res + " " + strconv.Quote(name) + " of namespace " + n.name, how: n.how,
				unknown: fmt.Sprintf("the snapshot did not list %s in namespace %s, so whether %q exists is unknown", res, n.name, name)})
		}
		return
	}
	target := kindOf[res].Kind + " " + n.name + "/" + name
	switch {
	case c.eff != become:
		x.add(exposure{attrs: attrs, to: obj.owner, target: target, how: ownerHow(n, obj)})
		if c.eff == read && res == "secrets" && obj.sa != "" {
			x.becomeSA(attrs, n.name, obj.sa)
		}
	case c.via == viaNamedSA:
		x.becomeSA(attrs, n.name, name)
	case c.via == viaPodSA:
		x.becomeSA(attrs, n.name, obj.sa)
	default: // a named workload: its template may be given any ServiceAccount of the namespace
		x.unnamed(n, attrs)
	}
}

func ownerHow(n *namespace, o object) string {
	if n.shared {
		if o.owner == isolation.Platform {
			return "in the shared namespace without a tenant label: the platform's"
		}
		return "in the shared namespace, labelled with tenant " + o.owner
	}
	return n.how
}

// becomeSA adds the exposure of becoming ServiceAccount ns/name.
func (x *expander) becomeSA(attrs rbac.Attributes, ns, name string) {
	s := rbac.Subject{Kind: rbac.KindServiceAccount, Namespace: ns, Name: name}
	p := x.a.partiesOf(s)
	for _, t := range p.tenants {
		x.add(exposure{attrs: attrs, to: t, becomes: &s, target: s.String(), how: p.how})
	}
	if p.platform {
		x.add(exposure{attrs: attrs, to: isolation.Platform, becomes: &s, target: s.String(), how: p.how})
	}
}

// everyNamespace expands a namespaced check granted cluster-wide (a ClusterRoleBinding).
func (x *expander) everyNamespace() {
	c, w := x.h.c, x.a.w
	attrs := c.attrs
	if names := x.names(); len(names) > 0 {
		for _, name := range names {
			found := w.namespacesWith(x.resource(), name)
			for _, ns := range found {
				x.named(w.namespaceOf(ns), withNamespace(attrs, ns), name)
			}
			if len(found) == 0 && !w.covers(x.resource(), "") {
				x.add(exposure{attrs: withName(attrs, name), to: everyParty, target: x.resource() + " " + strconv.Quote(name) + " in every namespace",
					how: "every namespace", unknown: "the snapshot did not list " + x.resource() + ", so which namespaces hold " + strconv.Quote(name) + " is unknown"})
			}
		}
		return
	}
	what := x.resource() + " in every namespace"
	if c.eff == become {
		what = "the identities of every namespace"
	}
	x.add(exposure{attrs: attrs, to: everyParty, target: what, how: "a ClusterRoleBinding grants in every namespace, every tenant's and the platform's"})
	switch {
	case c.eff == become:
		for _, ns := range w.nsNames {
			for _, sa := range w.ns[ns].sas {
				if sa.owner == isolation.Platform {
					x.becomeSA(attrs, ns, sa.name)
				}
			}
		}
	case c.eff == read && x.resource() == "secrets":
		for _, ns := range w.nsNames {
			x.tokens(attrs, ns)
		}
	}
}

// cluster expands a cluster-scoped or non-resource check granted by a ClusterRoleBinding.
func (x *expander) cluster() {
	c, w := x.h.c, x.a.w
	attrs, names := c.attrs, x.names()
	res := x.resource()
	if c.scope == nonResource {
		x.add(exposure{attrs: attrs, to: isolation.Platform, target: attrs.Path, how: "the API server is the platform's"})
		return
	}
	everything := exposure{attrs: attrs, to: everyParty, target: "the cluster", how: "cluster-wide: every tenant and the platform"}
	switch {
	case c.eff == escalate && (len(names) == 0 || c.part != ""):
		x.add(everything)
	case c.eff == escalate:
		for _, name := range names {
			e := everything
			e.attrs.Name = name
			switch res {
			case "clusterrolebindings":
				if _, ok := w.objects[objectKey{res, "", name}]; ok {
					x.add(e)
				} else if !w.covers(res, "") {
					e.unknown = "the snapshot did not list ClusterRoleBindings, so whether " + strconv.Quote(name) + " exists is unknown"
					x.add(e)
				}
			case "clusterroles":
				if r := w.policy.ClusterRoles[name]; r != nil && escalatingRole(r) {
					e.target = "ClusterRole " + name + ", whose rules take the cluster"
					x.add(e)
				} else if r == nil && !w.snap.Covers(schemaKind(rbac.KindClusterRole), "") {
					e.unknown = "the snapshot did not list ClusterRoles, so what " + strconv.Quote(name) + " grants is unknown"
					x.add(e)
				}
			default:
				e.unknown = "the snapshot does not list " + res + ", so whether " + strconv.Quote(name) + " exists is unknown"
				x.add(e)
			}
		}
	case res == "namespaces":
		if len(names) == 0 {
			x.add(exposure{attrs: attrs, to: everyParty, target: "every namespace", how: "every tenant's and the platform's namespaces"})
			return
		}
		for _, name := range names {
			a := withName(attrs, name)
			n, ok := w.ns[name]
			if !ok {
				if !w.snap.Covers(kindOf["namespaces"], "") {
					x.add(exposure{attrs: a, to: everyParty, target: "Namespace " + name, how: "unknown namespace",
						unknown: "the snapshot did not list namespaces, so who owns " + strconv.Quote(name) + " is unknown"})
				}
				continue
			}
			for _, owner := range w.ownersOf(n) {
				x.add(exposure{attrs: a, to: owner, target: "Namespace " + name, how: n.how})
			}
		}
	case c.via == viaUser || c.via == viaGroup:
		x.impersonate(attrs, names)
	}
}

// impersonate expands impersonate rules on users and groups.
func (x *expander) impersonate(attrs rbac.Attributes, names []string) {
	kind := rbac.KindUser
	if x.h.c.via == viaGroup {
		kind = rbac.KindGroup
	}
	if len(names) == 0 {
		x.add(exposure{attrs: attrs, to: everyParty, target: "any " + kind, escalates: true,
			how: "impersonating any " + kind + " includes system:masters and every controller's identity"})
		return
	}
	for _, name := range names {
		a := withName(attrs, name)
		if kind == rbac.KindGroup && name == rbac.MastersGroup {
			x.add(exposure{attrs: a, to: everyParty, target: "Group " + name, escalates: true, how: "system:masters is allowed everything"})
			continue
		}
		if _, _, sa := rbac.ParseServiceAccountUser(name); sa {
			continue // impersonating a ServiceAccount's name is authorized as serviceaccounts
		}
		s := rbac.Subject{Kind: kind, Name: name}
		p := x.a.partiesOf(s)
		if p.all {
			continue // a group every principal is in gives nothing new
		}
		for _, t := range p.tenants {
			x.add(exposure{attrs: a, to: t, becomes: &s, target: s.String(), how: p.how})
		}
		if p.platform {
			x.add(exposure{attrs: a, to: isolation.Platform, becomes: &s, target: s.String(), how: p.how})
		}
	}
}
