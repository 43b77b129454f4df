package netpol

import (
	"maps"
	"slices"
	"strconv"
)

// A tenant chooses its own pods' labels, so "can a pod of this scope be selected by P and match
// peer Q while escaping policy R" is a question about whether some label set exists, not about
// the pods that happen to run now. labelSet answers it: the selectors in all must match, the
// selectors in none must not. Values are free strings, so a value outside any finite NotIn list
// always exists.

// domain is what the constraints so far allow for one label key.
type domain struct {
	hasIn  bool
	in     []string // allowed values when hasIn
	notIn  []string
	exists bool
	absent bool
}

func (d domain) consistent() bool {
	if d.exists && d.absent {
		return false
	}
	if d.hasIn {
		for _, v := range d.in {
			if !slices.Contains(d.notIn, v) {
				return true
			}
		}
		return false
	}
	return true
}

type labelState map[string]domain

// add narrows the state by r and reports whether it is still satisfiable.
func (st labelState) add(r req) bool {
	d := st[r.key]
	switch r.op {
	case opIn:
		if d.hasIn {
			var keep []string
			for _, v := range d.in {
				if slices.Contains(r.values, v) {
					keep = append(keep, v)
				}
			}
			d.in = keep
		} else {
			d.in, d.hasIn = r.values, true
		}
		d.exists = true
	case opNotIn:
		d.notIn = append(slices.Clip(d.notIn), r.values...)
	case opExists:
		d.exists = true
	case opDoesNotExist:
		d.absent = true
	}
	st[r.key] = d
	return d.consistent()
}

// negate is the requirement a label set meets exactly when it fails r.
func negate(r req) req {
	switch r.op {
	case opIn:
		return req{key: r.key, op: opNotIn, values: r.values}
	case opNotIn:
		return req{key: r.key, op: opIn, values: r.values}
	case opExists:
		return req{key: r.key, op: opDoesNotExist}
	}
	return req{key: r.key, op: opExists}
}

// satBudget bounds the search over which requirement of each excluded selector to violate. A
// search that runs out answers "satisfiable": the analysis may then report a route that cannot
// happen, never hide one that can.
const satBudget = 4096

type solver struct{ steps int }

func (s *solver) avoid(st labelState, none []*selector) (labelState, bool) {
	if len(none) == 0 {
		return st, true
	}
	sel := none[0]
	if sel.empty() {
		return nil, false
	}
	for _, r := range sel.reqs {
		s.steps++
		if s.steps > satBudget {
			return st, true
		}
		next := maps.Clone(st)
		if next.add(negate(r)) {
			if out, ok := s.avoid(next, none[1:]); ok {
				return out, true
			}
		}
	}
	return nil, false
}

// labelSet finds a label set matching every selector in all and none in none.
func labelSet(all []*selector, none []*selector) (map[string]string, bool) {
	st := labelState{}
	for _, sel := range all {
		for _, r := range sel.reqs {
			if !st.add(r) {
				return nil, false
			}
		}
	}
	s := &solver{}
	st, ok := s.avoid(st, none)
	if !ok {
		return nil, false
	}
	return witness(st), true
}

// witness picks concrete labels from a satisfiable state.
func witness(st labelState) map[string]string {
	out := map[string]string{}
	for k, d := range st {
		switch {
		case d.absent:
		case d.hasIn:
			for _, v := range d.in {
				if !slices.Contains(d.notIn, v) {
					out[k] = v
					break
				}
			}
		case d.exists:
			v := "any"
			for i := 1; slices.Contains(d.notIn, v); i++ {
				v = "any-" + strconv.Itoa(i)
			}
			out[k] = v
		}
	}
	return out
}

// satCache memoises satisfiability by selector identity (selectors are interned).
type satCache map[satKey]bool

type satKey struct {
	a, b, c *selector
	none    *policySet
}

// sat reports whether a pod can match a, b and c (nil = no constraint) while escaping every
// selector of none (nil = nothing to escape).
func (cache satCache) sat(a, b, c *selector, none *policySet) bool {
	if trivial(a) && trivial(b) && trivial(c) && (none == nil || len(none.selectors) == 0) {
		return true
	}
	if none != nil && none.hasEmpty {
		return false
	}
	k := satKey{a, b, c, none}
	if v, ok := cache[k]; ok {
		return v
	}
	_, ok := labelSet(collect(a, b, c), none.list())
	cache[k] = ok
	return ok
}

func trivial(s *selector) bool { return s == nil || s.empty() }

func collect(sels ...*selector) []*selector {
	out := make([]*selector, 0, len(sels))
	for _, s := range sels {
		if !trivial(s) {
			out = append(out, s)
		}
	}
	return out
}

// policySet is the pod selectors of every policy of one type in one namespace: a pod escaping all
// of them is open for that type.
type policySet struct {
	selectors []*selector
	hasEmpty  bool
}

func (p *policySet) list() []*selector {
	if p == nil {
		return nil
	}
	return p.selectors
}

func (p *policySet) add(s *selector) {
	if s.empty() {
		p.hasEmpty = true
	}
	if !slices.Contains(p.selectors, s) {
		p.selectors = append(p.selectors, s)
	}
}
