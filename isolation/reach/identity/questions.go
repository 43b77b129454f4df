package identity

import (
	"cmp"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// Question is one exposing permission of one principal of tenant From over To's scope, with the
// analysis' answer: the probe asks the API server's authorizer the same question
// (SubjectAccessReview) and reports where the answers differ.
type Question struct {
	From, To string
	// Principal is the principal as the analysis names it ("ServiceAccount t-acme/t-acme",
	// "User sam", "Group ops"); User is how the authorizer is asked about it.
	Principal  string
	User       rbac.User
	Check      string
	Attributes rbac.Attributes
	// Expect is the analysis' answer: a grant through a binding naming the principal (or a group
	// it is in) allows the request.
	Expect bool
	// Grant describes that grant ("RoleBinding t-globex/x: ClusterRole edit, rule ..."), "" when
	// Expect is false.
	Grant string
}

// Pairs lists every ordered pair of parties the probe asks about: each tenant to every other
// tenant and to the platform.
func (r *Result) Pairs() [][2]string {
	var out [][2]string
	for _, a := range r.w.tenants {
		for _, b := range append(slices.Clone(r.w.tenants), isolation.Platform) {
			if a != b {
				out = append(out, [2]string{a, b})
			}
		}
	}
	return out
}

// principal is a concrete identity of a tenant the authorizer can be asked about.
type principal struct {
	name string
	user rbac.User
}

// Principals lists a tenant's principals: its existing ServiceAccounts, and the users and groups
// bound in its scope (a group as a stand-in user who is only in that group).
func (r *Result) principals(tenant string) []principal {
	var out []principal
	for s, sa := range r.w.sas {
		if sa.owner == tenant {
			out = append(out, principal{name: s.String(), user: rbac.ServiceAccountUser(s.Namespace, s.Name)})
		}
	}
	for s, tenants := range r.w.boundIn {
		if slices.Contains(tenants, tenant) {
			out = append(out, principal{name: s.String(), user: userOf(s)})
		}
	}
	slices.SortFunc(out, func(a, b principal) int { return cmp.Compare(a.name, b.name) })
	return out
}

// Questions lists, for every principal of from, every exposing permission over to's scope: each
// check unnamed in each of to's namespaces and named for each of to's objects there, the
// cluster-scoped checks naming to's namespaces, users and groups, and for the platform the
// escalations. Each carries the analysis' answer.
func (r *Result) Questions(from, to string) []Question {
	targets := r.targets(to)
	var out []Question
	for _, p := range r.principals(from) {
		for _, t := range targets {
			q := Question{From: from, To: to, Principal: p.name, User: p.user, Check: t.c.id, Attributes: t.attrs}
			q.Expect, q.Grant = r.answer(p.user, t.c, t.attrs, to)
			out = append(out, q)
		}
	}
	return out
}

type target struct {
	c     *check
	attrs rbac.Attributes
}

// targets instantiates the catalogue for one party's scope.
func (r *Result) targets(to string) []target {
	w := r.w
	var out []target
	owned := func(n *namespace, o object) bool { return !n.shared || o.owner == to }
	for _, name := range w.nsNames {
		n := w.ns[name]
		if !(n.owner == to || n.shared && slices.Contains(w.sharedOwners, to)) {
			continue
		}
		for _, c := range checks {
			if c.scope != namespaced {
				continue
			}
			out = append(out, target{c, withNamespace(c.attrs, name)})
			if !c.named || to == isolation.Platform {
				continue
			}
			for _, obj := range w.objectsIn(c.attrs.Resource, name) {
				if owned(n, w.objects[objectKey{c.attrs.Resource, name, obj}]) {
					out = append(out, target{c, withName(withNamespace(c.attrs, name), obj)})
				}
			}
		}
	}
	for _, c := range checks {
		switch {
		case c.scope == nonResource || c.eff == escalate:
			if to == isolation.Platform {
				a := c.attrs
				if c.part == partCSRSigner {
					a.Name = signers[0]
				}
				out = append(out, target{c, a})
			}
		case c.attrs.Resource == "namespaces":
			for _, name := range w.nsNames {
				if n := w.ns[name]; n.owner == to {
					out = append(out, target{c, withName(c.attrs, name)})
				}
			}
		case c.via == viaUser || c.via == viaGroup:
			kind := rbac.KindUser
			if c.via == viaGroup {
				kind = rbac.KindGroup
			}
			for s, tenants := range w.boundIn {
				if s.Kind == kind && slices.Contains(tenants, to) {
					out = append(out, target{c, withName(c.attrs, s.Name)})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b target) int {
		return cmp.Or(cmp.Compare(a.attrs.Namespace, b.attrs.Namespace), cmp.Compare(a.c.id, b.c.id), cmp.Compare(a.attrs.Name, b.attrs.Name))
	})
	return out
}

// objectsIn lists the names of resource's objects in namespace ns, sorted.
func (w *world) objectsIn(resource, ns string) []string {
	var out []string
	for k := range w.objects {
		if k.resource == resource && k.ns == ns {
			out = append(out, k.name)
		}
	}
	slices.Sort(out)
	return out
}

// answer is the analysis' answer to one question: a grant held through a subject that names u,
// for the same check, covering the request's namespace and name, exposing to.
func (r *Result) answer(u rbac.User, c *check, a rbac.Attributes, to string) (bool, string) {
	for _, g := range r.Grants {
		e := g.e
		if e.c != c || !g.Subject.AppliesTo(u) {
			continue
		}
		if e.attrs.Namespace != "" && e.attrs.Namespace != a.Namespace || e.attrs.Name != "" && e.attrs.Name != a.Name {
			continue
		}
		if e.to != to && e.to != everyParty {
			continue
		}
		return true, e.b.String() + ": " + e.role.String() + ", rule " + e.rule.Rule.String()
	}
	return false, ""
}

// Kind is the edge kind an allowed answer stands for.
func (q Question) Kind() graph.EdgeKind {
	for _, c := range checks {
		if c.id == q.Check {
			return c.eff.kind()
		}
	}
	return graph.KindIdentityRBAC
}

// String renders "ServiceAccount t-acme/t-acme: get secrets in namespace t-globex".
func (q Question) String() string {
	return q.Principal + ": " + strings.TrimSpace(q.Attributes.String())
}
