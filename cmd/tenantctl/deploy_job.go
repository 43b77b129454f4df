package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

type provisionJobOptions struct {
	deployOptions
	yes bool
}

func newDeployJobCmd(g *globalOptions) *cobra.Command {
	o := &provisionJobOptions{}
	cmd := &cobra.Command{
		Use:   "job --image REPO@sha256:... [--shards N] [--source configmap|git]",
		Short: "Sharded provisioning: a platform Job, an Indexed Job of up shards after it, and a status Job after them",
		Long: `Prints three Jobs that run one up --all of the desired state on the cluster itself, in order:

  NAME-platform  up --all --shard 0/N: the platform stack of every environment, once
  NAME-shards    an Indexed Job of N pods, index K running up --all --shard K+1/N: the tenants
                 tenantplan.ShardOf puts in that shard (the hash drift check --shard uses), with
                 the platform's outputs read from the state backend; each pod first waits until
                 NAME-platform has completed, and the Job fails at once if it failed
  NAME-summary   waits until NAME-shards has finished, then prints tenantctl status

The waits are init containers running tenantctl deploy wait, allowed to get those two Jobs and
nothing else. Exit 3 (invalid input) fails a Job at once; exit 4 (a stack locked by another run)
ends that index without a retry; other failures are retried once. Each shard writes its result
(up -o json) to the reports claim. The Jobs have fixed names: to run again (a new commit, a
changed ConfigMap), delete them first, e.g.
  kubectl delete jobs -n NAMESPACE -l app.kubernetes.io/instance=NAME && kubectl apply -f manifests.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			objs, err := provisionJobManifests(g.dir, o)
			if err != nil {
				return err
			}
			return writeManifests(cmd.OutOrStdout(), objs)
		},
	}
	o.addFlags(cmd, "tenantctl-up")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "approve mutations of production environments in the emitted up commands (an unattended run has no one to ask)")
	return cmd
}

// provisionJobManifests: the base objects with the provisioning rules, then the platform, shard
// and summary Jobs in the order they run.
func provisionJobManifests(dir string, o *provisionJobOptions) ([]runtime.Object, error) {
	const component = "provision"
	platformName, shardsName, summaryName := o.name+"-platform", o.name+"-shards", o.name+"-summary"
	objs, err := o.baseObjects(dir, component, provisionRules(), []string{platformName, shardsName})
	if err != nil {
		return nil, err
	}
	up := func(shard, report string) corev1.Container {
		args := []string{"up", "--all", "--shard", shard, "-o", "json", "--out", report}
		if o.yes {
			args = append(args, "--yes")
		}
		return o.tenantctlContainer(containerTenantctl, args, true)
	}

	platform := o.stepJobSpec(component, nil, up(fmt.Sprintf("0/%d", o.shards), mountReports+"/up-platform.json"),
		failurePolicy(slices.Concat(invalidCodes, upResultCodes), nil, ""))

	waitPlatform := o.waitContainer(containerWait, []string{"--job", platformName, "--until", "complete"})
	shards := o.shardJobSpec(component, []corev1.Container{waitPlatform},
		up(o.shardArg(), mountReports+"/up-shard-$(JOB_COMPLETION_INDEX).json"),
		failurePolicy(invalidCodes, upResultCodes, containerWait))

	waitShards := o.waitContainer(containerWait, []string{"--job", shardsName, "--until", "finished",
		"--prune-before-start", mountReports + "/up-shard-*.json"})
	summary := o.stepJobSpec(component, []corev1.Container{waitShards},
		o.tenantctlContainer(containerTenantctl, []string{"status"}, true),
		failurePolicy(invalidCodes, nil, containerWait))

	job := func(name string, spec batchv1.JobSpec) *batchv1.Job {
		return &batchv1.Job{TypeMeta: typeJob, ObjectMeta: o.meta(name, component), Spec: spec}
	}
	return append(objs, job(platformName, platform), job(shardsName, shards), job(summaryName, summary)), nil
}
