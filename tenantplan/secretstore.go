package tenantplan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// The secrets layer in the shape AKS users know: the Secrets Store CSI driver
// (sigs.k8s.io/secrets-store-csi-driver) mounts a tenant's Key Vault secrets into its pods as
// described by one SecretProviderClass per tenant, and its Azure provider authenticates with
// Azure workload identity: the pod's ServiceAccount token is exchanged for a token of the
// Microsoft Entra identity whose client id the ServiceAccount and the class name.

// SecretProviderClass API.
const (
	SecretProviderClassAPIVersion = "secrets-store.csi.x-k8s.io/v1"
	SecretProviderClassKind       = "SecretProviderClass"
	SecretProviderClassGroup      = "secrets-store.csi.x-k8s.io"
	SecretProviderClassResource   = "secretproviderclasses"
	// SecretsStoreCSIDriver is the CSI driver name a pod's volume names to mount a class.
	SecretsStoreCSIDriver = "secrets-store.csi.k8s.io"
	// VolumeAttributeSecretProviderClass is the CSI volume attribute naming the class.
	VolumeAttributeSecretProviderClass = "secretProviderClass"
	// SecretProviderAzure is the Azure Key Vault provider of the driver.
	SecretProviderAzure = "azure"
)

// Azure workload identity conventions (azure.github.io/azure-workload-identity): the
// ServiceAccount names the identity, and a pod opts in with the label; the AKS webhook then
// projects a token for the account into the pod.
const (
	AnnotationWorkloadClientID = "azure.workload.identity/client-id"
	AnnotationWorkloadTenantID = "azure.workload.identity/tenant-id"
	LabelWorkloadIdentityUse   = "azure.workload.identity/use"
)

// Where a tenant's workload identity comes from.
const (
	// WorkloadIdentityFromEnvironment: the kubernetes target; the environment declares the
	// identities (spec.workloadIdentity), which the platform team federates with the tenants'
	// ServiceAccounts.
	WorkloadIdentityFromEnvironment = "environment"
	// WorkloadIdentityFromStack: the azure target; the tenant stack creates a user-assigned
	// identity federated with the ServiceAccount, and its client id and directory are known only
	// once it exists, so the program fills them in.
	WorkloadIdentityFromStack = "stack"
)

// WorkloadIdentity is the Microsoft Entra identity a tenant's pods act as towards Key Vault.
// Both ids are identifiers, never credentials: what authenticates a pod is the federation of the
// identity with the tenant's ServiceAccount.
type WorkloadIdentity struct {
	Source string `json:"source"`
	// TenantID is the Entra directory and ClientID the identity's client (application) id; empty
	// when the environment declares none for the tenant, and on the azure target, where the
	// program reads them from the identity it creates.
	TenantID string `json:"tenantId,omitempty"`
	ClientID string `json:"clientId,omitempty"`
}

// SecretProviderClass is a tenant's SecretProviderClass: which vault, which secrets at which
// versions, as whom, and which Kubernetes Secrets the driver keeps in sync with them.
type SecretProviderClass struct {
	Metadata ObjectMeta `json:"metadata"`
	// KeyVaultName is the one vault the tenant's references name: its dedicated vault, or the
	// environment's shared vault.
	KeyVaultName string `json:"keyvaultName"`
	// TenantID and ClientID are the workload identity's (WorkloadIdentity).
	TenantID string                 `json:"tenantId"`
	ClientID string                 `json:"clientId"`
	Objects  []SecretProviderObject `json:"objects"`
	// SecretObjects are the Kubernetes Secrets the driver creates from the mounted objects while a
	// pod mounts the class (one per reference: SecretRef.SecretObject, key SecretObjectKey).
	SecretObjects []SyncedSecret `json:"secretObjects,omitempty"`
}

// SecretProviderObject is one Key Vault secret the class mounts: the file is named Alias (the
// reference's name); an empty Version mounts the latest version.
type SecretProviderObject struct {
	Name    string `json:"objectName"`
	Type    string `json:"objectType"`
	Version string `json:"objectVersion"`
	Alias   string `json:"objectAlias"`
}

// SyncedSecret is a Kubernetes Secret the driver keeps in sync with mounted objects.
type SyncedSecret struct {
	SecretName string            `json:"secretName"`
	Type       string            `json:"type"`
	Labels     map[string]string `json:"labels,omitempty"`
	Data       []SyncedSecretKey `json:"data"`
}

// SyncedSecretKey maps a mounted object (by alias) to a key of the synced Secret.
type SyncedSecretKey struct {
	ObjectName string `json:"objectName"`
	Key        string `json:"key"`
}

// SecretObjectKey is the key under which a synced Secret holds its reference's value.
const SecretObjectKey = "value"

// ObjectTypeSecret is the Azure provider's object type of a Key Vault secret.
const ObjectTypeSecret = "secret"

// Parameters are the class's spec.parameters for the Azure provider, every value a string as
// the CRD requires. usePodIdentity is "false" because workload identity replaced pod identity;
// objects is the provider's YAML list, written here with every value quoted so that a name or
// version of digits stays a string.
func (c SecretProviderClass) Parameters() map[string]string {
	return map[string]string{
		"usePodIdentity": "false",
		"clientID":       c.ClientID,
		"keyvaultName":   c.KeyVaultName,
		"tenantId":       c.TenantID,
		"objects":        c.ObjectsParameter(),
	}
}

