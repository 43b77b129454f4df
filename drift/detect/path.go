package detect

import (
	smdpath "sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/connectsoft/tenantctl/internal/fieldpath"
)

// path is a field path as findings report it (internal/fieldpath): spec.policyTypes,
// metadata.labels["tenantctl.io/tenant"], spec.template.spec.containers[name=app].image,
// spec.ingress[0].from. Remediation parses it back with the same package.
type path = fieldpath.Path

// ownershipPath converts p into a server-side apply field path for ownership lookups. It stops at
// the first positional segment: lists without keys are atomic, so the list itself is what a
// manager owns.
func ownershipPath(p path) smdpath.Path {
	var out smdpath.Path
	for _, s := range p {
		switch {
		case s.IsItem():
			fl := make(value.FieldList, 0, len(s.Keys))
			for _, k := range s.Keys {
				fl = append(fl, value.Field{Name: k.Name, Value: value.NewValueInterface(k.Value)})
			}
			fl.Sort()
			out = append(out, smdpath.PathElement{Key: &fl})
		case s.IsIndex():
			return out
		default:
			name := s.Field
			out = append(out, smdpath.PathElement{FieldName: &name})
		}
	}
	return out
}
