package automation

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/automation/statestore"
	"github.com/connectsoft/tenantctl/internal/testenv"
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
// starts only the CLI processes it needs (`stack init` for a new stack, then the operation
// itself), and what the engine answered in-process instead — outputs, the update's history entry —
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
