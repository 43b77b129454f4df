package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/automation/statestore"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/testenv/statedb"
)

// countingCLI records every pulumi command line the engine starts.
type countingCLI struct {
	auto.PulumiCommand
	mu    sync.Mutex
	calls []string
}

func (c *countingCLI) Run(ctx context.Context, wd string, stdin io.Reader, out, errOut []io.Writer, env []string, args ...string) (string, string, int, error) {
	c.mu.Lock()
	c.calls = append(c.calls, strings.Join(args[:min(2, len(args))], " "))
	c.mu.Unlock()
	return c.PulumiCommand.Run(ctx, wd, stdin, out, errOut, env, args...)
}

func (c *countingCLI) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// TestOperationCLICalls runs real operations on a file backend and checks two things: an operation
// starts only the CLI processes it needs (the operation itself; `stack init` only for the first
// stack of a store the CLI has not initialised), and what the engine answered in-process instead — outputs, the update's history entry —
// is what the CLI itself prints for the same stack.
func TestOperationCLICalls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := New(WithToolchain(testenv.Toolchain(t)), WithDataDir(dir),
		WithEnv(map[string]string{"PULUMI_CONFIG_PASSPHRASE": "operation-calls"}), WithParallel(1))
	if err != nil {
		t.Fatal(err)
	}
	real, err := e.pulumiCommand()
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingCLI{PulumiCommand: real}
	e.cmd = counter

	program := func(ctx *pulumi.Context) error {
		ctx.Export("plain", pulumi.String(config.Get(ctx, "tenantctl:kubeconfig")))
		ctx.Export("nested", pulumi.Map{"a": pulumi.Int(1), "b": pulumi.ToSecret(pulumi.String("canary-nested"))})
		ctx.Export("secret", pulumi.ToSecret(pulumi.String("canary-top")))
		return nil
	}
	target := Target{Stack: "calls", Program: program,
		Config: auto.ConfigMap{"tenantctl:kubeconfig": {Value: "/path/kubeconfig"}}}

	steps := []struct {
		name string
		op   Operation
		cfg  string
		want []string // the commands started (first word of each)
	}{
		// The store is new: the CLI creates the first stack (and the store's meta.yaml).
		{"first up creates the stack", OpUp, "/path/kubeconfig", []string{"stack init", "up --yes"}},
		{"second up", OpUp, "/other/kubeconfig", []string{"up --yes"}},
		{"preview", OpPreview, "/other/kubeconfig", []string{"preview --diff"}},
		{"refresh", OpRefresh, "", []string{"refresh --yes"}},
		{"destroy", OpDestroy, "", []string{"destroy --yes"}},
	}
	for _, st := range steps {
		tg := target
		if st.cfg != "" {
			tg.Config = auto.ConfigMap{"tenantctl:kubeconfig": {Value: st.cfg}}
		} else {
			tg.Config = nil
		}
		r := e.RunOne(ctx, st.op, tg)
		if r.Err != nil {
			t.Fatalf("%s: %v", st.name, r.Err)
		}
		got := counter.take()
		if diff := cmp.Diff(firstWords(st.want), firstWords(got)); diff != "" {
			t.Errorf("%s: CLI calls (-want +got):\n%s", st.name, diff)
		}
		if st.op == OpUp {
			want := map[string]any{"plain": st.cfg, "nested": "[secret]", "secret": "[secret]"}
			if diff := cmp.Diff(want, r.Outputs); diff != "" {
				t.Errorf("%s: outputs (-want +got):\n%s", st.name, diff)
			}
			compareWithCLI(ctx, t, e, "calls")
			counter.take() // the comparison's own CLI calls
		}
	}

	// The store exists now: a new stack is created in-process, so its first up is one process,
	// and the CLI reads its outputs (secrets decrypted with the salt the engine minted).
	r := e.RunOne(ctx, OpUp, Target{Stack: "calls-2", Program: program, Config: target.Config})
	if r.Err != nil {
		t.Fatalf("first up of a second stack: %v", r.Err)
	}
	if diff := cmp.Diff([]string{"up"}, firstWords(counter.take())); diff != "" {
		t.Errorf("first up of a second stack: CLI calls (-want +got):\n%s", diff)
	}
	compareWithCLI(ctx, t, e, "calls-2")
}

func firstWords(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.Fields(c)[0]
	}
	return out
}

