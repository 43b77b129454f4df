package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

var (
	testImage   = "registry.example/tenantctl@sha256:" + strings.Repeat("b", 64)
	testGitSync = "registry.k8s.io/git-sync/git-sync:v4.4.0@sha256:" + strings.Repeat("c", 64)
)

// deployManifests runs `tenantctl deploy args...` and returns its documents by kind and name.
func deployManifests(t *testing.T, args ...string) map[string][]byte {
	t.Helper()
	code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"deploy"}, args...)...)
	if code != exitcode.OK {
		t.Fatalf("deploy %v: exit %d: %s", args, code, stderr)
	}
	docs := map[string][]byte{}
	for _, doc := range strings.Split(stdout, "---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("document is not YAML: %v\n%s", err, doc)
		}
		key := u.GetKind() + "/" + u.GetName()
		if _, dup := docs[key]; dup {
			t.Fatalf("%s emitted twice", key)
		}
		docs[key] = []byte(doc)
	}
	return docs
}

func decodeDoc[T any](t *testing.T, docs map[string][]byte, key string) *T {
	t.Helper()
	b, ok := docs[key]
	if !ok {
		t.Fatalf("no %s among %v", key, keysOf(docs))
	}
	var v T
	if err := yaml.UnmarshalStrict(b, &v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return &v
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// What the expected pod specs below share, written out independently of the code under test.
func wantResources(cpu, mem string) corev1.ResourceRequirements {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	return corev1.ResourceRequirements{Requests: l, Limits: l}
}

func wantSecurity() *corev1.SecurityContext {
	f, tr := false, true
	return &corev1.SecurityContext{AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &tr, RunAsNonRoot: &tr,
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

func wantSecretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

var wantHomeEnv = []corev1.EnvVar{
	{Name: "TENANTCTL_TOOLS_DIR", Value: "/opt/tenantctl/tools"},
	{Name: "HOME", Value: "/var/lib/tenantctl"},
	{Name: "XDG_CONFIG_HOME", Value: "/var/lib/tenantctl/config"},
	{Name: "XDG_STATE_HOME", Value: "/var/lib/tenantctl/state"},
	{Name: "XDG_CACHE_HOME", Value: "/var/lib/tenantctl/cache"},
}

func wantEngineContainer(args []string, secret, sourceMount string, extraMounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name: "tenantctl", Image: testImage, Command: []string{"tenantctl"}, Args: args,
		Env: append([]corev1.EnvVar{
			wantSecretEnv("TENANTCTL_BACKEND", secret, "backend-url"),
			{Name: "TENANTCTL_PASSPHRASE_FILE", Value: "/var/run/tenantctl/passphrase"},
		}, wantHomeEnv...),
		Resources: wantResources("500m", "1Gi"),
		VolumeMounts: append([]corev1.VolumeMount{
			{Name: "desired-state", MountPath: sourceMount, ReadOnly: true},
			{Name: "kubeconfig", MountPath: "/etc/tenantctl/kubeconfig", ReadOnly: true},
			{Name: "passphrase", MountPath: "/var/run/tenantctl", ReadOnly: true},
			{Name: "data", MountPath: "/var/lib/tenantctl"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "reports", MountPath: "/reports"},
		}, extraMounts...),
		SecurityContext: wantSecurity(),
	}
}

func wantWaitContainer(args ...string) corev1.Container {
	return corev1.Container{
		Name: "wait", Image: testImage, Command: []string{"tenantctl"},
		Args:      append([]string{"deploy", "wait", "--namespace", "tctl", "--kubeconfig", "/etc/tenantctl/kubeconfig/config", "--timeout", "2h0m0s"}, args...),
		Resources: wantResources("50m", "64Mi"),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "kubeconfig", MountPath: "/etc/tenantctl/kubeconfig", ReadOnly: true},
			{Name: "reports", MountPath: "/reports"},
		},
		SecurityContext: wantSecurity(),
	}
}

func wantPodSecurity() *corev1.PodSecurityContext {
	uid := int64(65532)
	return &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid}
}

func wantPolicy(rules ...batchv1.PodFailurePolicyRule) *batchv1.PodFailurePolicy {
	return &batchv1.PodFailurePolicy{Rules: append([]batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionIgnore,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget", Status: corev1.ConditionTrue}},
	}}, rules...)}
}

