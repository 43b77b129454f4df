package main

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// inject puts the four drift kinds of the drift integration tests into the first two tenants:
// (1) a managed field changed by another manager, (2) an unmanaged NetworkPolicy that lets tenant
// 1 reach tenant 2, (3) an unmanaged ConfigMap, (4) a Deployment with an unpinned image. Each step
// is idempotent, so a kept fleet can be injected again.
func inject(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.WarningHandler = rest.NoWarnings{} // the unpinned image is the point; PodSecurity need not say so
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	one, two := tenantplan.TenantNamespace(benchkit.TenantID(1)), tenantplan.TenantNamespace(benchkit.TenantID(2))
	if _, err := cs.NetworkingV1().NetworkPolicies(two).Patch(ctx, "default-deny", types.MergePatchType,
		[]byte(`{"spec":{"policyTypes":["Ingress"]}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		return fmt.Errorf("(1) patch %s/default-deny: %w", two, err)
	}
	letIn := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "let-" + benchkit.TenantID(1) + "-in", Namespace: two},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": one}},
			}}}},
		},
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(two).Create(ctx, letIn, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("(2) create %s/%s: %w", two, letIn.Name, err)
	}
	cache := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: two}, Data: map[string]string{"size": "10"}}
	if _, err := cs.CoreV1().ConfigMaps(two).Create(ctx, cache, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("(3) create %s/cache: %w", two, err)
	}
	labels := map[string]string{"app": "web"}
	web := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: one},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "docker.io/library/nginx:latest"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(one).Create(ctx, web, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("(4) create %s/web: %w", one, err)
	}
	return nil
}
