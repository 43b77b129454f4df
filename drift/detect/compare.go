package detect

import (
	"encoding/json"
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// fieldDiff is one field whose live value differs from the desired one.
type fieldDiff struct {
	path    path
	desired any
	live    any
	// present: the live object has the field (a nil live value may be an explicit null).
	present bool
}

// pulumiSecretSig marks a secret value in Pulumi state; its plaintext is never available here
// and is never compared.
const pulumiSecretSig = "4dabf18193072939515e22adb298388d"

// compareOptions tune what the comparison skips.
type compareOptions struct {
	// skip reports fields never compared (status, server-set metadata, Secret data).
	skip func(p path) bool
}

// diffFields compares desired against live for the fields desired sets, the way server-side
// apply sees them: maps by key (extra live keys are someone else's fields, not drift), lists
// whose items carry a merge key (containers, env, volumes by name; volumeMounts by mountPath;
// ports by port and protocol) item by item, other lists of scalars whole (order matters:
// spec.policyTypes), other lists of objects position by position when the lengths agree and
// whole otherwise. Desired values that are empty (null, "", {} or []) match an absent live field,
// because the API server drops them.
func diffFields(desired, live map[string]any, opts compareOptions) []fieldDiff {
	var out []fieldDiff
	diffMap(nil, desired, live, opts, &out)
	return out
}

func diffValue(p path, d, l any, present bool, opts compareOptions, out *[]fieldDiff) {
	if opts.skip != nil && opts.skip(p) {
		return
	}
	if isPulumiSecret(d) {
		return
	}
	switch dv := d.(type) {
	case map[string]any:
		lm, ok := l.(map[string]any)
		if !ok {
			if !present && len(dv) == 0 {
				return
			}
			*out = append(*out, fieldDiff{p, d, l, present})
			return
		}
		diffMap(p, dv, lm, opts, out)
	case []any:
		ll, ok := l.([]any)
		if !ok {
			if !present && len(dv) == 0 {
				return
			}
			*out = append(*out, fieldDiff{p, d, l, present})
			return
		}
		diffList(p, dv, ll, opts, out)
	default:
		if !present {
			if d == nil || d == "" {
				return
			}
			*out = append(*out, fieldDiff{p, d, nil, false})
			return
		}
		if !scalarEqual(p, d, l) {
			*out = append(*out, fieldDiff{p, d, l, true})
		}
	}
}

func diffMap(p path, d, l map[string]any, opts compareOptions, out *[]fieldDiff) {
	for _, k := range sortedKeys(d) {
		if strings.HasPrefix(k, "__") { // Pulumi bookkeeping (__defaults, __inputs)
			continue
		}
		lv, ok := l[k]
		diffValue(p.Field(k), d[k], lv, ok, opts, out)
	}
}

func diffList(p path, d, l []any, opts compareOptions, out *[]fieldDiff) {
	if keys := mergeKeys(p.Last(), d, l); keys != nil {
		diffKeyedList(p, keys, d, l, opts, out)
		return
	}
	if allScalars(d) {
		if len(d) != len(l) || !slices.EqualFunc(d, l, func(a, b any) bool { return scalarEqual(p, a, b) }) {
			*out = append(*out, fieldDiff{p, d, l, true})
		}
		return
	}
	if len(d) != len(l) {
		*out = append(*out, fieldDiff{p, d, l, true})
		return
	}
	for i := range d {
		diffValue(p.At(i), d[i], l[i], true, opts, out)
	}
}

// diffKeyedList matches items by their merge key. A desired item missing live, and a live item
// no desired item names (a container someone added to a managed workload), are both drift.
func diffKeyedList(p path, keys []string, d, l []any, opts compareOptions, out *[]fieldDiff) {
	matched := make([]bool, len(l))
	for _, di := range d {
		dm := di.(map[string]any)
		j := slices.IndexFunc(l, func(li any) bool { return sameItem(keys, dm, li.(map[string]any)) })
		if j < 0 {
			*out = append(*out, fieldDiff{p.Item(itemKeys(keys, dm)), di, nil, false})
			continue
		}
		matched[j] = true
		diffMap(p.Item(itemKeys(keys, l[j].(map[string]any))), dm, l[j].(map[string]any), opts, out)
	}
	for j, li := range l {
		if !matched[j] {
			*out = append(*out, fieldDiff{p.Item(itemKeys(keys, li.(map[string]any))), nil, li, true})
		}
	}
}

// knownMergeKeys are the Kubernetes list fields whose items server-side apply keys, by field
// name. Lists of objects that all carry a unique "name" are keyed by it too.
var knownMergeKeys = map[string][][]string{
	"volumeMounts":  {{"mountPath"}},
	"volumeDevices": {{"devicePath"}},
	// container ports are keyed by containerPort and protocol, service ports by port and protocol
	"ports": {{"containerPort", "protocol"}, {"port", "protocol"}},
}

// mergeKeys returns the key fields of a list of objects, nil when the list is not keyed.
func mergeKeys(field string, d, l []any) []string {
	items := append(slices.Clone(d), l...)
	if len(items) == 0 {
		return nil
	}
	for _, it := range items {
		if _, ok := it.(map[string]any); !ok {
			return nil
		}
	}
	for _, keys := range knownMergeKeys[field] {
		// the first key must be present in every item; later keys default (protocol: TCP)
		if everyItemHas(items, keys[0]) && uniqueBy(keys, d) {
			return keys
		}
	}
	if everyItemHas(items, "name") && uniqueBy([]string{"name"}, d) && uniqueBy([]string{"name"}, l) {
		return []string{"name"}
	}
	return nil
}

func everyItemHas(items []any, key string) bool {
	for _, it := range items {
		if v, ok := it.(map[string]any)[key]; !ok || v == nil || v == "" {
			return false
		}
	}
	return true
}

func uniqueBy(keys []string, items []any) bool {
	seen := map[string]bool{}
	for _, it := range items {
		id := jsonString(itemKeyValues(keys, it.(map[string]any)))
		if seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

func itemKeyValues(keys []string, m map[string]any) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// sameItem matches by the key fields the desired item sets; a key it leaves out (a defaulted
// protocol) matches anything.
func sameItem(keys []string, desired, live map[string]any) bool {
	for _, k := range keys {
		dv, ok := desired[k]
		if !ok {
			continue
		}
		if !scalarEqual(nil, dv, live[k]) {
			return false
		}
	}
	return true
}

func itemKeys(keys []string, m map[string]any) []fieldpath.Key {
	var out []fieldpath.Key
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out = append(out, fieldpath.Key{Name: k, Value: v})
		}
	}
	return out
}

func allScalars(items []any) bool {
	for _, it := range items {
		switch it.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// quantityParents are the fields whose values are resource quantities the API server
// canonicalises ("1000m" is stored as "1").
var quantityParents = map[string]bool{
	"hard": true, "limits": true, "requests": true, "default": true, "defaultRequest": true,
	"max": true, "min": true, "maxLimitRequestRatio": true, "capacity": true, "storage": true,
}

// scalarEqual compares two scalars: numbers by value whatever their Go type (state JSON holds
// float64, the API int64), quantities by amount.
func scalarEqual(p path, a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	if as, ok := a.(string); ok {
		bs, ok := b.(string)
		if !ok {
			return false
		}
		if as == bs {
			return true
		}
		if len(p) >= 2 && quantityParents[p[len(p)-2].Field] {
			qa, errA := resource.ParseQuantity(as)
			qb, errB := resource.ParseQuantity(bs)
			return errA == nil && errB == nil && qa.Cmp(qb) == 0
		}
		return false
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n)
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func isPulumiSecret(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[pulumiSecretSig]
	return ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
