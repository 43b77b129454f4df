package azurenet

import (
	"encoding/json"
	"fmt"

	"github.com/connectsoft/tenantctl/inventory"
)

// Resource wraps an SDK value as an inventory resource whose Raw is the value's ARM JSON.
func Resource(v any, id, name, typ string, tags map[string]*string) (inventory.AzureResource, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return inventory.AzureResource{}, fmt.Errorf("azure resource %s: %w", id, err)
	}
	var env struct {
		Location   string         `json:"location"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return inventory.AzureResource{}, fmt.Errorf("azure resource %s: %w", id, err)
	}
	r := inventory.AzureResource{ID: id, Name: name, Type: typ, Location: env.Location, Properties: env.Properties, Raw: raw}
	for k, v := range tags {
		if v != nil {
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			r.Tags[k] = *v
		}
	}
	return r, nil
}
