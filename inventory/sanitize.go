package inventory

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastApplied is kubectl's copy of the applied manifest; for a Secret it holds the secret data.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// secretKeep are the only top-level fields of a Kubernetes Secret a snapshot keeps.
var secretKeep = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "type": true, "immutable": true}

// IsSecret reports whether u is a core Kubernetes Secret.
func IsSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// Sanitize removes every secret value from a Kubernetes object in place: a Secret keeps only its
// metadata, type and immutable flag, and loses kubectl's last-applied-configuration annotation
// (which repeats its data). Readers call it on every object, live or from a file, so a snapshot
// never holds a secret value even when the input file did.
func Sanitize(u *unstructured.Unstructured) {
	if !IsSecret(u) {
		return
	}
	for k := range u.Object {
		if !secretKeep[k] {
			delete(u.Object, k)
		}
	}
	if ann := u.GetAnnotations(); ann != nil {
		if _, ok := ann[lastApplied]; ok {
			delete(ann, lastApplied)
			if len(ann) == 0 {
				ann = nil
			}
			u.SetAnnotations(ann)
		}
	}
}

// sanitizeAzure removes a Key Vault secret's value should an input carry one (ARM does not return
// it, but a hand-assembled file might).
func sanitizeAzure(r *AzureResource) {
	if !strings.EqualFold(r.Type, "Microsoft.KeyVault/vaults/secrets") || r.Properties == nil {
		return
	}
	if _, ok := r.Properties["value"]; !ok {
		return
	}
	delete(r.Properties, "value")
	// MarshalJSON lays the (now value-less) properties over Raw, so the value leaves Raw too.
	b, err := r.MarshalJSON()
	if err != nil {
		b = nil
	}
	r.Raw = b
}
