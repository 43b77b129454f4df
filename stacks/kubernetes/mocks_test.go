package kubernetes

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
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

func (r recorded) Key() (typ, name string) { return r.Type, r.Name }

type typeName struct{ Type, Name string }

func (t typeName) String() string { return t.Type + " " + t.Name }

// recorder is a pulumi.MockResourceMonitor that keeps every registration and returns the inputs
// as the resource's state, as a Kubernetes apply would.
type recorder struct {
	stackstest.Records[recorded]
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
	r.Add(rec)
	if args.TypeToken == "tenantpg:index:Password" {
		// What the provider generates on create.
		out := args.Inputs.Copy()
		out["result"] = resource.MakeSecret(resource.NewStringProperty("mock-generated-password"))
		return args.Name + "-id", out, nil
	}
	return args.Name + "-id", args.Inputs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

var testConfig = map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): "/etc/tenantctl/kubeconfig"}

func run(t *testing.T, stack string, cfg map[string]string, prog pulumi.RunFunc) (*recorder, error) {
	t.Helper()
	rec := &recorder{}
	return rec, stackstest.Run(prog, stack, rec, cfg)
}

// Kubernetes resource type tokens as the provider registers them.
const (
	tProvider       = "pulumi:providers:kubernetes"
	tNamespace      = "kubernetes:core/v1:Namespace"
	tServiceAccount = "kubernetes:core/v1:ServiceAccount"
	tConfigMap      = "kubernetes:core/v1:ConfigMap"
	tSPC            = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
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

func testPlatform() tenantplan.PlatformOutputs {
	return tenantplan.PlatformOutputs{
		Environment:       "dev",
		IngressNamespace:  "platform-ingress",
		SharedNamespace:   "shared-tenants",
		AdmissionPolicies: append([]string(nil), tenantplan.AdmissionPolicyNames...),
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

func testInputs(id string, tier isolation.Tier) tenantplan.Inputs {
	return tenantplan.Inputs{Binding: testBinding(id, tier), Env: testEnv(), Platform: testPlatform()}
}
