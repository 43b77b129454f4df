package remediate

import (
	"fmt"

	"github.com/connectsoft/tenantctl/internal/fieldpath"
)

// fieldPath is a finding's field path, parsed (internal/fieldpath: the syntax drift/detect writes
// and Pulumi's detailed diff uses).
type fieldPath = fieldpath.Path

// parseField parses a finding's field path.
func parseField(s string) (fieldPath, error) { return fieldpath.Parse(s) }

// lookup returns the value at p in v.
func lookup(v any, p fieldPath) (any, bool) {
	cur := v
	for _, s := range p {
		switch {
		case s.IsItem():
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			j := findItem(l, s.Keys)
			if j < 0 {
				return nil, false
			}
			cur = l[j]
		case s.IsIndex():
			l, ok := cur.([]any)
			if !ok || s.Index >= len(l) {
				return nil, false
			}
			cur = l[s.Index]
		default:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[s.Field]; !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// findItem returns the index of the list item whose key fields render as keys, -1 if none.
func findItem(l []any, keys []fieldpath.Key) int {
	for j, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for _, k := range keys {
			if v, ok := m[k.Name]; !ok || fieldpath.ScalarText(v) != fieldpath.ScalarText(k.Value) {
				match = false
				break
			}
		}
		if match {
			return j
		}
	}
	return -1
}

// assign sets the value at p (a unit path: no positional segments) in dst, creating maps and
// keyed list items on the way. A keyed item that dst lacks is created with the typed key values
// of the same item in from (the desired object).
func assign(dst map[string]any, p fieldPath, val any, from map[string]any) error {
	if len(p) == 0 {
		return fmt.Errorf("assign: empty path")
	}
	var cur any = dst
	var src any = from
	// store replaces cur in its parent (appending to a list may move it)
	store := func(any) {}
	for i, s := range p {
		last := i == len(p)-1
		switch {
		case s.IsIndex():
			return fmt.Errorf("assign %s: positional segment", p)
		case s.IsItem():
			l, ok := cur.([]any)
			if !ok {
				return fmt.Errorf("assign %s: %s is not a list", p, p[:i])
			}
			var srcItem map[string]any
			if sl, ok := src.([]any); ok {
				if j := findItem(sl, s.Keys); j >= 0 {
					srcItem, _ = sl[j].(map[string]any)
				}
			}
			j := findItem(l, s.Keys)
			if j < 0 {
				if srcItem == nil {
					return fmt.Errorf("assign %s: item %s is in neither object", p, p[:i+1])
				}
				item := map[string]any{}
				for _, k := range s.Keys {
					item[k.Name] = srcItem[k.Name]
				}
				l = append(l, item)
				j = len(l) - 1
				store(l)
			}
			if last {
				l[j] = val
				return nil
			}
			cur, src = l[j], srcItem
			store = func(v any) { l[j] = v }
		default:
			m, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("assign %s: %s is not an object", p, p[:i])
			}
			if last {
				m[s.Field] = val
				return nil
			}
			var next any
			if sm, ok := src.(map[string]any); ok {
				next = sm[s.Field]
			}
			child, exists := m[s.Field]
			if !exists || child == nil {
				if _, isList := next.([]any); isList {
					child = []any{}
				} else {
					child = map[string]any{}
				}
				m[s.Field] = child
			}
			key := s.Field
			cur, src = child, next
			store = func(v any) { m[key] = v }
		}
	}
	return nil
}
