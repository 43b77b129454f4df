// Package inventory is the live (or snapshot) picture of what exists in the tenants' scopes:
// Kubernetes objects exactly as the API returns them and Azure resources as ARM JSON. Drift
// detection and reachability analysis read a Snapshot, whether it came from live APIs or from a
// file written by `tenantctl inventory export`, so audits and tests run offline on the same code.
package inventory

import (
	"encoding/json"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Snapshot is one inventory of Kubernetes objects and Azure resources.
type Snapshot struct {
	// CollectedAt is when the live reads finished (zero for hand-written fixtures).
	CollectedAt time.Time
	// Kubernetes objects as returned by the API server (apiVersion, kind, metadata, spec, status).
	Kubernetes []unstructured.Unstructured
	// Azure resources as ARM returns them.
	Azure []AzureResource
}

// AzureResource is one ARM resource. Raw keeps the full JSON so typed decoders (armnetwork
// structs) can read it exactly as Azure shaped it; the other fields are the ARM envelope.
type AzureResource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties map[string]any    `json:"properties,omitempty"`
	Raw        json.RawMessage   `json:"-"`
}
