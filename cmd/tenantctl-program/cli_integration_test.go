package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantctl "github.com/connectsoft/tenantctl"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// plainPulumi runs the pulumi CLI in a project folder the way a user without tenantctl does.
type plainPulumi struct {
	t   *testing.T
	dir string
	env []string
	bin string
}

func (p plainPulumi) run(args ...string) (string, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// --non-interactive first: a config value follows "--", after which everything is positional.
	cmd := exec.CommandContext(ctx, p.bin, append([]string{"--non-interactive"}, args...)...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p plainPulumi) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestPlainPulumiRunsTheProject runs this repository's Pulumi.yaml the way a team without
// tenantctl would: the real pulumi CLI, the program prebuilt (runtime.options.binary) and started
// by cmd/pulumi-language-go, config set with `pulumi config set`, and a tenant stack reading the
// platform stack's outputs through a stack reference. The programs reach the local cluster: up
// creates the tenant's namespace, a second preview shows no changes, destroy removes it, and a
// binding pasted into another tenant's stack is refused before anything is created.
func TestPlainPulumiRunsTheProject(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	work := testenv.TempDir(t)
	bin := filepath.Join(work, "bin")
	for pkg, out := range map[string]string{".": "tenantctl-program", "../pulumi-language-go": "pulumi-language-go"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	proj, err := workspace.LoadProjectBytes(tenantctl.ProjectYAML, "Pulumi.yaml", encoding.YAML)
	if err != nil {
		t.Fatal(err)
	}
	// What a user changes in Pulumi.yaml to run without a Go toolchain: the prebuilt binary.
	proj.Main = ""
	proj.Runtime = workspace.NewProjectRuntimeInfo("go", map[string]any{"binary": filepath.Join(bin, "tenantctl-program")})
	proj.Backend = &workspace.ProjectBackend{URL: "file://" + filepath.Join(work, "state")}
	proj.Plugins = &workspace.Plugins{
		Providers: []workspace.PluginOptions{
			{Name: "kubernetes", Version: toolchain.KubernetesProviderVersion, Path: tc.ProviderDir},
			{Name: "tenantpg", Version: toolchain.TenantPGProviderVersion, Path: tc.TenantPGDir},
		},
		Languages: []workspace.PluginOptions{{Name: "go", Path: bin}},
	}
	dir := filepath.Join(work, "project")
	if err := os.MkdirAll(filepath.Join(work, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := proj.Save(filepath.Join(dir, "Pulumi.yaml")); err != nil {
		t.Fatal(err)
	}
	p := plainPulumi{t: t, dir: dir, bin: tc.PulumiBin(), env: append(os.Environ(),
		"PULUMI_HOME="+filepath.Join(work, "home"), "PULUMI_CONFIG_PASSPHRASE=plain-pulumi-test")}
	p.env = append(p.env, toolchain.OfflineEnv()...)

	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "tenants", rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	envDoc, globex := read("environments/dev.yaml"), read("tenants/globex.yaml")
	setup := func(stack, kind, binding string) {
		p.must("stack", "init", stack, "--secrets-provider", "passphrase")
		p.must("config", "set", "-s", stack, stacks.FullConfigKey(stacks.ConfigKind), kind)
		p.must("config", "set", "-s", stack, stacks.FullConfigKey(stacks.ConfigEnvironment), "--", envDoc)
		p.must("config", "set", "-s", stack, stacks.FullConfigKey(stacks.ConfigKubeconfig), cluster.Kubeconfig)
		p.must("config", "set", "-s", stack, stacks.FullConfigKey(stacks.ConfigPostgres), testenv.PostgresConnection(t))
		if binding != "" {
			p.must("config", "set", "-s", stack, stacks.FullConfigKey(stacks.ConfigBinding), "--", binding)
		}
	}
	platform, tenant := tenantplan.PlatformStackName("dev"), tenantplan.TenantStackName("globex", "dev")
	setup(platform, "platform", "")
	setup(tenant, "tenant", globex)
	// The wrong tenant's stack: refused by the program, so nothing is created.
	impostor := tenantplan.TenantStackName("acme", "dev")
	setup(impostor, "tenant", globex)

	p.must("up", "--yes", "--skip-preview", "-s", platform)
	if out, err := p.run("up", "--yes", "--skip-preview", "-s", impostor); err == nil || !strings.Contains(out, "tenant globex's binding") {
		t.Fatalf("up of %s with globex's binding: err=%v, want the program to refuse it:\n%s", impostor, err, out)
	}
	p.must("up", "--yes", "--skip-preview", "-s", tenant)

	ctx := context.Background()
	ns, err := cs.CoreV1().Namespaces().Get(ctx, tenantplan.TenantNamespace("globex"), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("tenant namespace after up: %v", err)
	}
	if got := ns.Labels[tenantplan.LabelTenant]; got != "globex" {
		t.Errorf("namespace label %s = %q, want globex", tenantplan.LabelTenant, got)
	}
	if out, err := p.run("preview", "--refresh", "--expect-no-changes", "-s", tenant); err != nil {
		t.Errorf("second preview of %s shows changes or failed: %v\n%s", tenant, err, out)
	}

	p.must("destroy", "--yes", "--skip-preview", "-s", tenant)
	testenv.Eventually(t, 2*time.Minute, "tenant namespace deleted", func() (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, tenantplan.TenantNamespace("globex"), metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	p.must("destroy", "--yes", "--skip-preview", "-s", platform)
}
