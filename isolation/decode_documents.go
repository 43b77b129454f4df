package isolation

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// Document is one desired-state file held in memory: its name (used in error sources, e.g. a
// config key such as "tenantctl:binding") and its YAML content.
type Document struct {
	Name string
	Data []byte
}

// DecodeDocuments decodes and validates in-memory documents exactly as Load decodes and validates
// the files of a folder: the same strict decoder, the same per-document and cross-document
// checks. It serves callers that receive documents rather than a folder, such as the plain-Pulumi
// entry point, which reads a binding and its environment from stack config. Checks that span
// tenants only see the documents given, so an overlap with a tenant that is not passed is not
// found here; Load of the whole folder finds it.
//
// The state has no Git revision. With validation errors it is returned alongside the
// ValidationErrors (marked errkind.Invalid) for reporting only; callers must not act on it.
func DecodeDocuments(docs ...Document) (*DesiredState, error) {
	return (&DesiredState{}).decode(docs, nil)
}

// decode decodes files strictly, validates their documents together and fills s with them. errs
// are the problems the caller found before decoding (files it could not take); with any problem s
// is still returned alongside the errors, for reporting only. Load and DecodeDocuments both end
// here, so a folder and in-memory documents pass exactly the same checks.
func (s *DesiredState) decode(files []Document, errs ValidationErrors) (*DesiredState, error) {
	var decoded []*document
	for _, f := range files {
		got, e := decodeFile(f.Name, f.Data)
		decoded = append(decoded, got...)
		errs = append(errs, e...)
	}
	envs, bindings, e := validateDocuments(decoded)
	errs = append(errs, e...)

	s.Environments = make(map[string]*Environment, len(envs))
	s.fields = make(map[any]fieldIndex, len(decoded))
	for name, env := range envs {
		s.Environments[name] = env.env
	}
	for _, b := range bindings {
		s.Bindings = append(s.Bindings, b.b)
	}
	slices.SortStableFunc(s.Bindings, func(a, b *RuntimeTenantBinding) int {
		return cmp.Or(cmp.Compare(a.Spec.Environment, b.Spec.Environment), cmp.Compare(a.Spec.TenantID, b.Spec.TenantID))
	})
	for _, d := range decoded {
		s.fields[d.obj] = d.fields
	}
	if len(errs) > 0 {
		return s, errkind.Mark(errkind.Invalid, errs.sorted())
	}
	return s, nil
}

// DecodeStackDocuments decodes the documents of one stack: exactly one Environment, and for a
// tenant stack (binding non-nil) exactly one RuntimeTenantBinding of that environment. Both are
// validated together, as Load would validate them. binding is nil for a platform stack.
func DecodeStackDocuments(environment Document, binding *Document) (*Environment, *RuntimeTenantBinding, error) {
	docs := []Document{environment}
	if binding != nil {
		docs = append(docs, *binding)
	}
	s, err := DecodeDocuments(docs...)
	if err != nil {
		return nil, nil, err
	}
	if len(s.Environments) != 1 {
		return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("%s: want exactly one %s document, found %d", environment.Name, KindEnvironment, len(s.Environments)))
	}
	var env *Environment
	for _, e := range s.Environments {
		env = e
	}
	if env.Source.File != environment.Name {
		return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("%s: the %s document came from %s", environment.Name, KindEnvironment, env.Source.File))
	}
	if binding == nil {
		if len(s.Bindings) > 0 {
			return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("%s: a platform stack takes no %s", environment.Name, KindBinding))
		}
		return env, nil, nil
	}
	if len(s.Bindings) != 1 {
		return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("%s: want exactly one %s document, found %d", binding.Name, KindBinding, len(s.Bindings)))
	}
	b := s.Bindings[0]
	if b.Source.File != binding.Name {
		return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("%s: the %s document came from %s", binding.Name, KindBinding, b.Source.File))
	}
	return env, b, nil
}
