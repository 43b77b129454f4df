package tenantplan

import "github.com/connectsoft/tenantctl/isolation"

// Admission policy names. Each ValidatingAdmissionPolicy has one binding of the same name.
//
// Silo pinning is enforced with ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA
// since Kubernetes 1.30) because it needs no webhook server and no API server flag: it works the
// same on AKS and on a bare kube-apiserver. The PodNodeSelector/PodTolerationRestriction
// annotations that silo namespaces also carry only default the fields where those plugins happen
// to be enabled; the policies below are what rejects a pod.
const (
	// PolicySiloNodePinning: pods in a dedicated-node-pool namespace must select and tolerate their
	// tenant's nodes.
	PolicySiloNodePinning = "tenantctl-silo-node-pinning"
	// PolicyTenantScheduling: pods in any tenant namespace (and the shared one) may not select,
	// tolerate or bypass the scheduler onto another tenant's nodes.
	PolicyTenantScheduling = "tenantctl-tenant-scheduling"
	// PolicySharedTenantIdentity: pods in the shared namespace must say which tenant they belong to
	// and run under that tenant's ServiceAccount and quota slice.
	PolicySharedTenantIdentity = "tenantctl-shared-tenant-identity"
	// PolicyTenantSecrets: pods in any tenant namespace (and the shared one) may mount only their
	// tenant's SecretProviderClass and run only as their tenant's ServiceAccount (or the
	// namespace's default account, which has no workload identity).
	PolicyTenantSecrets = "tenantctl-tenant-secrets"
)

// AdmissionPolicyNames lists every policy the platform creates, in order.
var AdmissionPolicyNames = []string{PolicySiloNodePinning, PolicyTenantScheduling, PolicySharedTenantIdentity, PolicyTenantSecrets}

// Node pinning vocabulary: silo nodes carry the label tenantctl.io/tenant=<id> and the taint
// tenantctl.io/tenant=<id>:NoSchedule; silo pods carry the matching nodeSelector and toleration.
const (
	NodeLabelTenant = LabelTenant
	NodeTaintEffect = "NoSchedule"
)

// CELTenant is the tenant a pod belongs to: its namespace's tenant label in a tenant namespace,
// the pod's own label in the shared namespace (which carries no tenant label), the empty string otherwise.
const CELTenant = `has(namespaceObject.metadata.labels) && '` + LabelTenant + `' in namespaceObject.metadata.labels ? ` +
	`namespaceObject.metadata.labels['` + LabelTenant + `'] : ` +
	`(has(object.metadata.labels) && '` + LabelTenant + `' in object.metadata.labels ? object.metadata.labels['` + LabelTenant + `'] : '')`

// Validation is one CEL rule of a policy.
type Validation struct {
	Expression string `json:"expression"`
	Message    string `json:"message"`
}

// AdmissionPolicy is one ValidatingAdmissionPolicy and the namespaces its binding applies to.
type AdmissionPolicy struct {
	Name        string       `json:"name"`
	Validations []Validation `json:"validations"`
	// Namespaces selects by the namespace's compute-mode label: In these modes, or, when empty,
	// every namespace that has the label (all tenant namespaces and the shared one).
	ComputeModes []isolation.Mode `json:"computeModes,omitempty"`
}

