package remediate

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// managerSet is one server-side apply manager of a live object and the fields it owns.
type managerSet struct {
	name string
	set  *fieldpath.Set
}

// applyManagers returns the Apply-operation managers of u whose names start with one of
// prefixes, with their field sets. Subresource entries (status, scale) are left out: a restore
// applies to the main resource.
func applyManagers(u *unstructured.Unstructured, prefixes []string) ([]managerSet, error) {
	var out []managerSet
	for _, mf := range u.GetManagedFields() {
		if mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "" || !hasAnyPrefix(mf.Manager, prefixes) {
			continue
		}
		set := &fieldpath.Set{}
		if mf.FieldsV1 != nil {
			if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
				return nil, fmt.Errorf("managedFields of %s, manager %q: %w", objectRef(u), mf.Manager, err)
			}
		}
		out = append(out, managerSet{name: mf.Manager, set: set})
	}
	return out, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}

// pickManager chooses the stack's field manager among candidates: the only one, else the one
// owning most of the fields the desired inputs set (an object can carry the manager of the stack
// that owns it and that of another stack's patch).
func pickManager(cands []managerSet, desired map[string]any) (managerSet, bool) {
	switch len(cands) {
	case 0:
		return managerSet{}, false
	case 1:
		return cands[0], true
	}
	paths := desiredPaths(desired)
	best, bestScore := -1, -1
	for i, c := range cands {
		score := 0
		for _, p := range paths {
			if c.set.Has(p) {
				score++
			}
		}
		if score > bestScore || (score == bestScore && c.name < cands[best].name) {
			best, bestScore = i, score
		}
	}
	return cands[best], true
}

// desiredPaths lists the field paths of the maps in desired down to their leaves (lists count
// as leaves), as server-side apply names them.
func desiredPaths(desired map[string]any) []fieldpath.Path {
	var out []fieldpath.Path
	var walk func(prefix fieldpath.Path, m map[string]any)
	walk = func(prefix fieldpath.Path, m map[string]any) {
		for k, v := range m {
			if strings.HasPrefix(k, "__") {
				continue
			}
			name := k
			p := append(slices.Clone(prefix), fieldpath.PathElement{FieldName: &name})
			if child, ok := v.(map[string]any); ok && len(child) > 0 {
				walk(p, child)
				continue
			}
			out = append(out, p)
		}
	}
	walk(nil, desired)
	return out
}

// ownedFields copies from live exactly the fields set holds: the body that, applied by the
// set's manager, keeps everything it owns as it is. A member with nothing recorded below it is
// copied whole (an atomic list, a leaf); items of keyed lists are matched by their key fields.
func ownedFields(live map[string]any, set *fieldpath.Set) map[string]any {
	out, _ := extract(live, set).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func extract(v any, set *fieldpath.Set) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range t {
			name := k
			pe := fieldpath.PathElement{FieldName: &name}
			if sub, ok := set.Children.Get(pe); ok {
				out[k] = extract(child, sub)
			} else if set.Members.Has(pe) {
				out[k] = runtime.DeepCopyJSONValue(child)
			}
		}
		return out
	case []any:
		var out []any
		for i, item := range t {
			pe, ok := itemElement(set, item, i)
			if !ok {
				continue
			}
			if sub, ok := set.Children.Get(pe); ok {
				out = append(out, extract(item, sub))
			} else {
				out = append(out, runtime.DeepCopyJSONValue(item))
			}
		}
		if out == nil {
			out = []any{}
		}
		return out
	}
	return runtime.DeepCopyJSONValue(v)
}

// itemElement finds the path element of set that names list item i: by key fields, by value (a
// set of scalars) or by index.
func itemElement(set *fieldpath.Set, item any, i int) (fieldpath.PathElement, bool) {
	var found fieldpath.PathElement
	ok := false
	match := func(pe fieldpath.PathElement) {
		if ok {
			return
		}
		switch {
		case pe.Key != nil:
			m, isMap := item.(map[string]any)
			if !isMap {
				return
			}
			for _, f := range *pe.Key {
				lv, present := m[f.Name]
				if !present || !value.Equals(f.Value, value.NewValueInterface(lv)) {
					return
				}
			}
			found, ok = pe, true
		case pe.Value != nil:
			if value.Equals(*pe.Value, value.NewValueInterface(item)) {
				found, ok = pe, true
			}
		case pe.Index != nil:
			if *pe.Index == i {
				found, ok = pe, true
			}
		}
	}
	set.Children.Iterate(match)
	set.Members.Iterate(match)
	return found, ok
}

func objectRef(u *unstructured.Unstructured) string {
	if u.GetNamespace() != "" {
		return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}
