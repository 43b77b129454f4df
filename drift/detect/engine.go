package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/secretclass"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// StepSource says which engine operation produced step events.
type StepSource string

const (
	// SourceRefresh: a (preview-only) refresh; Old is the recorded state, New what the provider
	// read back. Differences between their outputs are drift the provider did notice.
	SourceRefresh StepSource = "refresh"
	// SourcePreview: a preview (with --refresh); Old is the (refreshed) state, New the program's
	// planned state. Planned updates are drift between Git and the live resource.
	SourcePreview StepSource = "preview"
)

// EngineFindings turns the step events of one stack's refresh or preview into findings (detector
// "engine"):
//   - refresh: a resource gone is missing-resource; an update is compared output by output
//     (old vs new, both ways) and each differing field is managed-drift;
//   - preview: a create is missing-resource (the program declares what no longer exists); an
//     update or replace gives one managed-drift per path of the detailed diff (else per top-level
//     key), desired from the new inputs, live from the old outputs; a delete is managed-drift on
//     the whole resource (the state holds what the desired state no longer declares).
//
// Only Kubernetes and Azure resources count; providers, components and the stack are skipped.
// Values pass through finding.Value (redacted).
func EngineFindings(stack string, source StepSource, steps []apitype.StepEventMetadata) ([]finding.Finding, error) {
	id, err := tenantplan.ParseStackName(stack)
	if err != nil {
		return nil, fmt.Errorf("engine findings: %w", err)
	}
	var out []finding.Finding
	for _, st := range steps {
		res, ok := stepResource(st)
		if !ok {
			continue
		}
		base := finding.Finding{TenantID: id.Owner(), Environment: id.Environment, Stack: stack, Resource: res,
			Detector: finding.DetectorEngine}
		var fs []finding.Finding
		switch source {
		case SourceRefresh:
			fs, err = refreshFindings(base, st)
		case SourcePreview:
			fs, err = previewFindings(base, st)
		default:
			return nil, fmt.Errorf("engine findings: unknown step source %q", source)
		}
		if err != nil {
			return nil, fmt.Errorf("engine findings of %s, %s: %w", stack, st.URN, err)
		}
		out = append(out, fs...)
	}
	for i := range out {
		out[i] = out[i].Normalize()
	}
	SortFindings(out)
	return out, nil
}

func refreshFindings(base finding.Finding, st apitype.StepEventMetadata) ([]finding.Finding, error) {
	switch {
	case st.Op == apitype.OpSame || st.Op == apitype.OpRead:
		return nil, nil
	case st.Old != nil && (st.New == nil || st.Op == apitype.OpDelete):
		f := base
		f.Kind = finding.KindMissingResource
		f.Message = fmt.Sprintf("%s is in the stack's state but the provider no longer finds it", base.Resource.Ref())
		return []finding.Finding{f}, nil
	case st.Old == nil || st.New == nil:
		return nil, nil
	}
	secret := isSecretResource(base.Resource)
	opts := compareOptions{skip: skipField(secret)}
	diffs := diffFields(st.Old.Outputs, st.New.Outputs, opts)
	seen := map[string]bool{}
	for _, df := range diffs {
		seen[df.path.String()] = true
	}
	// fields that appeared: walk the new outputs against the old ones
	for _, df := range diffFields(st.New.Outputs, st.Old.Outputs, opts) {
		if df.present || seen[df.path.String()] {
			continue
		}
		diffs = append(diffs, fieldDiff{path: df.path, live: df.desired, present: true})
	}
	var out []finding.Finding
	for _, df := range diffs {
		f, err := fieldFinding(base, df.path.String(), df.desired, df.desired != nil, df.live, df.present)
		if err != nil {
			return nil, err
		}
		f.Message = fmt.Sprintf("%s: refresh found %s changed outside the stack", base.Resource.Ref(), f.Field)
		out = append(out, f)
	}
	return out, nil
}

