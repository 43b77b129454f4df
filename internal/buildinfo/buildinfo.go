// Package buildinfo says which tenantctl this is: the version stamped at build time (or read from
// the module and VCS information Go records), and the tool versions this build expects.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// Stamped by the Makefile with -ldflags "-X github.com/connectsoft/tenantctl/internal/buildinfo.version=…".
// A plain `go build` or `go install` leaves them empty and Get falls back to debug.ReadBuildInfo.
var (
	version string
	commit  string
	date    string
)

// Info is what `tenantctl version -o json` prints.
type Info struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	Dirty      bool   `json:"dirty"`
	Date       string `json:"date,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	// Expects are the tool versions this build runs: a CLI or plugin of another version is refused.
	Expects Tools `json:"expects"`
}

// Tools are the pulumi CLI and provider plugin versions a build expects.
type Tools struct {
	Pulumi             string `json:"pulumi"`
	KubernetesProvider string `json:"kubernetesProvider"`
	TenantPGProvider   string `json:"tenantpgProvider"`
	AzureNative        string `json:"azureNative"`
	Kubernetes         string `json:"kubernetes"`
}

// Get reads the build's information: stamped values first, then what the Go toolchain recorded
// (module version for `go install …@vX`, vcs.revision/vcs.time/vcs.modified for a build in a
// checkout), else "(devel)".
func Get() Info {
	in := Info{
		APIVersion: "tenantctl.io/v1", Kind: "Version",
		Version: version, Commit: commit, Date: date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Expects: Tools{
			Pulumi: toolchain.PulumiVersion, KubernetesProvider: toolchain.KubernetesProviderVersion,
			TenantPGProvider: toolchain.TenantPGProviderVersion, AzureNative: toolchain.AzureNativeVersion,
			Kubernetes: toolchain.KubernetesVersion,
		},
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				in.Dirty = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	return in
}
