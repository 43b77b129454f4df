package azureidentity

import "strings"

// permission is one block of a role definition: Azure grants the union over blocks of each
// block's actions minus its notActions (and dataActions minus notDataActions).
type permission struct {
	actions, notActions, dataActions, notDataActions []string
}

// roleDefinition is a role definition as the analysis reads it.
type roleDefinition struct {
	id, name string
	perms    []permission
}

func parseDefinition(r resource) *roleDefinition {
	d := &roleDefinition{id: r.id, name: r.props.str("roleName")}
	if d.name == "" {
		d.name = r.name
	}
	for _, p := range r.props.list("permissions") {
		d.perms = append(d.perms, permission{actions: p.strs("actions"), notActions: p.strs("notActions"),
			dataActions: p.strs("dataActions"), notDataActions: p.strs("notDataActions")})
	}
	return d
}

// writeAction returns an action pattern of the definition that allows an operation other than a
// read: a pattern whose matches all end in "/read" only reads; any other pattern some notAction
// of its block does not wholly exclude can write, delete or act (listKeys is an action). The
// check is conservative: a pattern several notActions exclude only together counts as writing.
func (d *roleDefinition) writeAction() string {
	for _, p := range d.perms {
		for _, a := range p.actions {
			if strings.HasSuffix(strings.ToLower(a), "/read") {
				continue
			}
			if !excluded(a, p.notActions) {
				return a
			}
		}
	}
	return ""
}

// dataAction returns a data action pattern of the definition that its notDataActions do not
// wholly exclude: any data action reaches the resource's data.
func (d *roleDefinition) dataAction() string {
	for _, p := range d.perms {
		for _, a := range p.dataActions {
			if !excluded(a, p.notDataActions) {
				return a
			}
		}
	}
	return ""
}

// allows returns the action pattern that allows operation op, "" when none does (or its
// block's notActions exclude op).
func (d *roleDefinition) allows(op string) string {
	for _, p := range d.perms {
		for _, a := range p.actions {
			if globMatch(a, op) && !matchesAny(p.notActions, op) {
				return a
			}
		}
	}
	return ""
}

func matchesAny(patterns []string, op string) bool {
	for _, n := range patterns {
		if globMatch(n, op) {
			return true
		}
	}
	return false
}

// excluded reports whether one of the not-patterns matches every operation pattern p matches.
func excluded(p string, not []string) bool {
	for _, n := range not {
		if globContains(n, p) {
			return true
		}
	}
	return false
}

// globMatch matches an Azure operation against a pattern: "*" stands for any run of
// characters, "/" included; comparison ignores case.
func globMatch(pattern, s string) bool {
	return globContains(pattern, strings.ReplaceAll(s, "*", ""))
}

// globContains reports whether pattern n matches every string pattern p matches (both with "*"
// wildcards only): a "*" of p can only be absorbed by a "*" of n.
func globContains(n, p string) bool {
	n, p = strings.ToLower(n), strings.ToLower(p)
	// memo[i][j]: n[i:] contains p[j:]; 0 unknown, 1 yes, 2 no.
	memo := make([][]uint8, len(n)+1)
	for i := range memo {
		memo[i] = make([]uint8, len(p)+1)
	}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if m := memo[i][j]; m != 0 {
			return m == 1
		}
		var ok bool
		switch {
		case i == len(n):
			ok = j == len(p)
		case n[i] == '*':
			ok = rec(i+1, j) || (j < len(p) && rec(i, j+1))
		case j == len(p) || p[j] == '*':
			ok = false
		default:
			ok = n[i] == p[j] && rec(i+1, j+1)
		}
		memo[i][j] = 2
		if ok {
			memo[i][j] = 1
		}
		return ok
	}
	return rec(0, 0)
}

// globIntersect reports whether some string matches both patterns (for a federated
// credential's wildcard subject against a namespace's ServiceAccounts).
func globIntersect(a, b string) bool {
	memo := map[[2]int]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(a) && j == len(b):
			ok = true
		case i < len(a) && a[i] == '*':
			ok = rec(i+1, j) || (j < len(b) && rec(i, j+1))
		case j < len(b) && b[j] == '*':
			ok = rec(i, j+1) || (i < len(a) && rec(i+1, j))
		case i == len(a) || j == len(b):
			ok = false
		default:
			ok = a[i] == b[j] && rec(i+1, j+1)
		}
		memo[k] = ok
		return ok
	}
	return rec(0, 0)
}
