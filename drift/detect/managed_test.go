package detect

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

const (
	acmeStack = "tenant.acme.dev"
	digest    = "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1"

	denyInputs = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
	  "metadata":{"name":"default-deny","namespace":"t-acme","labels":{"tenantctl.io/tenant":"acme","app.kubernetes.io/managed-by":"tenantctl"}},
	  "spec":{"podSelector":{},"policyTypes":["Ingress"]}}`
	// pulumi's apply set once another manager took spec.policyTypes away from it
	pulumiDenyFields = `{"f:metadata":{"f:labels":{"f:app.kubernetes.io/managed-by":{},"f:tenantctl.io/tenant":{}}},"f:spec":{"f:podSelector":{}}}`

	webInputs = `{"apiVersion":"apps/v1","kind":"Deployment",
	  "metadata":{"name":"web","namespace":"t-acme","labels":{"app":"web"}},
	  "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
	    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app",
	      "image":"connectsoft.azurecr.io/web@` + digest + `","ports":[{"containerPort":8080}],
	      "resources":{"limits":{"cpu":"1000m","memory":"256Mi"}}}]}}}}`
)

// liveDeny is the observed object: policyTypes merge-patched to [Ingress, Egress] by kubectl.
func liveDeny(t *testing.T, policyTypes string, labels string, managers ...metav1.ManagedFieldsEntry) unstructured.Unstructured {
	return withManagers(object(t, `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
	  "metadata":{"name":"default-deny","namespace":"t-acme","uid":"u-deny","resourceVersion":"812","generation":2,
	    "creationTimestamp":"2026-03-01T10:00:00Z","labels":`+labels+`},
	  "spec":{"podSelector":{},"policyTypes":`+policyTypes+`}}`), managers...)
}

const acmeLabels = `{"tenantctl.io/tenant":"acme","app.kubernetes.io/managed-by":"tenantctl"}`

// liveWeb is the Deployment as the API server returns it: defaults everywhere, status, quantities
// canonicalised.
func liveWeb(t *testing.T, replicas, image, extraContainer string, managers ...metav1.ManagedFieldsEntry) unstructured.Unstructured {
	return withManagers(object(t, `{"apiVersion":"apps/v1","kind":"Deployment",
	  "metadata":{"name":"web","namespace":"t-acme","uid":"u-web","generation":3,"labels":{"app":"web"},
	    "annotations":{"deployment.kubernetes.io/revision":"2"}},
	  "spec":{"replicas":`+replicas+`,"revisionHistoryLimit":10,"progressDeadlineSeconds":600,
	    "selector":{"matchLabels":{"app":"web"}},
	    "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
	    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"restartPolicy":"Always","dnsPolicy":"ClusterFirst",
	      "containers":[{"name":"app","image":"`+image+`","imagePullPolicy":"IfNotPresent",
	        "ports":[{"containerPort":8080,"protocol":"TCP"}],
	        "resources":{"limits":{"cpu":"1","memory":"256Mi"}},
	        "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}`+extraContainer+`]}}},
	  "status":{"replicas":2,"readyReplicas":2,"observedGeneration":3}}`), managers...)
}

const pulumiWebFields = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},
  "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},
  "f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}},
  "f:resources":{"f:limits":{"f:cpu":{},"f:memory":{}}}}}}}}}`

func TestManagedDrift(t *testing.T) {
	env := testEnv()
	deny := stateResource(t, acmeStack, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "t-acme/default-deny", "t-acme/default-deny", denyInputs)
	web := stateResource(t, acmeStack, "kubernetes:apps/v1:Deployment", "t-acme/web", "t-acme/web", webInputs)
	cache := stateResource(t, acmeStack, "kubernetes:core/v1:ConfigMap", "t-acme/cache", "t-acme/cache",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},
		  "data":{"size":"10","token":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:AAAA"}}}`)
	secret := stateResource(t, acmeStack, "kubernetes:core/v1:Secret", "t-acme/db", "t-acme/db",
		`{"apiVersion":"v1","kind":"Secret","type":"Opaque","metadata":{"name":"db","namespace":"t-acme","labels":{"tier":"db"}},
		  "stringData":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:BBBB"}}`)
	sa := stateResource(t, acmeStack, "kubernetes:core/v1:ServiceAccount", "t-acme/t-acme", "t-acme/t-acme",
		`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"t-acme","namespace":"t-acme"},"automountServiceAccountToken":false}`)
	role := stateResource(t, acmeStack, "kubernetes:rbac.authorization.k8s.io/v1:Role", "t-acme/t-acme", "t-acme/t-acme",
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"t-acme","namespace":"t-acme"},"rules":[]}`)

	pinned := "connectsoft.azurecr.io/web@" + digest
	tests := []struct {
		name     string
		state    []apitypeResource
		live     []unstructured.Unstructured
		coverage *inventory.Coverage
		opts     []Option
		want     []brief
	}{
		{
			name:  "observed: policyTypes merge-patched by another manager is a field conflict",
			state: []apitypeResource{deny},
			live: []unstructured.Unstructured{liveDeny(t, `["Ingress","Egress"]`, acmeLabels,
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, pulumiDenyFields),
				managed("kubectl-patch", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:policyTypes":{}}}`))},
			want: []brief{{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny",
				Field: "spec.policyTypes", Desired: `["Ingress"]`, Live: `["Ingress","Egress"]`, Manager: "kubectl-patch", Severity: finding.SeverityHigh}},
		},
		{
			name:  "in sync: nothing",
			state: []apitypeResource{deny},
			live: []unstructured.Unstructured{liveDeny(t, `["Ingress"]`, acmeLabels,
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:app.kubernetes.io/managed-by":{},"f:tenantctl.io/tenant":{}}},"f:spec":{"f:podSelector":{},"f:policyTypes":{}}}`))},
		},
		{
			name:  "tenant label relabelled by kubectl label",
			state: []apitypeResource{deny},
			live: []unstructured.Unstructured{liveDeny(t, `["Ingress"]`, `{"tenantctl.io/tenant":"globex","app.kubernetes.io/managed-by":"tenantctl"}`,
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:app.kubernetes.io/managed-by":{}}},"f:spec":{"f:podSelector":{},"f:policyTypes":{}}}`),
				managed("kubectl-label", metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{"f:tenantctl.io/tenant":{}}}}`))},
			want: []brief{{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny",
				Field: `metadata.labels["tenantctl.io/tenant"]`, Desired: `"acme"`, Live: `"globex"`, Manager: "kubectl-label", Severity: finding.SeverityHigh}},
		},
		{
			name:  "label removed: drift without an owner",
			state: []apitypeResource{deny},
			live: []unstructured.Unstructured{liveDeny(t, `["Ingress"]`, `{"tenantctl.io/tenant":"acme"}`,
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:tenantctl.io/tenant":{}}},"f:spec":{"f:podSelector":{},"f:policyTypes":{}}}`))},
			want: []brief{{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "networking.k8s.io/v1/NetworkPolicy t-acme/default-deny",
				Field: `metadata.labels["app.kubernetes.io/managed-by"]`, Desired: `"tenantctl"`, Severity: finding.SeverityMedium}},
		},
		{
			name:  "defaults, status, canonical quantities and int vs float are not drift",
			state: []apitypeResource{web},
			live:  []unstructured.Unstructured{liveWeb(t, "2", pinned, "", managed(pulumiManager, metav1.ManagedFieldsOperationApply, pulumiWebFields))},
		},
		{
			name:  "image set by kubectl set image, replicas by kubectl scale",
			state: []apitypeResource{web},
			live: []unstructured.Unstructured{liveWeb(t, "5", "docker.io/library/nginx:1.27", "",
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, pulumiWebFields),
				managed("kubectl-set", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`),
				managed("kubectl-scale", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:replicas":{}}}`))},
			want: []brief{
				{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web", Field: "spec.replicas",
					Desired: `2`, Live: `5`, Manager: "kubectl-scale", Severity: finding.SeverityHigh},
				{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web", Field: "spec.template.spec.containers[name=app].image",
					Desired: `"` + pinned + `"`, Live: `"docker.io/library/nginx:1.27"`, Manager: "kubectl-set", Severity: finding.SeverityHigh},
			},
		},
		{
			name:  "container added to a managed workload",
			state: []apitypeResource{web},
			live: []unstructured.Unstructured{liveWeb(t, "2", pinned, `,{"name":"debug","image":"busybox"}`,
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, pulumiWebFields),
				managed("kubectl-edit", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"debug\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`))},
			want: []brief{{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/web",
				Field: "spec.template.spec.containers[name=debug]", Live: `{"image":"busybox","name":"debug"}`, Manager: "kubectl-edit", Severity: finding.SeverityMedium}},
		},
		{
			name:  "ConfigMap value edited; a Pulumi secret input is never compared",
			state: []apitypeResource{cache},
			live: []unstructured.Unstructured{withManagers(object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cache","namespace":"t-acme"},
			  "data":{"size":"20","token":"whatever"}}`),
				managed(pulumiManager, metav1.ManagedFieldsOperationApply, `{"f:data":{"f:token":{}}}`),
				managed("kubectl-edit", metav1.ManagedFieldsOperationUpdate, `{"f:data":{"f:size":{}}}`))},
			want: []brief{{Kind: finding.KindFieldConflict, Tenant: "acme", Resource: "v1/ConfigMap t-acme/cache", Field: "data.size",
				Desired: `"10"`, Live: `"20"`, Manager: "kubectl-edit", Severity: finding.SeverityHigh}},
		},
		{
			name:  "Secret: only metadata is compared",
			state: []apitypeResource{secret},
			live:  []unstructured.Unstructured{object(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"t-acme","labels":{"tier":"cache"}}}`)},
			want: []brief{{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "v1/Secret t-acme/db", Field: "metadata.labels.tier",
				Desired: `"db"`, Live: `"cache"`, Severity: finding.SeverityMedium}},
		},
		{
			name:     "missing objects: reported where the snapshot looked",
			state:    []apitypeResource{sa, role},
			coverage: &inventory.Coverage{Types: []string{"v1/ServiceAccount"}, AllNamespaces: true},
			want: []brief{{Kind: finding.KindMissingResource, Tenant: "acme", Resource: "v1/ServiceAccount t-acme/t-acme",
				Severity: finding.SeverityHigh}},
		},
		{
			name:  "automount flipped by an own remediation manager is plain drift",
			state: []apitypeResource{sa},
			live: []unstructured.Unstructured{withManagers(object(t, `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"t-acme","namespace":"t-acme"},"automountServiceAccountToken":true}`),
				managed("tenantctl-remediate", metav1.ManagedFieldsOperationUpdate, `{"f:automountServiceAccountToken":{}}`))},
			opts: []Option{WithFieldManagers("tenantctl-")},
			want: []brief{{Kind: finding.KindManagedDrift, Tenant: "acme", Resource: "v1/ServiceAccount t-acme/t-acme", Field: "automountServiceAccountToken",
				Desired: `false`, Live: `true`, Severity: finding.SeverityMedium}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewManaged()
			for _, r := range tt.state {
				if err := d.AddStack(acmeStack, []apitypeResource{r}); err != nil {
					t.Fatal(err)
				}
			}
			snap := snapshot(tt.live...)
			snap.Coverage = tt.coverage
			fs, err := New(env, d, append(tt.opts, WithChecks(CheckManaged))...).Check(context.Background(), snap)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff(tt.want, briefs(t, fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFieldConflictFindingIsComplete(t *testing.T) {
	d := desiredOf(t, acmeStack, stateResource(t, acmeStack, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "t-acme/default-deny", "t-acme/default-deny", denyInputs))
	b := testBinding("acme", "tenants/acme.yaml", 4)
	snap := snapshot(liveDeny(t, `["Ingress","Egress"]`, acmeLabels,
		managed(pulumiManager, metav1.ManagedFieldsOperationApply, pulumiDenyFields),
		managed("kubectl-patch", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:policyTypes":{}}}`)))
	fs, err := New(testEnv(), d, WithBindings(b), WithChecks(CheckManaged)).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	want := finding.Finding{
		Kind: finding.KindFieldConflict, Severity: finding.SeverityHigh, TenantID: "acme", Environment: "dev", Stack: acmeStack,
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy",
			Namespace: "t-acme", Name: "default-deny", ID: "t-acme/default-deny",
			URN: "urn:pulumi:tenant.acme.dev::tenantctl::kubernetes:networking.k8s.io/v1:NetworkPolicy::t-acme/default-deny"},
		Field: "spec.policyTypes", Desired: []byte(`["Ingress"]`), Live: []byte(`["Ingress","Egress"]`), Manager: "kubectl-patch",
		Evidence: []string{"managedFields: kubectl-patch (Update) owns spec.policyTypes"},
		Message:  "NetworkPolicy t-acme/default-deny: spec.policyTypes was changed by field manager kubectl-patch and no longer has the desired value",
		Detector: finding.DetectorLive, Remediation: finding.RemediationRestore,
		Location: finding.Location{File: "tenants/acme.yaml", Line: 4},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("finding (-want +got):\n%s", diff)
	}
}
