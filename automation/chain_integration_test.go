package automation_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1p "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// newEngine gives each test its own data dir (state, workspaces, PULUMI_HOME).
func newEngine(t *testing.T, opts ...automation.Option) *automation.Engine {
	t.Helper()
	tc := testenv.Toolchain(t)
	dir := testenv.TempDir(t)
	base := []automation.Option{
		automation.WithToolchain(tc),
		automation.WithDataDir(dir),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "test-passphrase"}),
	}
	e, err := automation.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e
}

// namespaceWithPolicy is the smallest real program: a Namespace and a default-deny
// NetworkPolicy through the real provider.
func namespaceWithPolicy(kubeconfig, ns string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "local", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String(kubeconfig)})
		if err != nil {
			return err
		}
		n, err := corev1.NewNamespace(ctx, ns, &corev1.NamespaceArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String(ns), Labels: pulumi.StringMap{"tenant": pulumi.String("acme")}},
		}, pulumi.Provider(prov))
		if err != nil {
			return err
		}
		_, err = networkingv1.NewNetworkPolicy(ctx, "default-deny", &networkingv1.NetworkPolicyArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String("default-deny"), Namespace: n.Metadata.Name()},
			Spec: &networkingv1.NetworkPolicySpecArgs{
				PodSelector: &metav1p.LabelSelectorArgs{},
				PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			},
		}, pulumi.Provider(prov))
		return err
	}
}

func TestChainUpPreviewDestroyOnLocalCluster(t *testing.T) {
	e := newEngine(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := testenv.UniqueName("chain")
	target := automation.Target{Stack: ns, Program: namespaceWithPolicy(cluster.Kubeconfig, ns)}

	up := e.RunOne(ctx, automation.OpUp, target)
	if up.Err != nil {
		t.Fatalf("up: %v", up.Err)
	}
	if diff := cmp.Diff(map[string]int{"create": 2}, up.Changes); diff != "" {
		t.Errorf("up changes (-want +got):\n%s", diff)
	}
	np, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, "default-deny", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("network policy not created: %v", err)
	}
	if got := np.Spec.PolicyTypes; len(got) != 1 || got[0] != "Ingress" {
		t.Errorf("policyTypes = %v, want [Ingress]", got)
	}

	pre := e.RunOne(ctx, automation.OpPreview, target)
	if pre.Err != nil {
		t.Fatalf("preview: %v", pre.Err)
	}
	if pre.ChangeCount() != 0 {
		t.Errorf("preview after up wants no changes, got %v (%+v)", pre.Changes, pre.Steps)
	}
	if pre.Changes["same"] != 2 {
		t.Errorf("preview same = %d, want 2", pre.Changes["same"])
	}

	down := e.RunOne(ctx, automation.OpDestroy, target)
	if down.Err != nil {
		t.Fatalf("destroy: %v", down.Err)
	}
	if diff := cmp.Diff(map[string]int{"delete": 2}, down.Changes); diff != "" {
		t.Errorf("destroy changes (-want +got):\n%s", diff)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, "default-deny", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("network policy still there after destroy: %v", err)
	}
	testenv.Eventually(t, time.Minute, "namespace "+ns+" gone", func() (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}
