package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"gopkg.in/yaml.v3"

	tenantctl "github.com/connectsoft/tenantctl"
	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// loopScript is the baseline a user writes: one preview --refresh per stack; a stack whose
// preview shows a change or fails is flagged. Each stack's output is kept for inspection.
const loopScript = `#!/usr/bin/env bash
# (a) one pulumi preview --refresh --expect-no-changes per stack (bench/fleet).
set -u
cd "$(dirname "$0")"
mkdir -p logs
: > flagged.txt
while read -r stack; do
	if ! pulumi preview --refresh --expect-no-changes --non-interactive --stack "$stack" > "logs/$stack.log" 2>&1; then
		echo "$stack" >> flagged.txt
	fi
done < "${1:-stacks.txt}"
`

// writeBaselineProject lays out the project a user would have: this repository's Pulumi.yaml with
// the program prebuilt (runtime.options.binary), the same state backend, provider plugins and
// passphrase, and one Pulumi.<stack>.yaml per stack holding the config the program reads (the
// environment and binding documents, the kubeconfig path) and the stack's encryption salt, taken
// from the engine's workspace of that stack.
func writeBaselineProject(w work, tc toolchain.Toolchain, o options, kubeconfig string, n int) error {
	dir := w.baseline()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	proj, err := workspace.LoadProjectBytes(tenantctl.ProjectYAML, "Pulumi.yaml", encoding.YAML)
	if err != nil {
		return fmt.Errorf("load Pulumi.yaml: %w", err)
	}
	proj.Main = ""
	proj.Runtime = workspace.NewProjectRuntimeInfo("go", map[string]any{"binary": o.program})
	proj.Backend = &workspace.ProjectBackend{URL: "file://" + filepath.Join(w.data(), "state")}
	proj.Plugins = &workspace.Plugins{
		Providers: []workspace.PluginOptions{
			{Name: "kubernetes", Version: toolchain.KubernetesProviderVersion, Path: tc.ProviderDir},
			{Name: "tenantpg", Version: toolchain.TenantPGProviderVersion, Path: tc.TenantPGDir},
		},
		Languages: []workspace.PluginOptions{{Name: "go", Path: filepath.Dir(o.langHost)}},
	}
	if err := proj.Save(filepath.Join(dir, "Pulumi.yaml")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "loop.sh"), []byte(loopScript), 0o755); err != nil {
		return err
	}
	envDoc, err := os.ReadFile(filepath.Join(w.desired(), "environments", "dev.yaml"))
	if err != nil {
		return err
	}
	write := func(stack, kind string, binding []byte) error {
		src := filepath.Join(w.data(), "workspaces", string(proj.Name), stack, "Pulumi."+stack+".yaml")
		doc := map[string]any{}
		if b, err := os.ReadFile(src); err != nil {
			return fmt.Errorf("the engine's stack settings: %w", err)
		} else if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		cfg, _ := doc["config"].(map[string]any)
		if cfg == nil {
			cfg = map[string]any{}
		}
		cfg[stacks.FullConfigKey(stacks.ConfigKind)] = kind
		cfg[stacks.FullConfigKey(stacks.ConfigEnvironment)] = string(envDoc)
		cfg[stacks.FullConfigKey(stacks.ConfigKubeconfig)] = kubeconfig
		if binding != nil {
			cfg[stacks.FullConfigKey(stacks.ConfigBinding)] = string(binding)
		}
		doc["config"] = cfg
		out, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), out, 0o600)
	}
	if err := write(tenantplan.PlatformStackName("dev"), "platform", nil); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		// The binding as committed, which the provisioning modes may have changed since it was
		// generated.
		id := benchkit.TenantID(i)
		binding, err := os.ReadFile(filepath.Join(w.desired(), "tenants", id+".yaml"))
		if err != nil {
			return err
		}
		if err := write(tenantplan.TenantStackName(id, "dev"), "tenant", binding); err != nil {
			return err
		}
	}
	return nil
}

// baselineEnv is the environment of the loop: the same CLI, its own PULUMI_HOME, the
// passphrase file, and the offline switches every tenantctl CLI call gets.
func baselineEnv(w work, tc toolchain.Toolchain, o options) []string {
	env := append(os.Environ(),
		"PATH="+filepath.Join(tc.PulumiRoot, "bin")+string(os.PathListSeparator)+filepath.Dir(o.langHost)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PULUMI_HOME="+filepath.Join(w.baseline(), ".pulumi-home"),
		"PULUMI_CONFIG_PASSPHRASE_FILE="+w.passphrase(),
	)
	return append(env, toolchain.OfflineEnv()...)
}
