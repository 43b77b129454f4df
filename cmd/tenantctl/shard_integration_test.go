package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func init() {
	// The sharded-run test starts this test binary as tenantctl itself: N real processes of the
	// code under test at once, without building a second binary.
	if os.Getenv("TENANTCTL_TEST_RUN_MAIN") == "1" {
		main()
	}
}

// postgresStateBackend creates a database for a postgres:// state backend on the machine's
// server (TENANTCTL_TEST_POSTGRES_URL, default the local trust-auth server) and drops it at
// cleanup.
func postgresStateBackend(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("TENANTCTL_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("state backend server %s: %v (set TENANTCTL_TEST_POSTGRES_URL)", admin, err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "tenantctl_shard_" + hex.EncodeToString(b) // generated: safe to splice into DDL
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// stackSnapshot is what a run leaves in the backend per stack: its resources (type and name) and
// its outputs (secrets masked).
type stackSnapshot struct {
	Resources []string
	Outputs   map[string]any
}

func snapshotBackend(t *testing.T, ctx context.Context, backend string) map[string]stackSnapshot {
	t.Helper()
	e, err := automation.New(automation.WithBackend(backend), automation.WithDataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	states, err := e.StackStates(ctx)
	if err != nil {
		t.Fatalf("read %s: %v", backend, err)
	}
	out := map[string]stackSnapshot{}
	for name, st := range states {
		s := stackSnapshot{Outputs: map[string]any{}}
		for _, r := range st.Deployment.Resources {
			s.Resources = append(s.Resources, string(r.URN.Type())+" "+r.URN.Name())
			if r.Type == "pulumi:pulumi:Stack" {
				s.Outputs = r.Outputs
			}
		}
		if len(s.Resources) != st.Resources {
			t.Errorf("%s: %d resources in the deployment, %d counted", name, len(s.Resources), st.Resources)
		}
		sort.Strings(s.Resources)
		out[name] = s
	}
	return out
}

// opOutcome is the part of `up|destroy -o json` the test reads.
type opOutcome struct {
	Platform []struct {
		Stack   string `json:"stack"`
		Skipped string `json:"skipped"`
		Error   string `json:"error"`
	} `json:"platform"`
	Tenants []struct {
		Stack    string `json:"stack"`
		TenantID string `json:"tenantId"`
		Skipped  string `json:"skipped"`
		Error    string `json:"error"`
	} `json:"tenants"`
	Ran       int `json:"ran"`
	Unchanged int `json:"unchanged"`
}

// TestShardedRunsMatchOneProcess runs the commands a deploy job runs, as real processes against
// one postgres:// state backend: a tenant shard before the platform exists (a clear error), the
// platform shard 0/4, then the four tenant shards at once; the backend then holds exactly what a
// single-process up --all leaves in another backend (stacks, resources, outputs), and a single
// up --all after the shards finds nothing to do. Destroy goes the other way round: the platform
// shard refuses while tenant stacks remain, the tenant shards at once, then the platform.
func TestShardedRunsMatchOneProcess(t *testing.T) {
	const shards = 4
	bed := newEngineTestbed(t, "sharded-runs")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	state, err := isolation.Load(ctx, bed.dir)
	if err != nil {
		t.Fatal(err)
	}
	var devTenants []string
	for _, b := range state.BindingsIn("dev") {
		devTenants = append(devTenants, b.Spec.TenantID)
	}

	// run starts tenantctl as its own process with a data dir, audit log and signing key of its
	// own, as each pod of a Job has.
	var seq int
	var mu sync.Mutex
	run := func(ctx context.Context, backend string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
		mu.Lock()
		seq++
		own := filepath.Join(bed.work, fmt.Sprintf("proc-%d", seq))
		mu.Unlock()
		cmd := exec.CommandContext(ctx, os.Args[0], append(args, "-d", bed.dir, "--env", "dev", "--backend", backend,
			"--kubeconfig", bed.cluster.Kubeconfig, "--postgres-connection", bed.postgres.InfoPath(),
			"--passphrase-file", filepath.Join(bed.work, "passphrase"), "--data-dir", filepath.Join(own, "data"),
			"--audit-log", filepath.Join(own, "audit.jsonl"), "--audit-signing-key", filepath.Join(own, "audit.key"), "-o", "json")...)
		cmd.Env = append(os.Environ(), "TENANTCTL_TEST_RUN_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd, &stdout, &stderr
	}
	exitOf := func(err error, stderr *bytes.Buffer) int {
		if err == nil {
			return 0
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		t.Fatalf("run tenantctl: %v (%T)\n%s", err, err, stderr.String())
		return -1
	}
	onceIn := func(ctx context.Context, backend string, args ...string) (int, opOutcome, string) {
		t.Helper()
		cmd, stdout, stderr := run(ctx, backend, args...)
		start := time.Now()
		code := exitOf(cmd.Run(), stderr)
		t.Logf("tenantctl %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Second))
		var out opOutcome
		if stdout.Len() > 0 {
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("tenantctl %v: output is not JSON: %v\n%s", args, err, stdout.String())
			}
		}
		return code, out, stderr.String()
	}
	once := func(backend string, args ...string) (int, opOutcome, string) {
		t.Helper()
		return onceIn(ctx, backend, args...)
	}
	// atOnce runs the same command for shards 1..N as N processes at the same time.
	atOnce := func(backend string, args ...string) {
		t.Helper()
		type proc struct {
			cmd            *exec.Cmd
			stdout, stderr *bytes.Buffer
		}
		procs := make([]proc, shards)
		for i := range procs {
			cmd, stdout, stderr := run(ctx, backend, append(args, "--shard", fmt.Sprintf("%d/%d", i+1, shards))...)
			procs[i] = proc{cmd, stdout, stderr}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		defer func() {
			t.Logf("tenantctl %s --shard 1..%d/%d at once: %s", strings.Join(args, " "), shards, shards, time.Since(start).Round(time.Second))
		}()
		for i, p := range procs {
			if code := exitOf(p.cmd.Wait(), p.stderr); code != exitcode.OK {
				t.Fatalf("tenantctl %v --shard %d/%d: exit %d\n%s", args, i+1, shards, code, p.stderr.String())
			}
			var out opOutcome
			if err := json.Unmarshal(p.stdout.Bytes(), &out); err != nil {
				t.Fatalf("shard %d: output is not JSON: %v\n%s", i+1, err, p.stdout.String())
			}
			if len(out.Platform) != 0 {
				t.Errorf("tenant shard %d/%d ran platform stacks: %+v", i+1, shards, out.Platform)
			}
			var got, want []string
			for _, r := range out.Tenants {
				got = append(got, r.TenantID)
			}
			for _, id := range devTenants {
				if tenantplan.ShardOf(id, shards) == i+1 {
					want = append(want, id)
				}
			}
			if diff := cmp.Diff(want, got, sortStrings); diff != "" {
				t.Errorf("tenant shard %d/%d ran (-want +got):\n%s", i+1, shards, diff)
			}
		}
	}

	sharded := postgresStateBackend(t)

	// A tenant shard before its platform stack exists: every tenant of it fails with what to do.
	first := tenantplan.ShardOf(devTenants[0], shards)
	code, out, stderr := once(sharded, "up", "--all", "--shard", fmt.Sprintf("%d/%d", first, shards))
	if code != exitcode.Failed || len(out.Tenants) == 0 {
		t.Fatalf("tenant shard before the platform: exit %d, %+v; want exit 1 for its tenants\n%s", code, out, stderr)
	}
	for _, r := range out.Tenants {
		if !strings.Contains(r.Error, "platform stack platform.dev is not provisioned") || !strings.Contains(r.Error, "--shard 0/N") {
			t.Errorf("tenant %s before the platform: error %q, want it to say the platform is not provisioned and how to provision it", r.TenantID, r.Error)
		}
	}

	if code, out, stderr := once(sharded, "up", "--all", "--shard", fmt.Sprintf("0/%d", shards)); code != exitcode.OK || len(out.Platform) != 1 || len(out.Tenants) != 0 {
		t.Fatalf("platform shard: exit %d, %+v\n%s", code, out, stderr)
	}
	atOnce(sharded, "up", "--all")
	shardedState := snapshotBackend(t, ctx, sharded)

	// The shards left every stack as their inputs say: one process finds nothing to run.
	if code, out, stderr := once(sharded, "up", "--all"); code != exitcode.OK || out.Ran != 0 || out.Unchanged != len(devTenants)+1 {
		t.Errorf("up --all after the shards: exit %d, ran %d, unchanged %d; want 0, 0, %d\n%s", code, out.Ran, out.Unchanged, len(devTenants)+1, stderr)
	}

	// Destroy: the platform shard waits for the tenant shards.
	code, out, stderr = once(sharded, "destroy", "--all", "--include-platform", "--shard", fmt.Sprintf("0/%d", shards))
	if code != exitcode.Failed || len(out.Platform) != 1 {
		t.Fatalf("platform destroy with tenants left: exit %d, %+v; want exit 1\n%s", code, out, stderr)
	}
	if p := out.Platform[0]; p.Skipped == "" || !strings.Contains(p.Error, "still hold resources") {
		t.Errorf("platform destroy with tenants left: %+v, want it skipped saying why", p)
	}
	atOnce(sharded, "destroy", "--all")
	if code, _, stderr := once(sharded, "destroy", "--all", "--include-platform", "--shard", fmt.Sprintf("0/%d", shards)); code != exitcode.OK {
		t.Fatalf("platform destroy after the tenant shards: exit %d\n%s", code, stderr)
	}
	for name, s := range snapshotBackend(t, ctx, sharded) {
		if len(s.Resources) != 0 {
			t.Errorf("%s still holds %d resources after the sharded destroy", name, len(s.Resources))
		}
	}

	// The same desired state in one process, on a backend of its own.
	single := postgresStateBackend(t)
	t.Cleanup(func() {
		// the test's context is gone by now
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		if code, _, stderr := onceIn(ctx, single, "destroy", "--all", "--include-platform"); code != exitcode.OK {
			t.Errorf("destroy: exit %d\n%s", code, stderr)
		}
	})
	if code, _, stderr := once(single, "up", "--all"); code != exitcode.OK {
		t.Fatalf("single-process up --all: exit %d\n%s", code, stderr)
	}
	singleState := snapshotBackend(t, ctx, single)
	if len(singleState) != len(devTenants)+1 {
		t.Errorf("single-process run left %d stacks, want %d", len(singleState), len(devTenants)+1)
	}
	for name, st := range singleState {
		if len(st.Resources) == 0 || len(st.Outputs) == 0 {
			t.Errorf("%s holds %d resources and %d outputs: nothing to compare", name, len(st.Resources), len(st.Outputs))
		}
	}
	if diff := cmp.Diff(singleState, shardedState); diff != "" {
		t.Errorf("backend after the sharded run (-one process +%d shards):\n%s", shards, diff)
	}
}
