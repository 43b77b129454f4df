package remediate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// restoreFields computes the fields to apply: each finding's path up to its first positional
// segment (lists without keys are applied whole), with the value the desired inputs set there.
// A field inside another restored field is covered by it.
func restoreFields(res finding.Resource, fs []finding.Finding, inputs map[string]any, live *unstructured.Unstructured) ([]FieldChange, []finding.Finding, []reported) {
	type planned struct {
		path     fieldPath
		desired  any
		managers []string
	}
	var units []*planned
	var restored []finding.Finding
	var bad []reported
	for _, f := range fs {
		fp, err := parseField(f.Field)
		if err != nil {
			bad = append(bad, reported{f, "cannot restore: " + err.Error()})
			continue
		}
		unit := fp.Unit()
		if serverField(unit) {
			bad = append(bad, reported{f, fmt.Sprintf("%s is set by the API server, not restorable", unit)})
			continue
		}
		dv, ok := lookup(inputs, unit)
		if !ok {
			bad = append(bad, reported{f, fmt.Sprintf("the desired state does not set %s (the live object holds more than the stack declares); server-side apply cannot remove another manager's field: remove it by hand", unit)})
			continue
		}
		if secretValue(res, unit.String(), dv) {
			bad = append(bad, reported{f, fmt.Sprintf("the desired value of %s is secret and is never written to a plan: re-apply the stack with tenantctl up", unit)})
			continue
		}
		restored = append(restored, f)
		i := slices.IndexFunc(units, func(u *planned) bool { return unit.HasPrefix(u.path) || u.path.HasPrefix(unit) })
		switch {
		case i < 0:
			units = append(units, &planned{path: unit, desired: dv})
			i = len(units) - 1
		case len(unit) < len(units[i].path):
			units[i].path, units[i].desired = unit, dv
		}
		if f.Manager != "" && !slices.Contains(units[i].managers, f.Manager) {
			units[i].managers = append(units[i].managers, f.Manager)
		}
	}
	var out []FieldChange
	for _, u := range units {
		desired, _ := json.Marshal(stripBookkeeping(u.desired))
		fc := FieldChange{Path: u.path.String(), Desired: desired, Manager: strings.Join(u.managers, ", ")}
		if lv, ok := lookup(live.Object, u.path); ok {
			fc.Live, _ = finding.Value(res, fc.Path, lv)
		}
		out = append(out, fc)
	}
	slices.SortFunc(out, func(a, b FieldChange) int { return strings.Compare(a.Path, b.Path) })
	return out, restored, bad
}

func serverField(p fieldPath) bool {
	for n := 1; n <= len(p); n++ {
		if serverFields[p[:n].String()] {
			return true
		}
	}
	return false
}

// pulumiSecretSig marks an encrypted value in Pulumi state.
const pulumiSecretSig = "4dabf18193072939515e22adb298388d"

// secretValue reports whether v must not be written to a plan: a Pulumi secret anywhere in it, or
// anything finding.Redact would hide.
func secretValue(res finding.Resource, field string, v any) bool {
	raw, err := json.Marshal(v)
	if err != nil {
		return true
	}
	if strings.Contains(string(raw), pulumiSecretSig) {
		return true
	}
	return strings.Contains(string(finding.Redact(res, field, raw)), finding.Redacted)
}

// stripBookkeeping drops Pulumi's "__" keys (__defaults, __inputs) from a desired value.
func stripBookkeeping(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if !strings.HasPrefix(k, "__") {
				out[k] = stripBookkeeping(c)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = stripBookkeeping(c)
		}
		return out
	}
	return v
}

func restoreReason(res finding.Resource, fields []FieldChange, manager, stack string) string {
	var parts []string
	for _, f := range fields {
		if f.Manager != "" {
			parts = append(parts, fmt.Sprintf("%s (taken by %s)", f.Path, f.Manager))
		} else {
			parts = append(parts, f.Path)
		}
	}
	return fmt.Sprintf("%s drifted in %s; apply the desired value(s) as %s (forced server-side apply of exactly these fields), then up %s",
		res.Ref(), strings.Join(parts, ", "), manager, stack)
}
