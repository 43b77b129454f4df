package automation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// canaryKey is a stack config key outside the project's namespace, so the project's declared
// config schema does not have to know it.
const canaryKey = "backendtest:canary"

// secretSig is the key that marks a secret value in Pulumi state.
const secretSig = "4dabf18193072939515e22adb298388d"

// withSecretOutput exports the secret config value, so it lands in the stack's state (as
// ciphertext) and not only in the workspace's stack config file.
func withSecretOutput(inner pulumi.RunFunc) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := inner(ctx); err != nil {
			return err
		}
		ctx.Export("canary", config.RequireSecret(ctx, canaryKey))
		return nil
	}
}

// blockingProgram runs inner, then reports that the update holds the stack's lock and waits for
// release.
func blockingProgram(inner pulumi.RunFunc, holding chan<- struct{}, release <-chan struct{}) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := inner(ctx); err != nil {
			return err
		}
		holding <- struct{}{}
		<-release
		return nil
	}
}

// backendEngine builds an engine on a backend with the defaults a user gets: passphrase secrets
// (the passphrase only in the CLI's environment) and, without a URL, file state in the data dir.
func backendEngine(t *testing.T, dataDir string, b stateBackend, passphrase string) *automation.Engine {
	t.Helper()
	env := map[string]string{"PULUMI_CONFIG_PASSPHRASE": passphrase}
	for k, v := range b.env {
		env[k] = v
	}
	opts := []automation.Option{
		automation.WithToolchain(testenv.Toolchain(t)),
		automation.WithDataDir(dataDir),
		automation.WithEnv(env),
	}
	if b.url != "" {
		opts = append(opts, automation.WithBackend(b.url))
	}
	e, err := automation.New(opts...)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestStateBackends runs the same stack lifecycle on each state backend: up, a no-op preview, list,
// export, the secret never stored in plain text, a second engine locked out while the first one
// runs, destroy.
func TestStateBackends(t *testing.T) {
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	for _, bc := range backendSetups {
		t.Run(bc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			dataDir := testenv.TempDir(t)
			backend := bc.setup(t, dataDir)
			passphrase := "pass-" + randomHex(8)
			e := backendEngine(t, dataDir, backend, passphrase)
			if backend.url == "" {
				if want := "file://" + filepath.Join(dataDir, "state") + "?metadata=skip"; e.BackendURL() != want {
					t.Errorf("default backend = %q, want %q", e.BackendURL(), want)
				}
			}
			ns := testenv.UniqueName("be-" + bc.name)
			canary := "canary-" + randomHex(16)
			target := automation.Target{
				Stack:   ns,
				Program: withSecretOutput(namespaceWithPolicy(cluster.Kubeconfig, ns)),
				Config:  auto.ConfigMap{canaryKey: auto.ConfigValue{Value: canary, Secret: true}},
			}
			t.Cleanup(func() { e.RunOne(context.Background(), automation.OpDestroy, target) })

			up := e.RunOne(ctx, automation.OpUp, target)
			if up.Err != nil {
				t.Fatalf("up: %v", up.Err)
			}
			if diff := cmp.Diff(map[string]int{"create": 2}, up.Changes); diff != "" {
				t.Errorf("up changes (-want +got):\n%s", diff)
			}
			if got := up.Outputs["canary"]; got != "[secret]" {
				t.Errorf("up output canary = %v, want it masked", got)
			}
			if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, "default-deny", metav1.GetOptions{}); err != nil {
				t.Errorf("network policy not created: %v", err)
			}

			pre := e.RunOne(ctx, automation.OpPreview, target)
			if pre.Err != nil {
				t.Fatalf("preview: %v", pre.Err)
			}
			if diff := cmp.Diff(map[string]int{"same": 2}, pre.Changes); diff != "" {
				t.Errorf("preview after up (-want +got):\n%s", diff)
			}

			checkListed(ctx, t, e, ns)
			checkExport(ctx, t, e, ns)
			checkStackStates(ctx, t, e, ns)
			checkStored(ctx, t, backend, dataDir, ns, canary)

			// Another machine or process: its own data dir, the same backend.
			shared := backend
			shared.url = e.BackendURL()
			checkLockConflict(ctx, t, e, backendEngine(t, testenv.TempDir(t), shared, passphrase), target)

			down := e.RunOne(ctx, automation.OpDestroy, target)
			if down.Err != nil {
				t.Fatalf("destroy: %v", down.Err)
			}
			if diff := cmp.Diff(map[string]int{"delete": 2}, down.Changes); diff != "" {
				t.Errorf("destroy changes (-want +got):\n%s", diff)
			}
			testenv.Eventually(t, time.Minute, "namespace "+ns+" gone", func() (bool, error) {
				_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				return apierrors.IsNotFound(err), err
			})
			d, err := e.Export(ctx, ns)
			if err != nil {
				t.Fatalf("export after destroy: %v", err)
			}
			if got := resourceTypes(d); len(got) != 0 {
				t.Errorf("state after destroy still holds %v", got)
			}
			// History and backups stay behind after destroy; the secret must not be in them either.
			checkNoCanary(ctx, t, backend, dataDir, canary)
		})
	}
}