func onExit(action batchv1.PodFailurePolicyAction, container string, op batchv1.PodFailurePolicyOnExitCodesOperator, codes ...int32) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
		ContainerName: &container, Operator: op, Values: codes}}
}

func i32(v int32) *int32 { return &v }

// TestDeployJobSpecs checks the provisioning Jobs field by field: the platform shard first, the
// Indexed Job of tenant shards after it, the summary after them, each with its failure policy.
func TestDeployJobSpecs(t *testing.T) {
	docs := deployManifests(t, "job", "-d", examplesDir, "--shards", "3", "--namespace", "tctl", "--name", "up", "--image", testImage,
		"--secret", "st", "--env", "dev", "--wait-timeout", "2h", "--yes")
	common := []string{"-d", "/desired-state/..data/.", "--kubeconfig", "/etc/tenantctl/kubeconfig/config", "--data-dir", "/var/lib/tenantctl",
		"--audit-log", "/var/lib/tenantctl/audit.jsonl", "--audit-stdout", "--env", "dev"}
	labels := map[string]string{"app.kubernetes.io/name": "tenantctl", "app.kubernetes.io/instance": "up", "app.kubernetes.io/component": "provision"}
	volumes := []corev1.Volume{
		{Name: "desired-state", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "up-desired-state"},
			Items: []corev1.KeyToPath{
				{Key: "0000.dev.yaml", Path: "environments/dev.yaml"},
				{Key: "0001.prod.yaml", Path: "environments/prod.yaml"},
				{Key: "0002.acme.yaml", Path: "tenants/acme.yaml"},
				{Key: "0003.globex.yaml", Path: "tenants/globex.yaml"},
				{Key: "0004.initech.yaml", Path: "tenants/initech.yaml"},
			}}}},
		{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "up-kubeconfig"}}}},
		{Name: "passphrase", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "st",
			Items: []corev1.KeyToPath{{Key: "passphrase", Path: "passphrase"}}, DefaultMode: i32(0o440)}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "reports", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "up-reports"}}},
	}
	pod := func(inits []corev1.Container, main corev1.Container) corev1.PodTemplateSpec {
		tr := true
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			ServiceAccountName: "up", AutomountServiceAccountToken: &tr, RestartPolicy: corev1.RestartPolicyNever,
			SecurityContext: wantPodSecurity(), InitContainers: inits, Containers: []corev1.Container{main}, Volumes: volumes,
		}}
	}
	indexed := batchv1.IndexedCompletion
	want := map[string]batchv1.JobSpec{
		"up-platform": {
			BackoffLimit: i32(1),
			PodFailurePolicy: wantPolicy(
				onExit(batchv1.PodFailurePolicyActionFailJob, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 3, 4)),
			Template: pod(nil, wantEngineContainer(append([]string{"up", "--all", "--shard", "0/3", "-o", "json", "--out", "/reports/up-platform.json", "--yes"}, common...),
				"st", "/desired-state")),
		},
		"up-shards": {
			CompletionMode: &indexed, Completions: i32(3), Parallelism: i32(3), BackoffLimitPerIndex: i32(1),
			PodFailurePolicy: wantPolicy(
				onExit(batchv1.PodFailurePolicyActionFailJob, "wait", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 0),
				onExit(batchv1.PodFailurePolicyActionFailJob, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 3),
				onExit(batchv1.PodFailurePolicyActionFailIndex, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 4)),
			Template: pod([]corev1.Container{wantWaitContainer("--job", "up-platform", "--until", "complete")},
				wantEngineContainer(append([]string{"up", "--all", "--shard", "$(JOB_COMPLETION_INDEX)+1/3", "-o", "json", "--out", "/reports/up-shard-$(JOB_COMPLETION_INDEX).json", "--yes"}, common...),
					"st", "/desired-state")),
		},
		"up-summary": {
			BackoffLimit: i32(1),
			PodFailurePolicy: wantPolicy(
				onExit(batchv1.PodFailurePolicyActionFailJob, "wait", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 0),
				onExit(batchv1.PodFailurePolicyActionFailJob, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 3)),
			Template: pod([]corev1.Container{wantWaitContainer("--job", "up-shards", "--until", "finished", "--prune-before-start", "/reports/up-shard-*.json")},
				wantEngineContainer(append([]string{"status"}, common...), "st", "/desired-state")),
		},
	}
	for name, spec := range want {
		job := decodeDoc[batchv1.Job](t, docs, "Job/"+name)
		if diff := cmp.Diff(spec, job.Spec); diff != "" {
			t.Errorf("Job %s spec (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(metav1.ObjectMeta{Name: name, Namespace: "tctl", Labels: labels}, job.ObjectMeta); diff != "" {
			t.Errorf("Job %s metadata (-want +got):\n%s", name, diff)
		}
	}
	wait := decodeDoc[rbacv1.Role](t, docs, "Role/up-wait")
	if diff := cmp.Diff([]rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}, ResourceNames: []string{"up-platform", "up-shards"}}}, wait.Rules); diff != "" {
		t.Errorf("the wait role grants more than get on the two Jobs it waits for (-want +got):\n%s", diff)
	}
	pvc := decodeDoc[corev1.PersistentVolumeClaim](t, docs, "PersistentVolumeClaim/up-reports")
	if diff := cmp.Diff(corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}, pvc.Spec); diff != "" {
		t.Errorf("reports claim (-want +got):\n%s", diff)
	}
}

