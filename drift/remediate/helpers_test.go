package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
)

// fakeCluster keeps objects in memory and enforces the preconditions the API server enforces:
// an apply body's resourceVersion and a delete's uid and resourceVersion.
type fakeCluster struct {
	objs    map[string]*unstructured.Unstructured
	rv      int
	applied []appliedBody
	deleted []string
	getErr  error
	// onApply runs before an apply: a change racing the remediation.
	onApply func()
}

type appliedBody struct {
	manager string
	body    map[string]any
}

func newFakeCluster(objs ...*unstructured.Unstructured) *fakeCluster {
	c := &fakeCluster{objs: map[string]*unstructured.Unstructured{}, rv: 100}
	for _, o := range objs {
		c.put(o)
	}
	return c
}

func objKey(gk schema.GroupKind, ns, name string) string { return gk.String() + "/" + ns + "/" + name }

func (c *fakeCluster) put(o *unstructured.Unstructured) {
	c.rv++
	o = o.DeepCopy()
	o.SetResourceVersion(strconv.Itoa(c.rv))
	if o.GetUID() == "" {
		o.SetUID(types.UID("uid-" + o.GetName()))
	}
	c.objs[objKey(o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName())] = o
}

// touch changes an object out of band (a new resourceVersion).
func (c *fakeCluster) touch(gk schema.GroupKind, ns, name string) {
	o := c.objs[objKey(gk, ns, name)]
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["touched"] = "yes"
	o.SetLabels(labels)
	c.put(o)
}

func notFound(gk schema.GroupKind, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: gk.Group, Resource: gk.Kind}, name)
}

func (c *fakeCluster) Get(_ context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	if c.getErr != nil {
		return nil, c.getErr
	}
	o, ok := c.objs[objKey(gvk.GroupKind(), ns, name)]
	if !ok {
		return nil, notFound(gvk.GroupKind(), name)
	}
	return o.DeepCopy(), nil
}

func (c *fakeCluster) Apply(_ context.Context, gvk schema.GroupVersionKind, body *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	if c.onApply != nil {
		c.onApply()
	}
	k := objKey(gvk.GroupKind(), body.GetNamespace(), body.GetName())
	o, ok := c.objs[k]
	if !ok {
		return nil, notFound(gvk.GroupKind(), body.GetName())
	}
	if rv := body.GetResourceVersion(); rv != "" && rv != o.GetResourceVersion() {
		return nil, apierrors.NewConflict(schema.GroupResource{Resource: gvk.Kind}, body.GetName(), fmt.Errorf("the object has been modified"))
	}
	c.applied = append(c.applied, appliedBody{manager: manager, body: runtime.DeepCopyJSON(body.Object)})
	merged := o.DeepCopy()
	overlay(merged.Object, body.Object)
	c.put(merged)
	return c.objs[k].DeepCopy(), nil
}

// overlay sets every field of src in dst, merging maps (a crude stand-in for server-side apply).
func overlay(dst, src map[string]any) {
	for k, v := range src {
		if k == "metadata" {
			if sm, ok := v.(map[string]any); ok {
				dm, _ := dst[k].(map[string]any)
				for mk, mv := range sm {
					if mk == "labels" || mk == "annotations" {
						dl, _ := dm[mk].(map[string]any)
						if dl == nil {
							dl = map[string]any{}
						}
						overlay(dl, mv.(map[string]any))
						dm[mk] = dl
					}
				}
				continue
			}
		}
		sm, sok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if sok && dok {
			overlay(dm, sm)
			continue
		}
		dst[k] = v
	}
}

func (c *fakeCluster) Delete(_ context.Context, gvk schema.GroupVersionKind, ns, name, uid, rv string) error {
	k := objKey(gvk.GroupKind(), ns, name)
	o, ok := c.objs[k]
	if !ok {
		return notFound(gvk.GroupKind(), name)
	}
	if string(o.GetUID()) != uid || o.GetResourceVersion() != rv {
		return apierrors.NewConflict(schema.GroupResource{Resource: gvk.Kind}, name, fmt.Errorf("precondition failed"))
	}
	delete(c.objs, k)
	c.deleted = append(c.deleted, k)
	return nil
}

type apiResource = apitype.ResourceV3

// fakeDesired is a map of stack → desired model.
type fakeDesired map[string]*detect.Managed

func (d fakeDesired) Lookup(_ context.Context, stack string, key inventory.Key) ([]detect.ManagedResource, error) {
	m, ok := d[stack]
	if !ok {
		return nil, fmt.Errorf("stack %s not found", stack)
	}
	return m.Lookup(key), nil
}

