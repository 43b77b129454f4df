package localcluster_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func binDir(t *testing.T) string {
	t.Helper()
	tc := toolchain.Default()
	if err := tc.CheckCluster(); err != nil {
		if os.Getenv("TENANTCTL_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true" {
			t.Skipf("skipped by TENANTCTL_SKIP_INTEGRATION=1: %v", err)
		}
		t.Fatal(err)
	}
	return tc.KubeBinDir
}

// TestDetachedClusterLifecycle starts a detached cluster as `make cluster-up` does, uses it
// through its kubeconfig (namespace deletion needs the controller manager), finds it running
// again by its state dir, and stops it by the pid file.
func TestDetachedClusterLifecycle(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: binDir(t), StateDir: dir, Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer localcluster.StopDir(dir)

	kc, ok := localcluster.Running(ctx, dir)
	if !ok || kc != c.Kubeconfig {
		t.Fatalf("Running(%s) = %q, %v; want %q, true", dir, kc, ok, c.Kubeconfig)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lifecycle"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, "lifecycle", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "lifecycle", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace not finalized within a minute (is the namespace controller running?): %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Service accounts are created by the controller manager too.
	deadline = time.Now().Add(time.Minute)
	for {
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("default service account never created")
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := localcluster.StopDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := localcluster.Running(ctx, dir); ok {
		t.Error("cluster still reported running after StopDir")
	}
	if conn, err := net.DialTimeout("tcp", c.Server[len("https://"):], time.Second); err == nil {
		conn.Close()
		t.Errorf("API server still listening at %s after StopDir", c.Server)
	}
}

// TestAuthorizesLikeARealCluster: a cluster reported ready has already aggregated the built-in
// roles, so binding edit grants what it grants on any real cluster, and the authorizer (asked
// through a SubjectAccessReview, as `kubectl auth can-i` does) answers accordingly.
func TestAuthorizesLikeARealCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: binDir(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)

	// No polling: Start returned, so aggregation has run.
	edit, err := cs.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(edit.Rules) == 0 || edit.AggregationRule == nil {
		t.Fatalf("ClusterRole edit: %d rules, aggregationRule %v; want aggregated rules", len(edit.Rules), edit.AggregationRule)
	}

	for _, ns := range []string{"authz-a", "authz-b"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().ServiceAccounts("authz-a").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "worker"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings("authz-a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "authz-a", Name: "worker"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	review := func(ns, verb, group, resource string) *authorizationv1.SubjectAccessReview {
		t.Helper()
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:authz-a:worker",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:authz-a", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: group, Resource: resource,
			},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sar
	}
	// The RBAC authorizer reads bindings from an informer cache, as on any cluster: a binding
	// just created takes effect a moment later (longer on a loaded machine). Wait for it once.
	for deadline := time.Now().Add(30 * time.Second); !review("authz-a", "get", "", "secrets").Status.Allowed; {
		if time.Now().After(deadline) {
			t.Fatal("the RoleBinding worker-edit did not take effect within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, tc := range []struct {
		ns, verb, resource string
		want               bool
	}{
		{"authz-a", "get", "secrets", true},
		{"authz-a", "create", "deployments", true},
		{"authz-a", "create", "rolebindings", false}, // edit cannot change RBAC
		{"authz-b", "get", "secrets", false},         // a RoleBinding grants in its namespace only
	} {
		group := ""
		if tc.resource == "deployments" {
			group = "apps"
		} else if tc.resource == "rolebindings" {
			group = rbacv1.GroupName
		}
		sar := review(tc.ns, tc.verb, group, tc.resource)
		if sar.Status.Allowed != tc.want {
			t.Errorf("can %s %s in %s: allowed=%v (%s), want %v", tc.verb, tc.resource, tc.ns, sar.Status.Allowed, sar.Status.Reason, tc.want)
		}
	}
}
