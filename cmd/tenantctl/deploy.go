package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func init() { register(newDeployCmd) }

func newDeployCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Print manifests that run tenantctl inside a cluster: sharded provisioning (job) and drift checks (cronjob)",
		Long: `Deploy prints the manifests of a namespace that runs tenantctl on the cluster itself, one shard
per completion index of an Indexed Job, and a last step that runs after the shards: the
Namespace, a ServiceAccount with least-privilege RBAC, a kubeconfig for that ServiceAccount,
the desired state (a ConfigMap built from the -d folder, or a git-sync init container pinned by
digest), the state backend URL and passphrase from a Secret you create, and a
PersistentVolumeClaim the shards write their reports to. Images must be pinned by digest.
Apply the output as is: kubectl apply -f. See docs/provisioning.md (Sharded runs).`,
	}
	cmd.AddCommand(newDeployJobCmd(g), newDeployCronJobCmd(g), newDeployWaitCmd())
	return cmd
}

type cronJobOptions struct {
	deployOptions
	schedule string
}

func newDeployCronJobCmd(g *globalOptions) *cobra.Command {
	o := &cronJobOptions{}
	cmd := &cobra.Command{
		Use:   "cronjob --image REPO@sha256:... [--shards N] [--source configmap|git]",
		Short: "Drift checks on a schedule: a CronJob of an Indexed Job (one drift-check shard per index) and a merge CronJob",
		Long: `Prints a CronJob whose runs are Indexed Jobs, completion index K checking shard K+1/N
(drift check --all --shard, the FNV-1a hash of the tenant id) and writing its JSON report to the
reports claim, and a second CronJob on the same schedule whose run waits for that run's shard Job
(tenantctl deploy wait, allowed to get Jobs in the namespace and nothing else) and merges the
reports (drift merge). A shard that finds drift exits 2: its index is failed and not retried (a
result, not an error); invalid input (exit 3) fails the Job at once; other failures are retried
once. The merge run exits 2 when the merged report holds drift, which fails that run's Job
without a retry. The checking identity can only read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if err := checkSchedule(o.schedule); err != nil {
				return err
			}
			objs, err := cronJobManifests(g.dir, o)
			if err != nil {
				return err
			}
			return writeManifests(cmd.OutOrStdout(), objs)
		},
	}
	o.addFlags(cmd, "tenantctl-drift")
	cmd.Flags().StringVar(&o.schedule, "schedule", "*/30 * * * *", "cron schedule of the checks (and of their merge)")
	return cmd
}

// Exit codes of the tenantctl container that a Job takes as results rather than failures to
// retry (README: Exit codes).
var (
	// 2: drift found. 4: a stack is locked by another process; a retry seconds later finds the
	// same lock, and the report says which.
	driftResultCodes = []int32{exitcode.Findings, exitcode.Conflict}
	// 4 for up: the lock belongs to another run, which owns that stack's update.
	upResultCodes = []int32{exitcode.Conflict}
	// 3: the input is invalid; every shard and every retry would refuse it the same way.
	invalidCodes = []int32{exitcode.Invalid}
)

// failurePolicy: a pod evicted or preempted is re-run without counting; exit codes in fail stop
// the whole Job; codes in result end their index without a retry (FailIndex, so the other
// indexes go on); a failed wait container means the step it waits for failed, so the Job stops.
// Any other failure counts towards the retry limit.
func failurePolicy(fail, result []int32, waitContainer string) *batchv1.PodFailurePolicy {
	rules := []batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionIgnore,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}}
	if waitContainer != "" {
		rules = append(rules, batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr(waitContainer),
				Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}}})
	}
	rules = append(rules, batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr(containerTenantctl),
			Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: fail}})
	if len(result) > 0 {
		rules = append(rules, batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailIndex,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr(containerTenantctl),
				Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: result}})
	}
	return &batchv1.PodFailurePolicy{Rules: rules}
}

// shardJobSpec is the Indexed Job of N shards running main after inits.
func (o *deployOptions) shardJobSpec(component string, inits []corev1.Container, main corev1.Container, policy *batchv1.PodFailurePolicy) batchv1.JobSpec {
	n := int32(o.shards)
	return batchv1.JobSpec{
		CompletionMode: ptr(batchv1.IndexedCompletion),
		Completions:    &n,
		Parallelism:    &n,
		// One retry per index for a transient failure; an index that keeps failing does not
		// stop the others, and the last step reports what is missing.
		BackoffLimitPerIndex: ptr(int32(1)),
		PodFailurePolicy:     policy,
		Template: corev1.PodTemplateSpec{
			ObjectMeta: labelsOnly(o.labels(component)),
			Spec:       o.podSpec(o.name, inits, main),
		},
	}
}

// stepJobSpec is a one-pod Job running main after inits.
func (o *deployOptions) stepJobSpec(component string, inits []corev1.Container, main corev1.Container, policy *batchv1.PodFailurePolicy) batchv1.JobSpec {
	return batchv1.JobSpec{
		BackoffLimit:     ptr(int32(1)),
		PodFailurePolicy: policy,
		Template: corev1.PodTemplateSpec{
			ObjectMeta: labelsOnly(o.labels(component)),
			Spec:       o.podSpec(o.name, inits, main),
		},
	}
}

// jobNameEnv is the pod's own Job name, which the Job controller puts on its pods as a label.
var jobNameEnv = corev1.EnvVar{Name: "JOB_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
	APIVersion: "v1", FieldPath: "metadata.labels['batch.kubernetes.io/job-name']"}}}

// cronJobManifests: the base objects with read-only cluster RBAC, the shard CronJob and the merge
// CronJob. The merge run finds its shard run by the schedule time both Job names end with.
func cronJobManifests(dir string, o *cronJobOptions) ([]runtime.Object, error) {
	const component = "drift-check"
	objs, err := o.baseObjects(dir, component, readRules(), nil)
	if err != nil {
		return nil, err
	}
	check := o.tenantctlContainer(containerTenantctl, []string{"drift", "check", "--all", "--shard", o.shardArg(),
		"-o", "json", "--out", mountReports + "/drift-shard-$(JOB_COMPLETION_INDEX).json"}, true)
	shards := o.shardJobSpec(component, nil, check, failurePolicy(invalidCodes, driftResultCodes, ""))

	wait := o.waitContainer(containerWait, []string{"--cronjob", o.name, "--run-of", "$(JOB_NAME)", "--until", "finished",
		"--prune-before-start", mountReports + "/drift-shard-*.json"})
	wait.Env = []corev1.EnvVar{jobNameEnv}
	merge := o.tenantctlContainer(containerTenantctl, append(append([]string{"drift", "merge", "--allow-missing"},
		shardReports("drift-shard", o.shards)...), "-o", "json", "--out", mountReports+"/drift.json"), false)
	// drift found (2) and invalid reports (3) are the merge's result, not worth a retry
	mergeSpec := o.stepJobSpec(component, []corev1.Container{wait}, merge,
		failurePolicy([]int32{exitcode.Findings, exitcode.Invalid}, nil, containerWait))

	cronJob := func(name string, spec batchv1.JobSpec) *batchv1.CronJob {
		return &batchv1.CronJob{TypeMeta: typeCronJob, ObjectMeta: o.meta(name, component),
			Spec: batchv1.CronJobSpec{
				Schedule: o.schedule,
				// Shards of two runs would race each other on the same stacks, and a merge must
				// pair with the shard run of its own schedule time.
				ConcurrencyPolicy: batchv1.ForbidConcurrent,
				// a run that could not start on time is skipped, not started late out of step
				StartingDeadlineSeconds:    ptr(int64(120)),
				SuccessfulJobsHistoryLimit: ptr(int32(3)),
				FailedJobsHistoryLimit:     ptr(int32(3)),
				JobTemplate:                batchv1.JobTemplateSpec{ObjectMeta: labelsOnly(o.labels(component)), Spec: spec},
			}}
	}
	return append(objs, cronJob(o.name, shards), cronJob(o.name+"-merge", mergeSpec)), nil
}

// checkSchedule refuses what the API server would: a schedule is five fields or a macro. The
// fields themselves are the API server's to judge.
func checkSchedule(s string) error {
	switch {
	case strings.HasPrefix(s, "@") && slices.Contains([]string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}, s):
		return nil
	case len(strings.Fields(s)) == 5:
		return nil
	}
	return exitcode.With(exitcode.Invalid, fmt.Errorf("--schedule %q: want five cron fields (minute hour day-of-month month day-of-week) or a macro such as @hourly", s))
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
