package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	tenantctl "github.com/connectsoft/tenantctl"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/azure"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// engine is a mock of the Pulumi engine and of the providers behind it: it records registrations,
// serves the platform stack's outputs to stack references and answers the Azure invokes.
type engine struct {
	mu        sync.Mutex
	resources []string // "type name"
	// platform holds the outputs of platform.<env> stacks by reference name; a missing entry is a
	// stack that has not been run.
	platform map[string]map[string]any
}

func (e *engine) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	e.mu.Lock()
	e.resources = append(e.resources, args.TypeToken+" "+args.Name)
	e.mu.Unlock()
	if args.TypeToken == "pulumi:pulumi:StackReference" {
		outs := e.platform[args.Name]
		if outs == nil {
			outs = map[string]any{}
		}
		return args.Name, resource.NewPropertyMapFromMap(map[string]any{"name": args.Name, "outputs": outs, "secretOutputNames": []any{}}), nil
	}
	state := args.Inputs.Copy()
	if args.TypeToken == azure.TypeUserAssignedIdentity {
		state["clientId"] = resource.NewProperty("client-id")
		state["principalId"] = resource.NewProperty("principal-id")
	}
	return args.Name + "-id", state, nil
}

func (e *engine) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "azure-native:authorization:getClientConfig":
		// The subscription of examples/tenants/environments/prod.yaml.
		return resource.NewPropertyMapFromMap(map[string]any{"subscriptionId": "00000000-0000-0000-0000-000000000000", "tenantId": "t", "objectId": "o", "clientId": "c"}), nil
	case azure.InvokeGetManagedCluster:
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": "cluster-id", "name": "aks-shared-prod",
			"oidcIssuerProfile": map[string]any{"enabled": true, "issuerURL": "https://issuer.example/"},
			"securityProfile":   map[string]any{"workloadIdentity": map[string]any{"enabled": true}},
			"identity":          map[string]any{"principalId": "cluster-principal"},
		}), nil
	}
	return args.Args, nil
}

func platformOutputsFor(env string) map[string]any {
	return map[string]any{
		tenantplan.OutputEnvironment: env, tenantplan.OutputIngressNamespace: "platform-ingress", tenantplan.OutputSharedNamespace: "shared-tenants",
		tenantplan.OutputAdmissionPolicies: []any{tenantplan.PolicySiloNodePinning, tenantplan.PolicyTenantScheduling, tenantplan.PolicySharedTenantIdentity, tenantplan.PolicyTenantSecrets},
	}
}

func example(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "tenants", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// prodAcme is the acme example moved to the azure environment prod (its range and vault).
func prodAcme(t *testing.T) string {
	return strings.NewReplacer("environment: dev", "environment: prod", "10.20.", "10.70.", "kv-acme-dev", "kv-acme-prod", "acme-dev", "acme-prod").
		Replace(example(t, "tenants/acme.yaml"))
}

func stackConfig(kind, env, binding, target string) map[string]string {
	c := map[string]string{
		"tenantctl:kind": kind, "tenantctl:environment": env, "tenantctl:binding": binding,
		stacks.FullConfigKey(stacks.ConfigKubeconfig): "/home/ci/.kube/config",
		stacks.FullConfigKey(stacks.ConfigPostgres):   testConnection(),
	}
	if target != "" {
		c["tenantctl:target"] = target
	}
	return c
}

// testConnection is a data-layer connection file for the mocks (nothing connects to it).
var testConnection = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "tenantctl-program-test-")
	if err != nil {
		panic(err)
	}
	pw := filepath.Join(dir, "admin.password")
	conn := filepath.Join(dir, "connection.json")
	if err := os.WriteFile(pw, []byte("mock-admin-password\n"), 0o600); err != nil {
		panic(err)
	}
	b := fmt.Sprintf(`{"host": "127.0.0.1", "port": 5432, "adminRole": "tenantctl_admin", "passwordFile": %q}`, pw)
	if err := os.WriteFile(conn, []byte(b), 0o600); err != nil {
		panic(err)
	}
	return conn
})

func runProgram(stack string, cfg map[string]string, e *engine) error {
	return pulumi.RunErr(Program, pulumi.WithMocks("tenantctl", stack, e), func(info *pulumi.RunInfo) { info.Config = cfg })
}

func newEngine() *engine {
	return &engine{platform: map[string]map[string]any{
		"organization/tenantctl/platform.dev":  platformOutputsFor("dev"),
		"organization/tenantctl/platform.prod": platformOutputsFor("prod"),
	}}
}

