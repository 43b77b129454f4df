package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// orderedManifests runs `tenantctl deploy args...` and returns its documents in the order printed.
func orderedManifests(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"deploy"}, args...)...)
	if code != exitcode.OK {
		t.Fatalf("deploy %v: exit %d: %s", args, code, stderr)
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(stdout, "---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("document is not YAML: %v\n%s", err, doc)
		}
		out = append(out, u)
	}
	return out
}

// TestDeployManifestsApply creates every object deploy job and deploy cronjob print on the local
// API server (real creates: validation, defaulting and admission run), including a Pod from each
// pod template in the namespace, whose Pod Security level is restricted; reads the Jobs and
// CronJobs back with their specs intact; and checks the ServiceAccount can do what the steps
// need and no more: the wait reads only its Jobs, the provisioner writes the programs' types but
// not Pods, the drift checker only reads.
func TestDeployManifestsApply(t *testing.T) {
	cfg := testenv.RESTConfig(t)
	cs := testenv.Client(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tests := []struct {
		kind string
		args []string
		// access: verb, group, resource, name → allowed, for the deployment's ServiceAccount
		access []access
	}{
		{"job", []string{"-d", examplesDir, "--shards", "3", "--env", "dev", "--postgres-secret", "pg"}, []access{
			{"get", "batch", "jobs", "%s-platform", true},
			{"get", "batch", "jobs", "%s-shards", true},
			{"get", "batch", "jobs", "%s-summary", false},
			{"list", "batch", "jobs", "", false},
			{"delete", "batch", "jobs", "%s-platform", false},
			{"create", "", "namespaces", "", true},
			{"patch", "networking.k8s.io", "networkpolicies", "", true},
			{"escalate", "rbac.authorization.k8s.io", "roles", "", true},
			{"create", "rbac.authorization.k8s.io", "clusterroles", "", false},
			{"create", "", "pods", "", false},
		}},
		{"cronjob", []string{"-d", examplesDir, "--shards", "2", "--source", "git", "--repo", "https://git.example/desired.git", "--ref", "main",
			"--git-sync-image", testGitSync, "--git-auth-secret", "git-token"}, []access{
			{"get", "batch", "jobs", "%s-4242", true},
			{"list", "batch", "jobs", "", true}, // the drift check reads Jobs like every workload
			{"create", "batch", "jobs", "", false},
			{"delete", "batch", "jobs", "%s-4242", false},
			{"list", "networking.k8s.io", "networkpolicies", "", true},
			{"patch", "networking.k8s.io", "networkpolicies", "", false},
			{"create", "", "namespaces", "", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			ns, name := testenv.UniqueName("tctl"), testenv.UniqueName("dep")
			objs := orderedManifests(t, append([]string{tt.kind, "--image", testImage, "--namespace", ns, "--name", name, "--wait-timeout", "1m"}, tt.args...)...)
			t.Cleanup(func() {
				for _, u := range objs {
					if u.GetNamespace() == "" {
						m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
						if err == nil {
							_ = dyn.Resource(m.Resource).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{})
						}
					}
				}
			})
			if objs[0].GetKind() != "Namespace" {
				t.Fatalf("first document is a %s: the namespace must come first for kubectl apply -f", objs[0].GetKind())
			}
			for _, u := range objs {
				m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
				if err != nil {
					t.Fatalf("%s: %v", u.GetKind(), err)
				}
				var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
				if u.GetNamespace() != "" {
					ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
				}
				if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
					t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			}
			for i, u := range objs {
				var emitted, stored batchv1.JobSpec
				var template corev1.PodTemplateSpec
				switch u.GetKind() {
				case "Job":
					var e batchv1.Job
					mustConvert(t, u, &e)
					got, err := cs.BatchV1().Jobs(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					emitted, stored, template = e.Spec, got.Spec, e.Spec.Template
				case "CronJob":
					var e batchv1.CronJob
					mustConvert(t, u, &e)
					got, err := cs.BatchV1().CronJobs(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if got.Spec.Schedule != e.Spec.Schedule || got.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
						t.Errorf("CronJob %s stored with schedule %q, policy %s", u.GetName(), got.Spec.Schedule, got.Spec.ConcurrencyPolicy)
					}
					emitted, stored, template = e.Spec.JobTemplate.Spec, got.Spec.JobTemplate.Spec, e.Spec.JobTemplate.Spec.Template
				default:
					continue
				}
				// what the server keeps of what was sent (it adds defaults around it)
				type kept struct {
					Policy         *batchv1.PodFailurePolicy
					Mode           *batchv1.CompletionMode
					Completions    *int32
					PerIndex       *int32
					Inits, Mains   []corev1.Container
					ServiceAccount string
				}
				keep := func(s batchv1.JobSpec) kept {
					strip := func(cs []corev1.Container) []corev1.Container {
						out := make([]corev1.Container, len(cs))
						for i, c := range cs {
							out[i] = corev1.Container{Name: c.Name, Image: c.Image, Command: c.Command, Args: c.Args, Env: c.Env}
						}
						return out
					}
					k := kept{Policy: s.PodFailurePolicy, PerIndex: s.BackoffLimitPerIndex,
						Inits: strip(s.Template.Spec.InitContainers), Mains: strip(s.Template.Spec.Containers), ServiceAccount: s.Template.Spec.ServiceAccountName}
					// a Job without a mode is NonIndexed with one completion, as the server fills in
					if s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion {
						k.Mode, k.Completions = s.CompletionMode, s.Completions
					}
					return k
				}
				if diff := cmp.Diff(keep(emitted), keep(stored)); diff != "" {
					t.Errorf("%s %s as stored (-emitted +stored):\n%s", u.GetKind(), u.GetName(), diff)
				}
				// Pod Security admission judges pods, not Jobs: create one from the template.
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-pod-%d", name, i), Namespace: ns, Labels: template.Labels}, Spec: template.Spec}
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					t.Errorf("a pod of %s %s is refused: %v", u.GetKind(), u.GetName(), err)
				}
			}
			user := "system:serviceaccount:" + ns + ":" + name
			for _, a := range tt.access {
				resName := a.name
				if strings.Contains(resName, "%s") {
					resName = fmt.Sprintf(resName, name)
				}
				review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
					User:               user,
					Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: a.verb, Group: a.group, Resource: a.resource, Name: resName},
				}}
				got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got.Status.Allowed != a.allowed {
					t.Errorf("%s may %s %s/%s %q: %v, want %v", user, a.verb, a.group, a.resource, resName, got.Status.Allowed, a.allowed)
				}
			}
			if tt.kind == "job" {
				waitAsServiceAccount(t, ctx, cfg, cs, ns, name, user)
			}
		})
	}
}

