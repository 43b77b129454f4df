package kubernetes_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	pmetav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/isolation"
	k8sstacks "github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// TestLegacySecretRefsConfigMapIsMigrated: a tenant stack written before the SecretProviderClass
// manages the ConfigMap t-<id>-secret-refs. The next `up` of the current program deletes it, as
// Pulumi deletes every resource a program no longer declares, and creates the class; nothing else
// has to read the ConfigMap afterwards.
func TestLegacySecretRefsConfigMapIsMigrated(t *testing.T) {
	tc := testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	state, err := isolation.Load(ctx, filepath.Join("..", "..", "examples", "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := automation.New(
		automation.WithToolchain(tc),
		automation.WithDataDir(testenv.TempDir(t)),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "stacks-k8s-migration"}),
		automation.WithPrincipal("test:stacks-kubernetes"),
	)
	if err != nil {
		t.Fatal(err)
	}
	f := fleet.New(engine, state, cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	globex := fleet.Selection{Tenants: []string{"globex"}}
	t.Cleanup(func() {
		bg := context.Background()
		f.Run(bg, automation.OpDestroy, fleet.Selection{Tenants: []string{"globex"}, IncludePlatform: true})
		// The ingress namespace is retained on destroy; the next test of this package creates it
		// again, so it must be gone, not terminating.
		cs.CoreV1().Namespaces().Delete(bg, ingressNS, metav1.DeleteOptions{})
		for _, ns := range []string{ingressNS, sharedNS, globexNS} {
			testenv.Eventually(t, time.Minute, "namespace "+ns+" deleted", func() (bool, error) {
				_, err := cs.CoreV1().Namespaces().Get(bg, ns, metav1.GetOptions{})
				return apierrors.IsNotFound(err), err
			})
		}
	})
	up, err := f.Run(ctx, automation.OpUp, globex)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "up", up)

	// The stack as an earlier version left it: the tenant plus the references ConfigMap.
	env, b := state.Environment("dev"), state.Binding("dev", "globex")
	platform, err := f.PlatformOutputs(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	legacy := f.TenantTarget(b, platform)
	pl, err := tenantplan.ForTenant(tenantplan.Inputs{Binding: b, Env: env, Platform: platform})
	if err != nil {
		t.Fatal(err)
	}
	cmName := tenantplan.TenantSecretRefsName("globex")
	legacy.Program = func(ctx *pulumi.Context) error {
		p, err := k8sstacks.NewProvider(ctx, env)
		if err != nil {
			return err
		}
		if _, err := k8sstacks.DeployTenant(ctx, pl, p, k8sstacks.WorkloadIdentity{}); err != nil {
			return err
		}
		_, err = corev1.NewConfigMap(ctx, globexNS+"/"+cmName, &corev1.ConfigMapArgs{
			Metadata: &pmetav1.ObjectMetaArgs{Name: pulumi.String(cmName), Namespace: pulumi.String(globexNS), Labels: pulumi.ToStringMap(pl.Labels)},
			Data:     pulumi.StringMap{"db-connection": pulumi.String(`{"name":"db-connection","keyVaultRef":"kv-connectsoft-dev","secretName":"globex-db-connection"}`)},
		}, pulumi.Provider(p))
		return err
	}
	if r := engine.RunOne(ctx, automation.OpUp, legacy); r.Err != nil {
		t.Fatalf("up of the legacy program: %v", r.Err)
	}
	if _, err := cs.CoreV1().ConfigMaps(globexNS).Get(ctx, cmName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the legacy program did not create %s: %v", cmName, err)
	}

	up, err = f.Run(ctx, automation.OpUp, globex)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "up after the legacy program", up)
	if got := up.Tenants[0].Changes["delete"]; got != 1 {
		t.Errorf("up deleted %d resources, want the ConfigMap only (changes %v)", got, up.Tenants[0].Changes)
	}
	if _, err := cs.CoreV1().ConfigMaps(globexNS).Get(ctx, cmName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s after up: %v, want deleted", cmName, err)
	}
	if _, err := dynamicClient(t, cluster.Kubeconfig).Resource(secretProviderClasses).Namespace(globexNS).Get(ctx, "t-globex", metav1.GetOptions{}); err != nil {
		t.Errorf("SecretProviderClass after the migration: %v", err)
	}
}
