// Package finding is the shared model of one drift finding: what the detectors produce, what the
// ignore rules match and what every report format renders. It carries identities and references
// only; desired and live values pass through Redact so a secret value can never reach a report.
package finding

import "slices"

// Kind says what was found. Reports group by kind and SARIF declares one rule per kind, so a kind
// is a stable public identifier: never rename one.
type Kind string

const (
	// KindManagedDrift: a field of a resource the stack manages differs from its desired value.
	KindManagedDrift Kind = "managed-drift"
	// KindFieldConflict: another field manager took ownership of a field the stack applies
	// (server-side apply); Manager names it.
	KindFieldConflict Kind = "field-conflict"
	// KindMissingResource: a managed resource no longer exists.
	KindMissingResource Kind = "missing-resource"
	// KindUnmanagedResource: a resource in a tenant's scope that no stack manages.
	KindUnmanagedResource Kind = "unmanaged-resource"
	// KindCrossTenantRoute: a network path from one tenant into another's space (policy, peering,
	// route, NSG rule, private endpoint), or an identity grant that lets one tenant's principal
	// act on or as another's (RBAC binding, role assignment, access policy, federated
	// credential). Always critical.
	KindCrossTenantRoute Kind = "cross-tenant-route"
	// KindUntrustedImage: a workload image from a registry the environment does not trust.
	KindUntrustedImage Kind = "untrusted-image"
	// KindUnpinnedImage: a workload image referenced by tag instead of by digest.
	KindUnpinnedImage Kind = "unpinned-image"
	// KindStaleSecretVersion: a secret reference pinned to a Key Vault version that is disabled,
	// expired, gone, or older than the vault's current version for longer than the grace period.
	KindStaleSecretVersion Kind = "stale-secret-version"
)

// KindInfo describes a kind for people (text, SARIF rule descriptions) and gives the defaults a
// detector gets when it leaves severity or remediation empty.
type KindInfo struct {
	Kind        Kind
	Title       string
	Description string
	// Fix says how a person resolves a finding of this kind.
	Fix         string
	Severity    Severity
	Remediation Remediation
}

// kindInfos is ordered from the most to the least security-relevant; Kinds follows this order.
var kindInfos = []KindInfo{
	{KindCrossTenantRoute, "Cross-tenant route",
		"A network path lets one tenant reach another tenant's namespace, pods, address space or resources, or an identity grant (an RBAC binding, an Azure role assignment, a Key Vault access policy, a federated credential) lets one tenant's principal act on or as another tenant. It was not declared as an allowed route in the environment.",
		"Remove the policy rule, peering, route, NSG rule, private endpoint, binding, role assignment, access policy or federated credential that opens it. If the route is intended, declare it in the environment's allowedRoutes; acknowledge it only with an ignore rule naming both tenants.",
		SeverityCritical, RemediationDelete},
	{KindUntrustedImage, "Image from an untrusted registry",
		"A workload runs an image that was not pulled from one of the environment's trusted registries.",
		"Push the image to a trusted registry and deploy it from there, or add the registry to the environment's trustedRegistries.",
		SeverityHigh, RemediationReport},
	{KindFieldConflict, "Field taken by another manager",
		"Another field manager owns a field the tenant's stack applies (server-side apply conflict); the stack's value is no longer enforced.",
		"Find and stop the other manager, then re-apply the stack forcing the conflicting fields (audited).",
		SeverityHigh, RemediationRestore},
	{KindMissingResource, "Managed resource missing",
		"A resource the tenant's stack manages no longer exists in the live environment.",
		"Re-apply the tenant's stack to recreate the resource.",
		SeverityHigh, RemediationRestore},
	{KindStaleSecretVersion, "Secret pinned to a stale Key Vault version",
		"A secret reference is pinned to a Key Vault version that is disabled, expired or no longer exists (workloads cannot mount it once they restart), or that a newer version has superseded for longer than the grace period.",
		"Move the reference to the vault's current version: `tenantctl secrets rotate --tenant <id>` commits the new currentVersion to Git and updates the tenant's stack.",
		SeverityHigh, RemediationReport},
	{KindManagedDrift, "Managed resource drifted",
		"A field of a resource the tenant's stack manages differs from the desired state in Git.",
		"Re-apply the tenant's stack to restore the desired value, or change the desired state in Git if the live value is right.",
		SeverityMedium, RemediationRestore},
	{KindUnpinnedImage, "Image not pinned by digest",
		"A workload image is referenced by a mutable tag instead of an immutable digest.",
		"Reference the image by digest (registry/name@sha256:...).",
		SeverityMedium, RemediationReport},
	{KindUnmanagedResource, "Unmanaged resource",
		"A resource exists in a tenant's scope that no stack manages.",
		"Delete the resource, import it into the tenant's stack, or list it in .tenantctl-driftignore if it is expected.",
		SeverityLow, RemediationReport},
}

// Kinds lists every known kind, most security-relevant first.
func Kinds() []Kind {
	out := make([]Kind, len(kindInfos))
	for i, k := range kindInfos {
		out[i] = k.Kind
	}
	return out
}

// Info returns the description of k. An unknown kind (a newer report read by an older binary)
// gets a generic description so it still renders.
func (k Kind) Info() KindInfo {
	for _, ki := range kindInfos {
		if ki.Kind == k {
			return ki
		}
	}
	return KindInfo{Kind: k, Title: string(k), Description: "Drift finding of kind " + string(k) + ".",
		Fix: "See the finding's message.", Severity: SeverityMedium, Remediation: RemediationReport}
}

// Known reports whether k is one of Kinds.
func (k Kind) Known() bool {
	return slices.ContainsFunc(kindInfos, func(ki KindInfo) bool { return ki.Kind == k })
}

// Severity ranks findings. Text output groups by it and SARIF/GitHub map it to their levels.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every severity from the most to the least severe.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// Rank orders severities: 0 is critical; unknown severities sort after info.
func (s Severity) Rank() int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Detector names the part of the drift engine that produced a finding.
type Detector string

const (
	// DetectorEngine: the Pulumi engine's refresh/preview of the tenant's stack.
	DetectorEngine Detector = "engine"
	// DetectorLive: a direct read of the live object compared field by field with desired inputs.
	DetectorLive Detector = "live"
	// DetectorFastPath: a cheap list of a resource type across tenants (no stack operation).
	DetectorFastPath Detector = "fast-path"
)

// Remediation is the hint for what fixing a finding means.
type Remediation string

const (
	// RemediationRestore: re-apply the desired state (forcing conflicting fields).
	RemediationRestore Remediation = "restore"
	// RemediationDelete: remove the live object.
	RemediationDelete Remediation = "delete"
	// RemediationReport: a person decides; nothing is changed automatically.
	RemediationReport Remediation = "report"
	// RemediationImport: adopt the live object into the stack.
	RemediationImport Remediation = "import"
)

// Provider is the API family a resource lives in.
type Provider string

const (
	ProviderKubernetes Provider = "kubernetes"
	ProviderAzure      Provider = "azure"
	// ProviderPostgreSQL: roles, databases, schemas, grants and policies of the data layer.
	ProviderPostgreSQL Provider = "postgresql"
)
