package tenantplan

import (
	"encoding/json"
	"fmt"

	"github.com/connectsoft/tenantctl/isolation"
)

// Tenant is everything one tenant stack creates, decided from its Inputs before any resource is
// registered, so an invalid binding fails without a partial update. Layers are planned from
// their modes (isolation.Resolve), never from the tier, so an override changes exactly the
// resources of its layer.
type Tenant struct {
	TenantID    string                             `json:"tenantId"`
	Environment string                             `json:"environment"`
	Tier        isolation.Tier                     `json:"tier"`
	Target      string                             `json:"target"`
	Stack       string                             `json:"stack"`
	Modes       map[isolation.Layer]isolation.Mode `json:"modes"`
	// Labels are the labels of every Kubernetes object the tenant stack creates.
	Labels map[string]string `json:"labels"`
	// Namespace is where the tenant's namespaced objects live: its own namespace, or the
	// platform's shared namespace.
	Namespace string `json:"namespace"`

	Compute  Compute  `json:"compute"`
	Network  Network  `json:"network"`
	Identity Identity `json:"identity"`
	Quota    Quota    `json:"quota"`
	Secrets  Secrets  `json:"secrets"`
	Data     Data     `json:"data"`

	// Azure is what every Azure resource of the tenant shares; nil on the kubernetes target.
	Azure *AzureTenant `json:"azure,omitempty"`
}

// Compute is where the tenant's workloads run.
type Compute struct {
	Mode isolation.Mode `json:"mode"`
	// OwnNamespace is the namespace the tenant stack creates; nil in the shared namespace.
	OwnNamespace *Namespace `json:"ownNamespace,omitempty"`
	// NodeSelector and Tolerations are what a pinned (dedicated node pool) tenant's pods must
	// carry; nil otherwise.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Tolerations  []Toleration      `json:"tolerations,omitempty"`
	// AdmissionPolicies are the platform policies the tenant's isolation relies on.
	AdmissionPolicies []string `json:"admissionPolicies"`
	// NodePool is the tenant's AKS node pool (azure target, dedicated node pool).
	NodePool *AzureNodePool `json:"nodePool,omitempty"`
}

// Network is what isolates the tenant's traffic.
type Network struct {
	Mode isolation.Mode `json:"mode"`
	// Policies are the NetworkPolicies the tenant stack creates in Tenant.Namespace.
	Policies []NetworkPolicy `json:"policies"`
	// VNet is the tenant's dedicated VNet (azure target, dedicated-vnet).
	VNet *AzureVNet `json:"vnet,omitempty"`
}

// Identity is who the tenant's workloads run as and what that identity may do. The kubernetes
// program creates these objects in its compute component.
type Identity struct {
	ServiceAccount ServiceAccount `json:"serviceAccount"`
	Role           Role           `json:"role"`
	RoleBinding    RoleBinding    `json:"roleBinding"`
	// Workload is the Microsoft Entra identity the ServiceAccount is annotated with (Azure
	// workload identity); nil on the kubernetes target when the environment declares none.
	Workload *WorkloadIdentity `json:"workload,omitempty"`
	// Azure is the user-assigned identity federated with the ServiceAccount (azure target).
	Azure *AzureIdentity `json:"azure,omitempty"`
}

// Quota is what the tenant may consume.
type Quota struct {
	Mode          isolation.Mode `json:"mode"`
	ResourceQuota ResourceQuota  `json:"resourceQuota"`
	// LimitRange is nil in the shared namespace, whose LimitRange the platform owns.
	LimitRange *LimitRange `json:"limitRange,omitempty"`
	// PriorityClass keys a shared tenant's quota slice; nil otherwise.
	PriorityClass *PriorityClass `json:"priorityClass,omitempty"`
}

