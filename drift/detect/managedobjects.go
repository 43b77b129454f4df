package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// ManagedResource is one Kubernetes object a stack manages, as its last recorded state has it.
type ManagedResource struct {
	Stack       string
	TenantID    string // isolation.Platform for platform stacks
	Environment string
	URN         string
	// Type is the Pulumi type token ("kubernetes:networking.k8s.io/v1:NetworkPolicy").
	Type      string
	GVK       schema.GroupVersionKind
	Namespace string
	Name      string
	// ID is the provider id: "namespace/name", or "name" for cluster-scoped objects.
	ID string
	// Inputs are the desired fields as the program declared them; Outputs the object as the
	// provider last saw it.
	Inputs  map[string]any
	Outputs map[string]any
	// Patch: a *Patch resource, which manages only the fields it sets on an object it does not own.
	Patch bool
	// External: read with Get, referenced but not managed; never compared.
	External bool
}

// Key is the object's inventory key.
func (m ManagedResource) Key() inventory.Key {
	return inventory.Key{Group: m.GVK.Group, Kind: m.GVK.Kind, Namespace: m.Namespace, Name: m.Name}
}

// Managed is every Kubernetes object the stacks of an environment manage.
type Managed struct {
	resources []ManagedResource
	byKey     map[inventory.Key][]int
}

// NewManaged returns an empty set; add stacks with AddStack.
func NewManaged() *Managed { return &Managed{byKey: map[inventory.Key][]int{}} }

// AddStack adds the Kubernetes resources of one stack's state (automation.Engine.Export gives
// Deployment.Resources). The stack name says whose they are: tenant.<id>.<env> or platform.<env>.
// Components, providers, resources pending deletion and non-Kubernetes resources are skipped.
func (d *Managed) AddStack(stack string, resources []apitype.ResourceV3) error {
	id, err := tenantplan.ParseStackName(stack)
	if err != nil {
		return fmt.Errorf("desired state: %w", err)
	}
	tenant := id.Owner()
	for _, r := range resources {
		if !r.Custom || r.Delete {
			continue
		}
		gvk, patch, ok := GVKFromType(string(r.Type))
		if !ok {
			continue
		}
		ns, name := objectName(r)
		if name == "" {
			return fmt.Errorf("desired state of %s: %s has no name", stack, r.URN)
		}
		m := ManagedResource{
			Stack: stack, TenantID: tenant, Environment: id.Environment,
			URN: string(r.URN), Type: string(r.Type), GVK: gvk, Namespace: ns, Name: name, ID: string(r.ID),
			Inputs: r.Inputs, Outputs: r.Outputs, Patch: patch, External: r.External,
		}
		d.byKey[m.Key()] = append(d.byKey[m.Key()], len(d.resources))
		d.resources = append(d.resources, m)
	}
	return nil
}

// Resources lists every managed resource in the order added.
func (d *Managed) Resources() []ManagedResource { return slices.Clone(d.resources) }

// Manages reports whether any stack manages (or patches or reads) the object with key k.
func (d *Managed) Manages(k inventory.Key) bool { return len(d.byKey[k]) > 0 }

// Lookup returns the resources for key k: normally one, more when a stack patches an object
// another stack owns.
func (d *Managed) Lookup(k inventory.Key) []ManagedResource {
	var out []ManagedResource
	for _, i := range d.byKey[k] {
		out = append(out, d.resources[i])
	}
	return out
}

// lookup is Lookup without the copy of a nil Managed.
func (d *Managed) lookup(k inventory.Key) []ManagedResource {
	if d == nil {
		return nil
	}
	return d.Lookup(k)
}

// nonObjectModules are pulumi-kubernetes type modules that are not API objects (components and
// Helm releases).
var nonObjectModules = []string{"yaml", "yaml/v2", "kustomize", "kustomize/v2", "helm.sh/v3", "helm.sh/v4"}

// GVKFromType maps a pulumi-kubernetes type token to the object's GVK:
// "kubernetes:core/v1:ConfigMap" is v1 ConfigMap, "kubernetes:networking.k8s.io/v1:NetworkPolicy"
// is networking.k8s.io/v1 NetworkPolicy, and "...:NamespacePatch" is a Namespace patch. ok is false
// for other providers, components, Helm releases and *List types.
func GVKFromType(token string) (gvk schema.GroupVersionKind, patch, ok bool) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" || slices.Contains(nonObjectModules, parts[1]) {
		return schema.GroupVersionKind{}, false, false
	}
	group, version, found := strings.Cut(parts[1], "/")
	if !found || version == "" || strings.Contains(version, "/") {
		return schema.GroupVersionKind{}, false, false
	}
	if group == "core" {
		group = ""
	}
	kind := parts[2]
	if strings.HasSuffix(kind, "List") {
		return schema.GroupVersionKind{}, false, false
	}
	if k, isPatch := strings.CutSuffix(kind, "Patch"); isPatch && k != "" {
		kind, patch = k, true
	}
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}, patch, kind != ""
}

// objectName takes namespace and name from the outputs (what the provider created, including
// auto-names), else the provider id, else the inputs.
func objectName(r apitype.ResourceV3) (ns, name string) {
	for _, props := range []map[string]any{r.Outputs, r.Inputs} {
		meta, _ := props["metadata"].(map[string]any)
		if n, _ := meta["name"].(string); n != "" {
			ns, _ = meta["namespace"].(string)
			if ns == "" && r.ID != "" {
				ns, _ = splitID(string(r.ID))
			}
			return ns, n
		}
	}
	return splitID(string(r.ID))
}

func splitID(id string) (ns, name string) {
	if n, rest, ok := strings.Cut(id, "/"); ok {
		return n, rest
	}
	return "", id
}
