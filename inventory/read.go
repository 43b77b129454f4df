package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// APIVersion and Kind of the combined snapshot document written by Write.
const (
	APIVersion = "inventory.tenantctl.io/v1"
	Kind       = "Snapshot"
)

// ReadFile reads a snapshot file; see Read for the accepted formats.
func ReadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	defer f.Close()
	s, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", path, err)
	}
	return s, nil
}

// Read reads a snapshot in any of these forms, as one document or several (a JSON stream or
// multi-document YAML), which are merged:
//   - a combined snapshot (apiVersion inventory.tenantctl.io/v1, kind Snapshot), as Write writes it;
//   - a Kubernetes List (kind List or a typed list such as NetworkPolicyList, as `kubectl get -o
//     yaml|json` prints it) or a single Kubernetes object;
//   - an ARM page {"value": [...], "nextLink": ...} or a single ARM resource;
//   - a JSON or YAML array of Kubernetes objects and/or ARM resources (`az resource list`).
//
// Secrets lose their data on the way in (Sanitize).
func Read(r io.Reader) (*Snapshot, error) {
	docs, err := documents(r)
	if err != nil {
		return nil, err
	}
	var parts []*Snapshot
	for i, doc := range docs {
		p, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, errors.New("no document found")
	}
	return Merge(parts...), nil
}

// documents splits the input into JSON documents: a JSON stream is decoded value by value, YAML
// is split at "---" and converted.
func documents(r io.Reader) ([]json.RawMessage, error) {
	br := bufio.NewReader(r)
	first, err := firstNonSpace(br)
	if err == io.EOF {
		return nil, errors.New("input is empty")
	}
	if err != nil {
		return nil, err
	}
	var docs []json.RawMessage
	if first == '{' || first == '[' {
		dec := json.NewDecoder(br)
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				return docs, nil
			}
			if err != nil {
				return nil, fmt.Errorf("document %d: JSON: %w", len(docs)+1, err)
			}
			docs = append(docs, raw)
		}
	}
	yr := utilyaml.NewYAMLReader(br)
	for n := 1; ; n++ {
		doc, err := yr.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		raw, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: YAML: %w", n, err)
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
			continue // empty document between separators or comments only
		}
		docs = append(docs, raw)
	}
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			if _, err := br.ReadByte(); err != nil {
				return 0, err
			}
		case 0xEF: // UTF-8 byte order mark, as some editors write it
			if bom, err := br.Peek(3); err == nil && string(bom) == "\xEF\xBB\xBF" {
				_, _ = br.Discard(3)
				continue
			}
			return b[0], nil
		default:
			return b[0], nil
		}
	}
}