func previewFindings(base finding.Finding, st apitype.StepEventMetadata) ([]finding.Finding, error) {
	switch st.Op {
	case apitype.OpCreate:
		f := base
		f.Kind = finding.KindMissingResource
		f.Message = fmt.Sprintf("%s is declared but does not exist: the next apply creates it", base.Resource.Ref())
		return []finding.Finding{f}, nil
	case apitype.OpDelete:
		f := base
		f.Kind = finding.KindManagedDrift
		f.Message = fmt.Sprintf("%s is in the stack but no longer in the desired state: the next apply deletes it", base.Resource.Ref())
		return []finding.Finding{f}, nil
	case apitype.OpUpdate, apitype.OpReplace:
	default:
		return nil, nil
	}
	var oldInputs, oldOutputs, newInputs map[string]any
	if st.Old != nil {
		oldInputs, oldOutputs = st.Old.Inputs, st.Old.Outputs
	}
	if st.New != nil {
		newInputs = st.New.Inputs
	}
	type change struct {
		path     string
		inputSrc bool
	}
	var changes []change
	if len(st.DetailedDiff) > 0 {
		for p, d := range st.DetailedDiff {
			changes = append(changes, change{p, d.InputDiff})
		}
	} else {
		for _, k := range st.Diffs {
			changes = append(changes, change{k, false})
		}
	}
	slices.SortFunc(changes, func(a, b change) int { return strings.Compare(a.path, b.path) })
	var out []finding.Finding
	for _, c := range changes {
		pp, err := resource.ParsePropertyPath(c.path)
		if err != nil {
			return nil, fmt.Errorf("diff path %q: %w", c.path, err)
		}
		field := propertyPathString(pp)
		desired, hasDesired := getPath(newInputs, pp)
		liveSrc := oldOutputs
		if c.inputSrc {
			liveSrc = oldInputs
		}
		live, hasLive := getPath(liveSrc, pp)
		f, err := fieldFinding(base, field, desired, hasDesired, live, hasLive)
		if err != nil {
			return nil, err
		}
		f.Message = fmt.Sprintf("%s: the next apply changes %s", base.Resource.Ref(), field)
		if st.Op == apitype.OpReplace {
			f.Message = fmt.Sprintf("%s: the next apply replaces the resource to change %s", base.Resource.Ref(), field)
		}
		out = append(out, f)
	}
	return out, nil
}

func fieldFinding(base finding.Finding, field string, desired any, hasDesired bool, live any, hasLive bool) (finding.Finding, error) {
	f := base
	f.Kind = finding.KindManagedDrift
	f.Field = field
	var err error
	if hasDesired {
		if f.Desired, err = finding.Value(f.Resource, field, desired); err != nil {
			return f, fmt.Errorf("desired %s: %w", field, err)
		}
	}
	if hasLive {
		if f.Live, err = finding.Value(f.Resource, field, live); err != nil {
			return f, fmt.Errorf("live %s: %w", field, err)
		}
	}
	return f, nil
}

// getPath reads a property path ("spec.policyTypes[1]", `metadata.labels["app.kubernetes.io/name"]`)
// from plain event maps.
func getPath(m map[string]any, pp resource.PropertyPath) (any, bool) {
	var cur any = m
	for _, el := range pp {
		switch k := el.(type) {
		case string:
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = mm[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := cur.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil, false
			}
			cur = l[k]
		default:
			return nil, false
		}
	}
	return cur, m != nil
}

// propertyPathString renders a Pulumi property path in the report's field syntax.
func propertyPathString(pp resource.PropertyPath) string {
	var p path
	for _, el := range pp {
		switch k := el.(type) {
		case string:
			p = p.Field(k)
		case int:
			p = p.At(k)
		}
	}
	return p.String()
}

// isSecretResource asks the project's one classifier, so an Azure Key Vault secret's value is
// skipped here as a Kubernetes Secret's data is.
func isSecretResource(r finding.Resource) bool {
	return secretclass.IsSecretResourceType(r.Type)
}

// stepResource identifies the resource of a step; ok is false for what is not a Kubernetes or
// Azure resource.
func stepResource(st apitype.StepEventMetadata) (finding.Resource, bool) {
	state := st.New
	if state == nil {
		state = st.Old
	}
	typ := st.Type
	if typ == "" && state != nil {
		typ = state.Type
	}
	urn := st.URN
	var id string
	var props []map[string]any
	if state != nil {
		id = state.ID
		props = []map[string]any{state.Outputs, state.Inputs}
		if st.Old != nil && st.New != nil && id == "" {
			id = st.Old.ID
		}
	}
	switch {
	case strings.HasPrefix(typ, "kubernetes:"):
		gvk, _, ok := GVKFromType(typ)
		if !ok {
			return finding.Resource{}, false
		}
		ns, name := "", ""
		for _, p := range props {
			meta, _ := p["metadata"].(map[string]any)
			if n, _ := meta["name"].(string); n != "" {
				name = n
				ns, _ = meta["namespace"].(string)
				break
			}
		}
		if name == "" {
			ns, name = splitID(id)
		}
		if name == "" {
			ns, name = splitID(resource.URN(urn).Name())
		}
		return managedResource(ManagedResource{GVK: gvk, Namespace: ns, Name: name, URN: urn}), true
	case strings.HasPrefix(typ, "azure-native:") || strings.HasPrefix(typ, "azure:"):
		name := resource.URN(urn).Name()
		if id != "" {
			name = id[strings.LastIndex(id, "/")+1:]
		}
		return finding.Resource{Provider: finding.ProviderAzure, Type: typ, Name: name, ID: id, URN: urn}, true
	}
	return finding.Resource{}, false
}