// TestDeployCronJobSpecs checks the drift CronJobs field by field, with the desired state from
// git-sync and the data layer's connection from a Secret.
func TestDeployCronJobSpecs(t *testing.T) {
	docs := deployManifests(t, "cronjob", "--shards", "4", "--namespace", "tctl", "--name", "drift", "--image", testImage,
		"--secret", "state", "--source", "git", "--repo", "https://git.example/desired.git", "--ref", "main", "--repo-path", "tenants",
		"--git-sync-image", testGitSync, "--git-auth-secret", "git-token", "--postgres-secret", "pg", "--schedule", "*/15 * * * *",
		"--reports-storage-class", "shared", "--wait-timeout", "2h")
	common := []string{"-d", "/git/desired-state/tenants", "--kubeconfig", "/etc/tenantctl/kubeconfig/config", "--data-dir", "/var/lib/tenantctl",
		"--audit-log", "/var/lib/tenantctl/audit.jsonl", "--audit-stdout", "--postgres-connection", "/etc/tenantctl/postgres/connection.json"}
	labels := map[string]string{"app.kubernetes.io/name": "tenantctl", "app.kubernetes.io/instance": "drift", "app.kubernetes.io/component": "drift-check"}
	empty := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	volumes := []corev1.Volume{
		{Name: "desired-state", VolumeSource: empty},
		{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "drift-kubeconfig"}}}},
		{Name: "passphrase", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "state",
			Items: []corev1.KeyToPath{{Key: "passphrase", Path: "passphrase"}}, DefaultMode: i32(0o440)}}},
		{Name: "data", VolumeSource: empty},
		{Name: "tmp", VolumeSource: empty},
		{Name: "reports", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "drift-reports"}}},
		{Name: "git-tmp", VolumeSource: empty},
		{Name: "postgres", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "pg"}}},
	}
	gitSecurity := wantSecurity()
	gitUID := int64(65533)
	gitSecurity.RunAsUser = &gitUID
	gitSync := corev1.Container{
		Name: "git-sync", Image: testGitSync,
		Args: []string{"--repo=https://git.example/desired.git", "--ref=main", "--root=/git", "--link=desired-state", "--one-time", "--depth=1"},
		Env: []corev1.EnvVar{{Name: "HOME", Value: "/tmp"},
			wantSecretEnv("GITSYNC_USERNAME", "git-token", "username"), wantSecretEnv("GITSYNC_PASSWORD", "git-token", "password")},
		Resources:       wantResources("100m", "256Mi"),
		VolumeMounts:    []corev1.VolumeMount{{Name: "desired-state", MountPath: "/git"}, {Name: "git-tmp", MountPath: "/tmp"}},
		SecurityContext: gitSecurity,
	}
	pod := func(inits []corev1.Container, main corev1.Container) corev1.PodTemplateSpec {
		tr := true
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			ServiceAccountName: "drift", AutomountServiceAccountToken: &tr, RestartPolicy: corev1.RestartPolicyNever,
			SecurityContext: wantPodSecurity(), InitContainers: append([]corev1.Container{gitSync}, inits...), Containers: []corev1.Container{main}, Volumes: volumes,
		}}
	}
	check := wantEngineContainer(append([]string{"drift", "check", "--all", "--shard", "$(JOB_COMPLETION_INDEX)+1/4", "-o", "json", "--out", "/reports/drift-shard-$(JOB_COMPLETION_INDEX).json"}, common...),
		"state", "/git", corev1.VolumeMount{Name: "postgres", MountPath: "/etc/tenantctl/postgres", ReadOnly: true})
	wait := wantWaitContainer("--cronjob", "drift", "--run-of", "$(JOB_NAME)", "--until", "finished", "--prune-before-start", "/reports/drift-shard-*.json")
	wait.Env = []corev1.EnvVar{{Name: "JOB_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['batch.kubernetes.io/job-name']"}}}}
	merge := corev1.Container{
		Name: "tenantctl", Image: testImage, Command: []string{"tenantctl"},
		Args: []string{"drift", "merge", "--allow-missing", "/reports/drift-shard-0.json", "/reports/drift-shard-1.json", "/reports/drift-shard-2.json", "/reports/drift-shard-3.json",
			"-o", "json", "--out", "/reports/drift.json"},
		Env:       wantHomeEnv,
		Resources: wantResources("500m", "1Gi"),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/var/lib/tenantctl"}, {Name: "tmp", MountPath: "/tmp"}, {Name: "reports", MountPath: "/reports"},
		},
		SecurityContext: wantSecurity(),
	}
	indexed := batchv1.IndexedCompletion
	cron := func(spec batchv1.JobSpec) batchv1.CronJobSpec {
		return batchv1.CronJobSpec{Schedule: "*/15 * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent, StartingDeadlineSeconds: ptr(int64(120)),
			SuccessfulJobsHistoryLimit: i32(3), FailedJobsHistoryLimit: i32(3),
			JobTemplate: batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}
	}
	want := map[string]batchv1.CronJobSpec{
		"drift": cron(batchv1.JobSpec{
			CompletionMode: &indexed, Completions: i32(4), Parallelism: i32(4), BackoffLimitPerIndex: i32(1),
			PodFailurePolicy: wantPolicy(
				onExit(batchv1.PodFailurePolicyActionFailJob, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 3),
				onExit(batchv1.PodFailurePolicyActionFailIndex, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 2, 4)),
			Template: pod(nil, check),
		}),
		"drift-merge": cron(batchv1.JobSpec{
			BackoffLimit: i32(1),
			PodFailurePolicy: wantPolicy(
				onExit(batchv1.PodFailurePolicyActionFailJob, "wait", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 0),
				onExit(batchv1.PodFailurePolicyActionFailJob, "tenantctl", batchv1.PodFailurePolicyOnExitCodesOpIn, 2, 3)),
			Template: pod([]corev1.Container{wait}, merge),
		}),
	}
	for name, spec := range want {
		cj := decodeDoc[batchv1.CronJob](t, docs, "CronJob/"+name)
		if diff := cmp.Diff(spec, cj.Spec); diff != "" {
			t.Errorf("CronJob %s spec (-want +got):\n%s", name, diff)
		}
	}
	role := decodeDoc[rbacv1.ClusterRole](t, docs, "ClusterRole/drift")
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("drift check role grants %q on %v: checking needs read access only", v, r.Resources)
			}
		}
	}
	wr := decodeDoc[rbacv1.Role](t, docs, "Role/drift-wait")
	if diff := cmp.Diff([]rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}}}, wr.Rules); diff != "" {
		t.Errorf("the merge's wait role (-want +got):\n%s", diff)
	}
	if _, ok := docs["ConfigMap/drift-desired-state"]; ok {
		t.Error("--source git also emitted a desired-state ConfigMap")
	}
	pvc := decodeDoc[corev1.PersistentVolumeClaim](t, docs, "PersistentVolumeClaim/drift-reports")
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "shared" {
		t.Errorf("reports claim storage class %v, want shared", pvc.Spec.StorageClassName)
	}
}