// compareWithCLI reads the stack's outputs and latest history entry through the CLI (the plain
// Automation API path) and in-process, and requires the same answers.
func compareWithCLI(ctx context.Context, t *testing.T, e *Engine, stack string) {
	t.Helper()
	s, err := e.stack(ctx, Target{Stack: stack}, false)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, 1, 1, opthistory.ShowSecrets(false))
	if err != nil {
		t.Fatal(err)
	}
	cliOuts, err := s.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := statestore.Open(ctx, e.backendURL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	raw, _, err := r.LatestEntry(ctx, e.ProjectName(), stack)
	if err != nil {
		t.Fatal(err)
	}
	js, err := historyJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var mine []auto.UpdateSummary
	if err := json.Unmarshal([]byte(js), &mine); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hist, mine); diff != "" {
		t.Errorf("history entry: CLI (-) vs in-process (+):\n%s", diff)
	}
	st, err := r.Stack(ctx, e.ProjectName(), stack)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := checkpointOutputs(st.Deployment)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plainOutputs(cliOuts), plainOutputs(outs)); diff != "" {
		t.Errorf("outputs: CLI (-) vs in-process (+):\n%s", diff)
	}
	for k, v := range outs {
		if v.Secret != cliOuts[k].Secret {
			t.Errorf("output %s: secret %v in-process, %v by the CLI", k, v.Secret, cliOuts[k].Secret)
		}
	}
	if strings.Contains(js, "canary") {
		t.Errorf("history JSON holds a secret: %s", js)
	}
}

// TestInProcessStackInit: a stack the engine creates in-process is what `pulumi stack init`
// creates — the same checkpoint bytes in the backend — and the CLI takes its settings file: it
// encrypts and decrypts a secret config value and secret outputs with the salt the engine
// minted, lists the stack, and refuses another passphrase.
func TestInProcessStackInit(t *testing.T) {
	for _, backend := range []string{"file", "postgres"} {
		t.Run(backend, func(t *testing.T) { testInProcessStackInit(t, backend) })
	}
}