// head is what decides a document's form.
type head struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Items      json.RawMessage `json:"items"`
	Value      json.RawMessage `json:"value"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
}

// isARM: an ARM resource id is a path ("/subscriptions/..."); ARM resources may carry a "kind"
// ("StorageV2") but never a Kubernetes apiVersion.
func (h head) isARM() bool { return strings.HasPrefix(h.ID, "/") && h.APIVersion == "" }

func decodeDocument(raw json.RawMessage) (*Snapshot, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		return decodeArray(raw)
	}
	var h head
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("not a JSON object or array: %w", err)
	}
	switch {
	case h.APIVersion == APIVersion:
		if h.Kind != Kind {
			return nil, fmt.Errorf("kind %q of %s is not %s", h.Kind, APIVersion, Kind)
		}
		return decodeCombined(raw)
	case h.Items != nil && strings.HasSuffix(h.Kind, "List"):
		objs, err := decodeList(raw)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Kubernetes: objs}, nil
	case h.Value != nil && h.Kind == "" && h.APIVersion == "":
		res, err := decodeARMPage(raw)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Azure: res}, nil
	case h.isARM():
		r, err := decodeARM(raw)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Azure: []AzureResource{*r}}, nil
	case h.APIVersion != "" || h.Kind != "":
		u, err := decodeObject(raw)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Kubernetes: []unstructured.Unstructured{*u}}, nil
	case h.ID != "" || h.Type != "":
		r, err := decodeARM(raw)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Azure: []AzureResource{*r}}, nil
	}
	return nil, errors.New("neither a tenantctl snapshot, a Kubernetes List or object, nor an ARM page or resource")
}

// decodeArray reads a list of Kubernetes objects and ARM resources, told apart element by element.
func decodeArray(raw json.RawMessage) (*Snapshot, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, err
	}
	s := &Snapshot{}
	for i, e := range elems {
		var h head
		if err := json.Unmarshal(e, &h); err != nil {
			return nil, fmt.Errorf("item %d: not an object: %w", i, err)
		}
		switch {
		case !h.isARM() && (h.APIVersion != "" || h.Kind != ""):
			u, err := decodeObject(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			s.Kubernetes = append(s.Kubernetes, *u)
		default:
			r, err := decodeARM(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			s.Azure = append(s.Azure, *r)
		}
	}
	return s, nil
}

func decodeObject(raw json.RawMessage) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("kubernetes object: %w", err)
	}
	if err := checkObject(u); err != nil {
		return nil, err
	}
	Sanitize(u)
	return u, nil
}

func checkObject(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "" || u.GetKind() == "":
		return fmt.Errorf("kubernetes object %q: apiVersion and kind are required", u.GetName())
	case strings.HasSuffix(u.GetKind(), "List") && u.Object["items"] != nil:
		return fmt.Errorf("kubernetes object %q: a %s inside a list is not supported", u.GetName(), u.GetKind())
	case u.GetName() == "":
		return fmt.Errorf("kubernetes %s/%s: metadata.name is required", u.GetAPIVersion(), u.GetKind())
	}
	return nil
}

// decodeList reads a List or typed list; items of a typed list may omit apiVersion and kind.
func decodeList(raw json.RawMessage) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	if err := list.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("kubernetes %s: %w", list.GetKind(), err)
	}
	out := make([]unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		u := &list.Items[i]
		if err := checkObject(u); err != nil {
			return nil, fmt.Errorf("%s item %d: %w", list.GetKind(), i, err)
		}
		Sanitize(u)
		out = append(out, *u)
	}
	return out, nil
}

func decodeARMPage(raw json.RawMessage) ([]AzureResource, error) {
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("ARM page: %w", err)
	}
	out := make([]AzureResource, 0, len(page.Value))
	for i, e := range page.Value {
		r, err := decodeARM(e)
		if err != nil {
			return nil, fmt.Errorf("ARM page value %d: %w", i, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

func decodeARM(raw json.RawMessage) (*AzureResource, error) {
	r := &AzureResource{}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("ARM resource: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("ARM resource %q: %w", r.ID, err)
	}
	sanitizeAzure(r)
	return r, nil
}

// combined is the document Write writes.
type combined struct {
	APIVersion  string          `json:"apiVersion"`
	Kind        string          `json:"kind"`
	CollectedAt *time.Time      `json:"collectedAt,omitempty"`
	Coverage    *Coverage       `json:"coverage,omitempty"`
	Kubernetes  json.RawMessage `json:"kubernetes,omitempty"`
	Azure       json.RawMessage `json:"azure,omitempty"`
}

func decodeCombined(raw json.RawMessage) (*Snapshot, error) {
	var c combined
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	s := &Snapshot{Coverage: c.Coverage}
	if c.CollectedAt != nil {
		s.CollectedAt = *c.CollectedAt
	}
	if k := bytes.TrimSpace(c.Kubernetes); len(k) > 0 && string(k) != "null" {
		part, err := decodeDocument(k)
		if err != nil {
			return nil, fmt.Errorf("%s kubernetes: %w", Kind, err)
		}
		if len(part.Azure) > 0 {
			return nil, fmt.Errorf("%s kubernetes: holds ARM resources", Kind)
		}
		s.Kubernetes = part.Kubernetes
	}
	if a := bytes.TrimSpace(c.Azure); len(a) > 0 && string(a) != "null" {
		part, err := decodeDocument(a)
		if err != nil {
			return nil, fmt.Errorf("%s azure: %w", Kind, err)
		}
		if len(part.Kubernetes) > 0 {
			return nil, fmt.Errorf("%s azure: holds Kubernetes objects", Kind)
		}
		s.Azure = part.Azure
	}
	return s, nil
}
