package automation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1p "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// namespaceWithDeployment is a program whose update hangs: with no kubelet, the provider waits
// for the Deployment to become ready until its timeout, leaving a pending create in state.
// skipAwait lets the converging run finish.
func namespaceWithDeployment(kubeconfig, ns string, skipAwait bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "local", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String(kubeconfig)})
		if err != nil {
			return err
		}
		n, err := corev1.NewNamespace(ctx, ns, &corev1.NamespaceArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String(ns)},
		}, pulumi.Provider(prov))
		if err != nil {
			return err
		}
		ann := pulumi.StringMap{}
		if skipAwait {
			ann["pulumi.com/skipAwait"] = pulumi.String("true")
		}
		labels := pulumi.StringMap{"app": pulumi.String("web")}
		_, err = appsv1.NewDeployment(ctx, "web", &appsv1.DeploymentArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String("web"), Namespace: n.Metadata.Name(), Annotations: ann},
			Spec: &appsv1.DeploymentSpecArgs{
				Selector: &metav1p.LabelSelectorArgs{MatchLabels: labels},
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: &metav1p.ObjectMetaArgs{Labels: labels},
					Spec: &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name: pulumi.String("web"), Image: pulumi.String("connectsoft.azurecr.io/web@sha256:" + strings.Repeat("a", 64)),
					}}},
				},
			},
		}, pulumi.Provider(prov))
		return err
	}
}

// killedUpHelper runs in a child process of TestRecoverAfterSIGKILL (see TestMain): an update
// that hangs until the test kills the whole process group.
func killedUpHelper() {
	dataDir := os.Getenv("TENANTCTL_TEST_KILL_DATA")
	e, err := automation.New(automation.WithDataDir(dataDir),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "test-passphrase"}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ns := os.Getenv("TENANTCTL_TEST_KILL_NS")
	r := e.RunOne(context.Background(), automation.OpUp, automation.Target{Stack: ns,
		Program: namespaceWithDeployment(os.Getenv("TENANTCTL_TEST_KILL_KUBECONFIG"), ns, false)})
	fmt.Fprintln(os.Stderr, "the update should have been killed before it finished:", r.Err)
	os.Exit(1)
}

func TestRecoverAfterSIGKILL(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	dataDir := testenv.TempDir(t)
	ns := testenv.UniqueName("killed")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "TENANTCTL_TEST_KILL_DATA="+dataDir, "TENANTCTL_TEST_KILL_NS="+ns,
		"TENANTCTL_TEST_KILL_KUBECONFIG="+cluster.Kubeconfig)
	// Its own session, so the kill takes the engine, the pulumi CLI and the provider (which pulumi
	// starts in a process group of its own) at once, as a node failure or an OOM kill of the
	// container would.
	helper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			killSession(helper.Process.Pid)
			helper.Wait()
		}
	}()
	testenv.Eventually(t, 4*time.Minute, "deployment created by the helper's update", func() (bool, error) {
		_, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil, err
	})
	time.Sleep(time.Second) // let the provider enter its await loop
	if n := killSession(helper.Process.Pid); n < 3 {
		t.Fatalf("killed %d processes of the helper's session, want the engine, the CLI and the provider", n)
	}
	helper.Wait()
	killed = true

	e, err := automation.New(automation.WithToolchain(tc), automation.WithDataDir(dataDir),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "test-passphrase"}))
	if err != nil {
		t.Fatal(err)
	}
	target := automation.Target{Stack: ns, Program: namespaceWithDeployment(cluster.Kubeconfig, ns, true)}

	// SIGKILL is delivered asynchronously: give the kernel a moment to tear the CLI down.
	testenv.Eventually(t, 15*time.Second, "one stale lock after SIGKILL", func() (bool, error) {
		locks, err := e.Locks(ns)
		if err != nil {
			return false, err
		}
		return len(locks) == 1 && locks[0].Stale, fmt.Errorf("locks: %+v", locks)
	})
	// Without recovery the stack is locked: a plain up is a conflict, not a hang or a corruption.
	if r := e.RunOne(ctx, automation.OpUp, target); !r.Conflict || !errors.Is(r.Err, automation.ErrConflict) {
		t.Fatalf("up on the killed stack: conflict=%v err=%v, want a conflict", r.Conflict, r.Err)
	}
	d, err := e.Export(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PendingOperations) == 0 {
		t.Fatalf("want pending operations after SIGKILL, state has none")
	}

	rec, err := e.Recover(ctx, target)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if rec.LocksCleared != 1 || len(rec.Imported) == 0 || !rec.Refreshed {
		t.Fatalf("recovery = %+v, want the lock cleared and the deployment adopted", rec)
	}
	d, err = e.Export(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PendingOperations) != 0 {
		t.Errorf("pending operations after recovery: %+v", d.PendingOperations)
	}
	var haveDeployment bool
	for _, r := range d.Resources {
		if r.Type == "kubernetes:apps/v1:Deployment" {
			haveDeployment = true
		}
	}
	if !haveDeployment {
		t.Errorf("the deployment created before the kill is not in state after recovery: orphaned")
	}

	up := e.RunOne(ctx, automation.OpUp, target)
	if up.Err != nil {
		t.Fatalf("up after recovery: %v", up.Err)
	}
	if up.Changes["create"] != 0 {
		t.Errorf("up after recovery created %d resources: recovery lost track of them (%v)", up.Changes["create"], up.Changes)
	}
	down := e.RunOne(ctx, automation.OpDestroy, target)
	if down.Err != nil {
		t.Fatalf("destroy: %v", down.Err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment left behind after destroy: %v", err)
	}
}