// recorder keeps audit events.
type recorder struct {
	events []audit.Event
	err    error
}

func (r *recorder) Record(_ context.Context, ev audit.Event) (audit.Record, error) {
	if r.err != nil {
		return audit.Record{}, r.err
	}
	r.events = append(r.events, ev)
	return audit.Record{}, nil
}

// converger records the stacks it was asked to converge.
type converger struct {
	calls []string
	err   error
}

func (c *converger) Converge(_ context.Context, stack string, step EngineStep) error {
	c.calls = append(c.calls, string(step)+" "+stack)
	return c.err
}

// fieldsV1 encodes a managedFields entry.
func managedEntry(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

const pulumiManager = "pulumi-kubernetes-58bc0596"

// defaultDeny is the managed NetworkPolicy of the integration scenario after kubectl-patch took
// spec.policyTypes.
func defaultDeny() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "default-deny", "namespace": "t-globex",
			"labels": map[string]any{"tenantctl.io/tenant": "globex", "app.kubernetes.io/managed-by": "tenantctl"}},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}},
	}}
	u.SetManagedFields([]metav1.ManagedFieldsEntry{
		managedEntry(pulumiManager, metav1.ManagedFieldsOperationApply,
			`{"f:metadata":{"f:labels":{"f:app.kubernetes.io/managed-by":{},"f:tenantctl.io/tenant":{}}},"f:spec":{}}`),
		managedEntry("kubectl-patch", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:policyTypes":{}}}`),
	})
	return u
}

func networkPolicy(ns, name string, labels map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels},
		"spec":     map[string]any{"podSelector": map[string]any{}},
	}}
}

func configMap(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns},
	}}
}

// globexDesired is the state of tenant.globex.dev holding default-deny.
func globexDesired(t *testing.T) fakeDesired {
	t.Helper()
	d := detect.NewManaged()
	err := d.AddStack("tenant.globex.dev", []apiResource{{
		URN:    "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:networking.k8s.io/v1:NetworkPolicy::t-globex/default-deny",
		Custom: true, Type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", ID: "t-globex/default-deny",
		Inputs: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": "default-deny", "namespace": "t-globex",
				"labels": map[string]any{"tenantctl.io/tenant": "globex", "app.kubernetes.io/managed-by": "tenantctl"}},
			"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
				"__defaults": []any{}},
		},
	}, {
		URN:    "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:core/v1:ConfigMap::t-globex/settings",
		Custom: true, Type: "kubernetes:core/v1:ConfigMap", ID: "t-globex/settings",
		Inputs: map[string]any{
			"metadata": map[string]any{"name": "settings", "namespace": "t-globex"},
			"data":     map[string]any{"password": "hunter2", "mode": "strict"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	empty := detect.NewManaged()
	return fakeDesired{"tenant.globex.dev": d, "platform.dev": empty, "tenant.acme.dev": empty}
}

var devEnvs = Environments{
	"dev":  {Name: "dev", SharedNamespace: "shared-tenants"},
	"prod": {Name: "prod", SharedNamespace: "shared-tenants", Production: true},
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

var (
	npType = "networking.k8s.io/v1/NetworkPolicy"
	// (a) kubectl-patch took default-deny's policyTypes
	findingA = finding.Finding{Kind: finding.KindFieldConflict, TenantID: "globex", Environment: "dev", Stack: "tenant.globex.dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: npType, Namespace: "t-globex", Name: "default-deny",
			URN: "urn:pulumi:tenant.globex.dev::tenantctl::kubernetes:networking.k8s.io/v1:NetworkPolicy::t-globex/default-deny"},
		Field: "spec.policyTypes", Desired: raw([]string{"Ingress"}), Live: raw([]string{"Ingress", "Egress"}), Manager: "kubectl-patch"}
	// (b) let-acme-in in t-globex admits t-acme: unmanaged and a route
	findingBRoute = finding.Finding{Kind: finding.KindCrossTenantRoute, TenantID: "globex", PeerTenant: "acme", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: npType, Namespace: "t-globex", Name: "let-acme-in"}}
	findingBUnmanaged = finding.Finding{Kind: finding.KindUnmanagedResource, TenantID: "globex", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: npType, Namespace: "t-globex", Name: "let-acme-in"}}
	// (c) an unmanaged ConfigMap
	findingC = finding.Finding{Kind: finding.KindUnmanagedResource, TenantID: "globex", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "t-globex", Name: "cache"}}
)
