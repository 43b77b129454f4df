package detect

import (
	"fmt"
	"regexp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// generatedKinds are written by Kubernetes itself and never reported as unmanaged.
var generatedKinds = map[schema.GroupKind]bool{
	{Kind: "Event"}:                                    true,
	{Group: "events.k8s.io", Kind: "Event"}:            true,
	{Group: "coordination.k8s.io", Kind: "Lease"}:      true,
	{Kind: "Endpoints"}:                                true,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}: true,
	{Group: "apps", Kind: "ControllerRevision"}:        true,
	// Nodes register themselves (kubelet, the cloud's node pools); a silo's carry its tenant
	// label, and reachability reads them from the same snapshot.
	{Kind: "Node"}: true,
}

const (
	rootCAConfigMap     = "kube-root-ca.crt"
	defaultSA           = "default"
	annotationSAName    = "kubernetes.io/service-account.name"
	secretTypeSAToken   = "kubernetes.io/service-account-token"
	statefulSetKind     = "StatefulSet"
	persistentClaimKind = "PersistentVolumeClaim"
)

// stsClaim matches the claims a StatefulSet creates from its volumeClaimTemplates:
// <template>-<statefulset>-<ordinal>.
var stsClaim = regexp.MustCompile(`^(.+)-(\d+)$`)

// unmanaged reports every object in a tenant scope that no stack manages, except what
// Kubernetes creates itself (see generated).
func (d *Detector) unmanaged(lv *live, sc *scope) []finding.Finding {
	var out []finding.Finding
	for u, tenant := range lv.inTenantScopes(sc) {
		key := inventory.KeyOf(u)
		if d.desired.Manages(key) || d.generated(u, lv) {
			continue
		}
		res := liveResource(u)
		owner := "tenant " + tenant
		if tenant == isolation.Platform {
			owner = "the platform"
		}
		out = append(out, finding.Finding{
			Kind: finding.KindUnmanagedResource, TenantID: tenant, Environment: sc.env, Resource: res,
			Detector: finding.DetectorFastPath,
			Message:  fmt.Sprintf("%s %s is in the scope of %s but no stack manages it", u.GetKind(), res.ID, owner),
			Evidence: scopeEvidence(u, sc),
		})
	}
	return out
}

func liveResource(u *unstructured.Unstructured) finding.Resource {
	id := u.GetName()
	if u.GetNamespace() != "" {
		id = u.GetNamespace() + "/" + u.GetName()
	}
	return finding.Resource{Provider: finding.ProviderKubernetes, Type: inventory.TypeString(u.GroupVersionKind()),
		Namespace: u.GetNamespace(), Name: u.GetName(), ID: id}
}

func scopeEvidence(u *unstructured.Unstructured, sc *scope) []string {
	ns := u.GetNamespace()
	if u.GetKind() == "Namespace" {
		ns = u.GetName()
	}
	var ev []string
	switch {
	case ns == "":
		ev = append(ev, "cluster-scoped, labelled with tenant "+u.GetLabels()[tenantplan.LabelTenant])
	case ns == sc.shared && u.GetLabels()[tenantplan.LabelTenant] != "":
		ev = append(ev, "in the shared namespace "+ns+", labelled with tenant "+u.GetLabels()[tenantplan.LabelTenant])
	default:
		ev = append(ev, "in namespace "+ns)
	}
	return append(ev, "no stack's state holds "+inventory.KeyOf(u).String())
}

// generated reports objects Kubernetes (or a managed object's controller) created:
//   - Events, Leases, Endpoints, EndpointSlices, ControllerRevisions;
//   - the kube-root-ca.crt ConfigMap and the default ServiceAccount of every namespace;
//   - ServiceAccount token Secrets (annotated kubernetes.io/service-account.name, or of type
//     kubernetes.io/service-account-token);
//   - objects a workload controller created from an owner that is managed or itself in the
//     snapshot (a Deployment's ReplicaSets, a ReplicaSet's Pods, a CronJob's Jobs, a Job's Pods;
//     any child of a custom resource): the owner is judged instead (see ownerKnown);
//   - PersistentVolumeClaims of a StatefulSet's volumeClaimTemplates
//     (<template>-<statefulset>-<ordinal>) when the StatefulSet is in the snapshot or managed.
func (d *Detector) generated(u *unstructured.Unstructured, lv *live) bool {
	gk := u.GroupVersionKind().GroupKind()
	if generatedKinds[gk] {
		return true
	}
	if gk.Group == "" {
		switch gk.Kind {
		case "ConfigMap":
			if u.GetName() == rootCAConfigMap {
				return true
			}
		case "ServiceAccount":
			if u.GetName() == defaultSA {
				return true
			}
		case "Secret":
			if u.GetAnnotations()[annotationSAName] != "" {
				return true
			}
			if t, _, _ := unstructured.NestedString(u.Object, "type"); t == secretTypeSAToken {
				return true
			}
		case persistentClaimKind:
			if d.statefulSetClaim(u, lv.byKey) {
				return true
			}
		}
	}
	for _, ref := range u.GetOwnerReferences() {
		if d.ownerKnown(u, ref, lv) {
			return true
		}
	}
	return false
}

