// Package rbac evaluates Kubernetes RBAC exactly as the API server's RBAC authorizer does:
// rules (verbs, API groups, resources and subresources, resourceNames, non-resource URLs and the
// "*" wildcards), Roles and ClusterRoles with aggregation resolved, RoleBindings (namespace
// scoped, also when they bind a ClusterRole) and ClusterRoleBindings (cluster-wide), and the
// subjects they apply to. It knows nothing about tenants: isolation/reach/identity builds the
// tenant-level analysis on it.
package rbac

import (
	"slices"
	"strconv"
	"strings"
)

// Wildcards of PolicyRule fields (rbacv1.VerbAll, APIGroupAll, ResourceAll, NonResourceAll).
const (
	all = "*"
)

// Rule is one PolicyRule.
type Rule struct {
	Verbs           []string `json:"verbs"`
	APIGroups       []string `json:"apiGroups,omitempty"`
	Resources       []string `json:"resources,omitempty"`
	ResourceNames   []string `json:"resourceNames,omitempty"`
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
}

// Attributes are what the authorizer is asked: a resource request (verb, API group, resource,
// subresource, namespace and object name; Name is empty for create and for list without a
// metadata.name field selector) or a non-resource request (verb and Path).
type Attributes struct {
	Verb        string `json:"verb"`
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Subresource string `json:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	// Path makes the request a non-resource request ("/logs/").
	Path string `json:"path,omitempty"`
}

// ResourceRequest reports whether a names a resource (not a non-resource URL).
func (a Attributes) ResourceRequest() bool { return a.Path == "" }

// String renders "get secrets/x in t-acme", "create pods/exec", "get /logs/".
func (a Attributes) String() string {
	if !a.ResourceRequest() {
		return a.Verb + " " + a.Path
	}
	res := a.Resource
	if a.Group != "" {
		res += "." + a.Group
	}
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	s := a.Verb + " " + res
	if a.Name != "" {
		s += " " + strconv.Quote(a.Name)
	}
	if a.Namespace != "" {
		s += " in namespace " + a.Namespace
	}
	return s
}

// Allows is the authorizer's RuleAllows: every field of the request must be matched by the rule.
func (r *Rule) Allows(a Attributes) bool {
	if !r.VerbMatches(a.Verb) {
		return false
	}
	if !a.ResourceRequest() {
		return r.nonResourceURLMatches(a.Path)
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	return r.APIGroupMatches(a.Group) && r.resourceMatches(combined, a.Subresource) && r.ResourceNameMatches(a.Name)
}

// VerbMatches: "*" or the verb itself.
func (r *Rule) VerbMatches(verb string) bool {
	for _, v := range r.Verbs {
		if v == all || v == verb {
			return true
		}
	}
	return false
}

// APIGroupMatches: "*" or the group itself ("" is the core group).
func (r *Rule) APIGroupMatches(group string) bool {
	for _, g := range r.APIGroups {
		if g == all || g == group {
			return true
		}
	}
	return false
}

// resourceMatches: "*" matches every resource and subresource, "pods/exec" exactly that
// subresource, "*/scale" that subresource of every resource. "pods" does not match "pods/exec".
func (r *Rule) resourceMatches(combined, subresource string) bool {
	for _, res := range r.Resources {
		if res == all || res == combined {
			return true
		}
		if subresource != "" && len(res) == len(subresource)+2 && strings.HasPrefix(res, "*/") && strings.HasSuffix(res, subresource) {
			return true
		}
	}
	return false
}

// ResourceNameMatches: a rule without resourceNames matches every name, including none (create,
// list); a rule with resourceNames only requests for one of those names.
func (r *Rule) ResourceNameMatches(name string) bool {
	return len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)
}

// nonResourceURLMatches: "*", the exact path, or a prefix ending in "*".
func (r *Rule) nonResourceURLMatches(path string) bool {
	for _, u := range r.NonResourceURLs {
		if u == all || u == path {
			return true
		}
		if strings.HasSuffix(u, all) && strings.HasPrefix(path, strings.TrimRight(u, all)) {
			return true
		}
	}
	return false
}

// Named reports whether the rule is limited to resourceNames.
func (r *Rule) Named() bool { return len(r.ResourceNames) > 0 }

// String renders the rule as kubectl describes it: "verbs=[get list] apiGroups=[""]
// resources=[secrets] resourceNames=[db]".
func (r *Rule) String() string {
	var b strings.Builder
	field := func(name string, vals []string) {
		if len(vals) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		b.WriteString("=[")
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(' ')
			}
			if v == "" {
				v = `""`
			}
			b.WriteString(v)
		}
		b.WriteByte(']')
	}
	field("verbs", r.Verbs)
	field("apiGroups", r.APIGroups)
	field("resources", r.Resources)
	field("resourceNames", r.ResourceNames)
	field("nonResourceURLs", r.NonResourceURLs)
	return b.String()
}

func (r *Rule) key() string { return r.String() }
