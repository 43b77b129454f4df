package automation_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1p "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

func signedAuditor(t *testing.T) *audit.Auditor {
	t.Helper()
	dir := t.TempDir()
	a, err := audit.NewFromConfig(audit.Config{Path: filepath.Join(dir, "audit.jsonl"), HeadFile: true, NoFsync: true,
		SigningKeyFile: filepath.Join(dir, "signing.key")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Issue 14.3: a mutation whose intent cannot be recorded does not happen (non-production too),
// and a recorded one is followed by its outcome, linked to the intent.
func TestMutationFailsClosedWithoutAuditIntent(t *testing.T) {
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	broken := signedAuditor(t)
	broken.Close() // every append now fails
	var finishErrs []error
	e := newEngine(t, automation.WithPrincipal("test:intent"),
		automation.WithAuditor(automation.AuditLog{Auditor: broken, OnError: func(err error) { finishErrs = append(finishErrs, err) }}))
	ns := testenv.UniqueName("intent")
	target := automation.Target{Stack: ns, TenantID: "acme", Environment: "dev", Program: namespaceWithPolicy(cluster.Kubeconfig, ns)}
	res := e.RunOne(ctx, automation.OpUp, target)
	if !errors.Is(res.Err, automation.ErrIntentNotRecorded) {
		t.Fatalf("up with an audit log that takes nothing: %v, want ErrIntentNotRecorded", res.Err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the namespace exists although the intent was not recorded: %v", err)
	}
	stacks, err := e.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		if strings.HasSuffix(s.Name, ns) {
			t.Errorf("stack %s was created although the intent was not recorded", s.Name)
		}
	}

	good := signedAuditor(t)
	defer good.Close()
	e = newEngine(t, automation.WithPrincipal("test:intent"), automation.WithAuditor(automation.AuditLog{Auditor: good}))
	if res := e.RunOne(ctx, automation.OpUp, target); res.Err != nil {
		t.Fatalf("up: %v", res.Err)
	}
	defer e.RunOne(context.Background(), automation.OpDestroy, target)
	recs, err := audit.QueryFile(ctx, good.Log().Path(), audit.Filter{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Outcome != audit.OutcomeStarted || recs[1].Outcome != audit.OutcomeSucceeded ||
		recs[1].Details["intent"] != recs[0].EventID || recs[0].Details["stack"] != ns {
		t.Fatalf("records = %+v, want the intent then the outcome naming it", recs)
	}
}

// namespaceWithLabel is a namespace whose label value is v; with extra, a ConfigMap too.
func namespaceWithLabel(kubeconfig, ns, v string, extra bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		prov, err := kubernetes.NewProvider(ctx, "local", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String(kubeconfig)})
		if err != nil {
			return err
		}
		n, err := corev1.NewNamespace(ctx, ns, &corev1.NamespaceArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String(ns), Labels: pulumi.StringMap{"v": pulumi.String(v)}},
		}, pulumi.Provider(prov))
		if err != nil || !extra {
			return err
		}
		_, err = corev1.NewConfigMap(ctx, "unplanned", &corev1.ConfigMapArgs{
			Metadata: &metav1p.ObjectMetaArgs{Name: pulumi.String("unplanned"), Namespace: n.Metadata.Name()},
		}, pulumi.Provider(prov))
		return err
	}
}

// Issue 14.13: an up pinned to a preview's plan refuses to do what the preview did not show, and
// does what it showed.
func TestUpIsPinnedToThePreviewedPlan(t *testing.T) {
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := newEngine(t)
	ns := testenv.UniqueName("plan")
	plan := filepath.Join(t.TempDir(), ns+".plan")
	previewed := automation.Target{Stack: ns, Program: namespaceWithLabel(cluster.Kubeconfig, ns, "a", false), Plan: plan}
	if res := e.RunOne(ctx, automation.OpPreview, previewed); res.Err != nil {
		t.Fatalf("preview: %v", res.Err)
	}
	defer e.RunOne(context.Background(), automation.OpDestroy, automation.Target{Stack: ns})

	changed := previewed
	changed.Program = namespaceWithLabel(cluster.Kubeconfig, ns, "a", true)
	if res := e.RunOne(ctx, automation.OpUp, changed); res.Err == nil {
		t.Fatal("an up that creates a resource the preview did not show succeeded against the plan")
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "unplanned", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the unplanned ConfigMap exists: %v", err)
	}
	if res := e.RunOne(ctx, automation.OpUp, previewed); res.Err != nil {
		t.Fatalf("the previewed up, pinned to its plan: %v", res.Err)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || got.Labels["v"] != "a" {
		t.Errorf("namespace after the pinned up: %v %v", got.Labels, err)
	}
	missing := previewed
	missing.Plan = filepath.Join(t.TempDir(), "none.plan")
	if res := e.RunOne(ctx, automation.OpUp, missing); res.Err == nil || !strings.Contains(res.Err.Error(), "no previewed plan") {
		t.Errorf("up with a missing plan file: %v", res.Err)
	}
}
