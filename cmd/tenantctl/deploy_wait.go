package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
)

// waitOptions are the flags of `deploy wait`, the init container that orders the steps of a
// deployment: Jobs have no ordering of their own.
type waitOptions struct {
	namespace  string
	kubeconfig string
	job        string
	cronJob    string
	runOf      string
	until      string
	timeout    time.Duration
	interval   time.Duration
	// notFound is how long a Job may be missing before the wait gives up: a CronJob run that was
	// skipped (concurrencyPolicy Forbid) never comes.
	notFound time.Duration
	prune    string
}

const (
	untilComplete = "complete" // the Job succeeded; a failed Job fails the wait
	untilFinished = "finished" // the Job succeeded or failed
)

func newDeployWaitCmd() *cobra.Command {
	o := &waitOptions{}
	cmd := &cobra.Command{
		Use:   "wait (--job NAME | --cronjob NAME --run-of JOB) [--until complete|finished]",
		Short: "Wait for a Job to finish (the init container that orders the steps deploy job and deploy cronjob print)",
		Long: `Wait polls a Job with get (the only right the steps' RBAC gives on Jobs) until it has
completed, or with --until finished until it has completed or failed; exit 0 then, exit 1 when
the Job failed (--until complete), is still missing after --not-found-timeout, or --timeout
passes. --cronjob NAME --run-of JOB waits for the run of CronJob NAME with the same schedule
time as JOB (a run of another CronJob on the same schedule: the controller names each run
<cronjob>-<scheduled minutes since the epoch>). --prune-before-start GLOB then removes the files
matching GLOB that were written before the Job started: reports a previous run left behind, so a
shard that died without writing its report shows as missing instead of stale.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := o.target()
			if err != nil {
				return err
			}
			cfg, err := kube.RESTConfig(o.kubeconfig, "")
			if err != nil {
				return exitcode.With(exitcode.Failed, err)
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return exitcode.With(exitcode.Failed, err)
			}
			ns := o.namespace
			if ns == "" {
				b, err := os.ReadFile(saDir + "/namespace")
				if err != nil {
					return exitcode.With(exitcode.Invalid, fmt.Errorf("--namespace is required outside a pod: %w", err))
				}
				ns = strings.TrimSpace(string(b))
			}
			return o.wait(cmd.Context(), cs, ns, name, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.namespace, "namespace", "", "namespace of the Job (default: the pod's own)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (default $KUBECONFIG, else the in-cluster ServiceAccount)")
	f.StringVar(&o.job, "job", "", "name of the Job to wait for")
	f.StringVar(&o.cronJob, "cronjob", "", "wait for a run of this CronJob: the one with the schedule time of --run-of")
	f.StringVar(&o.runOf, "run-of", "", "with --cronjob: a Job name ending in the schedule time, the pod's own ($(JOB_NAME))")
	f.StringVar(&o.until, "until", untilComplete, "complete (a failed Job fails the wait) or finished (completed or failed)")
	f.DurationVar(&o.timeout, "timeout", 6*time.Hour, "give up after this long")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "time between two reads of the Job")
	f.DurationVar(&o.notFound, "not-found-timeout", 5*time.Minute, "give up when the Job does not exist for this long")
	f.StringVar(&o.prune, "prune-before-start", "", "once the Job has finished, remove files matching this glob written before it started")
	return cmd
}

// target is the name of the Job to wait for.
func (o *waitOptions) target() (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", exitcode.With(exitcode.Invalid, fmt.Errorf(format, args...))
	}
	if o.until != untilComplete && o.until != untilFinished {
		return invalid("--until %q: want complete or finished", o.until)
	}
	if o.interval <= 0 || o.timeout <= 0 || o.notFound <= 0 {
		return invalid("--interval, --timeout and --not-found-timeout must be positive")
	}
	if o.prune != "" {
		if _, err := filepath.Match(o.prune, ""); err != nil {
			return invalid("--prune-before-start %q: %v", o.prune, err)
		}
	}
	switch {
	case o.job != "" && o.cronJob == "" && o.runOf == "":
		return o.job, nil
	case o.job == "" && o.cronJob != "" && o.runOf != "":
		i := strings.LastIndexByte(o.runOf, '-')
		suffix := o.runOf[i+1:]
		if i < 0 || suffix == "" || strings.Trim(suffix, "0123456789") != "" {
			return invalid("--run-of %q: not the Job of a CronJob run (<cronjob>-<scheduled minutes>)", o.runOf)
		}
		return o.cronJob + "-" + suffix, nil
	}
	return invalid("give --job NAME, or --cronjob NAME with --run-of JOB")
}

// wait polls the Job until it is done as --until asks, then prunes.
func (o *waitOptions) wait(ctx context.Context, cs kubernetes.Interface, ns, name string, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	var lastErr error
	for {
		job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			if err := o.ownedByCronJob(job); err != nil {
				return err
			}
			if done, failed := jobFinished(job); done {
				if failed && o.until == untilComplete {
					return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s failed: %s", ns, name, failedReason(job)))
				}
				fmt.Fprintf(log, "job %s/%s %s\n", ns, name, map[bool]string{true: "failed", false: "completed"}[failed])
				return o.pruneStale(job, log)
			}
			lastErr = nil
		case apierrors.IsNotFound(err):
			if time.Since(start) > o.notFound {
				return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s does not exist after %s%s", ns, name, o.notFound, o.skippedHint()))
			}
			lastErr = err
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			return exitcode.With(exitcode.Failed, fmt.Errorf("read job %s/%s: %w", ns, name, err))
		default:
			lastErr = err // the API server may be briefly unreachable; keep trying until the timeout
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s not finished after %s: %w", ns, name, o.timeout, lastErr))
			}
			return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s not finished after %s", ns, name, o.timeout))
		case <-time.After(o.interval):
		}
	}
}

func (o *waitOptions) skippedHint() string {
	if o.cronJob == "" {
		return ""
	}
	return fmt.Sprintf(" (CronJob %s did not start a run for this schedule time: skipped by concurrencyPolicy Forbid while an earlier run went on, or past its starting deadline)", o.cronJob)
}

// ownedByCronJob refuses a Job that has the computed name but is not a run of --cronjob.
func (o *waitOptions) ownedByCronJob(job *batchv1.Job) error {
	if o.cronJob == "" {
		return nil
	}
	for _, ref := range job.OwnerReferences {
		if ref.Kind == "CronJob" && ref.Name == o.cronJob {
			return nil
		}
	}
	return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s is not a run of CronJob %s", job.Namespace, job.Name, o.cronJob))
}

// jobFinished reads the Job's terminal conditions: Complete or Failed, set once every pod of the
// Job has terminated.
func jobFinished(job *batchv1.Job) (done, failed bool) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false
		case batchv1.JobFailed:
			return true, true
		}
	}
	return false, false
}

func failedReason(job *batchv1.Job) string {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			msg := c.Reason
			if c.Message != "" {
				msg += ": " + c.Message
			}
			if job.Status.FailedIndexes != nil && *job.Status.FailedIndexes != "" {
				msg += " (failed indexes " + *job.Status.FailedIndexes + ")"
			}
			return msg
		}
	}
	return "no reason given"
}

// pruneStale removes the files matching --prune-before-start that were last written before the
// Job started.
func (o *waitOptions) pruneStale(job *batchv1.Job, log io.Writer) error {
	if o.prune == "" {
		return nil
	}
	if job.Status.StartTime == nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("job %s/%s has no start time: cannot tell its reports from earlier ones", job.Namespace, job.Name))
	}
	started := job.Status.StartTime.Time
	paths, err := filepath.Glob(o.prune)
	if err != nil {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("--prune-before-start %q: %w", o.prune, err))
	}
	var errs []error
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(started) {
			continue
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(log, "removed %s: written %s, before job %s started (%s)\n", p, info.ModTime().UTC().Format(time.RFC3339), job.Name, started.UTC().Format(time.RFC3339))
	}
	if err := errors.Join(errs...); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("prune stale reports: %w", err))
	}
	return nil
}
