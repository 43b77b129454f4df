package detect

import (
	"fmt"
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

// podSpecPaths locate the pod spec of every workload kind whose images are checked.
var podSpecPaths = map[schema.GroupKind][]string{
	{Kind: "Pod"}:                        {"spec"},
	{Kind: "ReplicationController"}:      {"spec", "template", "spec"},
	{Group: "apps", Kind: "Deployment"}:  {"spec", "template", "spec"},
	{Group: "apps", Kind: "StatefulSet"}: {"spec", "template", "spec"},
	{Group: "apps", Kind: "DaemonSet"}:   {"spec", "template", "spec"},
	{Group: "apps", Kind: "ReplicaSet"}:  {"spec", "template", "spec"},
	{Group: "batch", Kind: "Job"}:        {"spec", "template", "spec"},
	{Group: "batch", Kind: "CronJob"}:    {"spec", "jobTemplate", "spec", "template", "spec"},
}

var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

// container is one container of a workload, with the path of its image field.
type container struct {
	list, name, image string
	field             string
}

func containersOf(u *unstructured.Unstructured) ([]container, bool) {
	specPath, ok := podSpecPaths[u.GroupVersionKind().GroupKind()]
	if !ok {
		return nil, false
	}
	var out []container
	base := path(nil)
	for _, f := range specPath {
		base = base.Field(f)
	}
	for _, list := range containerLists {
		items, _, _ := unstructured.NestedSlice(u.Object, append(specPath, list)...)
		for i, it := range items {
			m, _ := it.(map[string]any)
			name, _ := m["name"].(string)
			image, _ := m["image"].(string)
			p := base.Field(list)
			if name != "" {
				p = p.Item([]fieldpath.Key{{Name: "name", Value: name}})
			} else {
				p = p.At(i)
			}
			out = append(out, container{list: list, name: name, image: image, field: p.Field("image").String()})
		}
	}
	return out, true
}

// images reports, for pods and pod templates in tenant scopes, images from registries the
// environment does not trust (untrusted-image, high) and images not pinned by digest
// (unpinned-image, medium; high in a production environment). An object created by a
// controller from a template in the snapshot (a Deployment's ReplicaSet, a ReplicaSet's Pod) is
// only reported for containers whose image differs from its owner's template: the owner carries
// the finding.
func (d *Detector) images(lv *live, sc *scope) []finding.Finding {
	var out []finding.Finding
	for u, tenant := range lv.inTenantScopes(sc) {
		containers, ok := containersOf(u)
		if !ok {
			continue
		}
		inherited := ownerImages(u, lv)
		res := liveResource(u)
		stack := ""
		if ms := d.desired.lookup(inventory.KeyOf(u)); len(ms) > 0 {
			stack, res.URN = ms[0].Stack, ms[0].URN
		}
		for _, c := range containers {
			if img, ok := inherited[c.list+"/"+c.name]; ok && img == c.image && c.name != "" {
				continue
			}
			out = append(out, d.imageFindings(u, res, tenant, stack, c)...)
		}
	}
	return out
}

func (d *Detector) imageFindings(u *unstructured.Unstructured, res finding.Resource, tenant, stack string, c container) []finding.Finding {
	base := finding.Finding{TenantID: tenant, Environment: d.env.Name(), Stack: stack, Resource: res, Field: c.field,
		Detector: finding.DetectorFastPath}
	base.Live, _ = finding.Value(res, c.field, c.image) // a string always marshals
	what := fmt.Sprintf("%s %s container %s", u.GetKind(), res.ID, c.name)
	trusted := d.env.Spec.TrustedRegistries
	ref, err := ParseImage(c.image)
	if err != nil {
		f := base
		f.Kind = finding.KindUntrustedImage
		f.Message = what + ": the image reference cannot be parsed, so its registry cannot be verified"
		f.Evidence = []string{err.Error()}
		return []finding.Finding{f}
	}
	var out []finding.Finding
	if !ref.TrustedBy(trusted) {
		f := base
		f.Kind = finding.KindUntrustedImage
		f.Message = fmt.Sprintf("%s: image is pulled from %s, which is not a trusted registry", what, ref.Registry)
		f.Evidence = []string{"registry " + ref.Registry, "trustedRegistries: " + strings.Join(trusted, ", ")}
		out = append(out, f)
	}
	if !ref.Pinned() {
		f := base
		f.Kind = finding.KindUnpinnedImage
		if d.env.Spec.Production {
			f.Severity = finding.SeverityHigh
		}
		f.Message = fmt.Sprintf("%s: image %s/%s is referenced by tag %s, not by digest", what, ref.Registry, ref.Repository, ref.Tag)
		out = append(out, f)
	}
	return out
}

// ownerImages returns the images of the template of u's controller owner, by "list/name",
// when that owner is in the snapshot.
func ownerImages(u *unstructured.Unstructured, lv *live) map[string]string {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		owner := lv.byUID[string(ref.UID)]
		if owner == nil || ref.UID == "" {
			gv, err := schema.ParseGroupVersion(ref.APIVersion)
			if err != nil {
				continue
			}
			owner = lv.byKey[inventory.Key{Group: gv.Group, Kind: ref.Kind, Namespace: u.GetNamespace(), Name: ref.Name}]
		}
		if owner == nil {
			continue
		}
		cs, ok := containersOf(owner)
		if !ok {
			continue
		}
		out := map[string]string{}
		for _, c := range cs {
			out[c.list+"/"+c.name] = c.image
		}
		return out
	}
	return nil
}
