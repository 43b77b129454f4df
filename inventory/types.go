// Package inventory is the live (or snapshot) picture of what exists in the tenants' scopes:
// Kubernetes objects exactly as the API returns them and Azure resources as ARM JSON. Drift
// detection and reachability analysis read a Snapshot, whether it came from live APIs or from a
// file written by `tenantctl inventory export`, so audits and tests run offline on the same code.
//
// A Snapshot never holds secret values: Kubernetes Secrets keep their metadata and type only (the
// live reader lists them metadata-only; files are stripped on read), see Sanitize.
package inventory

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Snapshot is one inventory of Kubernetes objects and Azure resources.
type Snapshot struct {
	// CollectedAt is when the live reads finished (zero for hand-written fixtures).
	CollectedAt time.Time
	// Kubernetes objects as returned by the API server (apiVersion, kind, metadata, spec, status).
	Kubernetes []unstructured.Unstructured
	// Azure resources as ARM returns them.
	Azure []AzureResource
	// Coverage says which Kubernetes types and namespaces a live read looked at, so an object
	// absent from the snapshot can be told from an object that was never looked for. Nil when
	// unknown (a List written by kubectl): then a type counts as read when the snapshot holds at
	// least one object of it.
	Coverage *Coverage
}

// Coverage is what a live Kubernetes read covered.
type Coverage struct {
	// Types are the listed types as "apiVersion/Kind" ("networking.k8s.io/v1/NetworkPolicy",
	// "v1/Namespace").
	Types []string `json:"types"`
	// AllNamespaces: namespaced types were listed in every namespace.
	AllNamespaces bool `json:"allNamespaces,omitempty"`
	// Namespaces whose objects were kept when AllNamespaces is false (the tenant scopes).
	Namespaces []string `json:"namespaces,omitempty"`
}

// Key identifies a Kubernetes object independently of the API version it was read at.
type Key struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// KeyOf is the key of a live object.
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// GroupKind is the key's type.
func (k Key) GroupKind() schema.GroupKind { return schema.GroupKind{Group: k.Group, Kind: k.Kind} }

// String is "Kind.group ns/name" (core types have no group): "NetworkPolicy.networking.k8s.io
// t-acme/default-deny".
func (k Key) String() string {
	typ := k.Kind
	if k.Group != "" {
		typ += "." + k.Group
	}
	if k.Namespace == "" {
		return typ + " " + k.Name
	}
	return typ + " " + k.Namespace + "/" + k.Name
}

// TypeString is the "apiVersion/Kind" form used by Coverage and finding.Resource.Type.
func TypeString(gvk schema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + "/" + gvk.Kind
}

// ParseTypeString reverses TypeString.
func ParseTypeString(s string) (schema.GroupVersionKind, bool) {
	i := strings.LastIndex(s, "/")
	if i <= 0 || i == len(s)-1 {
		return schema.GroupVersionKind{}, false
	}
	gv, err := schema.ParseGroupVersion(s[:i])
	if err != nil || gv.Version == "" {
		return schema.GroupVersionKind{}, false
	}
	return gv.WithKind(s[i+1:]), true
}

// Index maps every Kubernetes object of the snapshot by key. The pointers point into
// s.Kubernetes.
func (s *Snapshot) Index() map[Key]*unstructured.Unstructured {
	idx := make(map[Key]*unstructured.Unstructured, len(s.Kubernetes))
	for i := range s.Kubernetes {
		idx[KeyOf(&s.Kubernetes[i])] = &s.Kubernetes[i]
	}
	return idx
}

// Covers reports whether the snapshot looked for objects of type gk in namespace ns ("" for
// cluster-scoped objects), so that an absent object really is absent. An object whose namespace
// itself is absent (and namespaces were listed) is covered: it cannot exist.
func (s *Snapshot) Covers(gk schema.GroupKind, ns string) bool {
	if s.Coverage == nil {
		return slices.ContainsFunc(s.Kubernetes, func(u unstructured.Unstructured) bool {
			return u.GroupVersionKind().GroupKind() == gk
		})
	}
	if !s.Coverage.coversType(gk) {
		return false
	}
	if ns == "" || s.Coverage.AllNamespaces || slices.Contains(s.Coverage.Namespaces, ns) {
		return true
	}
	nsKind := schema.GroupKind{Kind: "Namespace"}
	if !s.Coverage.coversType(nsKind) {
		return false
	}
	return !slices.ContainsFunc(s.Kubernetes, func(u unstructured.Unstructured) bool {
		return u.GroupVersionKind().GroupKind() == nsKind && u.GetName() == ns
	})
}

func (c *Coverage) coversType(gk schema.GroupKind) bool {
	return slices.ContainsFunc(c.Types, func(t string) bool {
		gvk, ok := ParseTypeString(t)
		return ok && gvk.GroupKind() == gk
	})
}

// Merge combines snapshots (several exported files, a Kubernetes List and ARM pages). Objects
// with the same key (and Azure resources with the same id, compared case-insensitively) appear
// once, the later one winning. CollectedAt is the earliest known time, because the snapshot is as
// old as its oldest part. Coverage is kept only when every part that holds Kubernetes objects had
// one.
func Merge(parts ...*Snapshot) *Snapshot {
	out := &Snapshot{}
	kubeIdx := map[Key]int{}
	azureIdx := map[string]int{}
	coverageKnown, sawKube := true, false
	var cov Coverage
	allNS := true
	for _, p := range parts {
		if p == nil {
			continue
		}
		if !p.CollectedAt.IsZero() && (out.CollectedAt.IsZero() || p.CollectedAt.Before(out.CollectedAt)) {
			out.CollectedAt = p.CollectedAt
		}
		for _, u := range p.Kubernetes {
			k := KeyOf(&u)
			if i, ok := kubeIdx[k]; ok {
				out.Kubernetes[i] = u
				continue
			}
			kubeIdx[k] = len(out.Kubernetes)
			out.Kubernetes = append(out.Kubernetes, u)
		}
		for _, r := range p.Azure {
			id := strings.ToLower(r.ID)
			if i, ok := azureIdx[id]; ok {
				out.Azure[i] = r
				continue
			}
			azureIdx[id] = len(out.Azure)
			out.Azure = append(out.Azure, r)
		}
		if p.Coverage == nil {
			if len(p.Kubernetes) > 0 {
				coverageKnown = false
			}
			continue
		}
		sawKube = true
		cov.Types = appendNew(cov.Types, p.Coverage.Types...)
		cov.Namespaces = appendNew(cov.Namespaces, p.Coverage.Namespaces...)
		allNS = allNS && p.Coverage.AllNamespaces
	}
	if coverageKnown && sawKube {
		cov.AllNamespaces = allNS
		if allNS {
			cov.Namespaces = nil
		}
		out.Coverage = &cov
	}
	return out
}

func appendNew(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// AzureResource is one ARM resource. Raw keeps the full JSON so typed decoders (armnetwork
// structs) can read it exactly as Azure shaped it; the other fields are the ARM envelope.
// Unmarshalling fills both; marshalling writes Raw with the envelope fields laid over it, so an
// edited envelope is never lost.
type AzureResource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties map[string]any    `json:"properties,omitempty"`
	Raw        json.RawMessage   `json:"-"`
}
