package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// Group of the RBAC API, and the kinds of subjects and role references.
const (
	Group                  = "rbac.authorization.k8s.io"
	KindRole               = "Role"
	KindClusterRole        = "ClusterRole"
	KindRoleBinding        = "RoleBinding"
	KindClusterRoleBinding = "ClusterRoleBinding"
	KindUser               = "User"
	KindGroup              = "Group"
	KindServiceAccount     = "ServiceAccount"
)

// Subject is whom a binding names. A ServiceAccount subject of a RoleBinding without a namespace
// is the binding's namespace (as the authorizer defaults it); Parse fills it in.
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// String renders "ServiceAccount t-acme/t-acme", "User alice", "Group system:authenticated".
func (s Subject) String() string {
	if s.Kind == KindServiceAccount {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// User is an authenticated identity as the authorizer sees it: a name and groups.
type User struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
}

// ServiceAccount prefixes and groups (k8s.io/apiserver/pkg/authentication/serviceaccount).
const (
	ServiceAccountUserPrefix  = "system:serviceaccount:"
	ServiceAccountGroupPrefix = "system:serviceaccounts:"
	AllServiceAccountsGroup   = "system:serviceaccounts"
	AuthenticatedGroup        = "system:authenticated"
	UnauthenticatedGroup      = "system:unauthenticated"
	AnonymousUser             = "system:anonymous"
	// MastersGroup is allowed everything by the API server before RBAC is asked.
	MastersGroup = "system:masters"
)

// ServiceAccountUser is the identity a ServiceAccount's token authenticates as, with the groups
// the authenticator adds.
func ServiceAccountUser(namespace, name string) User {
	return User{Name: ServiceAccountUserPrefix + namespace + ":" + name,
		Groups: []string{AllServiceAccountsGroup, ServiceAccountGroupPrefix + namespace, AuthenticatedGroup}}
}

// ParseServiceAccountUser splits "system:serviceaccount:<ns>:<name>".
func ParseServiceAccountUser(user string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(user, ServiceAccountUserPrefix)
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != "" && !strings.Contains(name, ":")
}

// AppliesTo is the authorizer's appliesToUser: whether subject s of a binding in namespace
// bindingNS ("" for a ClusterRoleBinding) names u.
func (s Subject) AppliesTo(u User) bool {
	switch s.Kind {
	case KindUser:
		return u.Name == s.Name
	case KindGroup:
		return slices.Contains(u.Groups, s.Name)
	case KindServiceAccount:
		return s.Namespace != "" && u.Name == ServiceAccountUserPrefix+s.Namespace+":"+s.Name
	}
	return false
}

// Role is a Role or a ClusterRole with its effective rules.
type Role struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Written are the rules as stored (for an aggregated ClusterRole: what the aggregation
	// controller last wrote).
	Written []Rule `json:"rules"`
	// Aggregation holds the aggregationRule's selectors; nil when the role is not aggregated.
	Aggregation []labels.Selector `json:"-"`
	// Rules are the effective rules: Written, plus for an aggregated ClusterRole the effective
	// rules of every ClusterRole its selectors match (computed, not trusted from Written).
	Rules []SourcedRule `json:"-"`
}

// SourcedRule is an effective rule and the ClusterRole it was aggregated from ("" for the role's
// own rule).
type SourcedRule struct {
	Rule
	From string
}

// String renders "ClusterRole edit" or "Role t-acme/t-acme".
func (r *Role) String() string {
	if r.Namespace != "" {
		return r.Kind + " " + r.Namespace + "/" + r.Name
	}
	return r.Kind + " " + r.Name
}

// Binding is a RoleBinding or a ClusterRoleBinding.
type Binding struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	RoleKind  string            `json:"roleKind"`
	RoleName  string            `json:"roleName"`
	Subjects  []Subject         `json:"subjects"`
}

// String renders "RoleBinding t-globex/partner-access" or "ClusterRoleBinding acme-debug".
func (b *Binding) String() string {
	if b.Namespace != "" {
		return b.Kind + " " + b.Namespace + "/" + b.Name
	}
	return b.Kind + " " + b.Name
}

// Policy is a cluster's RBAC objects.
type Policy struct {
	ClusterRoles        map[string]*Role
	Roles               map[string]*Role // "ns/name"
	ClusterRoleBindings []*Binding
	RoleBindings        []*Binding
	// bySubject indexes bindings by the subjects they name, for the authorizer's questions.
	bySubject map[Subject][]*Binding
}

