package finding

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Location points at the desired-state file and line a person edits to fix a finding. It has the
// shape of isolation.Source, so a detector converts directly: finding.Location(binding.Source).
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// Resource identifies the live object a finding is about.
type Resource struct {
	Provider Provider `json:"provider"`
	// Type is the API type: "networking.k8s.io/v1/NetworkPolicy", "v1/ConfigMap",
	// "Microsoft.Network/virtualNetworks/virtualNetworkPeerings".
	Type      string `json:"type"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// ID is the Azure resource id, or "namespace/name" (just "name" when cluster-scoped) for
	// Kubernetes objects.
	ID string `json:"id,omitempty"`
	// URN is the Pulumi URN when the resource is managed by a stack.
	URN string `json:"urn,omitempty"`
}

// Ref is the short human form: "v1/ConfigMap acme/cache-1".
func (r Resource) Ref() string {
	name := r.Name
	switch {
	case name == "":
		name = r.ID
	case r.Namespace != "":
		name = r.Namespace + "/" + r.Name
	}
	switch {
	case r.Type == "":
		return name
	case name == "":
		return r.Type
	}
	return r.Type + " " + name
}

// Finding is one drift finding. Desired and Live are JSON values that have been through Redact;
// Message and Evidence must name things, never carry values.
type Finding struct {
	Kind        Kind     `json:"kind"`
	Severity    Severity `json:"severity"`
	TenantID    string   `json:"tenantId"`
	Environment string   `json:"environment,omitempty"`
	Stack       string   `json:"stack,omitempty"`
	Resource    Resource `json:"resource"`
	// Field is the path of the drifted field ("spec.replicas", "spec.ingress[0].from").
	Field   string          `json:"field,omitempty"`
	Desired json.RawMessage `json:"desired,omitempty"`
	Live    json.RawMessage `json:"live,omitempty"`
	// Manager is the field manager that owns a conflicting field (field-conflict).
	Manager string `json:"manager,omitempty"`
	// PeerTenant is the other tenant a cross-tenant route reaches.
	PeerTenant string `json:"peerTenant,omitempty"`
	// Evidence is the chain that led to the finding, one step per entry (for routes: the policy
	// rule, the namespace selector, the namespace's tenant label).
	Evidence    []string    `json:"evidence,omitempty"`
	Message     string      `json:"message"`
	Detector    Detector    `json:"detector,omitempty"`
	Remediation Remediation `json:"remediation,omitempty"`
	// Location is the desired-state file (and line) a person edits to fix the finding, usually
	// the tenant's binding.
	Location Location `json:"location,omitzero"`
}

// Normalize fills the defaults of the finding's kind and enforces the invariants every report
// relies on: a cross-tenant route is always critical.
func (f Finding) Normalize() Finding {
	info := f.Kind.Info()
	if f.Severity == "" {
		f.Severity = info.Severity
	}
	if f.Kind == KindCrossTenantRoute {
		f.Severity = SeverityCritical
	}
	if f.Remediation == "" {
		f.Remediation = info.Remediation
	}
	if f.Resource.ID == "" && f.Resource.Provider == ProviderKubernetes && f.Resource.Name != "" {
		f.Resource.ID = f.Resource.Name
		if f.Resource.Namespace != "" {
			f.Resource.ID = f.Resource.Namespace + "/" + f.Resource.Name
		}
	}
	if f.Message == "" {
		f.Message = info.Title
	}
	return f
}

// Validate reports what makes f unusable in a report; detectors call it in their tests.
func (f Finding) Validate() error {
	var errs []error
	if f.Kind == "" {
		errs = append(errs, errors.New("kind is empty"))
	}
	if f.Severity != "" && !f.Severity.Valid() {
		errs = append(errs, fmt.Errorf("severity %q is not one of %v", f.Severity, Severities))
	}
	if f.Resource.Type == "" && f.Resource.ID == "" {
		errs = append(errs, errors.New("resource has neither type nor id"))
	}
	switch f.Resource.Provider {
	case ProviderKubernetes, ProviderAzure, ProviderPostgreSQL:
	default:
		errs = append(errs, fmt.Errorf("resource provider %q is not kubernetes, azure or postgresql", f.Resource.Provider))
	}
	if f.Kind == KindCrossTenantRoute {
		if f.TenantID == "" || f.PeerTenant == "" {
			errs = append(errs, errors.New("cross-tenant route needs both tenantId and peerTenant"))
		} else if f.TenantID == f.PeerTenant {
			errs = append(errs, fmt.Errorf("cross-tenant route from %q to itself", f.TenantID))
		}
		if f.Severity != "" && f.Severity != SeverityCritical {
			errs = append(errs, fmt.Errorf("cross-tenant route has severity %q, must be critical", f.Severity))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finding %s %s: %w", f.Kind, f.Resource.Ref(), err)
	}
	return nil
}

// Title is a one-line summary for annotation titles and test case names:
// "cross-tenant-route: networking.k8s.io/v1/NetworkPolicy acme/allow-all → globex".
func (f Finding) Title() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	b.WriteString(": ")
	b.WriteString(f.Resource.Ref())
	if f.Field != "" {
		b.WriteString(" ")
		b.WriteString(f.Field)
	}
	if f.PeerTenant != "" {
		b.WriteString(" → ")
		b.WriteString(f.PeerTenant)
	}
	return b.String()
}