// ObjectsParameter is the objects parameter: `array:` followed by one YAML document per object.
func (c SecretProviderClass) ObjectsParameter() string {
	if len(c.Objects) == 0 {
		return "array: []\n"
	}
	var b strings.Builder
	b.WriteString("array:\n")
	for _, o := range c.Objects {
		b.WriteString("  - |\n")
		for _, kv := range [][2]string{{"objectName", o.Name}, {"objectType", o.Type}, {"objectVersion", o.Version}, {"objectAlias", o.Alias}} {
			fmt.Fprintf(&b, "    %s: %s\n", kv[0], strconv.Quote(kv[1]))
		}
	}
	return b.String()
}

// Manifest is the SecretProviderClass object.
func (c SecretProviderClass) Manifest() map[string]any {
	o := object(SecretProviderClassAPIVersion, SecretProviderClassKind, c.Metadata)
	spec := map[string]any{"provider": SecretProviderAzure, "parameters": stringMap(c.Parameters())}
	if len(c.SecretObjects) > 0 {
		objs := []any{}
		for _, s := range c.SecretObjects {
			data := []any{}
			for _, d := range s.Data {
				data = append(data, map[string]any{"objectName": d.ObjectName, "key": d.Key})
			}
			m := map[string]any{"secretName": s.SecretName, "type": s.Type, "data": data}
			if len(s.Labels) > 0 {
				m["labels"] = stringMap(s.Labels)
			}
			objs = append(objs, m)
		}
		spec["secretObjects"] = objs
	}
	o["spec"] = spec
	return o
}

// workloadIdentity is who the tenant's pods are towards Key Vault: on the azure target the
// identity the stack creates, on the kubernetes target the one the environment declares (none
// when it declares none for the tenant).
func (p *planner) workloadIdentity() *WorkloadIdentity {
	if p.azure {
		return &WorkloadIdentity{Source: WorkloadIdentityFromStack}
	}
	w := p.in.Env.Spec.WorkloadIdentity
	if w == nil {
		return nil
	}
	return &WorkloadIdentity{Source: WorkloadIdentityFromEnvironment, TenantID: w.TenantID, ClientID: w.ClientIDs[p.id]}
}

// secretProviderClass plans the tenant's class from its references. Every reference must name
// the one vault the tenant reads: its dedicated vault (never the shared one), or the shared vault
// with a secret under the tenant's prefix "<tenantId>-". Validation says the same with file and
// line; this keeps a program from ever rendering a class that reads another tenant's secrets.
func (p *planner) secretProviderClass(refs []SecretRef, wi *WorkloadIdentity) (*SecretProviderClass, error) {
	t := p.t
	shared := strings.ToLower(p.in.Env.Spec.SharedVault.Name)
	vault := ""
	for _, r := range refs {
		v, ok := isolation.VaultName(r.KeyVaultRef)
		if !ok {
			return nil, p.fail("secret %s: %q is not a Key Vault name or URI", r.Name, r.KeyVaultRef)
		}
		v = strings.ToLower(v)
		switch {
		case vault != "" && v != vault:
			return nil, p.fail("secret %s references vault %s, another reference vault %s: a SecretProviderClass reads one vault", r.Name, v, vault)
		case t.Secrets.Mode == isolation.SecretsDedicatedVault && shared != "" && v == shared:
			return nil, p.fail("secret %s references the shared vault %s; secrets mode %s reads the tenant's own vault", r.Name, shared, t.Secrets.Mode)
		case t.Secrets.Mode != isolation.SecretsDedicatedVault && shared != "" && v != shared:
			return nil, p.fail("secret %s references vault %s; secrets mode %s reads the shared vault %s only", r.Name, v, t.Secrets.Mode, shared)
		case t.Secrets.Mode != isolation.SecretsDedicatedVault && !strings.HasPrefix(r.SecretName, p.id+"-"):
			return nil, p.fail("secret %s: %q is outside the tenant's prefix %q in the shared vault", r.Name, r.SecretName, p.id+"-")
		}
		vault = v
	}
	if vault == "" { // no references yet: the vault they will name
		vault = shared
		if t.Secrets.Mode == isolation.SecretsDedicatedVault {
			vault = DefaultVaultName(p.id, t.Environment)
		}
	}
	c := &SecretProviderClass{
		Metadata:     meta(TenantSecretProviderClassName(p.id), t.Namespace, t.Labels),
		KeyVaultName: vault,
		Objects:      []SecretProviderObject{},
	}
	if wi != nil {
		c.TenantID, c.ClientID = wi.TenantID, wi.ClientID
	}
	for _, r := range refs {
		c.Objects = append(c.Objects, SecretProviderObject{Name: r.SecretName, Type: ObjectTypeSecret, Version: r.Version, Alias: r.Name})
		c.SecretObjects = append(c.SecretObjects, SyncedSecret{
			SecretName: r.SecretObject, Type: "Opaque", Labels: t.Labels,
			Data: []SyncedSecretKey{{ObjectName: r.Name, Key: SecretObjectKey}},
		})
	}
	return c, nil
}
