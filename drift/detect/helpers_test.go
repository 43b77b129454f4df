package detect

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
)

const pulumiManager = "pulumi-kubernetes-4f3c2a1b"

func testEnv() *isolation.Environment {
	return &isolation.Environment{
		APIVersion: isolation.APIVersion, Kind: isolation.KindEnvironment,
		Metadata: isolation.ObjectMeta{Name: "dev"},
		Spec: isolation.EnvironmentSpec{
			Target:            "kubernetes",
			SharedCluster:     isolation.ClusterSpec{IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants"},
			TrustedRegistries: []string{"connectsoft.azurecr.io", "registry.local:5000"},
		},
		Source: isolation.Source{File: "environments/dev.yaml", Line: 1},
	}
}

// object builds a live object from JSON, decoded the way the API client decodes (int64 numbers).
func object(t *testing.T, js string) unstructured.Unstructured {
	t.Helper()
	u := unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatalf("object %s: %v", js, err)
	}
	return u
}

// withManagers sets metadata.managedFields as the API server records it.
func withManagers(u unstructured.Unstructured, entries ...metav1.ManagedFieldsEntry) unstructured.Unstructured {
	u.SetManagedFields(entries)
	return u
}

func managed(manager string, op metav1.ManagedFieldsOperationType, fieldsV1 string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "v1", FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(fieldsV1)}}
}

// stateResource is one resource of an exported stack state; inputs come from JSON so numbers are
// float64 as in a real export.
func stateResource(t *testing.T, stack, typ, name, id, inputsJSON string) apitype.ResourceV3 {
	t.Helper()
	var inputs map[string]any
	if err := json.Unmarshal([]byte(inputsJSON), &inputs); err != nil {
		t.Fatalf("inputs %s: %v", inputsJSON, err)
	}
	return apitype.ResourceV3{
		URN:    resource.CreateURN(name, typ, "", "tenantctl", stack),
		Custom: true, ID: resource.ID(id), Type: tokens.Type(typ), Inputs: inputs, Outputs: inputs,
	}
}

func desiredOf(t *testing.T, stack string, rs ...apitype.ResourceV3) *Managed {
	t.Helper()
	d := NewManaged()
	if err := d.AddStack(stack, rs); err != nil {
		t.Fatal(err)
	}
	return d
}

func snapshot(objs ...unstructured.Unstructured) *inventory.Snapshot {
	return &inventory.Snapshot{Kubernetes: objs}
}

// brief is the part of a finding the table tests compare.
type brief struct {
	Kind     finding.Kind
	Tenant   string
	Resource string
	Field    string
	Desired  string
	Live     string
	Manager  string
	Severity finding.Severity
}

func briefs(t *testing.T, fs []finding.Finding) []brief {
	t.Helper()
	var out []brief
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Errorf("invalid finding: %v", err)
		}
		if f.Message == "" {
			t.Errorf("finding %s has no message", f.Title())
		}
		out = append(out, brief{Kind: f.Kind, Tenant: f.TenantID, Resource: f.Resource.Ref(), Field: f.Field,
			Desired: string(f.Desired), Live: string(f.Live), Manager: f.Manager, Severity: f.Severity})
	}
	return out
}

// apitypeResource keeps the table rows short.
type apitypeResource = apitype.ResourceV3

func testBinding(tenant, file string, line int) *isolation.RuntimeTenantBinding {
	return &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: tenant, Environment: "dev"},
		Source: isolation.Source{File: file, Line: line}}
}
