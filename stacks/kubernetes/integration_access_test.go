package kubernetes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/internal/testenv"
)

// access is one SubjectAccessReview: may tenant's ServiceAccount do verb on resource in ns?
type access struct {
	tenant, saNS string // the ServiceAccount t-<tenant> in saNS
	verb         string
	group        string
	resource     string
	name         string
	ns           string
	allowed      bool
}

func (a access) String() string {
	obj := a.resource
	if a.group != "" {
		obj += "." + a.group
	}
	if a.name != "" {
		obj += "/" + a.name
	}
	where := "cluster-wide"
	if a.ns != "" {
		where = "in " + a.ns
	}
	return fmt.Sprintf("t-%s %s %s %s", a.tenant, a.verb, obj, where)
}

func (a access) review(ctx context.Context, cs kubernetes.Interface) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		// The groups the API server gives every ServiceAccount token, so a grant to any of them
		// would show here too.
		User:   "system:serviceaccount:" + a.saNS + ":t-" + a.tenant,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + a.saNS, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.ns, Verb: a.verb, Group: a.group, Resource: a.resource, Name: a.name,
		},
	}}
	res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("review %s: %w", a, err)
	}
	return res.Status.Allowed, nil
}

// checkRBAC: each tenant's ServiceAccount may run workloads in its own namespace (or read its own
// references in the shared one) and nothing in another tenant's namespace, nor touch what
// isolates it.
func checkRBAC(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	tests := []access{
		// What the Role grants (rbac.go namespaceWorkloadRules and the secret-reference rules).
		{"acme", acmeNS, "create", "", "pods", "", acmeNS, true},
		{"acme", acmeNS, "get", "", "secrets", "db-connection", acmeNS, true},
		{"globex", globexNS, "create", "", "pods", "", globexNS, true},
		{"globex", globexNS, "create", "apps", "deployments", "", globexNS, true},
		{"globex", globexNS, "get", "", "secrets", "db-connection", globexNS, true},
		{"initech", sharedNS, "get", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-initech", sharedNS, true},
		{"initech", sharedNS, "get", "", "secrets", "t-initech.api-key", sharedNS, true},
		{"globex", globexNS, "get", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-globex", globexNS, true},

		// Another tenant's namespace, and the shared one.
		{"acme", acmeNS, "create", "", "pods", "", globexNS, false},
		{"acme", acmeNS, "create", "", "pods", "", sharedNS, false},
		{"acme", acmeNS, "get", "", "secrets", "", globexNS, false},
		{"acme", acmeNS, "get", "", "secrets", "db-connection", globexNS, false},
		{"acme", acmeNS, "get", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-initech", sharedNS, false},
		{"acme", acmeNS, "get", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-globex", globexNS, false},
		// No tenant writes a class, not even its own: the class names the identity and the vault.
		{"globex", globexNS, "update", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-globex", globexNS, false},
		{"globex", globexNS, "create", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "", globexNS, false},
		{"globex", globexNS, "create", "", "pods", "", acmeNS, false},
		{"globex", globexNS, "list", "", "pods", "", acmeNS, false},
		{"initech", sharedNS, "create", "", "pods", "", globexNS, false},
		// Own namespace, beyond the Role: no other Secret, no listing Secrets, nothing that isolates.
		{"acme", acmeNS, "get", "", "secrets", "other", acmeNS, false},
		{"acme", acmeNS, "list", "", "secrets", "", acmeNS, false},
		{"acme", acmeNS, "delete", "networking.k8s.io", "networkpolicies", "default-deny", acmeNS, false},
		{"globex", globexNS, "update", "", "resourcequotas", "t-globex", globexNS, false},
		{"globex", globexNS, "create", "rbac.authorization.k8s.io", "rolebindings", "", globexNS, false},
		{"globex", globexNS, "patch", "", "namespaces", globexNS, "", false},
		// The shared namespace: the platform runs workloads; a tenant reads only its own refs.
		{"initech", sharedNS, "create", "", "pods", "", sharedNS, false},
		{"initech", sharedNS, "list", "", "secrets", "", sharedNS, false},
		{"initech", sharedNS, "get", "", "secrets", "t-other.api-key", sharedNS, false},
		{"initech", sharedNS, "get", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "t-other", sharedNS, false},
		{"initech", sharedNS, "list", "secrets-store.csi.x-k8s.io", "secretproviderclasses", "", sharedNS, false},
		{"initech", sharedNS, "delete", "networking.k8s.io", "networkpolicies", "t-initech-allow-same-tenant", sharedNS, false},
	}
	// The authorizer reads Roles from an informer: wait until every grant is visible, so that a
	// denial below is a real denial and not a cache that has not caught up.
	testenv.Eventually(t, 30*time.Second, "tenant Roles in effect", func() (bool, error) {
		for _, a := range tests {
			if !a.allowed {
				continue
			}
			ok, err := a.review(ctx, cs)
			if err != nil || !ok {
				return false, fmt.Errorf("%s: allowed=%v err=%v", a, ok, err)
			}
		}
		return true, nil
	})
	for _, a := range tests {
		t.Run(a.String(), func(t *testing.T) {
			got, err := a.review(ctx, cs)
			if err != nil {
				t.Fatal(err)
			}
			if got != a.allowed {
				t.Errorf("allowed = %v, want %v", got, a.allowed)
			}
		})
	}
}

// restrictedPod is a pod that passes Pod Security "restricted", so a rejection below comes from
// the admission policies and not from Pod Security.
func restrictedPod(name string, edits ...func(*corev1.Pod)) *corev1.Pod {
	yes, no := true, false
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &yes,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "connectsoft.azurecr.io/app:1.0.0",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	for _, e := range edits {
		e(p)
	}
	return p
}

func selectNodes(tenant string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"tenantctl.io/tenant": tenant} }
}

func tolerate(tenant string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{
			Key: "tenantctl.io/tenant", Operator: corev1.TolerationOpEqual, Value: tenant, Effect: corev1.TaintEffectNoSchedule,
		})
	}
}

func tolerateEverything(p *corev1.Pod) {
	p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists})
}

