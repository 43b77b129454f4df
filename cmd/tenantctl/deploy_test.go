package main

import (
	"bytes"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func TestDeployCronJobManifests(t *testing.T) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"deploy", "cronjob", "--shards", "5", "--image", "acr.example/tenantctl@sha256:" + strings.Repeat("b", 64)})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(out.String(), "---\n")
	if len(docs) != 4 {
		t.Fatalf("want 4 manifests (ServiceAccount, ClusterRole, ClusterRoleBinding, CronJob), got %d", len(docs))
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &role); err != nil {
		t.Fatal(err)
	}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("drift check role grants %q on %v: checking needs read access only", v, r.Resources)
			}
		}
	}
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict([]byte(docs[3]), &cj); err != nil {
		t.Fatal(err)
	}
	js := cj.Spec.JobTemplate.Spec
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion || *js.Completions != 5 || *js.Parallelism != 5 {
		t.Errorf("job is not an Indexed Job with 5 completions: %+v", js)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrency policy %s, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	c := js.Template.Spec.Containers[0]
	if got := strings.Join(c.Args, " "); !strings.Contains(got, "--shard $(JOB_COMPLETION_INDEX)/5") {
		t.Errorf("container args %q do not use the completion index as the shard", got)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Error("container has no resource requests")
	}
	if js.Template.Spec.ServiceAccountName != "tenantctl-drift" {
		t.Errorf("service account %q", js.Template.Spec.ServiceAccountName)
	}

	cmd = newRootCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"deploy", "cronjob", "--shards", "0", "--image", "x"})
	if err := cmd.Execute(); err == nil {
		t.Error("--shards 0 accepted")
	}
}