func checkListed(ctx context.Context, t *testing.T, e *automation.Engine, stack string) {
	t.Helper()
	list, err := e.ListStacks(ctx)
	if err != nil {
		t.Fatalf("list stacks: %v", err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, stack) {
		t.Errorf("ListStacks = %v, want it to contain %s", names, stack)
	}
}

// resourceTypes lists the Kubernetes resources of a state by type and id.
func resourceTypes(d automation.Deployment) []string {
	var out []string
	for _, r := range d.Resources {
		if strings.HasPrefix(string(r.Type), "kubernetes:") && !strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			out = append(out, string(r.Type)+" "+string(r.ID))
		}
	}
	slices.Sort(out)
	return out
}

// checkStackStates: where the backend's storage can be read directly, StackStates gives what
// ListStacks and Export give through the CLI (same resources, same masked secrets); elsewhere it
// says it cannot.
func checkStackStates(ctx context.Context, t *testing.T, e *automation.Engine, stack string) {
	t.Helper()
	states, err := e.StackStates(ctx)
	viaCLI, found, cliErr := e.LastOperationOf(ctx, stack)
	if cliErr != nil || !found || !viaCLI.Succeeded() {
		t.Errorf("LastOperationOf(%s) = %+v, %v, %v; want a succeeded update", stack, viaCLI, found, cliErr)
	}
	if strings.HasPrefix(e.BackendURL(), "azblob://") {
		if !errors.Is(err, automation.ErrStatesUnsupported) {
			t.Errorf("StackStates on %s: error = %v, want ErrStatesUnsupported", e.BackendURL(), err)
		}
		if _, err := e.LastOperations(ctx); !errors.Is(err, automation.ErrStatesUnsupported) {
			t.Errorf("LastOperations on %s: error = %v, want ErrStatesUnsupported", e.BackendURL(), err)
		}
		return
	}
	// The latest history entry, read from the storage, is the one the CLI reports, recorded after
	// the checkpoint's last write.
	ops, err2 := e.LastOperations(ctx)
	if err2 != nil {
		t.Fatalf("LastOperations: %v", err2)
	}
	if op := ops[stack]; op.Kind != viaCLI.Kind || op.Result != viaCLI.Result || !op.End.Equal(viaCLI.End) || op.At.IsZero() {
		t.Errorf("LastOperations[%s] = %+v, CLI says %+v", stack, op, viaCLI)
	}
	if err != nil {
		t.Fatalf("StackStates: %v", err)
	}
	st, ok := states[stack]
	if !ok {
		t.Fatalf("StackStates has no %s among %d stacks", stack, len(states))
	}
	exported, err := e.Export(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(exported, st.Deployment); diff != "" {
		t.Errorf("StackStates deployment vs Export (-export +states):\n%s", diff)
	}
	if st.Resources != len(exported.Resources) || st.LastUpdate.IsZero() || st.Locked {
		t.Errorf("StackStates summary: %d resources (export %d), last update %v, locked %v", st.Resources, len(exported.Resources), st.LastUpdate, st.Locked)
	}
	if op := ops[stack]; st.LastUpdate.After(op.At) {
		t.Errorf("checkpoint written at %s, after its history entry %s", st.LastUpdate, op.At)
	}
}

func checkExport(ctx context.Context, t *testing.T, e *automation.Engine, ns string) {
	t.Helper()
	d, err := e.Export(ctx, ns)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	want := []string{
		"kubernetes:core/v1:Namespace " + ns,
		"kubernetes:networking.k8s.io/v1:NetworkPolicy " + ns + "/default-deny",
	}
	if diff := cmp.Diff(want, resourceTypes(d)); diff != "" {
		t.Errorf("exported resources (-want +got):\n%s", diff)
	}
	// The Automation API exports with --show-secrets; Export must mask the value.
	for _, r := range d.Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			continue
		}
		if got := r.Outputs["canary"]; got != automation.SecretMask {
			t.Errorf("exported stack output canary = %#v, want %q", got, automation.SecretMask)
		}
	}
}