// TestConflictWithAnotherProcess: while one update holds the stack, a second engine (its own
// pulumi processes) gets a conflict; with a lock wait it succeeds once the first finishes.
func TestConflictWithAnotherProcess(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	dataDir := testenv.TempDir(t)
	ns := testenv.UniqueName("conflict")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	mk := func(opts ...automation.Option) *automation.Engine {
		e, err := automation.New(append([]automation.Option{automation.WithToolchain(tc), automation.WithDataDir(dataDir),
			automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "test-passphrase"})}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first, second, patient := mk(), mk(), mk(automation.WithLockWait(3*time.Minute))
	slow := func(ctx *pulumi.Context) error {
		time.Sleep(15 * time.Second) // hold the update (and its lock) open
		return namespaceWithPolicy(cluster.Kubeconfig, ns)(ctx)
	}
	done := make(chan automation.Result, 1)
	go func() { done <- first.RunOne(ctx, automation.OpUp, automation.Target{Stack: ns, Program: slow}) }()
	testenv.Eventually(t, 2*time.Minute, "first update holds the lock", func() (bool, error) {
		l, err := first.Locks(ns)
		return len(l) > 0, err
	})

	target := automation.Target{Stack: ns, Program: namespaceWithPolicy(cluster.Kubeconfig, ns)}
	r := second.RunOne(ctx, automation.OpUp, target)
	if !r.Conflict || !errors.Is(r.Err, automation.ErrConflict) {
		t.Fatalf("second process: conflict=%v err=%v, want a conflict", r.Conflict, r.Err)
	}
	waited := patient.RunOne(ctx, automation.OpUp, target)
	if waited.Err != nil {
		t.Fatalf("with --lock-wait the update should succeed after the first: %v", waited.Err)
	}
	if f := <-done; f.Err != nil {
		t.Fatalf("first update: %v", f.Err)
	}
	if d := first.RunOne(ctx, automation.OpDestroy, target); d.Err != nil {
		t.Fatalf("destroy: %v", d.Err)
	}
}

// killSession SIGKILLs every process of session sid and returns how many it signalled.
func killSession(sid int) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		// fields after the command: state ppid pgrp session ...
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 3 && f[3] == strconv.Itoa(sid) && f[0] != "Z" {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}
