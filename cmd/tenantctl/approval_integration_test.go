package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// productionExamples is the examples' dev environment and globex, made a production environment
// and committed, so that up needs an approval.
func productionExamples(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = testenv.TempDir(t)
	env, err := os.ReadFile(filepath.Join(examplesDir, "environments", "dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	binding, err := os.ReadFile(filepath.Join(examplesDir, "tenants", "globex.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"environments/dev.yaml": strings.Replace(string(env), "production: false", "production: true", 1),
		"tenants/globex.yaml":   string(binding),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("production", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, h.String()
}

// TestProductionUpIsPinnedToTheApprovedPlans walks an approved production change: the preview
// saves the plans and prints their digest, an approval without that digest or an up without the
// plans is refused before anything runs, a plan changed after the approval is refused, and the
// approved up applies exactly the previewed plans.
func TestProductionUpIsPinnedToTheApprovedPlans(t *testing.T) {
	testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	work := testenv.TempDir(t)
	t.Setenv("TENANTCTL_TOOLS_DIR", toolchain.CacheDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "approval-cli-test")
	dir, commit := productionExamples(t)
	plans := filepath.Join(work, "plans")
	live := []string{"-d", dir, "--data-dir", filepath.Join(work, "data"), "--kubeconfig", cluster.Kubeconfig, "--postgres-connection", testenv.PrivatePostgres(t).InfoPath()}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tctl := func(args ...string) (int, string, string) { return execTenantctl(t, ctx, args...) }
	// The package's tests share one cluster: leave it as found, or the next up conflicts with
	// this test's objects.
	t.Cleanup(func() {
		if code, _, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform", "--yes"}, live...)...); code != exitcode.OK {
			t.Errorf("destroy exit %d:\n%s", code, stderr)
		}
	})

	code, _, stderr := tctl(append([]string{"preview", "--all", "--plan-dir", plans}, live...)...)
	if code != exitcode.OK {
		t.Fatalf("preview: exit %d\n%s", code, stderr)
	}
	m := regexp.MustCompile(`planDigest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("preview printed no plan digest:\n%s", stderr)
	}
	digest := m[1]

	approval := func(name, planDigest string) string {
		p := filepath.Join(work, name)
		doc := fmt.Sprintf("apiVersion: runtime.connectsoft.io/v1alpha1\nkind: Approval\napprovedBy: jane@example.com\noperation: up\nenvironment: dev\ntenants: [globex]\ncommit: %s\nreason: CHG-1\n", commit)
		if planDigest != "" {
			doc += "planDigest: " + planDigest + "\n"
		}
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	namespaceExists := func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, tenantplan.TenantNamespace("globex"), metav1.GetOptions{})
		return err == nil
	}

	refused := []struct {
		name, want string
		args       []string
	}{
		{"approval without a plan digest", "planDigest: required", []string{"--approval-file", approval("nodigest.yaml", ""), "--plan-dir", plans}},
		{"approved digest but no plans given", "--plan-dir: required", []string{"--approval-file", approval("pinned.yaml", digest)}},
		{"another digest approved", "planDigest: approves sha256:" + strings.Repeat("0", 64), []string{"--approval-file", approval("other.yaml", "sha256:"+strings.Repeat("0", 64)), "--plan-dir", plans}},
	}
	for _, tc := range refused {
		code, _, stderr := tctl(append(append([]string{"up", "--all"}, tc.args...), live...)...)
		if code != exitcode.Invalid || !strings.Contains(stderr, tc.want) {
			t.Fatalf("%s: exit %d, want %d with %q\n%s", tc.name, code, exitcode.Invalid, tc.want, stderr)
		}
		if namespaceExists() {
			t.Fatalf("%s: the refused up created the tenant's namespace", tc.name)
		}
	}

	// A plan edited after the approval no longer matches the approved digest.
	tenantPlan := filepath.Join(plans, tenantplan.TenantStackName("globex", "dev")+".plan")
	orig, err := os.ReadFile(tenantPlan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tenantPlan, append(append([]byte(nil), orig...), ' '), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := tctl(append([]string{"up", "--all", "--approval-file", approval("pinned.yaml", digest), "--plan-dir", plans}, live...)...); code != exitcode.Invalid || !strings.Contains(stderr, "the plans in") {
		t.Fatalf("up with an edited plan: exit %d\n%s", code, stderr)
	}
	if err := os.WriteFile(tenantPlan, orig, 0o600); err != nil {
		t.Fatal(err)
	}

	// The platform's admission policies are cluster-scoped: leave nothing for the package's next
	// test.
	t.Cleanup(func() {
		if code, _, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform", "--yes"}, live...)...); code != exitcode.OK {
			t.Errorf("destroy: exit %d\n%s", code, stderr)
		}
	})
	if code, _, stderr := tctl(append([]string{"up", "--all", "--approval-file", approval("pinned.yaml", digest), "--plan-dir", plans}, live...)...); code != exitcode.OK {
		t.Fatalf("approved, pinned up: exit %d\n%s", code, stderr)
	}
	if !namespaceExists() {
		t.Fatal("the approved up did not create the tenant's namespace")
	}
}
