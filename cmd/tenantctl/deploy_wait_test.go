package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func jobWith(name string, started time.Time, conds ...batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tctl"}}
	st := metav1.NewTime(started)
	j.Status.StartTime = &st
	for _, c := range conds {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c, Status: corev1.ConditionTrue, Reason: "FailedIndexes"})
	}
	return j
}

func ownedBy(j *batchv1.Job, cronJob string) *batchv1.Job {
	j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cronJob, UID: "u"}}
	return j
}

// TestDeployWait: the wait returns once the Job is done as --until asks, fails for a failed Job
// it needs complete, for a Job that never comes and at its timeout, finds a CronJob's run by the
// schedule time, and then removes the reports written before that run started.
func TestDeployWait(t *testing.T) {
	started := time.Now().Add(-time.Minute).Truncate(time.Second)
	tests := []struct {
		name     string
		opts     waitOptions
		objects  []runtime.Object
		wantCode int
		wantErr  string
	}{
		{"complete", waitOptions{job: "up-platform", until: untilComplete},
			[]runtime.Object{jobWith("up-platform", started, batchv1.JobSuccessCriteriaMet, batchv1.JobComplete)}, exitcode.OK, ""},
		{"failed, needed complete", waitOptions{job: "up-platform", until: untilComplete},
			[]runtime.Object{jobWith("up-platform", started, batchv1.JobFailureTarget, batchv1.JobFailed)}, exitcode.Failed, "job tctl/up-platform failed: FailedIndexes"},
		{"failed, finished is enough", waitOptions{job: "up-shards", until: untilFinished},
			[]runtime.Object{jobWith("up-shards", started, batchv1.JobFailed)}, exitcode.OK, ""},
		{"a failure target is not the end", waitOptions{job: "up-shards", until: untilFinished, timeout: 300 * time.Millisecond},
			[]runtime.Object{jobWith("up-shards", started, batchv1.JobFailureTarget)}, exitcode.Failed, "not finished after 300ms"},
		{"still running", waitOptions{job: "up-shards", until: untilFinished, timeout: 300 * time.Millisecond},
			[]runtime.Object{jobWith("up-shards", started)}, exitcode.Failed, "not finished after"},
		{"never created", waitOptions{job: "up-platform", until: untilComplete, notFound: 200 * time.Millisecond},
			nil, exitcode.Failed, "does not exist after 200ms"},
		{"the run of a CronJob", waitOptions{cronJob: "drift", runOf: "drift-merge-29561040", until: untilFinished},
			[]runtime.Object{ownedBy(jobWith("drift-29561040", started, batchv1.JobFailed), "drift"), ownedBy(jobWith("drift-29561010", started), "drift")}, exitcode.OK, ""},
		{"a Job of that name from elsewhere", waitOptions{cronJob: "drift", runOf: "drift-merge-29561040", until: untilFinished},
			[]runtime.Object{ownedBy(jobWith("drift-29561040", started, batchv1.JobComplete), "other")}, exitcode.Failed, "is not a run of CronJob drift"},
		{"a skipped CronJob run", waitOptions{cronJob: "drift", runOf: "drift-merge-29561040", until: untilFinished, notFound: 200 * time.Millisecond},
			[]runtime.Object{ownedBy(jobWith("drift-29561010", started, batchv1.JobComplete), "drift")}, exitcode.Failed, "CronJob drift did not start a run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.interval = 20 * time.Millisecond
			if o.timeout == 0 {
				o.timeout = 10 * time.Second
			}
			if o.notFound == 0 {
				o.notFound = 10 * time.Second
			}
			name, err := o.target()
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			err = o.wait(context.Background(), fake.NewClientset(tt.objects...), "tctl", name, &log)
			if code := exitcode.Code(err); code != tt.wantCode || (tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("wait = exit %d, %v; want exit %d with %q", code, err, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestDeployWaitPrunesStaleReports: reports written before the awaited run started are removed
// (a shard that died before writing shows as missing, not as last run's result); those written
// since are kept.
func TestDeployWaitPrunesStaleReports(t *testing.T) {
	dir := t.TempDir()
	started := time.Now().Add(-time.Hour).Truncate(time.Second)
	files := map[string]time.Time{
		"drift-shard-0.json": started.Add(-10 * time.Minute), // the previous run's
		"drift-shard-1.json": started.Add(5 * time.Minute),
		"drift-shard-2.json": started.Add(-time.Second),
		"drift.json":         started.Add(-10 * time.Minute), // not matched by the glob
	}
	for name, mtime := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	o := waitOptions{job: "drift-29561040", until: untilFinished, timeout: 10 * time.Second, interval: 20 * time.Millisecond, notFound: time.Second,
		prune: filepath.Join(dir, "drift-shard-*.json")}
	var log bytes.Buffer
	if err := o.wait(context.Background(), fake.NewClientset(jobWith("drift-29561040", started, batchv1.JobComplete)), "tctl", o.job, &log); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if diff := cmp.Diff([]string{"drift-shard-1.json", "drift.json"}, left); diff != "" {
		t.Errorf("files left (-want +got):\n%s\nlog:\n%s", diff, log.String())
	}
}

// TestDriftMergeAllowMissing: the merge step of deploy cronjob names every shard's report; one a
// shard never wrote is reported as a missing shard (exit 1) in a merged report that is still
// written, instead of failing the merge as invalid input.
func TestDriftMergeAllowMissing(t *testing.T) {
	dir := t.TempDir()
	one, three := &report.Shard{Index: 1, Count: 3}, &report.Shard{Index: 3, Count: 3}
	files := []string{shardReport(t, dir, "c1", one, "acme"), filepath.Join(dir, "shard-1.json"), shardReport(t, dir, "c1", three, "globex")}
	out := filepath.Join(dir, "drift.json")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		written  bool
	}{
		{"without --allow-missing", files, exitcode.Invalid, "no such file", false},
		{"with --allow-missing", append([]string{"--allow-missing"}, files...), exitcode.Failed, "shard 2/3 is missing", true},
		{"none exists", []string{"--allow-missing", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}, exitcode.Failed, "none of the 2 reports exists", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(out)
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"drift", "merge", "-o", "json", "--out", out}, tt.args...)...)
			b, _ := os.ReadFile(out)
			if code != tt.wantCode || !strings.Contains(stderr+string(b), tt.want) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nreport:\n%s\nwant %q", code, tt.wantCode, stdout, stderr, b, tt.want)
			}
			if (len(b) > 0) != tt.written {
				t.Errorf("merged report written: %v, want %v", len(b) > 0, tt.written)
			}
		})
	}
}
