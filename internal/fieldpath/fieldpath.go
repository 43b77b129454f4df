// Package fieldpath is the one syntax of a field inside a document that tenantctl writes and
// reads back: validation errors point at binding fields with it, drift findings name the drifted
// field with it, and remediation parses it to restore that field.
//
//	spec.quota.cpu                                  map keys, dot-separated
//	metadata.labels["tenantctl.io/tenant"]          a key that is not [A-Za-z0-9_-]+, quoted as in Go
//	spec.template.spec.containers[name=app].image   an item of a keyed list, by its key fields
//	spec.ports[port=80,protocol=TCP]                several key fields
//	spec.ingress[0].from                            a position in a list without keys
//
// A key name or value that holds one of , ] [ = " \ or a control character is quoted the same
// way ([name="a,b"]). String and Parse are inverses: Parse(p.String()) is p, with key values
// as their text.
package fieldpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Path is a parsed field path, outermost segment first.
type Path []Segment

// Segment is one step of a path: a map key (Field), an item of a keyed list (Keys), or a
// position in a list (Index ≥ 0). Exactly one is set; Index is -1 unless positional.
type Segment struct {
	Field string
	Keys  []Key
	Index int
}

// Key is one key field of a keyed list item. Value is the typed value where the path was built
// from an object (a port number), and its text where the path was parsed; ScalarText renders
// both the same way.
type Key struct {
	Name  string
	Value any
}

// IsIndex reports whether s is a position in a list.
func (s Segment) IsIndex() bool { return s.Index >= 0 }

// IsItem reports whether s is an item of a keyed list.
func (s Segment) IsItem() bool { return s.Keys != nil }

// Field returns p with the map key name appended; p itself is never changed.
func (p Path) Field(name string) Path {
	return append(p[:len(p):len(p)], Segment{Field: name, Index: -1})
}

// Item returns p with a keyed list item appended.
func (p Path) Item(keys []Key) Path {
	return append(p[:len(p):len(p)], Segment{Keys: keys, Index: -1})
}

// At returns p with a list position appended.
func (p Path) At(i int) Path {
	return append(p[:len(p):len(p)], Segment{Index: i})
}

// Last is the name of the innermost map key, "" when the path ends in a list item or is empty.
func (p Path) Last() string {
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1].Field
}

// Unit is the part of the path server-side apply sets as a whole: everything before the first
// positional segment. A list without keys is atomic, so restoring spec.ingress[0].from means
// restoring spec.ingress.
func (p Path) Unit() Path {
	for i, s := range p {
		if s.IsIndex() {
			return p[:i]
		}
	}
	return p
}

// HasPrefix reports whether q is p or an ancestor of p.
func (p Path) HasPrefix(q Path) bool {
	return len(q) <= len(p) && p[:len(q)].String() == q.String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// String renders the path in the syntax of the package comment.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		writeSegment(&b, s)
	}
	return b.String()
}

func writeSegment(b *strings.Builder, s Segment) {
	switch {
	case s.IsItem():
		b.WriteByte('[')
		for i, k := range s.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if k.Name == "" {
				b.WriteString(`""`)
			} else {
				b.WriteString(itemText(k.Name))
			}
			b.WriteByte('=')
			b.WriteString(itemText(ScalarText(k.Value)))
		}
		b.WriteByte(']')
	case s.IsIndex():
		b.WriteString("[" + strconv.Itoa(s.Index) + "]")
	case plainKey.MatchString(s.Field):
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Field)
	default:
		b.WriteString("[" + strconv.Quote(s.Field) + "]")
	}
}

// AppendField is the rendered path of map key name under the rendered path parent, for callers
// that keep paths as strings (p.Field(name).String() for p the parse of parent).
func AppendField(parent, name string) string {
	var b strings.Builder
	b.WriteString(parent)
	writeSegment(&b, Segment{Field: name, Index: -1})
	return b.String()
}

