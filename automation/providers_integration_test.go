package automation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1p "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/providerpool"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
)

// twoProviders is a program with two instances of the Kubernetes provider, configured apart
// (different default namespaces): each must be served by its own process.
func twoProviders(kubeconfig, nsA, nsB string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		for _, ns := range []string{nsA, nsB} {
			prov, err := kubernetes.NewProvider(ctx, "p-"+ns, &kubernetes.ProviderArgs{
				Kubeconfig: pulumi.String(kubeconfig), Namespace: pulumi.String(ns)})
			if err != nil {
				return err
			}
			n, err := corev1.NewNamespace(ctx, ns, &corev1.NamespaceArgs{
				Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String(ns)}}, pulumi.Provider(prov))
			if err != nil {
				return err
			}
			// no namespace given: the provider's default namespace decides where it goes
			if _, err := corev1.NewConfigMap(ctx, "cm-"+ns, &corev1.ConfigMapArgs{
				Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String("marker")},
				Data:     pulumi.StringMap{"ns": pulumi.String(ns)},
			}, pulumi.Provider(prov), pulumi.DependsOn([]pulumi.Resource{n})); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestSharedProviders runs real operations through the engine's provider pool: the CLI attaches
// to plugins the engine keeps running instead of starting its own, and what they do to the
// cluster is what plugins the CLI started would do.
func TestSharedProviders(t *testing.T) {
	e := newEngine(t, automation.WithParallel(1))
	t.Cleanup(func() { _ = e.Close() })
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	stats := func() providerpool.Stats { s := e.ProviderStats(); s.Running = 0; return s }
	var targets []automation.Target
	for range 3 {
		ns := testenv.UniqueName("shared")
		targets = append(targets, automation.Target{Stack: ns, Program: namespaceWithPolicy(cluster.Kubeconfig, ns), ProviderScope: "env-a"})
	}
	for _, r := range e.Run(ctx, automation.OpUp, targets) {
		if r.Err != nil {
			t.Fatalf("up %s: %v", r.Stack, r.Err)
		}
		if diff := cmp.Diff(map[string]int{"create": 2}, r.Changes); diff != "" {
			t.Errorf("up %s changes (-want +got):\n%s", r.Stack, diff)
		}
		if _, err := cs.NetworkingV1().NetworkPolicies(r.Stack).Get(ctx, "default-deny", metav1.GetOptions{}); err != nil {
			t.Errorf("%s: network policy not created: %v", r.Stack, err)
		}
	}
	// one worker, one scope: one Kubernetes provider served all three stacks
	if diff := cmp.Diff(providerpool.Stats{Started: 1, Reused: 2}, stats()); diff != "" {
		t.Errorf("pool after three ups (-want +got):\n%s", diff)
	}

	// The kept provider plans against the cluster as a new one would: nothing to change.
	pre := e.RunOne(ctx, automation.OpPreview, targets[0])
	if pre.Err != nil || pre.ChangeCount() != 0 {
		t.Fatalf("preview through the kept provider: %v, changes %v", pre.Err, pre.Changes)
	}

	// Another scope gets its own process; a target without a scope lets the CLI start one.
	other := targets[1]
	other.ProviderScope = "env-b"
	if r := e.RunOne(ctx, automation.OpPreview, other); r.Err != nil {
		t.Fatalf("preview in another scope: %v", r.Err)
	}
	unscoped := targets[2]
	unscoped.ProviderScope = ""
	if r := e.RunOne(ctx, automation.OpPreview, unscoped); r.Err != nil || r.ChangeCount() != 0 {
		t.Fatalf("preview without a scope: %v, changes %v", r.Err, r.Changes)
	}
	if diff := cmp.Diff(providerpool.Stats{Started: 2, Reused: 3}, stats()); diff != "" {
		t.Errorf("pool after another scope and an unscoped preview (-want +got):\n%s", diff)
	}

	// A failed operation's provider is not kept: the next operation starts a new one.
	bad := automation.Target{Stack: testenv.UniqueName("shared-bad"), ProviderScope: "env-a",
		Program: namespaceWithPolicy(cluster.Kubeconfig, "Not_A_DNS_Label")}
	if r := e.RunOne(ctx, automation.OpUp, bad); r.Err == nil {
		t.Fatal("up of an invalid namespace succeeded")
	}
	before := stats()
	if r := e.RunOne(ctx, automation.OpPreview, targets[0]); r.Err != nil || r.ChangeCount() != 0 {
		t.Fatalf("preview after a failure: %v, changes %v", r.Err, r.Changes)
	}
	if after := stats(); after.Started != before.Started+1 || before.Stopped < 1 {
		t.Errorf("after a failed up the next operation reused its provider: before %+v, after %+v", before, after)
	}

	// Two instances of the provider in one stack, configured apart, each get their own process:
	// each ConfigMap lands in its own provider's default namespace.
	nsA, nsB := testenv.UniqueName("shared-a"), testenv.UniqueName("shared-b")
	two := automation.Target{Stack: nsA, ProviderScope: "env-a", Program: twoProviders(cluster.Kubeconfig, nsA, nsB)}
	if r := e.RunOne(ctx, automation.OpUp, two); r.Err != nil {
		t.Fatalf("up with two providers: %v", r.Err)
	}
	for _, ns := range []string{nsA, nsB} {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "marker", metav1.GetOptions{})
		if err != nil || cm.Data["ns"] != ns {
			t.Errorf("ConfigMap marker in %s: %v %v", ns, cm, err)
		}
	}

	for _, r := range e.Run(ctx, automation.OpDestroy, append(targets, two)) {
		if r.Err != nil {
			t.Errorf("destroy %s: %v", r.Stack, r.Err)
		}
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(targets[0].Stack).Get(ctx, "default-deny", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("network policy still there after destroy through the kept provider: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if s := e.ProviderStats(); s.Running != 0 {
		t.Errorf("after Close %d provider processes still run", s.Running)
	}
}

// tenantData is a tenant's data objects on the local PostgreSQL through the tenantpg provider: an
// owner role and a database it owns.
func tenantData(pg *localpostgres.Instance, password, tenant string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		prov, err := tenantpg.NewProvider(ctx, "pg", &tenantpg.ProviderArgs{
			Host: pulumi.String(pg.Host), Port: pulumi.IntPtr(pg.Port), Username: pulumi.String(pg.AdminRole),
			Password: pulumi.ToSecret(pulumi.String(password)).(pulumi.StringOutput), Sslmode: pulumi.StringPtr("disable"),
		})
		if err != nil {
			return err
		}
		owner, err := tenantpg.NewRole(ctx, "owner", &tenantpg.RoleArgs{Name: pulumi.String(tenant)}, pulumi.Provider(prov))
		if err != nil {
			return err
		}
		_, err = tenantpg.NewDatabase(ctx, "db", &tenantpg.DatabaseArgs{
			Name: pulumi.String(tenant), Owner: owner.Name, ForceDestroy: pulumi.BoolPtr(true)}, pulumi.Provider(prov))
		return err
	}
}

