package tenantpg

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/connectsoft/tenantctl/pgcatalog"
)

// field is one property compared by a Diff: live (the state, as the last Read saw the catalog)
// against declared (the program's inputs).
type field struct {
	name          string
	live, desired any
	// replace: the object must be recreated (a name, a database, a policy's command).
	replace bool
}

// diffFields builds the response. Replacements delete first: the objects have natural names,
// so the new one could not be created while the old one exists.
func diffFields(fields ...field) p.DiffResponse {
	resp := p.DiffResponse{DetailedDiff: map[string]p.PropertyDiff{}}
	for _, f := range fields {
		if equalValues(f.live, f.desired) {
			continue
		}
		kind := p.Update
		if f.replace {
			kind = p.UpdateReplace
			resp.DeleteBeforeReplace = true
		}
		resp.DetailedDiff[f.name] = p.PropertyDiff{Kind: kind, InputDiff: true}
		resp.HasChanges = true
	}
	return resp
}

// equalValues treats nil and empty lists (and maps) alike and compares lists as sets.
func equalValues(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(sortedSet(as), sortedSet(bs))
	}
	am, aok := a.(map[string]string)
	bm, bok := b.(map[string]string)
	if aok && bok {
		return maps.Equal(am, bm)
	}
	return reflect.DeepEqual(a, b)
}

func sortedSet(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkFailures turns a validation error into a Check failure on property, so `pulumi preview`
// names the resource and the field and nothing reaches the server.
func checkFailures(property string, err error) []p.CheckFailure {
	if err == nil {
		return nil
	}
	return []p.CheckFailure{{Property: property, Reason: err.Error()}}
}

// validated runs the default Check (decoding, defaults, secrets) and then the resource's own
// validation, which names the field that is wrong. A field whose value is not known yet (in a
// preview, the output of a resource not created yet, such as a Password's result feeding a Role)
// decodes as empty and is not refused: the engine runs Check again with the value before the
// resource is created or updated.
func validated[I any](req infer.CheckRequest, ctxCheck func() (I, []p.CheckFailure, error), validate func(*I) (string, error)) (infer.CheckResponse[I], error) {
	in, failures, err := ctxCheck()
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[I]{Inputs: in, Failures: failures}, err
	}
	prop, verr := validate(&in)
	if verr != nil && req.NewInputs.Get(prop).HasComputed() {
		verr = nil
	}
	return infer.CheckResponse[I]{Inputs: in, Failures: checkFailures(prop, verr)}, nil
}

// idParts splits an import/resource ID "a/b/c" into n non-empty parts.
func idParts(id string, n int, form string) ([]string, error) {
	parts := strings.Split(id, "/")
	if len(parts) != n || slices.Contains(parts, "") {
		return nil, fmt.Errorf("ID %q: want %s", id, form)
	}
	return parts, nil
}

// isNotFound reports whether a catalog read found nothing.
func isNotFound(err error) bool { return errors.Is(err, pgcatalog.ErrNotFound) }
