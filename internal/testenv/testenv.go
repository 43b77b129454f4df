// Package testenv gives integration tests the real parts: the toolchain from the tool cache, one
// local control plane and one local PostgreSQL server per `go test` package run, with a namespace
// per test.
//
// A missing tool fails the test. A developer without the tools may opt out explicitly with
// TENANTCTL_SKIP_INTEGRATION=1; CI (CI=true) ignores that variable, so integration tests can never
// be skipped silently there.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

var (
	mu         sync.Mutex
	cluster    *localcluster.Cluster
	clusterErr error
	stateDir   string

	pg         *localpostgres.Instance
	pgErr      error
	pgStateDir string
)

// skipAllowed reports whether a developer opted out of integration tests.
func skipAllowed() bool {
	return os.Getenv("TENANTCTL_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true"
}

// Run is a TestMain body for packages with integration tests: it starts the local cluster lazily
// (on the first Cluster call) and stops it after all tests ran.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if cluster != nil {
		cluster.Stop()
	}
	if stateDir != "" {
		os.RemoveAll(stateDir)
	}
	if pg != nil {
		_ = pg.Stop()
	}
	if pgStateDir != "" {
		os.RemoveAll(pgStateDir)
	}
	return code
}

// Toolchain returns the engine tools or fails (skips only on explicit opt-out outside CI).
func Toolchain(t testing.TB) toolchain.Toolchain {
	t.Helper()
	tc := toolchain.Default()
	if err := tc.CheckEngine(); err != nil {
		Missing(t, err)
	}
	return tc
}

// Missing reports a missing integration prerequisite: a failure, or a skip where a developer
// outside CI opted out with TENANTCTL_SKIP_INTEGRATION=1.
func Missing(t testing.TB, err error) {
	t.Helper()
	if skipAllowed() {
		t.Skipf("integration test skipped by TENANTCTL_SKIP_INTEGRATION=1: %v", err)
	}
	t.Fatalf("integration prerequisites: %v (build them with `make tools`; outside CI set TENANTCTL_SKIP_INTEGRATION=1 to opt out)", err)
}

// Cluster returns the package's local cluster, starting it on first use.
func Cluster(t testing.TB) *localcluster.Cluster {
	t.Helper()
	c, err, missingTools := startCluster()
	if missingTools != nil {
		Missing(t, missingTools)
	}
	if err != nil {
		t.Fatalf("local cluster: %v", err)
	}
	return c
}

// startCluster starts the package's cluster once; the lock is never held while a test fails.
func startCluster() (*localcluster.Cluster, error, error) {
	mu.Lock()
	defer mu.Unlock()
	if cluster != nil || clusterErr != nil {
		return cluster, clusterErr, nil
	}
	tc := toolchain.Default()
	if err := tc.CheckCluster(); err != nil {
		return nil, nil, err
	}
	stateDir, clusterErr = os.MkdirTemp("", "tenantctl-cluster-")
	if clusterErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cluster, clusterErr = localcluster.Start(ctx, localcluster.Options{BinDir: tc.KubeBinDir, StateDir: stateDir})
		cancel()
	}
	return cluster, clusterErr, nil
}

// Postgres returns the package's local PostgreSQL instance (scram-sha-256 only, admin role and
// password file in Info), starting it on first use; Run stops it.
func Postgres(t testing.TB) *localpostgres.Instance {
	t.Helper()
	in, err, missingTools := startPostgres()
	if missingTools != nil {
		Missing(t, missingTools)
	}
	if err != nil {
		t.Fatalf("local postgres: %v", err)
	}
	return in
}

func startPostgres() (*localpostgres.Instance, error, error) {
	mu.Lock()
	defer mu.Unlock()
	if pg != nil || pgErr != nil {
		return pg, pgErr, nil
	}
	bin, err := localpostgres.FindBinDir()
	if err != nil {
		return nil, nil, err
	}
	// A short path: the server's unix socket lives in its data folder.
	pgStateDir, pgErr = os.MkdirTemp("", "tctl-pg-")
	if pgErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		pg, pgErr = localpostgres.Start(ctx, localpostgres.Options{BinDir: bin, StateDir: pgStateDir})
		cancel()
	}
	return pg, pgErr, nil
}

// RESTConfig is an admin client config for the package's cluster.
func RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	c := Cluster(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// Client is an admin clientset for the package's cluster.
func Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(RESTConfig(t))
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

// UniqueName returns prefix plus a random suffix, a valid DNS-1123 label for prefixes under 50
// characters.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b)
}

// Namespace creates a namespace for this test and deletes it at cleanup.
func Namespace(t testing.TB, prefix string) string {
	t.Helper()
	cs := Client(t)
	name := UniqueName(prefix)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

// TempDir is t.TempDir, except that paths stay short: Pulumi's file backend and unix sockets
// dislike very long paths.
func TempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "tctl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Clean(d)
}

// Eventually polls cond until it returns true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, last)
}

// CopyDir copies the folder src (e.g. examples/tenants) into a fresh temporary folder, so a test
// can edit its own desired state.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := TempDir(t)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

// PostgresConnection is the connection file of the package's PostgreSQL instance (started on
// first use), what the engine's programs read as stack config tenantctl:postgres.
func PostgresConnection(t testing.TB) string {
	t.Helper()
	return Postgres(t).InfoPath()
}
