// Package toolchain locates the tools tenantctl runs (the pulumi CLI, the Kubernetes and tenantpg
// provider plugins and the local control plane) in the cache that hack/build-tool.sh fills, so nothing is ever
// downloaded at run time.
package toolchain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Versions pinned by the tool modules under tools/ and by go.mod; `make check-versions` keeps them
// in step.
const (
	PulumiVersion             = "v3.274.1"
	KubernetesProviderVersion = "4.25.0"
	KubernetesVersion         = "v1.37.2"
	// AzureNativeVersion is the azure-native provider the azure target's SDK (v2.90.0) asks for.
	AzureNativeVersion = "2.90.0"
	// TenantPGProviderVersion is the data layer's PostgreSQL provider (provider/, built from this
	// repository); hack/build-tool.sh reads it from here and stamps it into the binary.
	TenantPGProviderVersion = "0.1.0"
)

// Toolchain is where the tools live.
type Toolchain struct {
	// PulumiRoot is the directory whose bin/pulumi is the CLI (auto.PulumiCommandOptions.Root).
	PulumiRoot string
	// ProviderDir holds pulumi-resource-kubernetes (a project plugin path).
	ProviderDir string
	// KubeBinDir holds etcd, kube-apiserver and kube-controller-manager.
	KubeBinDir string
	// AzureNativeDir may hold pulumi-resource-azure-native for the azure target.
	AzureNativeDir string
	// TenantPGDir holds pulumi-resource-tenantpg (a project plugin path).
	TenantPGDir string
}

// CacheDir is the tool cache: $TENANTCTL_TOOLS_DIR, else $XDG_CACHE_HOME/tenantctl/tools, else
// ~/.cache/tenantctl/tools.
func CacheDir() string {
	if d := os.Getenv("TENANTCTL_TOOLS_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "tenantctl", "tools")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tenantctl", "tools")
}

// Default describes the cache layout hack/build-tool.sh writes.
func Default() Toolchain {
	c := CacheDir()
	return Toolchain{
		PulumiRoot:     filepath.Join(c, "pulumi-"+PulumiVersion),
		ProviderDir:    filepath.Join(c, "pulumi-resource-kubernetes-v"+KubernetesProviderVersion),
		KubeBinDir:     filepath.Join(c, "kube-"+KubernetesVersion),
		AzureNativeDir: filepath.Join(c, "pulumi-resource-azure-native-v"+AzureNativeVersion),
		TenantPGDir:    filepath.Join(c, "pulumi-resource-tenantpg-v"+TenantPGProviderVersion),
	}
}

// PulumiBin is the CLI path.
func (t Toolchain) PulumiBin() string { return filepath.Join(t.PulumiRoot, "bin", "pulumi") }

// ProviderBin is the Kubernetes provider plugin path.
func (t Toolchain) ProviderBin() string {
	return filepath.Join(t.ProviderDir, "pulumi-resource-kubernetes")
}

// TenantPGBin is the data layer's PostgreSQL provider plugin path.
func (t Toolchain) TenantPGBin() string {
	return filepath.Join(t.TenantPGDir, "pulumi-resource-tenantpg")
}

// InstallHint says how to get the tools without this repository's build: a released binary must
// never send a user to a Makefile they do not have.
const InstallHint = "tenantctl runs these tools from its tool cache and never downloads them: " +
	"put them in the cache folder shown (`tenantctl version` lists the versions it expects; layout in the README's " +
	"\"Toolchain and local cluster\"), or set TENANTCTL_TOOLS_DIR to a folder that holds them"

// ErrMissing is returned by Check when a tool is not built yet.
var ErrMissing = errors.New("tool missing")

// CheckEngine verifies the CLI and the provider plugins exist.
func (t Toolchain) CheckEngine() error {
	return check(t.PulumiBin(), t.ProviderBin(), t.TenantPGBin())
}

// CheckCluster verifies the control-plane binaries exist.
func (t Toolchain) CheckCluster() error {
	return check(filepath.Join(t.KubeBinDir, "etcd"), filepath.Join(t.KubeBinDir, "kube-apiserver"),
		filepath.Join(t.KubeBinDir, "kube-controller-manager"))
}

func check(paths ...string) error {
	var missing []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s (%s)", ErrMissing, strings.Join(missing, ", "), InstallHint)
	}
	return nil
}

// PulumiCLIVersion runs `pulumi version`.
func (t Toolchain) PulumiCLIVersion() (string, error) {
	cmd := exec.Command(t.PulumiBin(), "version")
	cmd.Env = append(os.Environ(), OfflineEnv()...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("pulumi version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// OfflineEnv is set for every engine call: the CLI otherwise contacts its update server on every
// call and tries to download missing plugins.
func OfflineEnv() []string {
	return []string{
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
	}
}