func onNode(p *corev1.Pod) { p.Spec.NodeName = "node-1" }

// mountClass adds a Secrets Store CSI volume naming class, as a workload reading Key Vault does.
func mountClass(class string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		ro := true
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "secrets", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
			Driver: "secrets-store.csi.k8s.io", ReadOnly: &ro, VolumeAttributes: map[string]string{"secretProviderClass": class},
		}}})
		p.Labels = merge(p.Labels, map[string]string{"azure.workload.identity/use": "true"})
	}
}

func runAs(sa string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.ServiceAccountName = sa }
}

// sharedAs makes a pod of the shared namespace: tenant label, ServiceAccount and PriorityClass.
// An empty argument leaves that field unset.
func sharedAs(label, serviceAccount, priorityClass string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if label != "" {
			p.Labels = map[string]string{"tenantctl.io/tenant": label}
		}
		p.Spec.ServiceAccountName = serviceAccount
		p.Spec.PriorityClassName = priorityClass
	}
}

// admission is one dry-run pod creation and the policy expected to reject it ("" = admitted).
type admission struct {
	name   string
	ns     string
	pod    *corev1.Pod
	policy string
	reason string
}

// create dry-runs the pod and returns nil if the outcome is the expected one.
func (a admission) create(ctx context.Context, cs kubernetes.Interface) error {
	_, err := cs.CoreV1().Pods(a.ns).Create(ctx, a.pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	switch {
	case a.policy == "" && err != nil:
		return fmt.Errorf("%s: rejected, want admitted: %w", a.name, err)
	case a.policy == "":
		return nil
	case err == nil:
		return fmt.Errorf("%s: admitted, want rejected by %s", a.name, a.policy)
	case !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+a.policy+"'") || !strings.Contains(err.Error(), a.reason):
		return fmt.Errorf("%s: rejected for another reason, want %s (%q): %w", a.name, a.policy, a.reason, err)
	}
	return nil
}

const (
	pinning    = "tenantctl-silo-node-pinning"
	scheduling = "tenantctl-tenant-scheduling"
	identity   = "tenantctl-shared-tenant-identity"
	secrets    = "tenantctl-tenant-secrets"
)

