package detect

import (
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// segment is one step of a field path: a map key, an item of a keyed list (containers by name)
// or a position in a list without keys.
type segment struct {
	field string
	// keys identify a keyed list item ({name: app}); fieldpath keys of the live item.
	keys  []listKey
	index int // -1 unless positional
}

type listKey struct {
	name  string
	value any
}

type path []segment

func (p path) field(name string) path {
	return append(p[:len(p):len(p)], segment{field: name, index: -1})
}

func (p path) item(keys []listKey) path {
	return append(p[:len(p):len(p)], segment{keys: keys, index: -1})
}

func (p path) at(i int) path {
	return append(p[:len(p):len(p)], segment{index: i})
}

// last is the name of the innermost map key, "" when the path ends in a list item.
func (p path) last() string {
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1].field
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// String renders the path as reports show it: spec.policyTypes, metadata.labels.tenant,
// metadata.labels["tenantctl.io/tenant"], spec.template.spec.containers[name=app].image,
// spec.ingress[0].from. The form matches what finding.Redact parses.
func (p path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.keys != nil:
			b.WriteByte('[')
			for i, k := range s.keys {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(k.name)
				b.WriteByte('=')
				b.WriteString(scalarString(k.value))
			}
			b.WriteByte(']')
		case s.index >= 0:
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

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	}
	return strings.Trim(jsonString(v), `"`)
}

// fieldPath converts p into a server-side apply field path for ownership lookups. It stops at
// the first positional segment: lists without keys are atomic, so the list itself is what a
// manager owns.
func (p path) fieldPath() fieldpath.Path {
	var out fieldpath.Path
	for _, s := range p {
		switch {
		case s.keys != nil:
			fl := make(value.FieldList, 0, len(s.keys))
			for _, k := range s.keys {
				fl = append(fl, value.Field{Name: k.name, Value: value.NewValueInterface(k.value)})
			}
			fl.Sort()
			out = append(out, fieldpath.PathElement{Key: &fl})
		case s.index >= 0:
			return out
		default:
			name := s.field
			out = append(out, fieldpath.PathElement{FieldName: &name})
		}
	}
	return out
}
