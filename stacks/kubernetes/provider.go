// Package kubernetes holds the inline Pulumi programs of the kubernetes target: the Kubernetes part
// of every tier, on any conformant cluster. PlatformProgram runs once per environment,
// TenantProgram once per tenant and environment. The Deploy functions build the same resources
// under a caller's provider, so the azure target can reuse them on an AKS cluster.
package kubernetes

import (
	"fmt"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// ProviderName is the logical name of the explicit kubernetes provider in every stack.
const ProviderName = "k8s"

// NewProvider creates the explicit provider every resource of a program uses, from the stack
// config keys tenantctl:kubeconfig (a path) and tenantctl:kubecontext. The default provider is
// never used, so a stack cannot silently target whatever cluster the ambient KUBECONFIG points
// at. The azure target uses it for the Kubernetes part on its AKS cluster, so the objects behave
// the same on both targets.
func NewProvider(ctx *pulumi.Context, env *isolation.Environment) (*k8s.Provider, error) {
	cfg := config.New(ctx, stacks.ConfigNamespace)
	path := cfg.Get(stacks.ConfigKubeconfig)
	if err := stacks.CheckKubeconfigPath(path); err != nil {
		return nil, err
	}
	args := &k8s.ProviderArgs{
		Kubeconfig: pulumi.String(path),
		// The identifier, not the kubeconfig path, decides when the provider (and so every
		// object) would be replaced: moving the kubeconfig file must not recreate namespaces.
		ClusterIdentifier: pulumi.String(clusterIdentifier(env)),
		// Set explicitly so a PULUMI_K8S_* variable in the engine's environment cannot change
		// how objects are applied or forgotten.
		EnableServerSideApply: pulumi.Bool(true),
		DeleteUnreachable:     pulumi.Bool(false),
		// Secret references change on every rotation; update the ConfigMap in place rather than
		// replacing it under running workloads.
		EnableConfigMapMutable: pulumi.Bool(true),
	}
	if c := cfg.Get(stacks.ConfigKubeContext); c != "" {
		args.Context = pulumi.String(c)
	}
	p, err := k8s.NewProvider(ctx, ProviderName, args)
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	return p, nil
}

func clusterIdentifier(env *isolation.Environment) string {
	name := env.Spec.SharedCluster.Name
	if name == "" {
		name = "default"
	}
	return env.Name() + "/" + name
}

// resOpts are the options of every Kubernetes object: its component parent and the explicit
// provider.
func resOpts(parent pulumi.Resource, p pulumi.ProviderResource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(p)}, extra...)
}

// objectKey is the logical name of a Kubernetes object in state: "<namespace>/<name>" or "<name>",
// the identity kubectl and the drift engine use.
func objectKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