// AppendIndex is the rendered path of position i of the list at the rendered path parent.
func AppendIndex(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// Parent is the rendered path of the container of the rendered path p: "" for a top-level key
// and for a path that does not parse.
func Parent(p string) string {
	parsed, err := Parse(p)
	if err != nil || len(parsed) == 0 {
		return ""
	}
	return parsed[:len(parsed)-1].String()
}

// itemText is a key name or value inside [...]: as is, or quoted when it would not read back.
func itemText(s string) string {
	if strings.ContainsAny(s, `,][="\`) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}

// ScalarText renders a key value the way paths show it: a string as itself, null, and any other
// value as its JSON.
func ScalarText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.Trim(string(b), `"`)
}

// ErrEmpty is Parse's error for an empty path.
var ErrEmpty = errors.New("field path is empty")

// Parse reads a path in the syntax of the package comment. It accepts the paths of Pulumi's
// detailed diff as well (the same syntax).
func Parse(s string) (Path, error) {
	if s == "" {
		return nil, ErrEmpty
	}
	var out Path
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
			if len(out) == 0 && (seg.IsItem() || seg.IsIndex()) {
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
			out = append(out, Segment{Field: name, Index: -1})
			i = j
		}
	}
	return out, nil
}

// parseBracket parses `["quoted.key"]`, `[name=app,protocol=TCP]` or `[3]` at the start of s and
// returns the segment and the bytes consumed.
func parseBracket(s string) (Segment, int, error) {
	i := 1
	first, n, quoted, err := parseItemText(s[i:], "=]")
	if err != nil {
		return Segment{}, 0, err
	}
	i += n
	if i >= len(s) {
		return Segment{}, 0, errors.New("unterminated '['")
	}
	if s[i] == ']' {
		if quoted {
			return Segment{Field: first, Index: -1}, i + 1, nil
		}
		idx, err := strconv.Atoi(first)
		if err != nil || strings.HasPrefix(first, "+") {
			return Segment{}, 0, fmt.Errorf("list item selector %q: want [key=value,...] or [index]", first)
		}
		if idx < 0 {
			return Segment{}, 0, fmt.Errorf("negative list index %d", idx)
		}
		return Segment{Index: idx}, i + 1, nil
	}
	var keys []Key
	name := first
	for {
		// s[i] is '='.
		if name == "" && !quoted {
			return Segment{}, 0, errors.New("list item selector: want [key=value,...] or [index], a key has no name")
		}
		i++
		value, n, _, err := parseItemText(s[i:], ",]")
		if err != nil {
			return Segment{}, 0, err
		}
		i += n
		if i >= len(s) {
			return Segment{}, 0, errors.New("unterminated '['")
		}
		keys = append(keys, Key{Name: name, Value: value})
		if s[i] == ']' {
			return Segment{Keys: keys, Index: -1}, i + 1, nil
		}
		// s[i] is ','.
		i++
		if name, n, quoted, err = parseItemText(s[i:], "=]"); err != nil {
			return Segment{}, 0, err
		}
		i += n
		if i >= len(s) || s[i] != '=' {
			return Segment{}, 0, errors.New("list item selector: want [key=value,...] or [index]")
		}
	}
}

// parseItemText reads a quoted string, or plain text up to one of stops; it returns the text,
// the bytes consumed and whether it was quoted.
func parseItemText(s, stops string) (string, int, bool, error) {
	if strings.HasPrefix(s, `"`) {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				text, err := strconv.Unquote(s[:i+1])
				if err != nil {
					return "", 0, false, fmt.Errorf("quoted key %s: %w", s[:i+1], err)
				}
				return text, i + 1, true, nil
			}
		}
		return "", 0, false, errors.New("unterminated quoted key")
	}
	end := strings.IndexAny(s, stops)
	if end < 0 {
		return "", 0, false, errors.New("unterminated '['")
	}
	return s[:end], end, false, nil
}
