package kubernetes

import (
	"fmt"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Component types. The state of a tenant stack reads like a row of the tier matrix: one Tenant
// with one component per layer the kubernetes target realises. The data layer has no Kubernetes
// part (its mode is recorded on the namespace); the azure target adds it.
const (
	TypeTenant        = "tenantctl:tenant:Tenant"
	TypeTenantCompute = "tenantctl:compute:TenantCompute"
	TypeTenantNetwork = "tenantctl:network:TenantNetwork"
	TypeTenantQuota   = "tenantctl:quota:TenantQuota"
	TypeTenantSecrets = "tenantctl:secrets:TenantSecrets"
)

// TenantProgram is the inline program of one tenant stack (tenantplan.TenantStackName). It reads
// the stack config key tenantctl:kubeconfig for the cluster and nothing else besides in.
func TenantProgram(in tenantplan.Inputs) pulumi.RunFunc { return tenantProgram(in, nil) }

// tenantProgram lets tests observe the outputs the program exports.
func tenantProgram(in tenantplan.Inputs, observe func(*TenantOutputs)) pulumi.RunFunc {
	var pl *tenantplan.Tenant
	return Program(
		func() (err error) { pl, err = tenantplan.ForTenant(in); return err },
		func(ctx *pulumi.Context) (providers, error) { return newProviders(ctx, in.Env) },
		func(ctx *pulumi.Context, p providers) (*TenantOutputs, error) {
			return deployTenant(ctx, pl, p.k8s, WorkloadIdentity{}, p.data)
		},
		(*TenantOutputs).Map, observe)
}

// providers are the explicit providers of this target's programs: the cluster's, and the data
// layer's server where the environment keeps tenant data on PostgreSQL.
type providers struct {
	k8s  *k8s.Provider
	data *DataServer
}

func newProviders(ctx *pulumi.Context, env *isolation.Environment) (providers, error) {
	k, err := NewProvider(ctx, env)
	if err != nil {
		return providers{}, err
	}
	d, err := NewDataServer(ctx, env)
	if err != nil {
		return providers{}, err
	}
	return providers{k8s: k, data: d}, nil
}

// WorkloadIdentity is the Microsoft Entra identity the tenant's ServiceAccount and
// SecretProviderClass name when the stack itself creates it (the azure target): its client id and
// directory, known once it exists. The zero value takes them from the plan (the kubernetes
// target, where the environment declares them).
type WorkloadIdentity struct {
	ClientID pulumi.StringInput
	TenantID pulumi.StringInput
}

// DeployTenant creates the Kubernetes part of a planned tenant under provider p and returns what
// the stack exports. The azure target calls it with a provider for the tenant's AKS cluster and
// the identity it created for the tenant.
func DeployTenant(ctx *pulumi.Context, pl *tenantplan.Tenant, p pulumi.ProviderResource, wi WorkloadIdentity, opts ...pulumi.ResourceOption) (*TenantOutputs, error) {
	return deployTenant(ctx, pl, p, wi, nil, opts...)
}

// deployTenant is DeployTenant with the data layer on a PostgreSQL server (data nil: none).
func deployTenant(ctx *pulumi.Context, pl *tenantplan.Tenant, p pulumi.ProviderResource, wi WorkloadIdentity, data *DataServer, opts ...pulumi.ResourceOption) (*TenantOutputs, error) {
	id := pl.TenantID
	root := &Component{}
	if err := ctx.RegisterComponentResource(TypeTenant, id, root, opts...); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	out := &TenantOutputs{
		TenantID:          id,
		Environment:       pl.Environment,
		Modes:             pl.Modes,
		Namespace:         pl.Namespace,
		NodeSelector:      pl.Compute.NodeSelector,
		Tolerations:       pl.Compute.Tolerations,
		SecretRefs:        pl.Secrets.Refs,
		AdmissionPolicies: pl.Compute.AdmissionPolicies,
		WorkloadClientID:  wi.ClientID,
	}
	if w := pl.Identity.Workload; wi.ClientID == nil && w != nil {
		out.WorkloadClientID = pulumi.String(w.ClientID)
	}
	sc, err := deployCompute(ctx, root, p, pl, wi, out)
	if err != nil {
		return nil, fmt.Errorf("tenant %s compute: %w", id, err)
	}
	if err := deployNetwork(ctx, root, p, pl, sc, out); err != nil {
		return nil, fmt.Errorf("tenant %s network: %w", id, err)
	}
	if err := deployQuota(ctx, root, p, pl, sc, out); err != nil {
		return nil, fmt.Errorf("tenant %s quota: %w", id, err)
	}
	if err := deploySecrets(ctx, root, p, pl, sc, wi, out); err != nil {
		return nil, fmt.Errorf("tenant %s secrets: %w", id, err)
	}
	if data != nil {
		if err := deployTenantData(ctx, root, p, data, pl, out); err != nil {
			return nil, fmt.Errorf("tenant %s data: %w", id, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(root, pulumi.Map{
		OutputNamespace: pulumi.String(out.Namespace),
		OutputModes:     modesMap(out.Modes),
	}); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	return out, nil
}

// Component is the state of every tenantctl component resource, on this target and on the
// targets built on it (stacks/azure).
type Component struct {
	pulumi.ResourceState
}

// NewComponent registers a component of type typ called name under parent, such as a layer
// component under its tenant.
func NewComponent(ctx *pulumi.Context, typ, name string, parent pulumi.Resource) (*Component, error) {
	c := &Component{}
	if err := ctx.RegisterComponentResource(typ, name, c, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return c, nil
}

func finishComponent(ctx *pulumi.Context, c *Component, mode isolation.Mode, outs pulumi.Map) error {
	outs["mode"] = pulumi.String(string(mode))
	return ctx.RegisterResourceOutputs(c, outs)
}

// Tenant stack output keys.
const (
	OutputTenantID            = "tenantId"
	OutputEnvironment         = "environment"
	OutputModes               = "modes"
	OutputNamespace           = "namespace"
	OutputServiceAccounts     = "serviceAccounts"
	OutputNetworkPolicies     = "networkPolicies"
	OutputResourceQuota       = "resourceQuota"
	OutputLimitRange          = "limitRange"
	OutputPriorityClass       = "priorityClass"
	OutputSecretProviderClass = "secretProviderClass"
	// OutputWorkloadClientID is the client id the tenant's ServiceAccount and SecretProviderClass
	// name ("" when the environment declares no identity for the tenant).
	OutputWorkloadClientID = "workloadIdentityClientId"
	// OutputWorkloadPodLabels are the labels a pod carries to use the workload identity.
	OutputWorkloadPodLabels = "workloadIdentityPodLabels"
	OutputSecretRefs        = "secretRefs"
	OutputNodeSelector      = "nodeSelector"
	OutputTolerations       = "tolerations"
	OutputAdmissionPolicies = "admissionPolicies"
)

// TenantOutputs is what a tenant stack exports: names and references only, never a secret value.
type TenantOutputs struct {
	TenantID    string
	Environment string
	Modes       map[isolation.Layer]isolation.Mode
	// Namespace is the tenant's own namespace, or the shared namespace for shared compute.
	Namespace       string
	ServiceAccounts []string
	NetworkPolicies []string
	ResourceQuota   string
	// LimitRange is empty in the shared namespace, whose LimitRange the platform owns.
	LimitRange string
	// PriorityClass keys a shared tenant's quota slice; empty otherwise.
	PriorityClass string
	// SecretProviderClass is the tenant's class in Namespace; pods mount it with a CSI volume of
	// driver secrets-store.csi.k8s.io.
	SecretProviderClass string
	SecretRefs          []tenantplan.SecretRef
	// WorkloadClientID is the identity's client id (an output on the azure target); nil or ""
	// when there is none.
	WorkloadClientID pulumi.StringInput
	// NodeSelector and Tolerations are what a pinned (silo) tenant's pods must carry.
	NodeSelector map[string]string
	Tolerations  []tenantplan.Toleration
	// AdmissionPolicies are the platform policies this tenant's isolation relies on.
	AdmissionPolicies []string
	// Data is where the tenant's data lives when the stack created it on PostgreSQL; nil otherwise.
	Data *TenantData
}

// Map is the outputs as stack exports. Every key is always present (pulumi.To* render nil as
// empty), so consumers need not guess.
func (o *TenantOutputs) Map() pulumi.Map {
	refs := pulumi.Array{}
	for _, r := range o.SecretRefs {
		refs = append(refs, pulumi.StringMap{
			"name":         pulumi.String(r.Name),
			"keyVaultRef":  pulumi.String(r.KeyVaultRef),
			"secretName":   pulumi.String(r.SecretName),
			"version":      pulumi.String(r.Version),
			"secretObject": pulumi.String(r.SecretObject),
		})
	}
	clientID := pulumi.StringInput(pulumi.String(""))
	if o.WorkloadClientID != nil {
		clientID = o.WorkloadClientID
	}
	tols := pulumi.Array{}
	for _, t := range o.Tolerations {
		tols = append(tols, pulumi.StringMap{"key": pulumi.String(t.Key), "operator": pulumi.String(t.Operator), "value": pulumi.String(t.Value), "effect": pulumi.String(t.Effect)})
	}
	return pulumi.Map{
		OutputTenantID:            pulumi.String(o.TenantID),
		OutputEnvironment:         pulumi.String(o.Environment),
		OutputModes:               modesMap(o.Modes),
		OutputNamespace:           pulumi.String(o.Namespace),
		OutputServiceAccounts:     pulumi.ToStringArray(o.ServiceAccounts),
		OutputNetworkPolicies:     pulumi.ToStringArray(o.NetworkPolicies),
		OutputResourceQuota:       pulumi.String(o.ResourceQuota),
		OutputLimitRange:          pulumi.String(o.LimitRange),
		OutputPriorityClass:       pulumi.String(o.PriorityClass),
		OutputSecretProviderClass: pulumi.String(o.SecretProviderClass),
		OutputWorkloadClientID:    clientID,
		OutputWorkloadPodLabels:   pulumi.StringMap{tenantplan.LabelWorkloadIdentityUse: pulumi.String("true")},
		OutputSecretRefs:          refs,
		OutputNodeSelector:        pulumi.ToStringMap(o.NodeSelector),
		OutputTolerations:         tols,
		OutputAdmissionPolicies:   pulumi.ToStringArray(o.AdmissionPolicies),
		OutputData:                o.Data.Map(),
	}
}

// Map is the data export; every key is present (empty when the stack created no data layer).
func (d *TenantData) Map() pulumi.StringMap {
	if d == nil {
		d = &TenantData{}
	}
	return pulumi.StringMap{
		"database":         pulumi.String(d.Database),
		"schema":           pulumi.String(d.Schema),
		"loginRole":        pulumi.String(d.LoginRole),
		"credentialSecret": pulumi.String(d.CredentialObject),
	}
}

func modesMap(m map[isolation.Layer]isolation.Mode) pulumi.StringMap {
	out := pulumi.StringMap{}
	for l, mode := range m {
		out[string(l)] = pulumi.String(string(mode))
	}
	return out
}