// Secrets is where the tenant's secrets live: references only, never values.
type Secrets struct {
	Mode isolation.Mode `json:"mode"`
	Refs []SecretRef    `json:"refs"`
	// ProviderClass is the tenant's SecretProviderClass in Tenant.Namespace: the Secrets Store CSI
	// driver mounts Refs from Key Vault into the tenant's pods with it, as the tenant's workload
	// identity.
	ProviderClass *SecretProviderClass `json:"providerClass,omitempty"`
	// Azure is the Key Vault side (azure target).
	Azure *AzureSecrets `json:"azure,omitempty"`
}

// Data is where the tenant's data lives.
type Data struct {
	Mode isolation.Mode `json:"mode"`
	// Postgres is the tenant's database objects on the PostgreSQL server (both targets).
	Postgres *Postgres `json:"postgres,omitempty"`
	// Azure is the tenant's database on the environment's server (azure target).
	Azure *AzureDatabase `json:"azure,omitempty"`
}

// Option narrows what ForTenant plans.
type Option func(*options)

type options struct{ layers map[isolation.Layer]bool }

// Layers plans only the given layers (plus what every plan has: names, labels, the tenant's
// namespace and pinning, the target's shared part). Identity is planned with compute and secrets, which it derives from.
// Readers that need one layer use it so that a problem in another layer, which the programs
// would refuse, does not hide the layer they read: reachability plans the network only.
func Layers(ls ...isolation.Layer) Option {
	return func(o *options) {
		o.layers = map[isolation.Layer]bool{}
		for _, l := range ls {
			o.layers[l] = true
		}
	}
}

// planner builds one Tenant; each layer's planner fills its field.
type planner struct {
	in    Inputs
	t     *Tenant
	id    string
	own   bool // the compute mode gives the tenant a namespace of its own
	azure bool
}

// ForTenant plans the tenant stack of in.Binding in in.Env: every layer, on the environment's
// target.
func ForTenant(in Inputs, opts ...Option) (*Tenant, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	want := func(l isolation.Layer) bool { return o.layers == nil || o.layers[l] }
	p, err := newPlanner(in)
	if err != nil {
		return nil, err
	}
	steps := []struct {
		on   bool
		plan func() error
	}{
		{want(isolation.LayerCompute), p.compute},
		{want(isolation.LayerNetwork), p.network},
		{want(isolation.LayerCompute) && p.azure, p.azureNodePool},
		{want(isolation.LayerQuota), p.quota},
		{want(isolation.LayerSecrets), p.secrets},
		{want(isolation.LayerCompute) && want(isolation.LayerSecrets), p.identity},
		{want(isolation.LayerData), p.postgres},
		{want(isolation.LayerData) && p.azure, p.azureData},
		{p.azure, p.azureNames},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		if err := s.plan(); err != nil {
			return nil, err
		}
	}
	return p.t, nil
}

