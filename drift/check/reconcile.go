package check

import (
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

// Reconcile merges the findings of the live comparison with the engine's findings for the same
// stacks, so that the slow path and the fast path describe one drift in the same terms:
//
//   - an engine finding with the fingerprint of a live finding (same kind, environment, tenant,
//     resource and field) is the same finding: the live one is kept, because it carries the live
//     value and the field manager that holds the field, and the engine's account is added to its
//     evidence;
//   - a field-level managed-drift from the engine (a refresh that read a changed output, a plan
//     that would change a field) on a Kubernetes object whose type and namespace the snapshot
//     covers is dropped: the live comparison of that very object against the same desired inputs
//     already decides every field the inputs set, names the field manager (a conflict rather than
//     managed-drift), and does not count what the provider reports beyond the inputs (server
//     defaults, fields other managers added) as drift. When a live finding on the same object
//     covers the same field (or a parent or child of it) the engine's account joins its evidence;
//   - every other engine finding is kept: objects the snapshot did not cover (types the reader
//     does not list, Azure resources), resources the program no longer declares (the next apply
//     deletes them), missing resources and field conflicts the live read did not see.
func Reconcile(live, engine []finding.Finding, snap *inventory.Snapshot) []finding.Finding {
	out := make([]finding.Finding, len(live))
	for i, f := range live {
		f.Evidence = slices.Clone(f.Evidence)
		out[i] = f
	}
	byFingerprint := make(map[string]int, len(out))
	for i, f := range out {
		byFingerprint[f.Fingerprint()] = i
	}
	for _, e := range engine {
		fp := e.Fingerprint()
		if i, ok := byFingerprint[fp]; ok {
			corroborate(&out[i], e)
			continue
		}
		if e.Kind == finding.KindManagedDrift && e.Field != "" && covered(snap, e.Resource) {
			for i := range out {
				if sameObject(out[i], e) && overlaps(out[i].Field, e.Field) {
					corroborate(&out[i], e)
				}
			}
			continue
		}
		byFingerprint[fp] = len(out)
		out = append(out, e)
	}
	return out
}

// engineEvidence prefixes what the engine reported, in a finding's evidence.
const engineEvidence = "engine: "

// corroborate adds the engine's account of the same drift to a live finding's evidence. Evidence
// and messages name things and never carry values, so nothing secret is copied.
func corroborate(f *finding.Finding, e finding.Finding) {
	lines := e.Evidence
	if len(lines) == 0 {
		lines = []string{e.Message}
	}
	for _, l := range lines {
		if l = engineEvidence + l; !slices.Contains(f.Evidence, l) {
			f.Evidence = append(f.Evidence, l)
		}
	}
}

func sameObject(a, b finding.Finding) bool {
	return a.Environment == b.Environment && a.TenantID == b.TenantID && a.Resource.Provider == b.Resource.Provider &&
		a.Resource.Type == b.Resource.Type && a.Resource.Namespace == b.Resource.Namespace && a.Resource.Name == b.Resource.Name
}

// overlaps reports whether one field path is the other or contains it: spec.policyTypes and
// spec.policyTypes[1], metadata.labels and metadata.labels.tier.
func overlaps(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || within(a, b) || within(b, a)
}

func within(child, parent string) bool {
	rest, ok := strings.CutPrefix(child, parent)
	return ok && rest != "" && (rest[0] == '.' || rest[0] == '[')
}

// covered reports whether the snapshot looked for the Kubernetes object r.
func covered(snap *inventory.Snapshot, r finding.Resource) bool {
	if snap == nil || r.Provider != finding.ProviderKubernetes {
		return false
	}
	gvk, ok := inventory.ParseTypeString(r.Type)
	return ok && snap.Covers(gvk.GroupKind(), r.Namespace)
}