// kubeVar is a $(VAR) reference in a container's command or arguments; $$ escapes one.
var kubeVar = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand substitutes variables the way the kubelet does: defined ones are replaced, undefined
// ones stay as written.
func expand(s string, env map[string]string) string {
	return kubeVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// TestDeployCommandsParse: every tenantctl command line the manifests hold, with the variables
// the kubelet substitutes for each completion index, is a command this build accepts, and its
// --shard is the 1-based shard of that index.
func TestDeployCommandsParse(t *testing.T) {
	const n = 3
	for _, kind := range []string{"job", "cronjob"} {
		docs := deployManifests(t, kind, "-d", examplesDir, "--shards", fmt.Sprint(n), "--image", testImage, "--env", "dev")
		var specs []corev1.PodSpec
		for key, b := range docs {
			switch {
			case strings.HasPrefix(key, "Job/"):
				specs = append(specs, decodeDoc[batchv1.Job](t, map[string][]byte{key: b}, key).Spec.Template.Spec)
			case strings.HasPrefix(key, "CronJob/"):
				specs = append(specs, decodeDoc[batchv1.CronJob](t, map[string][]byte{key: b}, key).Spec.JobTemplate.Spec.Template.Spec)
			}
		}
		if len(specs) < 2 {
			t.Fatalf("%s: %d pod templates, want a shard step and a step after it", kind, len(specs))
		}
		commands := 0
		for _, spec := range specs {
			for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
				if c.Image != testImage {
					continue
				}
				for k := range n {
					env := map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(k), "JOB_NAME": "tenantctl-drift-merge-29561040"}
					var args []string
					for _, a := range c.Args {
						args = append(args, expand(a, env))
					}
					if diff := cmp.Diff(c.Command, []string{"tenantctl"}); diff != "" {
						t.Fatalf("%s: command %v", c.Name, c.Command)
					}
					checkParses(t, args, k, n)
					commands++
				}
			}
		}
		if commands == 0 {
			t.Fatalf("%s: no tenantctl command checked", kind)
		}
	}
}

