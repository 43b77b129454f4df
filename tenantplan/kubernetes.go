package tenantplan

// The Kubernetes objects a plan holds. Each is what a program creates, field for field, with
// nothing a program learns at run time; Manifest renders it as the object the API server gets,
// which is also what a program under Pulumi mocks records and what reachability analyses.

// ObjectMeta names an object and carries its labels.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Namespace is a namespace a stack creates.
type Namespace struct {
	Metadata ObjectMeta `json:"metadata"`
}

// ServiceAccount is a workload identity; no pod mounts its token unless it asks to.
type ServiceAccount struct {
	Metadata ObjectMeta `json:"metadata"`
}

// PolicyRule is one RBAC rule.
type PolicyRule struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string `json:"resources"`
	Verbs         []string `json:"verbs"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// Role is a namespaced RBAC role.
type Role struct {
	Metadata ObjectMeta   `json:"metadata"`
	Rules    []PolicyRule `json:"rules"`
}

// RoleBinding grants Role to ServiceAccount, both in the binding's namespace.
type RoleBinding struct {
	Metadata       ObjectMeta `json:"metadata"`
	Role           string     `json:"role"`
	ServiceAccount string     `json:"serviceAccount"`
}

// LabelSelector selects by labels. In a policy a nil *LabelSelector is no selector and an empty
// one selects everything.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// NetworkPolicyPeer is one side of a policy rule.
type NetworkPolicyPeer struct {
	PodSelector       *LabelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
}

// NetworkPolicyPort is a protocol and port a rule admits.
type NetworkPolicyPort struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// NetworkPolicyRule admits traffic from (ingress) or to (egress) its peers on its ports (every
// port when there are none).
type NetworkPolicyRule struct {
	Peers []NetworkPolicyPeer `json:"peers"`
	Ports []NetworkPolicyPort `json:"ports,omitempty"`
}

// NetworkPolicy is a Kubernetes NetworkPolicy.
type NetworkPolicy struct {
	Metadata    ObjectMeta          `json:"metadata"`
	PodSelector LabelSelector       `json:"podSelector"`
	PolicyTypes []string            `json:"policyTypes"`
	Ingress     []NetworkPolicyRule `json:"ingress,omitempty"`
	Egress      []NetworkPolicyRule `json:"egress,omitempty"`
}

// ResourceQuota caps a namespace, or, with PriorityClasses, the pods of those classes in it.
type ResourceQuota struct {
	Metadata        ObjectMeta        `json:"metadata"`
	Hard            map[string]string `json:"hard"`
	PriorityClasses []string          `json:"priorityClasses,omitempty"`
}

// LimitItem is one LimitRange entry's defaults and maximum.
type LimitItem struct {
	Default        map[string]string `json:"default,omitempty"`
	DefaultRequest map[string]string `json:"defaultRequest,omitempty"`
	Max            map[string]string `json:"max,omitempty"`
}

// LimitRange supplies per-container defaults and caps containers and claims.
type LimitRange struct {
	Metadata  ObjectMeta `json:"metadata"`
	Container LimitItem  `json:"container"`
	// PVC caps a claim; nil without a storage quota.
	PVC map[string]string `json:"pvc,omitempty"`
}

// PriorityClass keys a shared tenant's quota slice.
type PriorityClass struct {
	Metadata         ObjectMeta `json:"metadata"`
	Value            int        `json:"value"`
	PreemptionPolicy string     `json:"preemptionPolicy"`
	Description      string     `json:"description"`
}

// Toleration is a pod toleration, as exported for the tenant's deployment tooling.
type Toleration struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
	Effect   string `json:"effect"`
}

func meta(name, namespace string, labels map[string]string) ObjectMeta {
	return ObjectMeta{Name: name, Namespace: namespace, Labels: labels}
}

// Manifests. Maps and lists are fresh copies, so a caller may change a manifest freely.

func object(apiVersion, kind string, m ObjectMeta) map[string]any {
	md := map[string]any{"name": m.Name}
	if m.Namespace != "" {
		md["namespace"] = m.Namespace
	}
	if m.Labels != nil {
		md["labels"] = stringMap(m.Labels)
	}
	if len(m.Annotations) > 0 {
		md["annotations"] = stringMap(m.Annotations)
	}
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func stringList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Manifest is the Namespace object.
func (n Namespace) Manifest() map[string]any { return object("v1", "Namespace", n.Metadata) }

// Manifest is the ServiceAccount object.
func (s ServiceAccount) Manifest() map[string]any {
	o := object("v1", "ServiceAccount", s.Metadata)
	o["automountServiceAccountToken"] = false
	return o
}

// Manifest is the Role object.
func (r Role) Manifest() map[string]any {
	o := object("rbac.authorization.k8s.io/v1", "Role", r.Metadata)
	rules := []any{}
	for _, pr := range r.Rules {
		m := map[string]any{"apiGroups": stringList(pr.APIGroups), "resources": stringList(pr.Resources), "verbs": stringList(pr.Verbs)}
		if len(pr.ResourceNames) > 0 {
			m["resourceNames"] = stringList(pr.ResourceNames)
		}
		rules = append(rules, m)
	}
	o["rules"] = rules
	return o
}

// Manifest is the RoleBinding object.
func (b RoleBinding) Manifest() map[string]any {
	o := object("rbac.authorization.k8s.io/v1", "RoleBinding", b.Metadata)
	o["roleRef"] = map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": b.Role}
	o["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": b.ServiceAccount, "namespace": b.Metadata.Namespace}}
	return o
}

func (s LabelSelector) manifest() map[string]any {
	if s.MatchLabels == nil {
		return map[string]any{}
	}
	return map[string]any{"matchLabels": stringMap(s.MatchLabels)}
}

func (r NetworkPolicyRule) manifest(peersKey string) map[string]any {
	peers := []any{}
	for _, p := range r.Peers {
		m := map[string]any{}
		if p.PodSelector != nil {
			m["podSelector"] = p.PodSelector.manifest()
		}
		if p.NamespaceSelector != nil {
			m["namespaceSelector"] = p.NamespaceSelector.manifest()
		}
		peers = append(peers, m)
	}
	out := map[string]any{peersKey: peers}
	if len(r.Ports) > 0 {
		ports := []any{}
		for _, p := range r.Ports {
			ports = append(ports, map[string]any{"protocol": p.Protocol, "port": int64(p.Port)})
		}
		out["ports"] = ports
	}
	return out
}

// Manifest is the NetworkPolicy object.
func (p NetworkPolicy) Manifest() map[string]any {
	o := object("networking.k8s.io/v1", "NetworkPolicy", p.Metadata)
	spec := map[string]any{"podSelector": p.PodSelector.manifest(), "policyTypes": stringList(p.PolicyTypes)}
	if len(p.Ingress) > 0 {
		rules := []any{}
		for _, r := range p.Ingress {
			rules = append(rules, r.manifest("from"))
		}
		spec["ingress"] = rules
	}
	if len(p.Egress) > 0 {
		rules := []any{}
		for _, r := range p.Egress {
			rules = append(rules, r.manifest("to"))
		}
		spec["egress"] = rules
	}
	o["spec"] = spec
	return o
}

// Manifest is the ResourceQuota object.
func (q ResourceQuota) Manifest() map[string]any {
	o := object("v1", "ResourceQuota", q.Metadata)
	spec := map[string]any{"hard": stringMap(q.Hard)}
	if len(q.PriorityClasses) > 0 {
		spec["scopeSelector"] = map[string]any{"matchExpressions": []any{map[string]any{
			"scopeName": "PriorityClass", "operator": "In", "values": stringList(q.PriorityClasses),
		}}}
	}
	o["spec"] = spec
	return o
}

func (it LimitItem) manifest(typ string) map[string]any {
	m := map[string]any{"type": typ}
	if it.Default != nil {
		m["default"] = stringMap(it.Default)
	}
	if it.DefaultRequest != nil {
		m["defaultRequest"] = stringMap(it.DefaultRequest)
	}
	if len(it.Max) > 0 {
		m["max"] = stringMap(it.Max)
	}
	return m
}

// Manifest is the LimitRange object.
func (l LimitRange) Manifest() map[string]any {
	o := object("v1", "LimitRange", l.Metadata)
	limits := []any{l.Container.manifest("Container")}
	if len(l.PVC) > 0 {
		limits = append(limits, LimitItem{Max: l.PVC}.manifest("PersistentVolumeClaim"))
	}
	o["spec"] = map[string]any{"limits": limits}
	return o
}

// Manifest is the PriorityClass object.
func (c PriorityClass) Manifest() map[string]any {
	o := object("scheduling.k8s.io/v1", "PriorityClass", c.Metadata)
	o["value"] = int64(c.Value)
	o["preemptionPolicy"] = c.PreemptionPolicy
	o["globalDefault"] = false
	o["description"] = c.Description
	return o
}
