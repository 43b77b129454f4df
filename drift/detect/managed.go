package detect

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

// serverMetadata are metadata fields the API server sets; desired inputs never own them.
var serverMetadata = map[string]bool{
	"name": true, "namespace": true, "resourceVersion": true, "uid": true, "generation": true,
	"creationTimestamp": true, "deletionTimestamp": true, "deletionGracePeriodSeconds": true,
	"managedFields": true, "selfLink": true,
}

// skipField is what the live comparison never looks at: apiVersion and kind (matched already),
// status, server-set metadata, the provider's own pulumi.com/ annotations, and everything of a
// Secret but its metadata, which is all the inventory reads.
func skipField(secret bool) func(p path) bool {
	return func(p path) bool {
		if len(p) == 0 {
			return false
		}
		root := p[0].Field
		switch {
		case len(p) == 1 && (root == "apiVersion" || root == "kind" || root == "status"):
			return true
		case secret && len(p) == 1 && root != "metadata":
			// only a Secret's metadata is ever read (data, stringData, type, immutable are not)
			return true
		case root == "metadata" && len(p) == 2 && serverMetadata[p[1].Field]:
			return true
		case root == "metadata" && len(p) == 3 && p[1].Field == "annotations" && strings.HasPrefix(p[2].Field, "pulumi.com/"):
			return true
		}
		return false
	}
}

// managedDrift compares every managed object with its live counterpart. Only fields the inputs
// set are compared; a differing field owned (per managedFields) by a manager that is not the
// stack's is a field-conflict naming that manager, any other difference managed-drift. A managed
// object absent from a snapshot that looked for it is a missing-resource.
func (d *Detector) managedDrift(lv *live) ([]finding.Finding, error) {
	snap, idx := lv.snap, lv.byKey
	var out []finding.Finding
	for _, m := range d.desired.resources {
		if m.External || m.Environment != d.env.Name() {
			continue
		}
		res := managedResource(m)
		live, ok := idx[m.Key()]
		if !ok {
			if snap.Covers(m.GVK.GroupKind(), m.Namespace) {
				out = append(out, finding.Finding{
					Kind: finding.KindMissingResource, TenantID: m.TenantID, Environment: m.Environment, Stack: m.Stack,
					Resource: res, Detector: finding.DetectorLive,
					Message: fmt.Sprintf("%s %s is managed by stack %s but does not exist", m.GVK.Kind, res.ID, m.Stack),
				})
			}
			continue
		}
		fs, err := d.compareObject(m, res, live)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func managedResource(m ManagedResource) finding.Resource {
	id := m.Name
	if m.Namespace != "" {
		id = m.Namespace + "/" + m.Name
	}
	return finding.Resource{Provider: finding.ProviderKubernetes, Type: inventory.TypeString(m.GVK),
		Namespace: m.Namespace, Name: m.Name, ID: id, URN: m.URN}
}

func (d *Detector) compareObject(m ManagedResource, res finding.Resource, live *unstructured.Unstructured) ([]finding.Finding, error) {
	secret := m.GVK.Group == "" && m.GVK.Kind == "Secret"
	diffs := diffFields(m.Inputs, live.Object, compareOptions{skip: skipField(secret)})
	if len(diffs) == 0 {
		return nil, nil
	}
	owners, ownersErr := ownersOf(live)
	var out []finding.Finding
	for _, df := range diffs {
		field := df.path.String()
		f := finding.Finding{
			Kind: finding.KindManagedDrift, TenantID: m.TenantID, Environment: m.Environment, Stack: m.Stack,
			Resource: res, Field: field, Detector: finding.DetectorLive,
		}
		var err error
		if df.desired != nil {
			if f.Desired, err = finding.Value(res, field, df.desired); err != nil {
				return nil, fmt.Errorf("%s %s: desired %s: %w", m.GVK.Kind, res.ID, field, err)
			}
		}
		if df.present {
			if f.Live, err = finding.Value(res, field, df.live); err != nil {
				return nil, fmt.Errorf("%s %s: live %s: %w", m.GVK.Kind, res.ID, field, err)
			}
		}
		var others []string
		for _, o := range owners.owners(ownershipPath(df.path)) {
			f.Evidence = append(f.Evidence, fmt.Sprintf("managedFields: %s (%s) owns %s", o.manager, o.operation, field))
			if !ownManager(o.manager, d.managers) {
				others = append(others, o.manager)
			}
		}
		switch {
		case ownersErr != nil:
			f.Evidence = append(f.Evidence, "managedFields could not be read: "+ownersErr.Error())
			f.Message = fmt.Sprintf("%s %s: %s differs from the desired value", m.GVK.Kind, res.ID, field)
		case df.desired == nil:
			// an item the stack does not apply (a container added to a managed workload)
			f.Manager = strings.Join(others, ", ")
			f.Message = fmt.Sprintf("%s %s: %s exists live but not in the desired state", m.GVK.Kind, res.ID, field)
		case len(others) > 0:
			f.Kind = finding.KindFieldConflict
			f.Manager = strings.Join(others, ", ")
			f.Message = fmt.Sprintf("%s %s: %s was changed by field manager %s and no longer has the desired value",
				m.GVK.Kind, res.ID, field, f.Manager)
		case !df.present:
			f.Evidence = append(f.Evidence, "no field manager owns "+field)
			f.Message = fmt.Sprintf("%s %s: %s was removed", m.GVK.Kind, res.ID, field)
		default:
			f.Message = fmt.Sprintf("%s %s: %s differs from the desired value", m.GVK.Kind, res.ID, field)
		}
		out = append(out, f)
	}
	return out, nil
}
