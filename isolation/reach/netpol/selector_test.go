package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustSelector(t *testing.T, raw map[string]any) *selector {
	t.Helper()
	s, err := parseSelector(interner{}, raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func expr(key, op string, values ...any) map[string]any {
	e := map[string]any{"key": key, "operator": op}
	if values != nil {
		e["values"] = values
	}
	return e
}

func TestSelectorForms(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name string
		raw  map[string]any
		text string
		want bool
	}{
		{"empty matches everything", map[string]any{}, "{}", true},
		{"matchLabels", map[string]any{"matchLabels": map[string]any{"app": "web"}}, "{app=web}", true},
		{"matchLabels mismatch", map[string]any{"matchLabels": map[string]any{"app": "db"}}, "{app=db}", false},
		{"In", map[string]any{"matchExpressions": []any{expr("tier", "In", "front", "back")}}, "{tier in (back,front)}", true},
		{"NotIn of a missing key matches", map[string]any{"matchExpressions": []any{expr("env", "NotIn", "prod")}}, "{env notin (prod)}", true},
		{"NotIn of the value", map[string]any{"matchExpressions": []any{expr("app", "NotIn", "web")}}, "{app notin (web)}", false},
		{"Exists", map[string]any{"matchExpressions": []any{expr("app", "Exists")}}, "{app}", true},
		{"DoesNotExist", map[string]any{"matchExpressions": []any{expr("app", "DoesNotExist")}}, "{!app}", false},
		{"requirements are ANDed", map[string]any{"matchLabels": map[string]any{"app": "web"}, "matchExpressions": []any{expr("tier", "In", "back")}},
			"{app=web, tier=back}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSelector(t, tc.raw)
			if s.text != tc.text {
				t.Errorf("text = %q, want %q", s.text, tc.text)
			}
			if got := s.matches(labels); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
	for name, raw := range map[string]map[string]any{
		"unknown operator":   {"matchExpressions": []any{expr("a", "Gt", "1")}},
		"In without values":  {"matchExpressions": []any{expr("a", "In")}},
		"Exists with values": {"matchExpressions": []any{expr("a", "Exists", "x")}},
		"non-string label":   {"matchLabels": map[string]any{"a": 1}},
	} {
		if _, err := parseSelector(interner{}, raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLabelSetSatisfiability(t *testing.T) {
	sel := func(reqs ...req) *selector { return newSelector(reqs) }
	in := func(k string, v ...string) req { return req{key: k, op: opIn, values: v} }
	notIn := func(k string, v ...string) req { return req{key: k, op: opNotIn, values: v} }
	exists := func(k string) req { return req{key: k, op: opExists} }
	absent := func(k string) req { return req{key: k, op: opDoesNotExist} }
	tests := []struct {
		name      string
		all, none []*selector
		want      map[string]string // nil: unsatisfiable
	}{
		{"nothing asked", nil, nil, map[string]string{}},
		{"two values of one key", []*selector{sel(in("app", "web")), sel(in("app", "db"))}, nil, nil},
		{"In narrowed by NotIn", []*selector{sel(in("app", "web", "db")), sel(notIn("app", "web"))}, nil, map[string]string{"app": "db"}},
		{"Exists and DoesNotExist", []*selector{sel(exists("app"), absent("app"))}, nil, nil},
		{"escaping an empty selector is impossible", nil, []*selector{emptySelector}, nil},
		{"escape by dropping a label", []*selector{sel(in("tenant", "acme"))}, []*selector{sel(in("tenant", "acme"), exists("role"))}, map[string]string{"tenant": "acme"}},
		{"escape by another value", []*selector{sel(exists("app"))}, []*selector{sel(in("app", "web"))}, map[string]string{"app": "any"}},
		{"pinned and selected by another tenant's policy", []*selector{sel(in("tenant", "acme")), sel(in("tenant", "globex"))}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := labelSet(tc.all, tc.none)
			if !ok {
				got = nil
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if ok {
				if !matchesAll(got, tc.all) || matchesAny(got, tc.none) {
					t.Errorf("witness %v does not satisfy the constraints", got)
				}
			}
		})
	}
}