// TestSharedTenantPGProvider: one kept tenantpg process serves the updates of several stacks,
// and an existing stack's next update through it changes nothing. A reused process used to
// replace its own provider resource there, and with it every role and database of the stack
// (provider/tenantpg/reuse.go).
func TestSharedTenantPGProvider(t *testing.T) {
	e := newEngine(t, automation.WithParallel(1))
	t.Cleanup(func() { _ = e.Close() })
	pg := testenv.Postgres(t)
	password, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var targets []automation.Target
	for range 3 {
		name := strings.ReplaceAll(testenv.UniqueName("kept_pg"), "-", "_")
		targets = append(targets, automation.Target{Stack: strings.ReplaceAll(name, "_", "-"),
			Program: tenantData(pg, password, name), ProviderScope: "env-pg"})
	}
	for _, r := range e.Run(ctx, automation.OpUp, targets) {
		if r.Err != nil {
			t.Fatalf("up %s: %v", r.Stack, r.Err)
		}
		if diff := cmp.Diff(map[string]int{"create": 2}, r.Changes); diff != "" {
			t.Errorf("up %s changes (-want +got):\n%s", r.Stack, diff)
		}
	}
	// the second and third stacks' first update, and then every stack's second, on one process
	for _, r := range e.Run(ctx, automation.OpUp, targets) {
		if r.Err != nil {
			t.Fatalf("second up %s: %v", r.Stack, r.Err)
		}
		if r.ChangeCount() != 0 {
			t.Errorf("second up %s through the kept provider changed %v; want nothing", r.Stack, r.Changes)
		}
	}
	s := e.ProviderStats()
	s.Running = 0
	if diff := cmp.Diff(providerpool.Stats{Started: 1, Reused: 5}, s); diff != "" {
		t.Errorf("pool after six ups (-want +got):\n%s", diff)
	}

	conn, err := pg.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func() int {
		var n int
		names := make([]string, 0, len(targets))
		for _, tg := range targets {
			names = append(names, strings.ReplaceAll(tg.Stack, "-", "_"))
		}
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
			WHERE d.datname = ANY($1) AND r.rolname = d.datname`, names).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != len(targets) {
		t.Errorf("%d of %d tenant databases owned by their role after the ups", n, len(targets))
	}
	for _, r := range e.Run(ctx, automation.OpDestroy, targets) {
		if r.Err != nil {
			t.Errorf("destroy %s: %v", r.Stack, r.Err)
		}
	}
	if n := count(); n != 0 {
		t.Errorf("%d tenant databases left after destroy through the kept provider", n)
	}
}
