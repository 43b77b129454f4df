package remediate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// segment is one step of a finding's field path ("spec.template.spec.containers[name=app].image",
// `metadata.labels["tenantctl.io/tenant"]`, "spec.ingress[0].from"): a map key, an item of a
// keyed list, or a position in a list.
type segment struct {
	field string
	keys  []itemKey // keyed list item; nil otherwise
	index int       // position in a list; -1 otherwise
}

// itemKey is one key field of a keyed list item. The path carries its value as text; the typed
// value (a port number) comes from the object the item is looked up in.
type itemKey struct {
	name, text string
}

func (s segment) isIndex() bool { return s.index >= 0 }

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// fieldPath is a parsed field path.
type fieldPath []segment

// parseField parses the path syntax findings use (see drift/detect path.String). It accepts the
// forms Pulumi's detailed diff uses as well (the same syntax).
func parseField(s string) (fieldPath, error) {
	var out fieldPath
	i := 0
	for i < len(s) {
		switch s[i] {
		case '.':
			if i == 0 || i == len(s)-1 || s[i+1] == '.' || s[i+1] == '[' {
				return nil, fmt.Errorf("field %q: misplaced '.' at %d", s, i)
			}
			i++
		case '[':
			seg, n, err := parseBracket(s[i:])
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", s, err)
			}
			if len(out) == 0 && seg.field == "" {
				return nil, fmt.Errorf("field %q: starts with a list item", s)
			}
			out = append(out, seg)
			i += n
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i:j]
			if !plainKey.MatchString(name) {
				return nil, fmt.Errorf("field %q: key %q needs quoting", s, name)
			}
			out = append(out, segment{field: name, index: -1})
			i = j
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("field path is empty")
	}
	return out, nil
}

// parseBracket parses `["quoted.key"]`, `[name=app,protocol=TCP]` or `[3]` at the start of s and
// returns the segment and the bytes consumed.
func parseBracket(s string) (segment, int, error) {
	if strings.HasPrefix(s, `["`) {
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case s[i] == '"':
				if i+1 >= len(s) || s[i+1] != ']' {
					return segment{}, 0, fmt.Errorf("quoted key not closed by \"]\"")
				}
				return segment{field: b.String(), index: -1}, i + 2, nil
			default:
				b.WriteByte(s[i])
			}
		}
		return segment{}, 0, fmt.Errorf("unterminated quoted key")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return segment{}, 0, fmt.Errorf("unterminated '['")
	}
	body := s[1:end]
	if n, err := strconv.Atoi(body); err == nil {
		if n < 0 {
			return segment{}, 0, fmt.Errorf("negative list index %d", n)
		}
		return segment{index: n}, end + 1, nil
	}
	var keys []itemKey
	for _, part := range strings.Split(body, ",") {
		name, text, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return segment{}, 0, fmt.Errorf("list item selector %q: want [key=value,...] or [index]", body)
		}
		keys = append(keys, itemKey{name: name, text: text})
	}
	return segment{keys: keys, index: -1}, end + 1, nil
}

// String renders the path back in the findings' syntax.
func (p fieldPath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.keys != nil:
			b.WriteByte('[')
			for i, k := range s.keys {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(k.name + "=" + k.text)
			}
			b.WriteByte(']')
		case s.isIndex():
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case plainKey.MatchString(s.field):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.field)
		default:
			b.WriteString(`["` + strings.ReplaceAll(s.field, `"`, `\"`) + `"]`)
		}
	}
	return b.String()
}

// unit is the part of the path server-side apply sets as a whole: everything before the first
// positional segment. A list without keys is atomic, so restoring spec.ingress[0].from means
// restoring spec.ingress.
func (p fieldPath) unit() fieldPath {
	for i, s := range p {
		if s.isIndex() {
			return p[:i]
		}
	}
	return p
}

// hasPrefix reports whether q is p or an ancestor of p.
func (p fieldPath) hasPrefix(q fieldPath) bool {
	return len(q) <= len(p) && p[:len(q)].String() == q.String()
}

// lookup returns the value at p in v.
func lookup(v any, p fieldPath) (any, bool) {
	cur := v
	for _, s := range p {
		switch {
		case s.keys != nil:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			j := findItem(l, s.keys)
			if j < 0 {
				return nil, false
			}
			cur = l[j]
		case s.isIndex():
			l, ok := cur.([]any)
			if !ok || s.index >= len(l) {
				return nil, false
			}
			cur = l[s.index]
		default:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[s.field]; !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// findItem returns the index of the list item whose key fields render as keys, -1 if none.
func findItem(l []any, keys []itemKey) int {
	for j, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for _, k := range keys {
			if v, ok := m[k.name]; !ok || scalarText(v) != k.text {
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

// scalarText renders a key value the way finding paths do.
func scalarText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return strings.Trim(string(b), `"`)
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
		case s.isIndex():
			return fmt.Errorf("assign %s: positional segment", p)
		case s.keys != nil:
			l, ok := cur.([]any)
			if !ok {
				return fmt.Errorf("assign %s: %s is not a list", p, p[:i])
			}
			var srcItem map[string]any
			if sl, ok := src.([]any); ok {
				if j := findItem(sl, s.keys); j >= 0 {
					srcItem, _ = sl[j].(map[string]any)
				}
			}
			j := findItem(l, s.keys)
			if j < 0 {
				if srcItem == nil {
					return fmt.Errorf("assign %s: item %s is in neither object", p, p[:i+1])
				}
				item := map[string]any{}
				for _, k := range s.keys {
					item[k.name] = srcItem[k.name]
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
				m[s.field] = val
				return nil
			}
			var next any
			if sm, ok := src.(map[string]any); ok {
				next = sm[s.field]
			}
			child, exists := m[s.field]
			if !exists || child == nil {
				if _, isList := next.([]any); isList {
					child = []any{}
				} else {
					child = map[string]any{}
				}
				m[s.field] = child
			}
			key := s.field
			cur, src = child, next
			store = func(v any) { m[key] = v }
		}
	}
	return nil
}
