package kubernetes

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// recorded is one resource the program registered, as the engine would receive it.
type recorded struct {
	Type     string
	Name     string
	Custom   bool
	Inputs   map[string]any
	Parent   typeName // zero for the stack's direct children
	Provider string   // provider reference (URN::ID), empty for components
	Retain   bool     // retainOnDelete
}

type typeName struct{ Type, Name string }

func (t typeName) String() string { return t.Type + " " + t.Name }

// recorder is a pulumi.MockResourceMonitor that keeps every registration and returns the inputs
// as the resource's state, as a Kubernetes apply would.
type recorder struct {
	mu  sync.Mutex
	res []recorded
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rec := recorded{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Inputs:   args.Inputs.Mappable(),
		Provider: args.Provider,
	}
	if args.RegisterRPC != nil {
		rec.Retain = args.RegisterRPC.GetRetainOnDelete()
		if p := resource.URN(args.RegisterRPC.GetParent()); p != "" && p.Type() != resource.RootStackType {
			rec.Parent = typeName{string(p.Type()), p.Name()}
		}
	}
	r.mu.Lock()
	r.res = append(r.res, rec)
	r.mu.Unlock()
	return args.Name + "-id", args.Inputs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// pairs is the sorted "type name" of every resource.
func (r *recorder) pairs() []string {
	out := make([]string, 0, len(r.res))
	for _, x := range r.res {
		out = append(out, typeName{x.Type, x.Name}.String())
	}
	sort.Strings(out)
	return out
}

func (r *recorder) get(t *testing.T, typ, name string) recorded {
	t.Helper()
	for _, x := range r.res {
		if x.Type == typ && x.Name == name {
			return x
		}
	}
	t.Fatalf("no resource %s %s; have %v", typ, name, r.pairs())
	return recorded{}
}

func (r *recorder) ofType(typ string) []recorded {
	var out []recorded
	for _, x := range r.res {
		if x.Type == typ {
			out = append(out, x)
		}
	}
	return out
}

// withConfig sets stack config the way the engine passes it to an inline program.
func withConfig(cfg map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) { info.Config = cfg }
}

var testConfig = map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): "/etc/tenantctl/kubeconfig"}

func run(t *testing.T, stack string, cfg map[string]string, prog pulumi.RunFunc) (*recorder, error) {
	t.Helper()
	rec := &recorder{}
	err := pulumi.RunErr(prog, pulumi.WithMocks(stacks.ProjectName, stack, rec), withConfig(cfg))
	return rec, err
}

// Kubernetes resource type tokens as the provider registers them.
const (
	tProvider       = "pulumi:providers:kubernetes"
	tNamespace      = "kubernetes:core/v1:Namespace"
	tServiceAccount = "kubernetes:core/v1:ServiceAccount"
	tConfigMap      = "kubernetes:core/v1:ConfigMap"
	tResourceQuota  = "kubernetes:core/v1:ResourceQuota"
	tLimitRange     = "kubernetes:core/v1:LimitRange"
	tRole           = "kubernetes:rbac.authorization.k8s.io/v1:Role"
	tRoleBinding    = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
	tNetworkPolicy  = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	tPriorityClass  = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
	tVAP            = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
	tVAPBinding     = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
)

// Test fixtures. Tenant ids share no substring, so a cross-tenant reference shows up as a plain
// substring match.
func testEnv() *isolation.Environment {
	return &isolation.Environment{
		APIVersion: isolation.APIVersion,
		Kind:       isolation.KindEnvironment,
		Metadata:   isolation.ObjectMeta{Name: "dev"},
		Spec: isolation.EnvironmentSpec{
			Target: "kubernetes",
			SharedCluster: isolation.ClusterSpec{
				Name:             "local",
				IngressNamespace: "platform-ingress",
				SharedNamespace:  "shared-tenants",
			},
			Capacity: isolation.CapacitySpec{CPU: "8", Memory: "16Gi", Pods: 200, Storage: "500Gi"},
		},
	}
}

func testPlatform() stacks.PlatformOutputs {
	return stacks.PlatformOutputs{
		Environment:       "dev",
		IngressNamespace:  "platform-ingress",
		SharedNamespace:   "shared-tenants",
		AdmissionPolicies: append([]string(nil), AdmissionPolicies...),
	}
}

func testBinding(id string, tier isolation.Tier) *isolation.RuntimeTenantBinding {
	b := &isolation.RuntimeTenantBinding{
		APIVersion: isolation.APIVersion,
		Kind:       isolation.KindBinding,
		Metadata:   isolation.ObjectMeta{Name: id},
		Spec: isolation.BindingSpec{
			TenantID:    id,
			Environment: "dev",
			Tier:        tier,
			Quota:       isolation.QuotaSpec{CPU: "2", Memory: "4Gi", Pods: 20},
			Secrets: []isolation.SecretBinding{
				{Name: "db", KeyVaultRef: "kv-" + id, SecretName: id + "-db-password", CurrentVersion: "v1"},
			},
			Labels: map[string]string{"cost-center": "cc-" + id},
		},
	}
	if tier == isolation.TierSilo {
		b.Spec.Quota = isolation.QuotaSpec{CPU: "4", Memory: "8Gi", Pods: 50, Storage: "100Gi", NodePool: &isolation.NodePoolSpec{Min: 1, Max: 3}}
	}
	return b
}

func testInputs(id string, tier isolation.Tier) stacks.Inputs {
	return stacks.Inputs{Binding: testBinding(id, tier), Env: testEnv(), Platform: testPlatform()}
}

// strs collects every string inside v (map keys included), to search inputs for references.
func strs(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			strs(e, out)
		}
	case []any:
		for _, e := range x {
			strs(e, out)
		}
	case nil, bool, float64:
	default:
		*out = append(*out, fmt.Sprint(x))
	}
}

// path reads a nested value from resource inputs ("spec.podSelector").
func path(v any, p string) any {
	for _, k := range strings.Split(p, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
