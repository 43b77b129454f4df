package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// committedExamples copies examples/tenants into a Git repository with one commit.
func committedExamples(t *testing.T) (string, string) {
	t.Helper()
	dir := testenv.TempDir(t)
	err := filepath.WalkDir(examplesDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(examplesDir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("examples", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, h.String()
}

// TestDriftCommandsOnLiveFleet walks the user's path through the CLI with the real engine: a clean
// check (exit 0) whose report `status` then shows, an unmanaged ConfigMap (exit 2, SARIF to a
// file), a baseline that makes the next check clean, sharded checks merged, and an unreachable
// API server (exit 1).
func TestDriftCommandsOnLiveFleet(t *testing.T) {
	testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	work := testenv.TempDir(t)
	t.Setenv("TENANTCTL_TOOLS_DIR", toolchain.CacheDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "drift-cli-test")
	dir, commit := committedExamples(t)
	engine := []string{"-d", dir, "--data-dir", filepath.Join(work, "data"), "--parallel", "2"}
	live := append([]string{"--kubeconfig", cluster.Kubeconfig, "--postgres-connection", testenv.PrivatePostgres(t).InfoPath()}, engine...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tctl := func(args ...string) (int, string, string) { return execTenantctl(t, ctx, args...) }

	code, stdout, stderr := tctl(append([]string{"up", "--all", "-o", "json"}, live...)...)
	if code != exitcode.OK {
		t.Fatalf("up: exit %d\n%s", code, stderr)
	}
	// the engine commands' documents carry the envelope and the revision (TestJSONEnvelope runs
	// the commands that need no engine)
	if doc := requireEnvelope(t, stdout, kindOperation, true); doc["commit"] != commit {
		t.Errorf("up -o json: commit %v, want %s", doc["commit"], commit)
	}
	t.Cleanup(func() {
		code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform", "-o", "json"}, live...)...)
		if code != exitcode.OK {
			t.Errorf("destroy: exit %d\n%s", code, stderr)
			return
		}
		requireEnvelope(t, stdout, kindOperation, true)
	})
	// preview (incremental: every stack unchanged) and refresh (one stack through the engine)
	for _, args := range [][]string{{"preview", "--all"}, {"refresh", "--tenant", "acme"}} {
		code, stdout, stderr := tctl(append(append(args, "-o", "json"), live...)...)
		if code != exitcode.OK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		requireEnvelope(t, stdout, kindOperation, true)
	}

	code, stdout, stderr = tctl(append([]string{"drift", "check"}, live...)...)
	if code != exitcode.OK || !strings.Contains(stdout, "Drift report for commit "+commit) {
		t.Fatalf("clean check: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = tctl(append([]string{"status", "-o", "json"}, engine...)...)
	if code != exitcode.OK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var status struct {
		Stacks []struct {
			Stack string `json:"stack"`
			Drift *struct {
				Findings int `json:"findings"`
			} `json:"drift"`
		} `json:"stacks"`
	}
	if err := json.Unmarshal([]byte(stdout), &status); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, stdout)
	}
	checked := 0
	for _, s := range status.Stacks {
		if s.Drift != nil {
			checked++
		}
	}
	if checked != 3 {
		t.Errorf("status shows the last drift check for %d tenant stacks, want 3:\n%s", checked, stdout)
	}

	if _, err := cs.CoreV1().ConfigMaps("t-globex").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cache"}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sarif := filepath.Join(work, "drift.sarif")
	code, _, stderr = tctl(append([]string{"drift", "check", "-o", "sarif", "--out", sarif}, live...)...)
	if code != exitcode.Findings || !strings.Contains(stderr, "1 finding(s) in 1 tenant(s)") {
		t.Fatalf("drifted check: exit %d\n%s", code, stderr)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if b, err := os.ReadFile(sarif); err != nil || json.Unmarshal(b, &log) != nil || len(log.Runs) != 1 ||
		len(log.Runs[0].Results) != 1 || log.Runs[0].Results[0].RuleID != "unmanaged-resource" {
		t.Errorf("SARIF file %s: %v, %+v", sarif, err, log)
	}

	if code, _, stderr := tctl(append([]string{"drift", "baseline"}, live...)...); code != exitcode.OK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	ignoreFile, err := os.ReadFile(filepath.Join(dir, ".tenantctl-driftignore"))
	if err != nil || !strings.Contains(string(ignoreFile), "name=cache") || !strings.Contains(string(ignoreFile), "commit: "+commit) {
		t.Fatalf("baseline file: %v\n%s", err, ignoreFile)
	}
	code, stdout, stderr = tctl(append([]string{"drift", "check"}, live...)...)
	if code != exitcode.OK || !strings.Contains(stdout, "ignored: 1") {
		t.Errorf("check after the baseline: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	var shards []string
	for _, s := range []string{"1/2", "2/2"} {
		out := filepath.Join(work, "shard-"+s[:1]+".json")
		shards = append(shards, out)
		if code, _, stderr := tctl(append([]string{"drift", "check", "--shard", s, "--ignore", "!name=cache", "-o", "json", "--out", out}, live...)...); code == exitcode.Failed || code == exitcode.Invalid {
			t.Fatalf("shard %s: exit %d\n%s", s, code, stderr)
		}
	}
	if code, stdout, stderr := tctl(append([]string{"drift", "merge"}, shards...)...); code != exitcode.Findings || !strings.Contains(stdout, "t-globex/cache") {
		t.Errorf("merge of the shards (cache un-ignored): exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	code, stdout, stderr = tctl(append([]string{"drift", "check", "--kubeconfig", kubeconfigFor(t, closed)}, engine...)...)
	if code != exitcode.Failed || !strings.Contains(stdout, "kubernetes") {
		t.Errorf("unreachable API: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
