package inventory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Write writes snap as one combined JSON document (apiVersion inventory.tenantctl.io/v1, kind
// Snapshot) that Read reads back: the Kubernetes objects as a List, the Azure resources as an
// array of ARM JSON. Objects are sorted (by group, kind, namespace, name; resources by id) so two
// exports of the same state are byte-identical; Secrets are sanitized first.
func Write(w io.Writer, snap *Snapshot) error {
	b, err := marshalCombined(snap)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}

// WriteYAML writes the same document as Write, as YAML.
func WriteYAML(w io.Writer, snap *Snapshot) error {
	b, err := marshalCombined(snap)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return fmt.Errorf("write inventory: YAML: %w", err)
	}
	if _, err := w.Write(y); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}

func marshalCombined(snap *Snapshot) ([]byte, error) {
	objs := make([]any, 0, len(snap.Kubernetes))
	for _, u := range sortedObjects(snap.Kubernetes) {
		c := u.DeepCopy()
		Sanitize(c)
		objs = append(objs, c.Object)
	}
	azure := slices.Clone(snap.Azure)
	slices.SortStableFunc(azure, func(a, b AzureResource) int {
		return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
	})
	for i := range azure {
		sanitizeAzure(&azure[i])
	}
	list, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": objs})
	if err != nil {
		return nil, fmt.Errorf("write inventory: kubernetes: %w", err)
	}
	az, err := json.Marshal(azure)
	if err != nil {
		return nil, fmt.Errorf("write inventory: azure: %w", err)
	}
	c := combined{APIVersion: APIVersion, Kind: Kind, Kubernetes: list, Azure: az}
	if snap.Coverage != nil {
		cov := Coverage{Types: slices.Sorted(slices.Values(snap.Coverage.Types)), AllNamespaces: snap.Coverage.AllNamespaces}
		if len(snap.Coverage.Namespaces) > 0 {
			cov.Namespaces = slices.Sorted(slices.Values(snap.Coverage.Namespaces))
		}
		c.Coverage = &cov
	}
	if !snap.CollectedAt.IsZero() {
		t := snap.CollectedAt.UTC()
		c.CollectedAt = &t
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write inventory: %w", err)
	}
	return b, nil
}

func sortedObjects(in []unstructured.Unstructured) []unstructured.Unstructured {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b unstructured.Unstructured) int {
		ka, kb := KeyOf(&a), KeyOf(&b)
		return cmp.Or(strings.Compare(ka.Group, kb.Group), strings.Compare(ka.Kind, kb.Kind),
			strings.Compare(ka.Namespace, kb.Namespace), strings.Compare(ka.Name, kb.Name))
	})
	return out
}