// checkAdmission: the platform's ValidatingAdmissionPolicies, enforced by the API server itself,
// pin silo pods to their nodes, keep every tenant off the others' nodes, and make every shared
// pod name its tenant, run as it and count against its quota slice.
func checkAdmission(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	const initechPC = "tenantctl-shared-initech"
	tests := []admission{
		{"silo pod pinned to its nodes", acmeNS, restrictedPod("pinned", selectNodes("acme"), tolerate("acme")), "", ""},
		{"silo pod without nodeSelector or toleration", acmeNS, restrictedPod("unpinned"), pinning, "silo pods must set nodeSelector"},
		{"silo pod without toleration", acmeNS, restrictedPod("no-toleration", selectNodes("acme")), pinning, "silo pods must tolerate"},
		{"silo pod without nodeSelector", acmeNS, restrictedPod("no-selector", tolerate("acme")), pinning, "silo pods must set nodeSelector"},
		{"silo pod also tolerating another tenant's taint", acmeNS, restrictedPod("tolerate-globex", selectNodes("acme"), tolerate("acme"), tolerate("globex")), scheduling, "only tolerate their own tenant's taint"},
		{"silo pod bypassing the scheduler", acmeNS, restrictedPod("bypass", selectNodes("acme"), tolerate("acme"), onNode), scheduling, "may not bypass the scheduler"},

		{"pool pod", globexNS, restrictedPod("plain"), "", ""},
		{"pool pod selecting acme's nodes", globexNS, restrictedPod("select-acme", selectNodes("acme")), scheduling, "only select their own tenant's nodes"},
		{"pool pod tolerating acme's taint", globexNS, restrictedPod("tolerate-acme", tolerate("acme")), scheduling, "only tolerate their own tenant's taint"},
		{"pool pod tolerating every taint", globexNS, restrictedPod("tolerate-all", tolerateEverything), scheduling, "may not tolerate every taint"},
		{"pool pod bypassing the scheduler", globexNS, restrictedPod("bypass", onNode), scheduling, "may not bypass the scheduler"},

		{"shared pod of initech", sharedNS, restrictedPod("initech", sharedAs("initech", "t-initech", initechPC)), "", ""},
		{"shared pod without tenant label", sharedNS, restrictedPod("anonymous", sharedAs("", "t-initech", initechPC)), identity, "must carry the tenantctl.io/tenant label"},
		{"shared pod with another tenant's ServiceAccount", sharedNS, restrictedPod("borrowed-sa", sharedAs("initech", "t-globex", initechPC)), identity, "must run as their tenant's ServiceAccount"},
		{"shared pod without ServiceAccount", sharedNS, restrictedPod("no-sa", sharedAs("initech", "", initechPC)), identity, "must run as their tenant's ServiceAccount"},
		{"shared pod outside its quota slice", sharedNS, restrictedPod("no-slice", sharedAs("initech", "t-initech", "")), identity, "must use their tenant's quota slice"},
		{"shared pod on acme's nodes", sharedNS, restrictedPod("select-acme", sharedAs("initech", "t-initech", initechPC), selectNodes("acme")), scheduling, "only select their own tenant's nodes"},

		// Secrets: a pod mounts its own tenant's SecretProviderClass as its tenant's account.
		{"pool pod mounting its own class", globexNS, restrictedPod("own-class", runAs("t-globex"), mountClass("t-globex")), "", ""},
		{"pool pod mounting acme's class", globexNS, restrictedPod("acme-class", runAs("t-globex"), mountClass("t-acme")), secrets, "may mount only their own tenant's SecretProviderClass"},
		{"silo pod mounting its own class", acmeNS, restrictedPod("own-class", selectNodes("acme"), tolerate("acme"), runAs("t-acme"), mountClass("t-acme")), "", ""},
		{"silo pod mounting globex's class", acmeNS, restrictedPod("globex-class", selectNodes("acme"), tolerate("acme"), mountClass("t-globex")), secrets, "may mount only their own tenant's SecretProviderClass"},
		{"pool pod running as another tenant's account name", globexNS, restrictedPod("acme-sa", runAs("t-acme")), secrets, "may run only as their tenant's ServiceAccount"},
		{"shared pod mounting its tenant's class", sharedNS, restrictedPod("own-class", sharedAs("initech", "t-initech", initechPC), mountClass("t-initech")), "", ""},
		{"shared pod mounting a pool tenant's class name", sharedNS, restrictedPod("globex-class", sharedAs("initech", "t-initech", initechPC), mountClass("t-globex")), secrets, "may mount only their own tenant's SecretProviderClass"},
	}
	// Policies and bindings take effect a moment after they are created: wait until each policy
	// rejects what it should.
	probes := map[string]admission{}
	for _, a := range tests {
		if _, seen := probes[a.policy]; a.policy != "" && !seen {
			probes[a.policy] = a
		}
	}
	for policy, probe := range probes {
		testenv.Eventually(t, 60*time.Second, "admission policy "+policy+" in effect", func() (bool, error) {
			err := probe.create(ctx, cs)
			return err == nil, err
		})
	}
	for _, a := range tests {
		t.Run(a.name, func(t *testing.T) {
			if err := a.create(ctx, cs); err != nil {
				t.Error(err)
			}
		})
	}
}
