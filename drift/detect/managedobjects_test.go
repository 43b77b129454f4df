package detect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/inventory"
)

func TestGVKFromType(t *testing.T) {
	tests := []struct {
		token string
		gvk   schema.GroupVersionKind
		patch bool
		ok    bool
	}{
		{"kubernetes:core/v1:ConfigMap", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, false, true},
		{"kubernetes:networking.k8s.io/v1:NetworkPolicy", schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, false, true},
		{"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, false, true},
		{"kubernetes:core/v1:NamespacePatch", schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, true, true},
		{"kubernetes:stable.example.com/v1:CronTab", schema.GroupVersionKind{Group: "stable.example.com", Version: "v1", Kind: "CronTab"}, false, true},
		{"kubernetes:core/v1:ConfigMapList", schema.GroupVersionKind{}, false, false},
		{"kubernetes:helm.sh/v3:Release", schema.GroupVersionKind{}, false, false},
		{"kubernetes:yaml/v2:ConfigGroup", schema.GroupVersionKind{}, false, false},
		{"kubernetes:yaml:ConfigFile", schema.GroupVersionKind{}, false, false},
		{"pulumi:providers:kubernetes", schema.GroupVersionKind{}, false, false},
		{"azure-native:network:VirtualNetwork", schema.GroupVersionKind{}, false, false},
		{"tenantctl:tenant:Tenant", schema.GroupVersionKind{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			gvk, patch, ok := GVKFromType(tt.token)
			if diff := cmp.Diff([]any{tt.gvk, tt.patch, tt.ok}, []any{gvk, patch, ok}); diff != "" {
				t.Errorf("GVKFromType (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredAddStack(t *testing.T) {
	ns := stateResource(t, acmeStack, "kubernetes:core/v1:Namespace", "t-acme", "t-acme", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t-acme"}}`)
	// auto-named: the name is only in the outputs and the id
	auto := stateResource(t, acmeStack, "kubernetes:core/v1:ConfigMap", "settings", "t-acme/settings-x1y2", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"namespace":"t-acme"}}`)
	auto.Outputs = map[string]any{"metadata": map[string]any{"name": "settings-x1y2", "namespace": "t-acme"}}
	// no namespace in the inputs: the provider id has it
	defaultNS := stateResource(t, acmeStack, "kubernetes:core/v1:ServiceAccount", "sa", "default/sa", `{"metadata":{"name":"sa"}}`)
	defaultNS.Outputs = nil
	component := stateResource(t, acmeStack, "tenantctl:tenant:Tenant", "acme", "", `{}`)
	component.Custom = false
	provider := stateResource(t, acmeStack, "pulumi:providers:kubernetes", "dev", "uuid", `{}`)
	pendingDelete := stateResource(t, acmeStack, "kubernetes:core/v1:ConfigMap", "t-acme/old", "t-acme/old", `{"metadata":{"name":"old","namespace":"t-acme"}}`)
	pendingDelete.Delete = true
	patch := stateResource(t, acmeStack, "kubernetes:core/v1:NamespacePatch", "shared", "shared-tenants", `{"metadata":{"name":"shared-tenants","labels":{"x":"y"}}}`)

	d := NewManaged()
	if err := d.AddStack(acmeStack, []apitype.ResourceV3{ns, auto, defaultNS, component, provider, pendingDelete, patch}); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Key                inventory.Key
		Tenant, Env, Stack string
		Patch              bool
	}
	var got []row
	for _, m := range d.Resources() {
		got = append(got, row{m.Key(), m.TenantID, m.Environment, m.Stack, m.Patch})
	}
	want := []row{
		{inventory.Key{Kind: "Namespace", Name: "t-acme"}, "acme", "dev", acmeStack, false},
		{inventory.Key{Kind: "ConfigMap", Namespace: "t-acme", Name: "settings-x1y2"}, "acme", "dev", acmeStack, false},
		{inventory.Key{Kind: "ServiceAccount", Namespace: "default", Name: "sa"}, "acme", "dev", acmeStack, false},
		{inventory.Key{Kind: "Namespace", Name: "shared-tenants"}, "acme", "dev", acmeStack, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if !d.Manages(inventory.Key{Kind: "Namespace", Name: "shared-tenants"}) || d.Manages(inventory.Key{Kind: "ConfigMap", Namespace: "t-acme", Name: "old"}) {
		t.Errorf("Manages: a patch target must count, a resource pending deletion must not")
	}

	if err := d.AddStack("platform.dev", []apitype.ResourceV3{ns}); err != nil {
		t.Fatal(err)
	}
	if got := d.Lookup(inventory.Key{Kind: "Namespace", Name: "t-acme"}); len(got) != 2 || got[1].TenantID != "platform" {
		t.Errorf("Lookup after a platform stack: %+v", got)
	}
	if err := d.AddStack("acme", nil); err == nil || !strings.Contains(err.Error(), "neither platform") {
		t.Errorf("bad stack name: err = %v", err)
	}
	noName := stateResource(t, acmeStack, "kubernetes:core/v1:ConfigMap", "x", "", `{"metadata":{}}`)
	if err := d.AddStack(acmeStack, []apitype.ResourceV3{noName}); err == nil || !strings.Contains(err.Error(), "has no name") {
		t.Errorf("nameless resource: err = %v", err)
	}
}