// AdmissionPolicies is the platform's pod admission, as data so tests can evaluate every
// expression against example pods.
func AdmissionPolicies() []AdmissionPolicy {
	const key = LabelTenant
	return []AdmissionPolicy{
		{
			Name:         PolicySiloNodePinning,
			ComputeModes: []isolation.Mode{isolation.ComputeDedicatedNodePool},
			Validations: []Validation{
				{`variables.tenant != ''`, "silo namespace carries no " + key + " label"},
				{`has(object.spec.nodeSelector) && '` + key + `' in object.spec.nodeSelector && object.spec.nodeSelector['` + key + `'] == variables.tenant`,
					"silo pods must set nodeSelector " + key + "=<their tenant>"},
				{`has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && t.key == '` + key + `' && (!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == variables.tenant && has(t.effect) && t.effect == '` + NodeTaintEffect + `')`,
					"silo pods must tolerate " + key + "=<their tenant>:" + NodeTaintEffect},
			},
		},
		{
			Name: PolicyTenantScheduling,
			Validations: []Validation{
				// A toleration without a key is operator Exists on every taint (the API rejects a
				// keyless Equal), so it would tolerate every tenant's nodes.
				{`!has(object.spec.tolerations) || object.spec.tolerations.all(t, has(t.key) && t.key != '')`,
					"tenant pods may not tolerate every taint"},
				{`!has(object.spec.tolerations) || object.spec.tolerations.all(t, !has(t.key) || t.key != '` + key + `' || ((!has(t.operator) || t.operator == 'Equal') && has(t.value) && t.value == variables.tenant))`,
					"tenant pods may only tolerate their own tenant's taint"},
				{`!has(object.spec.nodeSelector) || !('` + key + `' in object.spec.nodeSelector) || object.spec.nodeSelector['` + key + `'] == variables.tenant`,
					"tenant pods may only select their own tenant's nodes"},
				// spec.nodeName skips the scheduler and with it every NoSchedule taint. The scheduler
				// binds through pods/binding, which this policy does not match, so only a pod created
				// with a node name is refused.
				{`request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''`,
					"tenant pods may not bypass the scheduler with spec.nodeName"},
			},
		},
		{
			Name:         PolicySharedTenantIdentity,
			ComputeModes: []isolation.Mode{isolation.ComputeSharedNamespace},
			Validations: []Validation{
				{`variables.tenant != ''`, "pods in the shared namespace must carry the " + key + " label"},
				{`has(object.spec.serviceAccountName) && object.spec.serviceAccountName == '` + TenantObjectName("") + `' + variables.tenant`,
					"pods in the shared namespace must run as their tenant's ServiceAccount t-<tenant>"},
				{`has(object.spec.priorityClassName) && object.spec.priorityClassName == '` + SharedPriorityClassName("") + `' + variables.tenant`,
					"pods in the shared namespace must use their tenant's quota slice, priorityClassName tenantctl-shared-<tenant>"},
			},
		},
		{
			Name: PolicyTenantSecrets,
			Validations: []Validation{
				// The Secrets Store CSI driver mounts whatever class a volume names, as the pod's
				// ServiceAccount; the class names the identity and the secrets. A pod may therefore
				// name only its tenant's class (t-<tenant>, in its own namespace) ...
				{`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.csi) || v.csi.driver != '` + SecretsStoreCSIDriver + `' || ` +
					`(has(v.csi.volumeAttributes) && '` + VolumeAttributeSecretProviderClass + `' in v.csi.volumeAttributes && ` +
					`v.csi.volumeAttributes['` + VolumeAttributeSecretProviderClass + `'] == '` + TenantSecretProviderClassName("") + `' + variables.tenant))`,
					"tenant pods may mount only their own tenant's SecretProviderClass t-<tenant>"},
				// ... and run only as its tenant's account, which is the one federated with the
				// tenant's identity; the namespace's default account has no identity. In the
				// shared namespace (no tenant label of its own) PolicySharedTenantIdentity
				// already requires the pod's tenant's account, and says why.
				{`!has(namespaceObject.metadata.labels) || !('` + LabelTenant + `' in namespaceObject.metadata.labels) || ` +
					`!has(object.spec.serviceAccountName) || object.spec.serviceAccountName == '' || object.spec.serviceAccountName == 'default' || ` +
					`object.spec.serviceAccountName == '` + TenantObjectName("") + `' + variables.tenant`,
					"tenant pods may run only as their tenant's ServiceAccount t-<tenant> (or the namespace's default account)"},
			},
		},
	}
}

// Manifests are the ValidatingAdmissionPolicy and its ValidatingAdmissionPolicyBinding of the
// same name, labelled with labels.
func (ap AdmissionPolicy) Manifests(labels map[string]string) (policy, binding map[string]any) {
	vals := []any{}
	for _, v := range ap.Validations {
		vals = append(vals, map[string]any{"expression": v.Expression, "message": v.Message})
	}
	policy = object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", meta(ap.Name, "", labels))
	policy["spec"] = map[string]any{
		// A policy that cannot be evaluated must not let the pod through.
		"failurePolicy": AdmissionFailurePolicy,
		"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
			"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"},
		}}},
		"variables":   []any{map[string]any{"name": "tenant", "expression": CELTenant}},
		"validations": vals,
	}
	binding = object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", meta(ap.Name, "", labels))
	binding["spec"] = map[string]any{
		"policyName":        ap.Name,
		"validationActions": []any{"Deny"},
		"matchResources":    map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{ap.namespaceSelector()}}},
	}
	return policy, binding
}

// AdmissionFailurePolicy is every policy's failure policy: one that cannot be evaluated denies.
const AdmissionFailurePolicy = "Fail"

// namespaceSelector is the binding's one label requirement: the namespace's compute-mode label
// is In ComputeModes, or, without modes, Exists.
func (ap AdmissionPolicy) namespaceSelector() map[string]any {
	req := map[string]any{"key": LayerLabel(isolation.LayerCompute), "operator": "Exists"}
	if len(ap.ComputeModes) > 0 {
		modes := make([]any, len(ap.ComputeModes))
		for i, m := range ap.ComputeModes {
			modes[i] = string(m)
		}
		req["operator"], req["values"] = "In", modes
	}
	return req
}