// Parse reads the RBAC objects among objs (other kinds are ignored), resolves aggregation and
// indexes the bindings. A malformed object (a field of the wrong type) is an error naming it.
func Parse(objs []unstructured.Unstructured) (*Policy, error) {
	p := &Policy{ClusterRoles: map[string]*Role{}, Roles: map[string]*Role{}, bySubject: map[Subject][]*Binding{}}
	for i := range objs {
		u := &objs[i]
		gvk := u.GroupVersionKind()
		if gvk.Group != Group {
			continue
		}
		var err error
		switch gvk.Kind {
		case KindRole, KindClusterRole:
			var r *Role
			if r, err = parseRole(u); err == nil {
				if r.Kind == KindClusterRole {
					p.ClusterRoles[r.Name] = r
				} else {
					p.Roles[r.Namespace+"/"+r.Name] = r
				}
			}
		case KindRoleBinding, KindClusterRoleBinding:
			var b *Binding
			if b, err = parseBinding(u); err == nil {
				if b.Kind == KindClusterRoleBinding {
					p.ClusterRoleBindings = append(p.ClusterRoleBindings, b)
				} else {
					p.RoleBindings = append(p.RoleBindings, b)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", gvk.Kind, objectName(u), err)
		}
	}
	order := func(a, b *Binding) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(p.ClusterRoleBindings, order)
	slices.SortFunc(p.RoleBindings, order)
	p.aggregate()
	for _, b := range p.ClusterRoleBindings {
		p.index(b)
	}
	for _, b := range p.RoleBindings {
		p.index(b)
	}
	return p, nil
}

func (p *Policy) index(b *Binding) {
	for _, s := range b.Subjects {
		if !slices.Contains(p.bySubject[s], b) {
			p.bySubject[s] = append(p.bySubject[s], b)
		}
	}
}

func objectName(u *unstructured.Unstructured) string {
	if u.GetNamespace() != "" {
		return u.GetNamespace() + "/" + u.GetName()
	}
	return u.GetName()
}

// RoleOf returns the role a binding references, or nil when it does not exist: the authorizer
// then grants nothing through the binding. A RoleBinding's Role is in the binding's namespace.
func (p *Policy) RoleOf(b *Binding) *Role {
	if b.RoleKind == KindClusterRole {
		return p.ClusterRoles[b.RoleName]
	}
	if b.Kind != KindRoleBinding {
		return nil // a ClusterRoleBinding can only reference a ClusterRole
	}
	return p.Roles[b.Namespace+"/"+b.RoleName]
}

// BindingsOf lists the bindings naming subject s exactly (as written, after defaulting).
func (p *Policy) BindingsOf(s Subject) []*Binding { return p.bySubject[s] }

// Decision is the authorizer's answer and, when allowed, what allowed it.
type Decision struct {
	Allowed bool
	// Masters: allowed because the user is in system:masters (no binding involved).
	Masters bool
	Binding *Binding
	Role    *Role
	Rule    SourcedRule
}

// Authorize answers as the API server does with the RBAC authorizer: members of system:masters
// are allowed everything; otherwise the ClusterRoleBindings naming the user, then the
// RoleBindings of the request's namespace naming the user, are visited and the first rule that
// allows the request decides.
func (p *Policy) Authorize(u User, a Attributes) Decision {
	if slices.Contains(u.Groups, MastersGroup) {
		return Decision{Allowed: true, Masters: true}
	}
	var d Decision
	p.VisitBindings(u, func(b *Binding) bool {
		if b.Kind == KindRoleBinding && (a.Namespace == "" || b.Namespace != a.Namespace) {
			return true
		}
		role := p.RoleOf(b)
		if role == nil {
			return true
		}
		for _, r := range role.Rules {
			if r.Allows(a) {
				d = Decision{Allowed: true, Binding: b, Role: role, Rule: r}
				return false
			}
		}
		return true
	})
	return d
}

// VisitBindings calls fn for every binding one of whose subjects applies to u, ClusterRoleBindings
// first, in a stable order, until fn returns false.
func (p *Policy) VisitBindings(u User, fn func(*Binding) bool) {
	seen := map[*Binding]bool{}
	var list []*Binding
	add := func(s Subject) {
		for _, b := range p.bySubject[s] {
			if !seen[b] {
				seen[b] = true
				list = append(list, b)
			}
		}
	}
	add(Subject{Kind: KindUser, Name: u.Name})
	for _, g := range u.Groups {
		add(Subject{Kind: KindGroup, Name: g})
	}
	if ns, name, ok := ParseServiceAccountUser(u.Name); ok {
		add(Subject{Kind: KindServiceAccount, Namespace: ns, Name: name})
	}
	slices.SortFunc(list, func(a, b *Binding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name)) // "ClusterRoleBinding" < "RoleBinding"
	})
	for _, b := range list {
		if !fn(b) {
			return
		}
	}
}