func testInProcessStackInit(t *testing.T, backend string) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := []Option{WithToolchain(testenv.Toolchain(t)), WithDataDir(dir), WithParallel(1)}
	var db *sql.DB
	if backend == "postgres" {
		var url string
		url, db = testDatabase(t)
		opts = append(opts, WithBackend(url))
	}
	newEngine := func(phrase string) *Engine {
		e, err := New(append(opts, WithEnv(map[string]string{"PULUMI_CONFIG_PASSPHRASE": phrase}))...)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := newEngine("in-process-init")
	// The CLI initialises the store (meta.yaml) with the first stack it creates.
	if _, err := e.stack(ctx, Target{Stack: "by-cli"}, true); err != nil {
		t.Fatal(err)
	}
	r, err := statestore.Open(ctx, e.backendURL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ws, err := auto.NewLocalWorkspace(ctx, mustOptions(t, e, "mine")...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.initStackInProcess(ctx, ws, r, "mine"); err != nil {
		t.Fatalf("in-process init: %v", err)
	}
	stored := func(stack string) []byte {
		key := ".pulumi/stacks/" + e.ProjectName() + "/" + stack + ".json"
		if db == nil {
			b, err := os.ReadFile(filepath.Join(dir, "state", filepath.FromSlash(key)))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var doc struct{ Data []byte } // base64 in Pulumi's row document
		var raw string
		if err := db.QueryRowContext(ctx, "SELECT data::text FROM pulumi_state WHERE key LIKE '%/'||$1", key).Scan(&raw); err != nil {
			t.Fatalf("row %s: %v", key, err)
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Data
	}
	cli, mine := stored("by-cli"), stored("mine")
	// Byte for byte the same but for the stack's name, the time and the salt.
	var c, m struct {
		Checkpoint struct {
			Latest struct {
				Manifest         struct{ Time string }
				SecretsProviders struct {
					State struct{ Salt string }
				} `json:"secrets_providers"`
			}
		}
	}
	if err := json.Unmarshal(cli, &c); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mine, &m); err != nil {
		t.Fatal(err)
	}
	cl, ml := c.Checkpoint.Latest, m.Checkpoint.Latest
	if cl.Manifest.Time == "" || cl.SecretsProviders.State.Salt == "" || ml.SecretsProviders.State.Salt == "" {
		t.Fatalf("checkpoints without a manifest time or salt: CLI %s, in-process %s", cli, mine)
	}
	want := strings.NewReplacer("by-cli", "mine", cl.Manifest.Time, ml.Manifest.Time,
		cl.SecretsProviders.State.Salt, ml.SecretsProviders.State.Salt).Replace(string(cli))
	if string(mine) != want {
		t.Errorf("checkpoint in-process\n%s\nby the CLI (name, time and salt replaced)\n%s", mine, want)
	}
	settings, err := ws.StackSettings(ctx, "mine")
	if err != nil || settings.EncryptionSalt != ml.SecretsProviders.State.Salt {
		t.Errorf("settings file salt %v (%v), want the state's %q", settings, err, ml.SecretsProviders.State.Salt)
	}
	// Created meanwhile by another process: no settings file is written for it.
	os.Remove(filepath.Join(e.workDir("mine"), "Pulumi.mine.yaml"))
	if err := e.initStackInProcess(ctx, ws, r, "mine"); !errors.Is(err, statestore.ErrStackExists) {
		t.Errorf("second init: %v, want ErrStackExists", err)
	}
	if _, err := os.Stat(filepath.Join(e.workDir("mine"), "Pulumi.mine.yaml")); err == nil {
		t.Errorf("a refused init wrote the settings file")
	}
	if err := ws.SaveStackSettings(ctx, "mine", settings); err != nil {
		t.Fatal(err)
	}

	// The CLI encrypts a secret config value with the minted salt, and runs an update with it.
	program := func(ctx *pulumi.Context) error {
		ctx.Export("token", config.GetSecret(ctx, "tenantctl:token"))
		return nil
	}
	res := e.RunOne(ctx, OpUp, Target{Stack: "mine", Program: program,
		Config: auto.ConfigMap{"tenantctl:token": {Value: "canary-token", Secret: true}}})
	if res.Err != nil {
		t.Fatalf("up: %v", res.Err)
	}
	s, err := e.stack(ctx, Target{Stack: "mine"}, false)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Outputs(ctx) // --show-secrets: decrypted with the salt's key
	if err != nil {
		t.Fatal(err)
	}
	if got := outs["token"]; got.Value != "canary-token" || !got.Secret {
		t.Errorf("output token = %+v, want the secret canary-token", got)
	}
	list, err := s.Workspace().ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range list {
		names = append(names, st.Name)
	}
	if !slices.Contains(names, "mine") {
		t.Errorf("pulumi stack ls: %v, want mine listed", names)
	}
	settingsFile, _ := os.ReadFile(filepath.Join(e.workDir("mine"), "Pulumi.mine.yaml"))
	if strings.Contains(string(settingsFile), "canary-token") {
		t.Errorf("settings file holds the secret in plain text")
	}

	// Another passphrase does not open the stack's secrets.
	other := newEngine("another-passphrase")
	if r := other.RunOne(ctx, OpUp, Target{Stack: "mine", Program: program}); r.Err == nil ||
		!strings.Contains(r.Err.Error(), "passphrase") {
		t.Errorf("up with another passphrase: %v, want a passphrase error", r.Err)
	}
}

// mustOptions are the engine's workspace options for stack.
func mustOptions(t *testing.T, e *Engine, stack string) []auto.LocalWorkspaceOption {
	t.Helper()
	opts, err := e.workspaceOptions(Target{Stack: stack}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// TestLockSeenWhileUpdating: while a real update runs, the state reader and Engine.Locks find the
// lock where the CLI puts it (so the fleet and drift fast paths treat the stack as in progress),
// and once it ends the lock is gone.
func TestLockSeenWhileUpdating(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := New(WithToolchain(testenv.Toolchain(t)), WithDataDir(t.TempDir()),
		WithEnv(map[string]string{"PULUMI_CONFIG_PASSPHRASE": "locks"}), WithParallel(1))
	if err != nil {
		t.Fatal(err)
	}
	running, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	program := func(*pulumi.Context) error {
		once.Do(func() { close(running) })
		<-release
		return nil
	}
	done := make(chan Result, 1)
	go func() { done <- e.RunOne(ctx, OpUp, Target{Stack: "held", Program: program}) }()
	select {
	case <-running:
	case r := <-done:
		t.Fatalf("up ended before its program ran: %v", r.Err)
	case <-ctx.Done():
		t.Fatal("program never ran")
	}
	locked := func() (bool, int) {
		r, err := statestore.Open(ctx, e.BackendURL())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		stacks, err := r.Stacks(ctx, e.ProjectName())
		if err != nil {
			t.Fatal(err)
		}
		locks, err := e.Locks("held")
		if err != nil {
			t.Fatal(err)
		}
		return stacks["held"].Locked, len(locks)
	}
	if l, n := locked(); !l || n != 1 {
		t.Errorf("during the update: Locked %v, %d lock files; want true, 1", l, n)
	}
	close(release)
	if r := <-done; r.Err != nil {
		t.Fatal(r.Err)
	}
	if l, n := locked(); l || n != 0 {
		t.Errorf("after the update: Locked %v, %d lock files; want false, 0", l, n)
	}
}

// testDatabase is a postgres:// state backend URL on a fresh database of the machine's
// PostgreSQL (TENANTCTL_TEST_POSTGRES_URL), dropped at cleanup, and a connection to it.
func testDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	return statedb.New(t, "tenantctl_init")
}
