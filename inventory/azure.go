package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// UnmarshalJSON reads an ARM resource and keeps its full JSON in Raw.
func (r *AzureResource) UnmarshalJSON(b []byte) error {
	type envelope AzureResource // no methods: plain decoding
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	*r = AzureResource(e)
	r.Raw = append(json.RawMessage(nil), bytes.TrimSpace(b)...)
	return nil
}

// MarshalJSON writes Raw with the envelope fields laid over it.
func (r AzureResource) MarshalJSON() ([]byte, error) {
	obj := map[string]any{}
	if len(bytes.TrimSpace(r.Raw)) > 0 {
		if err := json.Unmarshal(r.Raw, &obj); err != nil {
			return nil, fmt.Errorf("azure resource %s: raw JSON: %w", r.ID, err)
		}
	}
	obj["id"], obj["name"], obj["type"] = r.ID, r.Name, r.Type
	setOrDelete(obj, "location", r.Location, r.Location != "")
	setOrDelete(obj, "tags", r.Tags, r.Tags != nil)
	setOrDelete(obj, "properties", r.Properties, r.Properties != nil)
	return json.Marshal(obj)
}

func setOrDelete(obj map[string]any, key string, v any, set bool) {
	if set {
		obj[key] = v
		return
	}
	// an envelope field cleared on purpose must not resurrect from Raw
	delete(obj, key)
}

func (r *AzureResource) validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if r.Type == "" {
		errs = append(errs, errors.New("type is empty"))
	}
	return errors.Join(errs...)
}
