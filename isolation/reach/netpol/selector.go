// Package kube computes tenant-to-tenant reachability from Kubernetes NetworkPolicies, namespaces,
// pods and nodes, with the platform's semantics: policies are allow-only and additive, a pod that
// no policy of a type selects is open for that type, and traffic needs the egress side of the
// source and the ingress side of the destination.
package netpol

import (
	"fmt"
	"slices"
	"strings"
)

// op is a label selector operator.
type op uint8

const (
	opIn op = iota
	opNotIn
	opExists
	opDoesNotExist
)

func (o op) String() string {
	return [...]string{"In", "NotIn", "Exists", "DoesNotExist"}[o]
}

// req is one requirement of a selector; matchLabels entries become In with one value.
type req struct {
	key    string
	op     op
	values []string // sorted
}

func (r req) matches(labels map[string]string) bool {
	v, ok := labels[r.key]
	switch r.op {
	case opIn:
		return ok && slices.Contains(r.values, v)
	case opNotIn:
		return !ok || !slices.Contains(r.values, v)
	case opExists:
		return ok
	}
	return !ok
}

func (r req) String() string {
	switch r.op {
	case opIn:
		if len(r.values) == 1 {
			return r.key + "=" + r.values[0]
		}
		return r.key + " in (" + strings.Join(r.values, ",") + ")"
	case opNotIn:
		return r.key + " notin (" + strings.Join(r.values, ",") + ")"
	case opExists:
		return r.key
	}
	return "!" + r.key
}

// selector is a parsed LabelSelector: requirements ANDed, sorted by key. The empty selector
// matches everything.
type selector struct {
	reqs []req
	text string
}

var emptySelector = &selector{text: "{}"}

func (s *selector) empty() bool { return len(s.reqs) == 0 }

func (s *selector) matches(labels map[string]string) bool {
	for _, r := range s.reqs {
		if !r.matches(labels) {
			return false
		}
	}
	return true
}

func (s *selector) String() string { return s.text }

// interner shares one *selector per distinct selector text, so satisfiability results can be
// cached by pointer across the thousands of identical policies tenant programs create.
type interner map[string]*selector

func (in interner) intern(s *selector) *selector {
	if s.empty() {
		return emptySelector
	}
	if have, ok := in[s.text]; ok {
		return have
	}
	in[s.text] = s
	return s
}

// parseSelector reads a metav1.LabelSelector in its JSON (unstructured) form.
func parseSelector(in interner, raw any) (*selector, error) {
	if raw == nil {
		return emptySelector, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("label selector is %T, not an object", raw)
	}
	var reqs []req
	if ml, ok := m["matchLabels"]; ok && ml != nil {
		labels, ok := ml.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("matchLabels is %T, not an object", ml)
		}
		for k, v := range labels {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("matchLabels %s is %T, not a string", k, v)
			}
			reqs = append(reqs, req{key: k, op: opIn, values: []string{s}})
		}
	}
	if me, ok := m["matchExpressions"]; ok && me != nil {
		list, ok := me.([]any)
		if !ok {
			return nil, fmt.Errorf("matchExpressions is %T, not a list", me)
		}
		for i, item := range list {
			r, err := parseExpression(item)
			if err != nil {
				return nil, fmt.Errorf("matchExpressions[%d]: %w", i, err)
			}
			reqs = append(reqs, r)
		}
	}
	return in.intern(newSelector(reqs)), nil
}

func parseExpression(item any) (req, error) {
	e, ok := item.(map[string]any)
	if !ok {
		return req{}, fmt.Errorf("expression is %T, not an object", item)
	}
	key, _ := e["key"].(string)
	if key == "" {
		return req{}, fmt.Errorf("expression has no key")
	}
	var values []string
	if vs, ok := e["values"].([]any); ok {
		for _, v := range vs {
			s, ok := v.(string)
			if !ok {
				return req{}, fmt.Errorf("key %s: value is %T, not a string", key, v)
			}
			values = append(values, s)
		}
	}
	r := req{key: key, values: values}
	switch operator, _ := e["operator"].(string); operator {
	case "In":
		r.op = opIn
	case "NotIn":
		r.op = opNotIn
	case "Exists":
		r.op = opExists
	case "DoesNotExist":
		r.op = opDoesNotExist
	default:
		return req{}, fmt.Errorf("key %s: operator %q is not In, NotIn, Exists or DoesNotExist", key, operator)
	}
	switch {
	case (r.op == opIn || r.op == opNotIn) && len(values) == 0:
		return req{}, fmt.Errorf("key %s: operator %s needs values", key, r.op)
	case (r.op == opExists || r.op == opDoesNotExist) && len(values) > 0:
		return req{}, fmt.Errorf("key %s: operator %s takes no values", key, r.op)
	}
	return r, nil
}

// newSelector sorts and deduplicates requirements and renders the selector's canonical text.
func newSelector(reqs []req) *selector {
	for i := range reqs {
		reqs[i].values = slices.Compact(slices.Sorted(slices.Values(reqs[i].values)))
	}
	slices.SortFunc(reqs, func(a, b req) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.op != b.op {
			return int(a.op) - int(b.op)
		}
		return slices.Compare(a.values, b.values)
	})
	reqs = slices.CompactFunc(reqs, func(a, b req) bool {
		return a.key == b.key && a.op == b.op && slices.Equal(a.values, b.values)
	})
	if len(reqs) == 0 {
		return emptySelector
	}
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.String()
	}
	return &selector{reqs: reqs, text: "{" + strings.Join(parts, ", ") + "}"}
}

// labelSelector is a selector fixing key to value, the way admission pins a shared pod's tenant.
func labelSelector(key, value string) *selector {
	return newSelector([]req{{key: key, op: opIn, values: []string{value}}})
}

// absentSelector requires key to be absent.
func absentSelector(key string) *selector {
	return newSelector([]req{{key: key, op: opDoesNotExist}})
}