type access struct {
	verb, group, resource, name string
	allowed                     bool
}

func mustConvert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// waitAsServiceAccount runs the shard pods' wait as the deployment's ServiceAccount: the platform
// Job is not done, then it completes (its status written as the Job controller would) and the
// wait returns.
func waitAsServiceAccount(t *testing.T, ctx context.Context, cfg *rest.Config, admin kubernetes.Interface, ns, name, user string) {
	t.Helper()
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	sa, err := kubernetes.NewForConfig(as)
	if err != nil {
		t.Fatal(err)
	}
	o := waitOptions{job: name + "-platform", until: untilComplete, timeout: 500 * time.Millisecond, interval: 50 * time.Millisecond, notFound: time.Minute}
	var log bytes.Buffer
	if err := o.wait(ctx, sa, ns, o.job, &log); exitcode.Code(err) != exitcode.Failed || !strings.Contains(err.Error(), "not finished") {
		t.Fatalf("wait on a running Job: %v, want not finished", err)
	}
	job, err := admin.BatchV1().Jobs(ns).Get(ctx, o.job, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	start := metav1.NewTime(now.Add(-time.Minute))
	job.Status = batchv1.JobStatus{StartTime: &start, CompletionTime: &now, Succeeded: 1, Ready: ptr(int32(0)), Terminating: ptr(int32(0)),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{},
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastProbeTime: now, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastProbeTime: now, LastTransitionTime: now},
		}}
	if _, err := admin.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("complete %s: %v", o.job, err)
	}
	o.timeout = 30 * time.Second
	if err := o.wait(ctx, sa, ns, o.job, &log); err != nil {
		t.Fatalf("wait as %s: %v", user, err)
	}
	// and it can read nothing else
	if _, err := sa.BatchV1().Jobs(ns).Get(ctx, name+"-summary", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get %s-summary as the ServiceAccount: %v, want forbidden", name, err)
	}
}