// checkStored reads the backend's storage directly: the stack's checkpoint is there, readable and
// names the passphrase secrets provider; the secret is only in it as ciphertext.
func checkStored(ctx context.Context, t *testing.T, b stateBackend, dataDir, stack, canary string) {
	t.Helper()
	objects, err := b.read(ctx)
	if err != nil {
		t.Fatalf("read backend storage: %v", err)
	}
	var checkpoint []byte
	for name, data := range objects {
		// postgres:// keys carry the database name first: Pulumi treats a URL's path as a prefix.
		if strings.Contains(name, ".pulumi/stacks/") && strings.HasSuffix(name, "/"+stack+".json") {
			checkpoint = data
		}
	}
	if checkpoint == nil {
		t.Fatalf("no checkpoint of %s among the %d stored objects %v", stack, len(objects), keys(objects))
	}
	if b.url == "" {
		// The default file backend is opened with metadata=skip: no go-cloud side files.
		for name := range objects {
			if strings.HasSuffix(name, ".attrs") {
				t.Errorf("default file backend wrote the side file %s", name)
			}
		}
	}
	var vcp apitype.VersionedCheckpoint
	var cp apitype.CheckpointV3
	if err := json.Unmarshal(checkpoint, &vcp); err != nil || vcp.Version != 3 {
		t.Fatalf("stored checkpoint of %s is not plain JSON of version 3 (so a grep would prove nothing): version %d, %v", stack, vcp.Version, err)
	}
	if err := json.Unmarshal(vcp.Checkpoint, &cp); err != nil {
		t.Fatalf("stored checkpoint of %s: %v", stack, err)
	}
	if cp.Latest == nil || cp.Latest.SecretsProviders == nil || cp.Latest.SecretsProviders.Type != "passphrase" {
		t.Errorf("stored secrets provider = %+v, want passphrase", cp.Latest)
	}
	if !bytes.Contains(checkpoint, []byte(secretSig)) || !bytes.Contains(checkpoint, []byte(`"ciphertext"`)) {
		t.Errorf("stored checkpoint of %s holds no encrypted secret; the canary output is missing", stack)
	}
	checkNoCanary(ctx, t, b, dataDir, canary)
}

// checkNoCanary greps everything the backend stored, and the engine's own data dir (workspaces,
// PULUMI_HOME, logs), for the secret in plain text.
func checkNoCanary(ctx context.Context, t *testing.T, b stateBackend, dataDir, canary string) {
	t.Helper()
	objects, err := b.read(ctx)
	if err != nil {
		t.Fatalf("read backend storage: %v", err)
	}
	local, err := readTree(dataDir)
	if err != nil {
		t.Fatalf("read data dir: %v", err)
	}
	for where, set := range map[string]map[string][]byte{"backend": objects, "data dir": local} {
		for name, data := range set {
			if bytes.Contains(data, []byte(canary)) {
				t.Errorf("secret config value stored in plain text in %s object %s", where, name)
			}
		}
	}
}

// checkLockConflict holds the stack's lock with an update of e that waits inside its program, and
// checks that other, an engine with its own data dir on the same backend, is refused with a
// conflict rather than running concurrently.
func checkLockConflict(ctx context.Context, t *testing.T, e, other *automation.Engine, target automation.Target) {
	t.Helper()
	holding, release := make(chan struct{}, 1), make(chan struct{})
	held := target
	held.Program = blockingProgram(target.Program, holding, release)
	first := make(chan automation.Result, 1)
	go func() { first <- e.RunOne(ctx, automation.OpUp, held) }()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	select {
	case <-holding:
	case r := <-first:
		t.Fatalf("the holding update ended before its program ran: %v", r.Err)
	case <-ctx.Done():
		t.Fatal("timed out waiting for the holding update")
	}

	second := other.RunOne(ctx, automation.OpUp, automation.Target{Stack: target.Stack, Program: target.Program, Config: target.Config})
	if !second.Conflict || !errors.Is(second.Err, automation.ErrConflict) {
		t.Errorf("second engine while the stack is locked: conflict=%v err=%v, want a conflict", second.Conflict, second.Err)
	}
	if second.ChangeCount() != 0 {
		t.Errorf("the locked-out engine changed %v", second.Changes)
	}

	close(release)
	released = true
	r := <-first
	if r.Err != nil {
		t.Fatalf("holding update: %v", r.Err)
	}
	if r.ChangeCount() != 0 {
		t.Errorf("holding update (no change in the program) changed %v", r.Changes)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestDefaultDataDir pins where file state lives when nothing is configured: the user's data dir.
func TestDefaultDataDir(t *testing.T) {
	tests := []struct {
		name                 string
		tenantctl, xdg, home string
		want                 string
	}{
		{"explicit", "/srv/tctl", "/xdg", "/home/u", "/srv/tctl"},
		{"xdg", "", "/xdg", "/home/u", "/xdg/tenantctl"},
		{"home", "", "", "/home/u", "/home/u/.local/share/tenantctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TENANTCTL_DATA_DIR", tt.tenantctl)
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := automation.DefaultDataDir(); got != tt.want {
				t.Errorf("DefaultDataDir() = %q, want %q", got, tt.want)
			}
		})
	}
}
