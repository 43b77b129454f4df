package kubernetes_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Names from examples/tenants (environment dev).
const (
	ingressNS = "platform-ingress"
	sharedNS  = "shared-tenants"
	acmeNS    = "t-acme"
	globexNS  = "t-globex"
)

// TestIntegrationExamplesOnLocalCluster provisions the three example tenants with the real engine
// on the local API server, checks the live objects with client-go, checks that RBAC and the
// admission policies keep the tenants apart, then destroys everything and checks that nothing
// managed is left but the retained ingress namespace.
func TestIntegrationExamplesOnLocalCluster(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	state, err := isolation.Load(ctx, filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatalf("load examples: %v", err)
	}
	dir := testenv.TempDir(t)
	engine, err := automation.New(
		automation.WithToolchain(tc),
		automation.WithDataDir(dir),
		automation.WithParallel(2),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "stacks-k8s-integration"}),
		automation.WithPrincipal("test:stacks-kubernetes"),
	)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	f := fleet.New(engine, state, cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	everything := fleet.Selection{All: true, IncludePlatform: true}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			f.Run(context.Background(), automation.OpDestroy, everything)
		}
		// The ingress namespace is retained by design; the cluster outlives this test.
		cs.CoreV1().Namespaces().Delete(context.Background(), ingressNS, metav1.DeleteOptions{})
	})

	up, err := f.Run(ctx, automation.OpUp, fleet.Selection{All: true})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	mustSucceed(t, "up", up)
	if got := len(up.Tenants); got != 3 {
		t.Fatalf("tenant stacks run = %d, want 3", got)
	}

	dyn := dynamicClient(t, cluster.Kubeconfig)
	t.Run("objects", func(t *testing.T) { checkObjects(ctx, t, cs, dyn, state) })
	t.Run("rbac", func(t *testing.T) { checkRBAC(ctx, t, cs) })
	t.Run("admission", func(t *testing.T) { checkAdmission(ctx, t, cs) })

	before, err := managedObjects(ctx, cs, dyn)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range managedKinds {
		if len(before[kind.name]) == 0 {
			t.Errorf("before destroy no %s labelled %s=%s: the destroy check below would be vacuous", kind.name, tenantplan.LabelManagedBy, tenantplan.ManagedBy)
		}
	}

	down, err := f.Run(ctx, automation.OpDestroy, everything)
	destroyed = true
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	mustSucceed(t, "destroy", down)
	checkDestroyed(ctx, t, cs, dyn)
}

func dynamicClient(t *testing.T, kubeconfig string) dynamic.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

func mustSucceed(t *testing.T, what string, o fleet.Outcome) {
	t.Helper()
	for _, r := range o.All() {
		if r.Err != nil {
			t.Fatalf("%s: stack %s: %v", what, r.Stack, r.Err)
		}
	}
}

// checkDestroyed: the tenant and shared namespaces are gone, no managed object of any kind is
// left, and the ingress namespace is still there (retained on destroy, see docs/stacks.md).
func checkDestroyed(ctx context.Context, t *testing.T, cs kubernetes.Interface, dyn dynamic.Interface) {
	t.Helper()
	for _, ns := range []string{acmeNS, globexNS, sharedNS} {
		testenv.Eventually(t, time.Minute, "namespace "+ns+" deleted", func() (bool, error) {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	}
	left, err := managedObjects(ctx, cs, dyn)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"namespaces": {ingressNS}}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("managed objects left after destroy (-want +got):\n%s", diff)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, ingressNS, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ingress namespace after destroy: %v (docs/stacks.md: retained on destroy)", err)
	}
	if ns.DeletionTimestamp != nil || ns.Labels[tenantplan.LabelRole] != tenantplan.RoleIngress {
		t.Errorf("ingress namespace after destroy: deleting=%v labels=%v, want retained as it was", ns.DeletionTimestamp != nil, ns.Labels)
	}
}

// managedKind lists one kind's objects; custom resources through the dynamic client.
type managedKind struct {
	name   string
	list   func(context.Context, kubernetes.Interface, metav1.ListOptions) (runtime.Object, error)
	custom schema.GroupVersionResource
}

// managedKinds is every kind a stack of the kubernetes target creates.
var managedKinds = []managedKind{
	{name: "namespaces", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Namespaces().List(ctx, o)
	}},
	{name: "networkpolicies", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.NetworkingV1().NetworkPolicies("").List(ctx, o)
	}},
	{name: "serviceaccounts", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().ServiceAccounts("").List(ctx, o)
	}},
	{name: "roles", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.RbacV1().Roles("").List(ctx, o)
	}},
	{name: "rolebindings", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.RbacV1().RoleBindings("").List(ctx, o)
	}},
	{name: "resourcequotas", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().ResourceQuotas("").List(ctx, o)
	}},
	{name: "limitranges", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().LimitRanges("").List(ctx, o)
	}},
	{name: "secretproviderclasses", custom: secretProviderClasses},
	{name: "priorityclasses", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.SchedulingV1().PriorityClasses().List(ctx, o)
	}},
	{name: "validatingadmissionpolicies", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, o)
	}},
	{name: "validatingadmissionpolicybindings", list: func(ctx context.Context, cs kubernetes.Interface, o metav1.ListOptions) (runtime.Object, error) {
		return cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().List(ctx, o)
	}},
}

// managedObjects is every object of managedKinds labelled managed-by tenantctl, by kind, as sorted
// "namespace/name" (or "name" for cluster-scoped kinds); kinds with none are omitted.
func managedObjects(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface) (map[string][]string, error) {
	opts := metav1.ListOptions{LabelSelector: tenantplan.LabelManagedBy + "=" + tenantplan.ManagedBy}
	out := map[string][]string{}
	for _, k := range managedKinds {
		var list runtime.Object
		var err error
		if k.list != nil {
			list, err = k.list(ctx, cs, opts)
		} else {
			list, err = dyn.Resource(k.custom).List(ctx, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.name, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.name, err)
		}
		for _, it := range items {
			m, err := meta.Accessor(it)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", k.name, err)
			}
			id := m.GetName()
			if ns := m.GetNamespace(); ns != "" {
				id = ns + "/" + id
			}
			out[k.name] = append(out[k.name], id)
		}
		sort.Strings(out[k.name])
	}
	return out, nil
}