// checkParses parses args with this build's commands and flags, as the container would.
func checkParses(t *testing.T, args []string, index, n int) {
	t.Helper()
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		t.Fatalf("tenantctl %v: %v", args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("tenantctl %v: %v", args, err)
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			t.Fatalf("tenantctl %v: %v", args, err)
		}
	}
	for _, a := range args {
		if strings.Contains(a, "$(") {
			t.Errorf("tenantctl %v: %q is left unexpanded", args, a)
		}
	}
	f := cmd.Flags().Lookup("shard")
	if f == nil || !f.Changed {
		return
	}
	want := tenantplan.Shard{Index: index + 1, Count: n}
	if f.Value.String() == fmt.Sprintf("0/%d", n) {
		want.Index = 0 // the platform step
	}
	if cmd.Parent().Name() == "drift" {
		got, err := report.ParseShard(f.Value.String())
		if err != nil || got.Index != want.Index || got.Count != want.Count {
			t.Errorf("tenantctl %v: drift shard %v, %v; want %v", args, got, err, want)
		}
		return
	}
	got, err := tenantplan.ParseShard(f.Value.String())
	if err != nil || got != want {
		t.Errorf("tenantctl %v: shard %v, %v; want %v", args, got, err, want)
	}
}

// TestDeployRefusesInvalidInput: unpinned images and flags a cluster would refuse exit 3 naming
// the flag, before anything is printed.
func TestDeployRefusesInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"job"}, "--image is required"},
		{"image by tag", []string{"job", "--image", "registry.example/tenantctl:v1"}, "--image"},
		{"image with a short digest", []string{"cronjob", "--image", "registry.example/tenantctl@sha256:abc"}, "--image"},
		{"image digest of another algorithm", []string{"job", "--image", "registry.example/tenantctl@sha512:" + strings.Repeat("a", 64)}, "--image"},
		{"git-sync by tag", []string{"cronjob", "--image", testImage, "--source", "git", "--repo", "https://g/r", "--ref", "main", "--git-sync-image", "registry.k8s.io/git-sync/git-sync:v4.4.0"}, "--git-sync-image"},
		{"git without git-sync image", []string{"job", "--image", testImage, "--source", "git", "--repo", "https://g/r", "--ref", "main"}, "--git-sync-image"},
		{"git without repo", []string{"job", "--image", testImage, "--source", "git", "--git-sync-image", testGitSync}, "--repo"},
		{"repo without git", []string{"job", "--image", testImage, "--repo", "https://g/r"}, "--source git"},
		{"unknown source", []string{"job", "--image", testImage, "--source", "s3"}, "--source"},
		{"no shards", []string{"cronjob", "--image", testImage, "--shards", "0"}, "--shards"},
		{"bad access mode", []string{"job", "--image", testImage, "--reports-access-mode", "ReadMany"}, "--reports-access-mode"},
		{"bad size", []string{"job", "--image", testImage, "--reports-size", "lots"}, "--reports-size"},
		{"bad schedule", []string{"cronjob", "--image", testImage, "--schedule", "every minute"}, "--schedule"},
		{"bad name", []string{"job", "--image", testImage, "--name", "Tenantctl_Up"}, "--name"},
		{"repo path outside", []string{"job", "--image", testImage, "--source", "git", "--repo", "https://g/r", "--ref", "main", "--git-sync-image", testGitSync, "--repo-path", "../x"}, "--repo-path"},
		{"wait without a job", []string{"wait"}, "--job"},
		{"wait run-of without a time", []string{"wait", "--cronjob", "drift", "--run-of", "drift-merge"}, "--run-of"},
		{"wait until what", []string{"wait", "--job", "x", "--until", "later"}, "--until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"deploy", "-d", examplesDir}, tt.args...)...)
			if code != exitcode.Invalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr, exitcode.Invalid, tt.want)
			}
			if stdout != "" {
				t.Errorf("printed manifests although the input is invalid:\n%s", stdout)
			}
		})
	}
}