func TestProgramDispatch(t *testing.T) {
	dev, prod := example(t, "environments/dev.yaml"), example(t, "environments/prod.yaml")
	tests := []struct {
		name  string
		stack string
		cfg   map[string]string
		// want are resources that must be registered, absent ones that must not.
		want, absent []string
	}{
		{"kubernetes tenant", "tenant.acme.dev", stackConfig("tenant", dev, example(t, "tenants/acme.yaml"), ""),
			[]string{"pulumi:pulumi:StackReference organization/tenantctl/platform.dev", kubernetes.TypeTenant + " acme"},
			[]string{azure.TypeTenant + " acme"}},
		{"kubernetes tenant, shared tier", "tenant.initech.dev", stackConfig("tenant", dev, example(t, "tenants/initech.yaml"), "kubernetes"),
			[]string{kubernetes.TypeTenant + " initech"}, []string{azure.TypeTenant + " initech"}},
		{"kubernetes platform", "platform.dev", stackConfig("platform", dev, "", "kubernetes"),
			[]string{kubernetes.TypePlatform + " dev"}, []string{"pulumi:pulumi:StackReference organization/tenantctl/platform.dev", azure.TypePlatform + " dev"}},
		{"azure tenant", "tenant.acme.prod", stackConfig("tenant", prod, prodAcme(t), "azure"),
			[]string{"pulumi:pulumi:StackReference organization/tenantctl/platform.prod", azure.TypeTenant + " acme", kubernetes.TypeTenant + " acme",
				azure.TypeAgentPool + " aks-shared-prod/" + tenantplan.AgentPoolName("acme")}, nil},
		{"azure platform", "platform.prod", stackConfig("platform", prod, "", "azure"),
			[]string{azure.TypePlatform + " prod", kubernetes.TypePlatform + " prod"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine()
			if err := runProgram(tc.stack, tc.cfg, e); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !slices.Contains(e.resources, w) {
					t.Errorf("%s was not registered", w)
				}
			}
			for _, a := range tc.absent {
				if slices.Contains(e.resources, a) {
					t.Errorf("%s was registered", a)
				}
			}
		})
	}
}

func TestProgramRejects(t *testing.T) {
	dev, prod := example(t, "environments/dev.yaml"), example(t, "environments/prod.yaml")
	acme := example(t, "tenants/acme.yaml")
	tests := []struct {
		name     string
		stack    string
		cfg      map[string]string
		platform map[string]map[string]any
		wantErr  string
	}{
		{name: "stack name tenantctl would not give", stack: "acme-dev", cfg: stackConfig("tenant", dev, acme, ""), wantErr: "neither platform.<env> nor tenant.<tenantId>.<env>"},
		{name: "kind disagrees with the stack", stack: "platform.dev", cfg: stackConfig("tenant", dev, acme, ""), wantErr: `is a platform stack, config tenantctl:kind says "tenant"`},
		{name: "binding of another tenant", stack: "tenant.globex.dev", cfg: stackConfig("tenant", dev, acme, ""), wantErr: "stack tenant.globex.dev is tenant globex's, config tenantctl:binding is tenant acme's"},
		{name: "environment of another stack", stack: "platform.prod", cfg: stackConfig("platform", dev, "", ""), wantErr: "is for environment prod, config tenantctl:environment declares dev"},
		{name: "target disagrees with the environment", stack: "platform.prod", cfg: stackConfig("platform", prod, "", "kubernetes"), wantErr: `environment prod has target "azure": set tenantctl:target to azure`},
		{name: "no environment", stack: "platform.dev", cfg: stackConfig("platform", "", "", ""), wantErr: "config tenantctl:environment is not set"},
		{name: "no binding", stack: "tenant.acme.dev", cfg: stackConfig("tenant", dev, "", ""), wantErr: "config tenantctl:binding is not set"},
		{name: "binding on a platform stack", stack: "platform.dev", cfg: stackConfig("platform", dev, acme, ""), wantErr: "is a platform stack; unset tenantctl:binding"},
		{name: "invalid binding, reported as tenantctl validate would", stack: "tenant.acme.dev",
			cfg: stackConfig("tenant", dev, strings.Replace(acme, "pods: 20", "pods: lots", 1), ""), wantErr: "tenantctl:binding:23: spec.quota.pods: must be an integer"},
		{name: "platform stack not run yet", stack: "tenant.acme.dev", cfg: stackConfig("tenant", dev, acme, ""), platform: map[string]map[string]any{},
			wantErr: "platform stack organization/tenantctl/platform.dev: run it first"},
		{name: "platform stack of another environment", stack: "tenant.acme.dev", cfg: stackConfig("tenant", dev, acme, ""),
			platform: map[string]map[string]any{"organization/tenantctl/platform.dev": platformOutputsFor("prod")}, wantErr: "platform outputs are for environment \"prod\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine()
			if tc.platform != nil {
				e.platform = tc.platform
			}
			err := runProgram(tc.stack, tc.cfg, e)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			for _, r := range e.resources {
				if !strings.HasPrefix(r, "pulumi:pulumi:StackReference ") {
					t.Errorf("registered %s before failing", r)
				}
			}
		})
	}
}

// Pulumi.yaml names this program as its entry point and declares every key it reads.
func TestProjectDeclaresTheProgram(t *testing.T) {
	var project struct {
		Name    string                    `yaml:"name"`
		Runtime string                    `yaml:"runtime"`
		Main    string                    `yaml:"main"`
		Config  map[string]map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(tenantctl.ProjectYAML, &project); err != nil {
		t.Fatal(err)
	}
	if project.Name != tenantplan.ProjectName || project.Runtime != "go" {
		t.Errorf("project %q runtime %q, want %q on go", project.Name, project.Runtime, tenantplan.ProjectName)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := "./cmd/" + filepath.Base(wd); project.Main != want {
		t.Errorf("Pulumi.yaml main = %q, want %q", project.Main, want)
	}
	var keys []string
	for k := range project.Config {
		keys = append(keys, k)
	}
	for _, k := range []string{stacks.ConfigKind, stacks.ConfigBinding, stacks.ConfigEnvironment, stacks.ConfigTarget, stacks.ConfigKubeconfig} {
		if !slices.Contains(keys, k) {
			t.Errorf("Pulumi.yaml does not declare config %s; declared: %v", k, keys)
		}
	}
	if d := cmp.Diff("tenant", project.Config[stacks.ConfigKind]["default"]); d != "" {
		t.Errorf("default kind (-want +got):\n%s", d)
	}
}
