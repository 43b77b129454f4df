package detect

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// PulumiManagerPrefix starts the field manager names of pulumi-resource-kubernetes
// ("pulumi-kubernetes-<hash>" under server-side apply).
const PulumiManagerPrefix = "pulumi-kubernetes"

// fieldOwners is the decoded metadata.managedFields of one live object.
type fieldOwners []ownerEntry

type ownerEntry struct {
	manager   string
	operation string
	set       *fieldpath.Set
}

// ownersOf decodes the fieldsV1 of every managedFields entry. Subresource entries (status,
// scale) are kept: a manager that took spec.replicas through /scale owns it as much as one that
// patched the object.
func ownersOf(u *unstructured.Unstructured) (fieldOwners, error) {
	var out fieldOwners
	for _, mf := range u.GetManagedFields() {
		if mf.FieldsType != "FieldsV1" || mf.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("managedFields of %s %s/%s, manager %q: %w", u.GetKind(), u.GetNamespace(), u.GetName(), mf.Manager, err)
		}
		out = append(out, ownerEntry{manager: mf.Manager, operation: string(mf.Operation), set: set})
	}
	return out, nil
}

// owners returns the managers owning p: those whose set holds p itself or, failing that, the
// deepest prefix of p that a manager owns as a whole (an atomic list, map or struct: a member
// with nothing recorded below it). A granular map a manager created ("." member with children)
// does not make it the owner of keys it does not list. Sorted, without duplicates.
func (o fieldOwners) owners(p fieldpath.Path) []ownerEntry {
	for n := len(p); n > 0; n-- {
		prefix := p[:n]
		var found []ownerEntry
		for _, e := range o {
			if e.set.Has(prefix) && (n == len(p) || !hasChildren(e.set, prefix)) {
				found = append(found, e)
			}
		}
		if len(found) > 0 {
			slices.SortFunc(found, func(a, b ownerEntry) int { return strings.Compare(a.manager, b.manager) })
			return slices.CompactFunc(found, func(a, b ownerEntry) bool { return a.manager == b.manager })
		}
	}
	return nil
}

// hasChildren reports whether set records paths below p.
func hasChildren(set *fieldpath.Set, p fieldpath.Path) bool {
	for _, pe := range p {
		set = set.WithPrefix(pe)
	}
	return !set.Empty()
}

// ownManager reports whether a field manager is the stack's own (pulumi-kubernetes or a prefix
// configured with WithFieldManagers).
func ownManager(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