// TestDesiredStateConfigMapLoads lays the desired-state ConfigMap out as the kubelet's ConfigMap
// volume does (a timestamped folder, a "..data" link to it, links to its top-level entries) and
// loads it from the -d the containers get: the same tenants and environments as the folder it
// was built from, and the top-level links (which the loader refuses) are never read.
func TestDesiredStateConfigMapLoads(t *testing.T) {
	docs := deployManifests(t, "job", "-d", examplesDir, "--image", testImage, "--name", "up")
	cm := decodeDoc[corev1.ConfigMap](t, docs, "ConfigMap/up-desired-state")
	job := decodeDoc[batchv1.Job](t, docs, "Job/up-platform")
	var items []corev1.KeyToPath
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			items = v.ConfigMap.Items
		}
	}
	mount := t.TempDir()
	version := filepath.Join(mount, "..2026_03_02_10_00_00.123456789")
	top := map[string]bool{}
	for _, it := range items {
		p := filepath.Join(version, filepath.FromSlash(it.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(cm.Data[it.Key]), 0o644); err != nil {
			t.Fatal(err)
		}
		top[strings.SplitN(it.Path, "/", 2)[0]] = true
	}
	if err := os.Symlink(filepath.Base(version), filepath.Join(mount, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range top {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(mount, name)); err != nil {
			t.Fatal(err)
		}
	}
	var dir string
	for i, a := range job.Spec.Template.Spec.Containers[0].Args {
		if a == "-d" {
			dir = job.Spec.Template.Spec.Containers[0].Args[i+1]
		}
	}
	const mountPath = "/desired-state"
	if !strings.HasPrefix(dir, mountPath+"/") {
		t.Fatalf("-d %q is not under the ConfigMap mount %s", dir, mountPath)
	}
	got, err := isolation.Load(context.Background(), mount+strings.TrimPrefix(dir, mountPath))
	if err != nil {
		t.Fatalf("load the mounted ConfigMap: %v", err)
	}
	want, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	names := func(s *isolation.DesiredState) []string {
		var out []string
		for _, b := range s.Bindings {
			out = append(out, b.Spec.Environment+"/"+b.Spec.TenantID)
		}
		for e := range s.Environments {
			out = append(out, "env "+e)
		}
		return out
	}
	if diff := cmp.Diff(names(want), names(got), sortStrings); diff != "" {
		t.Errorf("desired state from the ConfigMap (-folder +configmap):\n%s", diff)
	}
	if _, err := isolation.Load(context.Background(), mount); err == nil {
		t.Error("the volume's top-level links loaded: the test's layout is not the kubelet's")
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestDeployNothingInline: the backend URL and the passphrase reach the pods only through
// secretKeyRef, whatever the environment of the machine printing the manifests holds.
func TestDeployNothingInline(t *testing.T) {
	t.Setenv("TENANTCTL_BACKEND", "postgres://admin:hunter2@db.example/state")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "correct-horse")
	var out bytes.Buffer
	for _, kind := range []string{"job", "cronjob"} {
		for _, doc := range deployManifests(t, kind, "-d", examplesDir, "--image", testImage) {
			out.Write(doc)
		}
	}
	for _, secret := range []string{"hunter2", "correct-horse", "postgres://"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("manifests hold %q", secret)
		}
	}
}
