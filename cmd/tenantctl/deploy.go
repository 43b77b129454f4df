package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
)

func init() { register(newDeployCmd) }

type cronJobOptions struct {
	namespace   string
	name        string
	image       string
	schedule    string
	shards      int
	backend     string
	gitRepo     string
	passSecret  string
	cpu, memory string
}

func newDeployCmd(_ *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Print manifests that run tenantctl inside a cluster",
	}
	o := cronJobOptions{}
	cron := &cobra.Command{
		Use:   "cronjob --shards N",
		Short: "A CronJob of an Indexed Job running one drift-check shard per completion index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.shards < 1 || o.shards > 1000 {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("--shards %d: want 1..1000", o.shards))
			}
			if o.image == "" {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("--image is required (an image with tenantctl and its tools, pinned by digest)"))
			}
			return writeManifests(cmd.OutOrStdout(), cronJobManifests(o))
		},
	}
	f := cron.Flags()
	f.IntVar(&o.shards, "shards", 4, "number of shards (completion indexes)")
	f.StringVar(&o.namespace, "namespace", "tenantctl-system", "namespace of the CronJob")
	f.StringVar(&o.name, "name", "tenantctl-drift", "name of the CronJob, its ServiceAccount and RBAC")
	f.StringVar(&o.image, "image", "", "container image with tenantctl, pinned by digest")
	f.StringVar(&o.schedule, "schedule", "*/10 * * * *", "cron schedule")
	f.StringVar(&o.backend, "backend", "azblob://tenantctl-state", "state backend URL")
	f.StringVar(&o.gitRepo, "desired-state", "/desired-state", "desired-state folder inside the container (e.g. a git-sync volume)")
	f.StringVar(&o.passSecret, "passphrase-secret", "tenantctl-passphrase", "Secret holding the stacks' passphrase under key 'passphrase', mounted as a file")
	f.StringVar(&o.cpu, "cpu", "500m", "cpu request (and limit) per shard")
	f.StringVar(&o.memory, "memory", "512Mi", "memory request (and limit) per shard")
	cmd.AddCommand(cron)
	return cmd
}

// cronJobManifests builds the ServiceAccount, a read-only ClusterRole over exactly the types the
// drift check lists, its binding and the CronJob. Checking needs no write access anywhere:
// remediation runs separately, under a different identity.
func cronJobManifests(o cronJobOptions) []runtime.Object {
	labels := map[string]string{"app.kubernetes.io/name": "tenantctl", "app.kubernetes.io/component": "drift-check"}
	meta := metav1.ObjectMeta{Name: o.name, Namespace: o.namespace, Labels: labels}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta,
		AutomountServiceAccountToken: ptr(true)}
	role := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: o.name + "-read", Labels: labels}, Rules: readRules()}
	binding := &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: o.name + "-read", Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: o.namespace}}}
	n := int32(o.shards)
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(o.cpu), corev1.ResourceMemory: resource.MustParse(o.memory)}
	shard := fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", o.shards)
	container := corev1.Container{
		Name:  "drift-check",
		Image: o.image,
		Args: []string{"drift", "check", "--all", "-d", o.gitRepo, "--backend", o.backend,
			"--shard", shard, "-o", "json", "--out", "/reports/shard-$(JOB_COMPLETION_INDEX).json"},
		Env: []corev1.EnvVar{
			{Name: "TENANTCTL_PASSPHRASE_FILE", Value: "/var/run/tenantctl/passphrase"},
			{Name: "TENANTCTL_DATA_DIR", Value: "/var/lib/tenantctl"},
		},
		Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "passphrase", MountPath: "/var/run/tenantctl", ReadOnly: true},
			{Name: "data", MountPath: "/var/lib/tenantctl"},
			{Name: "reports", MountPath: "/reports"},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true), RunAsNonRoot: ptr(true),
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	job := batchv1.JobSpec{
		CompletionMode: ptr(batchv1.IndexedCompletion),
		Completions:    &n,
		Parallelism:    &n,
		// A shard that keeps failing must not block the next run; its report error shows the gap.
		BackoffLimitPerIndex: ptr(int32(1)),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{
				ServiceAccountName: sa.Name,
				RestartPolicy:      corev1.RestartPolicyNever,
				Containers:         []corev1.Container{container},
				Volumes: []corev1.Volume{
					{Name: "passphrase", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: o.passSecret, Items: []corev1.KeyToPath{{Key: "passphrase", Path: "passphrase"}}}}},
					{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "reports", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				},
			},
		},
	}
	cron := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta,
		Spec: batchv1.CronJobSpec{
			Schedule: o.schedule,
			// Shards of two runs would race each other on the same stacks' locks.
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(3)),
			JobTemplate:                batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: job},
		}}
	return []runtime.Object{sa, role, binding, cron}
}

// readRules grants get/list/watch on exactly the resource types the inventory reader lists.
func readRules() []rbacv1.PolicyRule {
	byGroup := map[string][]string{}
	var groups []string
	for _, t := range kube.DefaultTypes() {
		g := t.GVR.Group
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], t.GVR.Resource)
	}
	rules := make([]rbacv1.PolicyRule, 0, len(groups))
	for _, g := range groups {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: byGroup[g], Verbs: []string{"get", "list", "watch"}})
	}
	return rules
}

func writeManifests(w io.Writer, objs []runtime.Object) error {
	docs := make([]string, 0, len(objs))
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		docs = append(docs, string(b))
	}
	_, err := io.WriteString(w, strings.Join(docs, "---\n"))
	return err
}

func ptr[T any](v T) *T { return &v }