func newPlanner(in Inputs) (*planner, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	b, env := in.Binding, in.Env
	p := &planner{in: in, id: b.Spec.TenantID, azure: env.Spec.Target == isolation.TargetAzure}
	if p.azure {
		if err := checkAzureEnv(env); err != nil {
			return nil, err
		}
	}
	modes := isolation.Resolve(b)
	for _, l := range isolation.Layers {
		if modes[l] == "" {
			return nil, fmt.Errorf("tenant %s: no mode for layer %s", p.id, l)
		}
	}
	t := &Tenant{
		TenantID:    p.id,
		Environment: env.Name(),
		Tier:        b.Spec.Tier,
		Target:      isolation.TargetKubernetes,
		Stack:       TenantStackName(p.id, env.Name()),
		Modes:       modes,
		Labels:      TenantLabels(b),
		Compute:     Compute{Mode: modes[isolation.LayerCompute]},
		Network:     Network{Mode: modes[isolation.LayerNetwork]},
		Quota:       Quota{Mode: modes[isolation.LayerQuota]},
		Secrets:     Secrets{Mode: modes[isolation.LayerSecrets]},
		Data:        Data{Mode: modes[isolation.LayerData]},
	}
	p.t = t
	if p.azure {
		t.Target = isolation.TargetAzure
		t.Azure = newAzureTenant(b, env)
	}
	if err := p.placement(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *planner) target() string {
	if p.azure {
		return isolation.TargetAzure
	}
	return isolation.TargetKubernetes
}

func (p *planner) fail(format string, args ...any) error {
	return fmt.Errorf("tenant %s: %s", p.id, fmt.Sprintf(format, args...))
}

func (p *planner) wrap(err error) error { return fmt.Errorf("tenant %s: %w", p.id, err) }

// placement decides where the tenant's workloads run, which every plan has: its namespace (its
// own, or the platform's shared one), pinning to its nodes, and the admission policies its
// isolation relies on.
func (p *planner) placement() error {
	t := p.t
	c := &t.Compute
	c.AdmissionPolicies = []string{PolicyTenantScheduling, PolicyTenantSecrets}
	switch c.Mode {
	case isolation.ComputeDedicatedNodePool:
		p.own = true
		c.AdmissionPolicies = append(c.AdmissionPolicies, PolicySiloNodePinning)
		c.NodeSelector = map[string]string{NodeLabelTenant: p.id}
		c.Tolerations = []Toleration{{Key: NodeLabelTenant, Operator: "Equal", Value: p.id, Effect: NodeTaintEffect}}
	case isolation.ComputeDedicatedNamespace:
		p.own = true
	case isolation.ComputeSharedNamespace:
		c.AdmissionPolicies = append(c.AdmissionPolicies, PolicySharedTenantIdentity)
	default:
		return p.fail("compute mode %q is not supported by the %s target", c.Mode, p.target())
	}
	t.Namespace = p.in.Platform.SharedNamespace
	if p.own {
		t.Namespace = TenantNamespace(p.id)
		ns, err := p.ownNamespace()
		if err != nil {
			return err
		}
		c.OwnNamespace = ns
	}
	return nil
}

// compute: the platform must enforce the admission policies the tenant's isolation relies on.
func (p *planner) compute() error {
	t := p.t
	for _, g := range t.Compute.AdmissionPolicies {
		if !p.in.Platform.HasPolicy(g) {
			return fmt.Errorf("tenant %s: the platform stack of %s does not enforce admission policy %s, which %s isolation relies on: update the platform stack first",
				p.id, t.Environment, g, t.Compute.Mode)
		}
	}
	return nil
}

// Namespace annotations read by the PodNodeSelector and PodTolerationRestriction admission plugins
// where the API server enables them (not on AKS): they default a silo pod's nodeSelector and
// toleration. Enforcement does not depend on them; see PolicySiloNodePinning.
const (
	AnnotationNodeSelector       = "scheduler.alpha.kubernetes.io/node-selector"
	AnnotationDefaultTolerations = "scheduler.alpha.kubernetes.io/defaultTolerations"
)

// ownNamespace is the tenant's namespace: its labels, Pod Security restricted, and every layer's
// mode (the compute mode is what the platform's admission bindings select on); a pinned tenant's
// also carries the scheduling defaults.
func (p *planner) ownNamespace() (*Namespace, error) {
	t := p.t
	layers := map[string]string{}
	for l, m := range t.Modes {
		layers[LayerLabel(l)] = string(m)
	}
	ns := &Namespace{Metadata: meta(t.Namespace, "", Merge(t.Labels, PodSecurityLabels(PSSRestricted), layers))}
	if t.Compute.NodeSelector != nil {
		tols, err := json.Marshal(t.Compute.Tolerations)
		if err != nil {
			return nil, fmt.Errorf("tenant %s default tolerations: %w", p.id, err)
		}
		ns.Metadata.Annotations = map[string]string{
			AnnotationNodeSelector:       NodeLabelTenant + "=" + p.id,
			AnnotationDefaultTolerations: string(tols),
		}
	}
	return ns, nil
}

// network: the tenant's NetworkPolicies. In a namespace of its own, default-deny plus
// same-namespace, DNS and platform-ingress allowances; in the shared namespace, whose deny, DNS
// and ingress policies the platform owns, only the path between the tenant's own pods. On the
// azure target a dedicated-vnet tenant also gets its VNet.
func (p *planner) network() error {
	t := p.t
	switch m := t.Network.Mode; m {
	case isolation.NetworkDedicatedVNet, isolation.NetworkPolicyPerTenant:
		if !p.own {
			return p.fail("network mode %s needs a namespace of its own, compute mode is %s", m, t.Compute.Mode)
		}
	case isolation.NetworkSharedWithPolicy:
		if p.own {
			return p.fail("network mode %s applies to the shared namespace, compute mode is %s", m, t.Compute.Mode)
		}
	default:
		return p.fail("network mode %q is not supported by the %s target", m, p.target())
	}
	ns, labels := t.Namespace, t.Labels
	if p.own {
		t.Network.Policies = []NetworkPolicy{
			defaultDeny(ns, labels),
			allowSameNamespace(ns, labels),
			allowDNS(ns, labels),
			allowFromIngress(ns, p.in.Platform.IngressNamespace, labels),
		}
	} else {
		t.Network.Policies = []NetworkPolicy{allowSameTenant(ns, p.id, labels)}
	}
	if p.azure && t.Network.Mode == isolation.NetworkDedicatedVNet {
		v, err := planVNet(p.in.Binding, p.in.Env, t.Azure)
		if err != nil {
			return p.wrap(err)
		}
		t.Network.VNet = v
	}
	return nil
}

// quota: in a namespace of its own, a ResourceQuota and a LimitRange. In the shared namespace a
// ResourceQuota cannot select pods by label, so each shared tenant gets a PriorityClass of its
// own and a ResourceQuota scoped to it; PolicySharedTenantIdentity makes every shared pod use its
// tenant's class, so every pod counts against exactly its tenant's slice.
func (p *planner) quota() error {
	t := p.t
	q, err := planQuota(t.Quota.Mode, p.in.Binding.Spec.Quota, p.in.Env.Spec.Capacity)
	if err != nil {
		return p.wrap(err)
	}
	name := TenantObjectName(p.id)
	t.Quota.ResourceQuota = ResourceQuota{Metadata: meta(name, t.Namespace, t.Labels), Hard: q.Hard}
	if p.own {
		t.Quota.LimitRange = &LimitRange{Metadata: meta(name, t.Namespace, t.Labels), Container: q.Container, PVC: q.PVC}
		return nil
	}
	pc := SharedPriorityClassName(p.id)
	t.Quota.PriorityClass = &PriorityClass{
		Metadata: meta(pc, "", t.Labels),
		// Every shared tenant gets the same value and never preempts: the class keys a quota
		// slice, it must not buy one tenant scheduling priority over another.
		Value:            0,
		PreemptionPolicy: "Never",
		Description:      "Quota slice of shared tenant " + p.id,
	}
	t.Quota.ResourceQuota.PriorityClasses = []string{pc}
	return nil
}

// secrets: the tenant's references and its SecretProviderClass, which mounts them in its pods
// and syncs each to a Kubernetes Secret (SecretRef.SecretObject). On the azure target, the vault
// side.
func (p *planner) secrets() error {
	t := p.t
	switch m := t.Secrets.Mode; m {
	case isolation.SecretsDedicatedVault, isolation.SecretsVaultAccessPolicy, isolation.SecretsScopedReferences:
	default:
		return p.fail("secrets mode %q is not supported by the %s target", m, p.target())
	}
	objectName := func(ref string) string { return ref }
	if !p.own {
		objectName = func(ref string) string { return SharedSecretObjectName(p.id, ref) }
	}
	refs, err := SecretRefs(p.in.Binding, objectName)
	if err != nil {
		return err
	}
	t.Secrets.Refs = refs
	if t.Secrets.ProviderClass, err = p.secretProviderClass(refs, p.workloadIdentity()); err != nil {
		return err
	}
	if p.azure {
		s, err := planAzureSecrets(p.in.Binding, p.in.Env, t)
		if err != nil {
			return err
		}
		t.Secrets.Azure = s
	}
	return nil
}

// RBAC verbs.
var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

// namespaceWorkloadRules is what a tenant's ServiceAccount may do in a namespace of its own: run
// and expose workloads. It cannot touch what isolates it (NetworkPolicies, ResourceQuotas,
// LimitRanges, RBAC, ServiceAccounts, the namespace) nor read Secrets beyond its references.
func namespaceWorkloadRules() []PolicyRule {
	return []PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "configmaps", "persistentvolumeclaims"}, Verbs: writeVerbs},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: readVerbs},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "replicasets"}, Verbs: writeVerbs},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: writeVerbs},
		{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: writeVerbs},
		{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: writeVerbs},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: writeVerbs},
	}
}