// generatedBy lists what built-in controllers create from their objects. Only these
// owner/child pairs, and children of custom resources, are trusted as generated: anyone who can
// create an object can also give it an ownerReference, so a NetworkPolicy "owned" by a managed
// Deployment is still reported.
var generatedBy = map[schema.GroupKind][]schema.GroupKind{
	{Group: "apps", Kind: "Deployment"}:  {{Group: "apps", Kind: "ReplicaSet"}},
	{Group: "apps", Kind: "ReplicaSet"}:  {{Kind: "Pod"}},
	{Group: "apps", Kind: "StatefulSet"}: {{Kind: "Pod"}, {Kind: persistentClaimKind}},
	{Group: "apps", Kind: "DaemonSet"}:   {{Kind: "Pod"}},
	{Group: "batch", Kind: "Job"}:        {{Kind: "Pod"}},
	{Group: "batch", Kind: "CronJob"}:    {{Group: "batch", Kind: "Job"}},
	{Kind: "ReplicationController"}:      {{Kind: "Pod"}},
}

// builtinGroups are API groups served by Kubernetes itself; any other group is a custom resource,
// whose operator may create children of any kind.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "networking.k8s.io": true, "rbac.authorization.k8s.io": true,
	"policy": true, "scheduling.k8s.io": true, "discovery.k8s.io": true, "coordination.k8s.io": true,
	"storage.k8s.io": true, "autoscaling": true, "admissionregistration.k8s.io": true, "events.k8s.io": true,
	"node.k8s.io": true, "certificates.k8s.io": true, "resource.k8s.io": true,
}

// ownerKnown reports whether ref makes u a generated object: ref names an owner that can create
// u's kind (see generatedBy; any kind for a custom resource) and that owner is in the snapshot
// (by uid) or managed (by key). An owner of a built-in type the snapshot did not list is taken on
// trust for the pairs of generatedBy, since it cannot be checked.
func (d *Detector) ownerKnown(u *unstructured.Unstructured, ref metav1.OwnerReference, lv *live) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false
	}
	ownerGK := gv.WithKind(ref.Kind).GroupKind()
	if builtinGroups[ownerGK.Group] && !slices.Contains(generatedBy[ownerGK], u.GroupVersionKind().GroupKind()) {
		return false
	}
	if owner, ok := lv.byUID[string(ref.UID)]; ok && ref.UID != "" {
		return owner.GroupVersionKind().GroupKind() == ownerGK
	}
	ns := u.GetNamespace()
	// owners are in the same namespace, or cluster-scoped
	for _, k := range []inventory.Key{{Group: ownerGK.Group, Kind: ownerGK.Kind, Namespace: ns, Name: ref.Name}, {Group: ownerGK.Group, Kind: ownerGK.Kind, Name: ref.Name}} {
		if owner, ok := lv.byKey[k]; ok {
			// present under this name but another uid: the reference is stale or forged
			return ref.UID == "" || owner.GetUID() == "" || owner.GetUID() == ref.UID
		}
		if d.desired.Manages(k) {
			return true
		}
	}
	return builtinGroups[ownerGK.Group] && !lv.snap.Covers(ownerGK, ns)
}

func (d *Detector) statefulSetClaim(u *unstructured.Unstructured, idx map[inventory.Key]*unstructured.Unstructured) bool {
	m := stsClaim.FindStringSubmatch(u.GetName())
	if m == nil {
		return false
	}
	prefix := m[1] // <template>-<statefulset>
	for k, sts := range idx {
		if k.Group != "apps" || k.Kind != statefulSetKind || k.Namespace != u.GetNamespace() {
			continue
		}
		if claimOf(sts, prefix) {
			return true
		}
	}
	for _, r := range d.desired.resources {
		if r.GVK.Group != "apps" || r.GVK.Kind != statefulSetKind || r.Namespace != u.GetNamespace() {
			continue
		}
		desired := &unstructured.Unstructured{Object: map[string]any{"spec": r.Inputs["spec"]}}
		desired.SetName(r.Name)
		if claimOf(desired, prefix) {
			return true
		}
	}
	return false
}

// claimOf reports whether prefix is "<template>-<name>" for one of the StatefulSet's templates.
func claimOf(sts *unstructured.Unstructured, prefix string) bool {
	name := sts.GetName()
	templates, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
	for _, t := range templates {
		tm, _ := t.(map[string]any)
		meta, _ := tm["metadata"].(map[string]any)
		if tn, _ := meta["name"].(string); tn != "" && name != "" && prefix == tn+"-"+name {
			return true
		}
	}
	return false
}
