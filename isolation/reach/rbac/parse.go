package rbac

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The objects are read field by field rather than converted through reflection: a fleet's
// snapshot holds tens of thousands of bindings.

func parseRole(u *unstructured.Unstructured) (*Role, error) {
	r := &Role{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Labels: u.GetLabels()}
	if r.Kind == KindClusterRole {
		r.Namespace = ""
	}
	rules, err := parseRules(u.Object["rules"])
	if err != nil {
		return nil, err
	}
	r.Written = rules
	if agg, ok := u.Object["aggregationRule"]; ok && agg != nil && r.Kind == KindClusterRole {
		m, ok := agg.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("aggregationRule: not an object")
		}
		sels, err := list(m["clusterRoleSelectors"], "aggregationRule.clusterRoleSelectors")
		if err != nil {
			return nil, err
		}
		r.Aggregation = []labels.Selector{} // non-nil: aggregated, even with no selector
		for i, s := range sels {
			sel, err := parseSelector(s)
			if err != nil {
				return nil, fmt.Errorf("aggregationRule.clusterRoleSelectors[%d]: %w", i, err)
			}
			r.Aggregation = append(r.Aggregation, sel)
		}
	}
	return r, nil
}

func parseRules(v any) ([]Rule, error) {
	items, err := list(v, "rules")
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("rules[%d]: not an object", i)
		}
		var r Rule
		for _, f := range []struct {
			key string
			dst *[]string
		}{{"verbs", &r.Verbs}, {"apiGroups", &r.APIGroups}, {"resources", &r.Resources}, {"resourceNames", &r.ResourceNames}, {"nonResourceURLs", &r.NonResourceURLs}} {
			if *f.dst, err = strs(m[f.key]); err != nil {
				return nil, fmt.Errorf("rules[%d].%s: %w", i, f.key, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func parseBinding(u *unstructured.Unstructured) (*Binding, error) {
	b := &Binding{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Labels: u.GetLabels()}
	if b.Kind == KindClusterRoleBinding {
		b.Namespace = ""
	}
	ref, ok := u.Object["roleRef"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("roleRef: missing or not an object")
	}
	b.RoleKind, _ = ref["kind"].(string)
	b.RoleName, _ = ref["name"].(string)
	if b.RoleKind != KindRole && b.RoleKind != KindClusterRole || b.RoleName == "" {
		return nil, fmt.Errorf("roleRef: kind %q name %q: want a Role or ClusterRole by name", b.RoleKind, b.RoleName)
	}
	subjects, err := list(u.Object["subjects"], "subjects")
	if err != nil {
		return nil, err
	}
	for i, s := range subjects {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("subjects[%d]: not an object", i)
		}
		var sub Subject
		sub.Kind, _ = m["kind"].(string)
		sub.Name, _ = m["name"].(string)
		sub.Namespace, _ = m["namespace"].(string)
		if sub.Kind == KindServiceAccount && sub.Namespace == "" {
			// The authorizer defaults it to the namespace the binding grants in (none for a
			// ClusterRoleBinding, whose namespace-less ServiceAccount subject names nobody).
			sub.Namespace = b.Namespace
		}
		if sub.Kind != KindServiceAccount {
			sub.Namespace = ""
		}
		b.Subjects = append(b.Subjects, sub)
	}
	return b, nil
}

// parseSelector reads a metav1.LabelSelector as the aggregation controller does
// (metav1.LabelSelectorAsSelector).
func parseSelector(v any) (labels.Selector, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	var ls metav1.LabelSelector
	if ml, ok := m["matchLabels"].(map[string]any); ok {
		ls.MatchLabels = map[string]string{}
		for k, v := range ml {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("matchLabels[%s]: not a string", k)
			}
			ls.MatchLabels[k] = s
		}
	}
	exprs, err := list(m["matchExpressions"], "matchExpressions")
	if err != nil {
		return nil, err
	}
	for i, e := range exprs {
		em, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("matchExpressions[%d]: not an object", i)
		}
		req := metav1.LabelSelectorRequirement{}
		req.Key, _ = em["key"].(string)
		op, _ := em["operator"].(string)
		req.Operator = metav1.LabelSelectorOperator(op)
		if req.Values, err = strs(em["values"]); err != nil {
			return nil, fmt.Errorf("matchExpressions[%d].values: %w", i, err)
		}
		ls.MatchExpressions = append(ls.MatchExpressions, req)
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return nil, err
	}
	return sel, nil
}

func list(v any, what string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a list", what)
	}
	return l, nil
}

func strs(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return slices.Clone(l), nil
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is not a string", i)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a list of strings")
}

// aggregate computes every role's effective rules. A ClusterRole with an aggregationRule gets,
// besides its written rules, the effective rules of every other ClusterRole one of its selectors
// matches — transitively, as the aggregation controller converges to when roles aggregating
// roles settle. The written rules are kept too: the authorizer uses them until the controller
// rewrites them, and a rule edited into an aggregated role grants in between.
func (p *Policy) aggregate() {
	var aggregated []*Role
	for _, r := range p.ClusterRoles {
		r.Rules = own(r.Written)
		if r.Aggregation != nil {
			aggregated = append(aggregated, r)
		}
	}
	for _, r := range p.Roles {
		r.Rules = own(r.Written)
	}
	if len(aggregated) == 0 {
		return
	}
	slices.SortFunc(aggregated, func(a, b *Role) int { return cmp.Compare(a.Name, b.Name) })
	names := make([]string, 0, len(p.ClusterRoles))
	for n := range p.ClusterRoles {
		names = append(names, n)
	}
	slices.Sort(names)
	// members[i] are the roles aggregated role i selects, in name order as the controller lists them.
	members := make([][]*Role, len(aggregated))
	for i, r := range aggregated {
		for _, n := range names {
			m := p.ClusterRoles[n]
			if m == r {
				continue
			}
			set := labels.Set(m.Labels)
			if slices.ContainsFunc(r.Aggregation, func(s labels.Selector) bool { return s.Matches(set) }) {
				members[i] = append(members[i], m)
			}
		}
	}
	// Iterate to the fixed point: each round adds what members gained the round before; rules
	// only grow and are finite, so it ends (within len(aggregated)+1 rounds).
	// seen[i] maps a rule of aggregated role i to its index in Rules. A written rule that a member
	// also holds (what the controller wrote) is attributed to that member.
	seen := make([]map[string]int, len(aggregated))
	for i, r := range aggregated {
		seen[i] = map[string]int{}
		for j, x := range r.Rules {
			seen[i][x.key()] = j
		}
	}
	for changed := true; changed; {
		changed = false
		for i, r := range aggregated {
			for _, m := range members[i] {
				for _, x := range m.Rules {
					from := x.From
					if from == "" {
						from = m.Name
					}
					k := x.key()
					j, ok := seen[i][k]
					switch {
					case !ok:
						seen[i][k] = len(r.Rules)
						r.Rules = append(r.Rules, SourcedRule{Rule: x.Rule, From: from})
						changed = true
					case from != r.Name && (r.Rules[j].From == "" || r.Rules[j].From == m.Name && from != m.Name):
						// attribute to the role the rule comes from, as deep as it is known
						r.Rules[j].From = from
						changed = true
					}
				}
			}
		}
	}
}

func own(rules []Rule) []SourcedRule {
	out := make([]SourcedRule, len(rules))
	for i, r := range rules {
		out[i] = SourcedRule{Rule: r}
	}
	return out
}