// identity: the tenant's ServiceAccount, limited by a Role to the tenant's own objects and
// annotated with its workload identity. In the shared namespace it may only read its own
// SecretProviderClass and its own synced Secrets, by name: the platform runs shared workloads,
// and RBAC cannot scope create/list to one tenant's objects. On the azure target, the
// user-assigned identity federated with the account.
func (p *planner) identity() error {
	t := p.t
	name := TenantObjectName(p.id)
	var rules []PolicyRule
	if p.own {
		rules = namespaceWorkloadRules()
	}
	if c := t.Secrets.ProviderClass; c != nil {
		rules = append(rules, PolicyRule{APIGroups: []string{SecretProviderClassGroup}, Resources: []string{SecretProviderClassResource},
			Verbs: []string{"get"}, ResourceNames: []string{c.Metadata.Name}})
	}
	// An empty resourceNames would grant every Secret in the namespace, so the rule exists only
	// when there is something to name.
	var names []string
	for _, r := range t.Secrets.Refs {
		names = append(names, r.SecretObject)
	}
	if UsesPostgres(p.in.Env) {
		names = append(names, TenantDataSecretName(p.id))
	}
	if len(names) > 0 {
		rules = append(rules, PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: names})
	}
	t.Identity = Identity{
		ServiceAccount: ServiceAccount{Metadata: meta(name, t.Namespace, t.Labels)},
		Role:           Role{Metadata: meta(name, t.Namespace, t.Labels), Rules: rules},
		RoleBinding:    RoleBinding{Metadata: meta(name, t.Namespace, t.Labels), Role: name, ServiceAccount: name},
		Workload:       p.workloadIdentity(),
	}
	// The annotations are known here only where the environment declares the identity; on the
	// azure target the program adds them from the identity it creates.
	if w := t.Identity.Workload; w != nil && w.ClientID != "" {
		t.Identity.ServiceAccount.Metadata.Annotations = map[string]string{AnnotationWorkloadClientID: w.ClientID, AnnotationWorkloadTenantID: w.TenantID}
	}
	if p.azure {
		t.Identity.Azure = planAzureIdentity(p.id, t.Environment, t.Namespace, name, t.Azure)
	}
	return nil
}

// KubernetesObjects are the manifests of every Kubernetes object the tenant stack creates, in
// the order the program creates them. Patches of objects other stacks own are not objects and
// are not listed.
func (t *Tenant) KubernetesObjects() []map[string]any {
	var out []map[string]any
	if ns := t.Compute.OwnNamespace; ns != nil {
		out = append(out, ns.Manifest())
	}
	if t.Identity.ServiceAccount.Metadata.Name != "" {
		out = append(out, t.Identity.ServiceAccount.Manifest(), t.Identity.Role.Manifest(), t.Identity.RoleBinding.Manifest())
	}
	for _, np := range t.Network.Policies {
		out = append(out, np.Manifest())
	}
	if pc := t.Quota.PriorityClass; pc != nil {
		out = append(out, pc.Manifest())
	}
	if t.Quota.ResourceQuota.Metadata.Name != "" {
		out = append(out, t.Quota.ResourceQuota.Manifest())
	}
	if lr := t.Quota.LimitRange; lr != nil {
		out = append(out, lr.Manifest())
	}
	if c := t.Secrets.ProviderClass; c != nil {
		out = append(out, c.Manifest())
	}
	return out
}
