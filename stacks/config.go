// Package stacks holds what every target's Pulumi programs share beyond the plan: the stack config
// keys a program reads. What a stack creates is decided by package tenantplan; the programs that
// render it live in one subpackage per target (stacks/kubernetes, stacks/azure).
package stacks

import (
	"fmt"
	"strings"
)

// Stack config the programs read. Everything else a program needs comes in Inputs.
const (
	// ConfigNamespace is the config namespace of tenantctl's own keys.
	ConfigNamespace = "tenantctl"
	// ConfigKubeconfig is the path of the kubeconfig file the kubernetes provider uses. It is a
	// path, never the file's contents: stack config is stored in plain text, and contents carry
	// credentials.
	ConfigKubeconfig = "kubeconfig"
	// ConfigKubeContext optionally selects a context in that kubeconfig.
	ConfigKubeContext = "kubecontext"

	// The keys below are read only by the non-inline program (cmd/tenantctl-program, Pulumi.yaml
	// main): tenantctl's engine passes the same documents to its inline programs directly.

	// ConfigKind is "tenant" or "platform": which program the stack runs.
	ConfigKind = "kind"
	// ConfigBinding is the RuntimeTenantBinding document (YAML) of a tenant stack.
	ConfigBinding = "binding"
	// ConfigEnvironment is the Environment document (YAML) the stack belongs to.
	ConfigEnvironment = "environment"
	// ConfigTarget is the program target, "kubernetes" or "azure".
	ConfigTarget = "target"
)

// FullConfigKey is the key as the Automation API and `pulumi config set` spell it
// ("tenantctl:kubeconfig").
func FullConfigKey(key string) string { return ConfigNamespace + ":" + key }

// CheckKubeconfigPath rejects an empty value and a value that is a kubeconfig's contents rather
// than a path to one.
func CheckKubeconfigPath(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("config %s is not set: set it to the path of a kubeconfig file", FullConfigKey(ConfigKubeconfig))
	}
	if strings.ContainsAny(v, "\n\r") || strings.Contains(v, "apiVersion:") || strings.HasPrefix(strings.TrimSpace(v), "{") {
		return fmt.Errorf("config %s holds kubeconfig contents; it must be a path, so no credential is stored in stack config", FullConfigKey(ConfigKubeconfig))
	}
	return nil
}
