// Package automation drives the Pulumi Automation API: one local workspace per stack with its own
// work dir, the CLI and provider plugin from the local tool cache (never downloaded), a bounded
// worker pool across stacks with in-process serialisation per stack, conflict detection against
// other processes, crash recovery and a structured result per stack.
package automation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl"
	"github.com/connectsoft/tenantctl/automation/providerpool"
	"github.com/connectsoft/tenantctl/automation/statestore"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// Engine runs Pulumi operations over many stacks.
type Engine struct {
	tools      toolchain.Toolchain
	dataDir    string
	backendURL string
	secrets    SecretsConfig
	parallel   int
	lockWait   time.Duration
	extraEnv   map[string]string
	auditor    Auditor
	principal  string
	progress   func(Progress)
	project    workspace.Project
	cmdOnce    sync.Once
	cmd        auto.PulumiCommand
	cmdErr     error
	stackLocks sync.Map // stack name -> *sync.Mutex
	// salt is the passphrase secrets state for stacks this engine creates in-process (see
	// stackinit.go), minted for the passphrase whose digest is saltFor.
	saltMu  sync.Mutex
	salt    string
	saltFor [32]byte
	// providers keeps provider plugins running between operations of one scope (providers.go).
	shareProviders  bool
	providersMu     sync.Mutex
	providers       *providerpool.Pool
	providersClosed bool
}

// SecretsConfig selects the stacks' secrets provider. The passphrase comes from an environment
// variable or a file, never from a flag, so it never shows in a process list.
type SecretsConfig struct {
	// Provider is "passphrase" (default) or a provider URL such as azurekeyvault://...
	Provider string
	// PassphraseFile is read by the CLI itself (PULUMI_CONFIG_PASSPHRASE_FILE).
	PassphraseFile string
	// Passphrase is passed to the CLI through its environment only.
	Passphrase string
}

// ErrNoPassphrase says the passphrase secrets provider has nowhere to read its passphrase from.
var ErrNoPassphrase = errors.New("the passphrase secrets provider needs a passphrase: pass --passphrase-file (or set TENANTCTL_PASSPHRASE_FILE, PULUMI_CONFIG_PASSPHRASE_FILE or PULUMI_CONFIG_PASSPHRASE)")

// checkSecrets reports ErrNoPassphrase when the passphrase provider has no passphrase source. The
// CLI inherits PULUMI_CONFIG_PASSPHRASE(_FILE) from this process and gets WithEnv's variables, so
// those count too.
func (e *Engine) checkSecrets() error {
	s := e.secrets
	if s.Provider != "" && s.Provider != "passphrase" {
		return nil
	}
	if s.PassphraseFile != "" || s.Passphrase != "" {
		return nil
	}
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
		if _, ok := os.LookupEnv(k); ok {
			return nil
		}
		if _, ok := e.extraEnv[k]; ok {
			return nil
		}
	}
	return ErrNoPassphrase
}

// Option configures an Engine.
type Option func(*Engine)

// WithToolchain overrides where the CLI and provider are found.
func WithToolchain(t toolchain.Toolchain) Option { return func(e *Engine) { e.tools = t } }

// WithDataDir sets where workspaces, PULUMI_HOME and (by default) file state live.
func WithDataDir(dir string) Option { return func(e *Engine) { e.dataDir = dir } }

// WithBackend sets the state backend URL (file://, azblob://, postgres://).
func WithBackend(url string) Option { return func(e *Engine) { e.backendURL = url } }

// WithSecrets sets the secrets provider.
func WithSecrets(s SecretsConfig) Option { return func(e *Engine) { e.secrets = s } }

// WithParallel bounds how many stacks run at once (default: number of cores).
func WithParallel(n int) Option { return func(e *Engine) { e.parallel = n } }

// WithLockWait makes an operation that meets a stack locked by another process retry with
// backoff for up to d before reporting a conflict.
func WithLockWait(d time.Duration) Option { return func(e *Engine) { e.lockWait = d } }

// WithEnv adds environment variables for every CLI call (e.g. AZURE_STORAGE_ACCOUNT for azblob).
func WithEnv(env map[string]string) Option {
	return func(e *Engine) {
		for k, v := range env {
			e.extraEnv[k] = v
		}
	}
}

// WithAuditor records every mutating operation.
func WithAuditor(a Auditor) Option { return func(e *Engine) { e.auditor = a } }

// WithPrincipal names who runs the operations, for audit records.
func WithPrincipal(p string) Option { return func(e *Engine) { e.principal = p } }

// WithProgress receives live progress events (resource counts per stack).
func WithProgress(f func(Progress)) Option { return func(e *Engine) { e.progress = f } }

// WithSharedProviders turns keeping provider plugins running between operations on (the
// default) or off; with it off, the CLI starts every plugin for every operation.
func WithSharedProviders(on bool) Option { return func(e *Engine) { e.shareProviders = on } }

// DefaultDataDir is $TENANTCTL_DATA_DIR, else $XDG_DATA_HOME/tenantctl, else
// ~/.local/share/tenantctl.
func DefaultDataDir() string {
	if d := os.Getenv("TENANTCTL_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tenantctl")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "tenantctl")
}

// New builds an Engine. It neither starts a process nor requires the tools: reading state
// straight from the backend (StackStates, Locks) needs neither the pulumi CLI, the provider
// plugins nor a passphrase, so read-only commands work on a machine without them. The tools and
// the secrets provider's passphrase are checked when an operation first needs the CLI.
func New(opts ...Option) (*Engine, error) {
	e := &Engine{
		tools:    toolchain.Default(),
		parallel: runtime.NumCPU(),
		extraEnv: map[string]string{},
		secrets:  SecretsConfig{Provider: "passphrase"},

		shareProviders: true,
	}
	for _, o := range opts {
		o(e)
	}
	if e.dataDir == "" {
		e.dataDir = DefaultDataDir()
	}
	if e.parallel < 1 {
		e.parallel = 1
	}
	if e.backendURL == "" {
		// metadata=skip: go-cloud's fileblob then writes no ".attrs" side file per object. Pulumi
		// never reads them, and every checkpoint save lists the project's stack folder (pkg/backend/
		// diy stackPath), so each side file is one more entry per stack in every save's listing —
		// half the folder (docs/benchmarks.md, "what a full state folder costs").
		e.backendURL = "file://" + filepath.Join(e.dataDir, "state") + "?metadata=skip"
	}
	proj, err := workspace.LoadProjectBytes(tenantctl.ProjectYAML, "Pulumi.yaml", encoding.YAML)
	if err != nil {
		return nil, fmt.Errorf("load embedded Pulumi.yaml: %w", err)
	}
	// Inline programs run in this process; Main is for plain-Pulumi users only.
	proj.Main = ""
	proj.Backend = &workspace.ProjectBackend{URL: e.backendURL}
	providers := []workspace.PluginOptions{{
		Name: "kubernetes", Version: toolchain.KubernetesProviderVersion, Path: e.tools.ProviderDir,
	}, {
		Name: "tenantpg", Version: toolchain.TenantPGProviderVersion, Path: e.tools.TenantPGDir,
	}}
	// The azure target needs the azure-native provider; it is not built by `make tools` (no
	// release download here), so it is used when an operator placed it in the cache.
	if dir := e.tools.AzureNativeDir; dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "pulumi-resource-azure-native")); err == nil {
			providers = append(providers, workspace.PluginOptions{Name: "azure-native", Version: toolchain.AzureNativeVersion, Path: dir})
		}
	}
	proj.Plugins = &workspace.Plugins{Providers: providers}
	e.project = *proj
	switch dir, ok, err := statestore.FileBackendDir(e.backendURL); {
	case err != nil:
		return nil, err
	case ok:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	return e, nil
}

// PluginVersions are the versions of what a stack runs with: the pulumi CLI ("pulumi") and every
// provider plugin the project pins (by plugin name). A stack's result depends on them, so they
// are part of its inputs digest.
func (e *Engine) PluginVersions() map[string]string {
	out := map[string]string{"pulumi": toolchain.PulumiVersion}
	if e.project.Plugins != nil {
		for _, p := range e.project.Plugins.Providers {
			out[p.Name] = p.Version
		}
	}
	return out
}

// BackendURL is the state backend in use.
func (e *Engine) BackendURL() string { return e.backendURL }

// ProjectName is the Pulumi project every stack belongs to.
func (e *Engine) ProjectName() string { return string(e.project.Name) }

// Parallel is the worker pool size.
func (e *Engine) Parallel() int { return e.parallel }

// pulumiCommand is the CLI every operation runs, checked once: the CLI and the provider plugins
// must be in the tool cache, and the passphrase secrets provider needs a passphrase source.
func (e *Engine) pulumiCommand() (auto.PulumiCommand, error) {
	e.cmdOnce.Do(func() {
		if e.cmdErr = e.tools.CheckEngine(); e.cmdErr != nil {
			return
		}
		if e.cmdErr = e.checkSecrets(); e.cmdErr != nil {
			return
		}
		e.cmd, e.cmdErr = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: e.tools.PulumiRoot})
		if e.cmdErr != nil {
			e.cmdErr = fmt.Errorf("pulumi CLI at %s: %w", e.tools.PulumiBin(), e.cmdErr)
		}
	})
	return e.cmd, e.cmdErr
}

// env is the environment of every CLI call: offline switches, PULUMI_HOME, the passphrase source.
func (e *Engine) env() map[string]string {
	env := map[string]string{}
	for _, kv := range toolchain.OfflineEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// The plugin comes from the project's plugin path; refuse anything ambient on PATH so a
	// stray binary cannot change what runs.
	env["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"
	env["PULUMI_BACKEND_URL"] = e.backendURL
	// A workspace whose settings file lacks the stack's salt (a stack created from another
	// checkout, shard or machine) reuses the secrets provider the checkpoint records instead of
	// minting a new key and re-encrypting the state with it.
	env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] = "true"
	switch {
	case e.secrets.PassphraseFile != "":
		env["PULUMI_CONFIG_PASSPHRASE_FILE"] = e.secrets.PassphraseFile
	case e.secrets.Passphrase != "":
		env["PULUMI_CONFIG_PASSPHRASE"] = e.secrets.Passphrase
	}
	for k, v := range e.extraEnv {
		env[k] = v
	}
	return env
}

// lock serialises operations on one stack inside this process.
func (e *Engine) lock(stack string) func() {
	m, _ := e.stackLocks.LoadOrStore(stack, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// workDir is a stack's own workspace folder, kept across runs (it holds Pulumi.<stack>.yaml).
func (e *Engine) workDir(stack string) string {
	return filepath.Join(e.dataDir, "workspaces", e.ProjectName(), stack)
}

// workspaceOptions are a stack's local workspace settings: its own work dir, the shared
// PULUMI_HOME, the cached CLI, the engine's environment plus extraEnv, and the secrets provider.
func (e *Engine) workspaceOptions(t Target, extraEnv map[string]string) ([]auto.LocalWorkspaceOption, error) {
	cmd, err := e.pulumiCommand()
	if err != nil {
		return nil, err
	}
	wd := e.workDir(t.Stack)
	if err := os.MkdirAll(wd, 0o700); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	home := filepath.Join(e.dataDir, "pulumi-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("pulumi home: %w", err)
	}
	env := e.env()
	for k, v := range extraEnv { // the operation's own (a provider lease's endpoints)
		env[k] = v
	}
	wsOpts := []auto.LocalWorkspaceOption{
		auto.Project(e.project),
		auto.WorkDir(wd),
		auto.PulumiHome(home),
		auto.Pulumi(cmd),
		auto.EnvVars(env),
	}
	if e.secrets.Provider != "" {
		wsOpts = append(wsOpts, auto.SecretsProvider(e.secrets.Provider))
	}
	return wsOpts, nil
}

// stack opens (creating when needed) the stack with its own workspace, through the CLI. The
// program is nil for operations that do not run it (destroy, cancel, export).
func (e *Engine) stack(ctx context.Context, t Target, create bool) (auto.Stack, error) {
	wsOpts, err := e.workspaceOptions(t, nil)
	if err != nil {
		return auto.Stack{}, err
	}
	var s auto.Stack
	if create {
		s, err = auto.UpsertStackInlineSource(ctx, t.Stack, e.ProjectName(), t.program(), wsOpts...)
	} else {
		s, err = auto.SelectStackInlineSource(ctx, t.Stack, e.ProjectName(), t.program(), wsOpts...)
	}
	if err != nil {
		return auto.Stack{}, fmt.Errorf("open stack %s: %w", t.Stack, err)
	}
	if len(t.Config) > 0 {
		if err := s.SetAllConfig(ctx, t.Config); err != nil {
			return auto.Stack{}, fmt.Errorf("set config of %s: %w", t.Stack, err)
		}
	}
	return s, nil
}

// operationStack opens the stack for one operation with as few CLI processes as the backend
// allows (see stackWorkspace): when the engine reads the backend itself, existence comes from the
// checkpoint (no `stack select`), a missing stack is created in-process (createStack), plain config
// is written to the settings file in-process (no `config set-all`), and outputs and the history
// entry after an operation are read from the backend. The returned presence is what the backend held before the
// operation; done releases the backend reader.
func (e *Engine) operationStack(ctx context.Context, t Target, create bool, env map[string]string) (auto.Stack, stackPresence, func(), error) {
	done := func() {}
	wsOpts, err := e.workspaceOptions(t, env)
	if err != nil {
		return auto.Stack{}, presenceUnknown, done, err
	}
	reader, err := statestore.Open(ctx, e.backendURL)
	if err != nil {
		// Not readable here (azblob://, …) or not reachable: the CLI answers, and reports a
		// backend it cannot reach itself.
		reader = nil
	} else {
		done = func() { _ = reader.Close() }
	}
	presence, err := presenceOf(ctx, reader, e.ProjectName(), t.Stack)
	if err != nil {
		presence = presenceUnknown
	}
	wsOpts = append(wsOpts, auto.Program(t.program()))
	if reader != nil {
		cmd, _ := e.pulumiCommand() // checked by workspaceOptions
		wsOpts = append(wsOpts, auto.Pulumi(historyCLI{PulumiCommand: cmd, state: reader,
			project: e.ProjectName(), since: time.Now()}))
	}
	ws, err := auto.NewLocalWorkspace(ctx, wsOpts...)
	if err != nil {
		return auto.Stack{}, presence, done, fmt.Errorf("open stack %s: %w", t.Stack, err)
	}
	sw := &stackWorkspace{Workspace: ws, known: presence == presenceEmpty || presence == presenceHolding,
		state: reader, project: e.ProjectName()}
	var s auto.Stack
	switch {
	case presence == presenceMissing && !create:
		return auto.Stack{}, presence, done, &notFoundError{stack: t.Stack}
	case presence == presenceMissing:
		s, err = e.createStack(ctx, sw, reader, t.Stack)
	case presence == presenceUnknown && create:
		s, err = auto.UpsertStack(ctx, t.Stack, sw)
	default:
		s, err = auto.SelectStack(ctx, t.Stack, sw)
	}
	if err != nil {
		return auto.Stack{}, presence, done, fmt.Errorf("open stack %s: %w", t.Stack, err)
	}
	if len(t.Config) > 0 {
		written, err := writeStackConfig(ctx, sw, t.Stack, t.Config)
		if err == nil && !written {
			err = s.SetAllConfig(ctx, t.Config)
		}
		if err != nil {
			return auto.Stack{}, presence, done, fmt.Errorf("set config of %s: %w", t.Stack, err)
		}
	}
	return s, presence, done, nil
}

// createStack creates a missing stack: in-process where the engine can (initStackInProcess),
// else with `pulumi stack init`. A stack another process created since the backend was read is
// selected instead, as `up` on an existing stack would.
func (e *Engine) createStack(ctx context.Context, sw *stackWorkspace, r *statestore.Reader, stack string) (auto.Stack, error) {
	switch err := e.initStackInProcess(ctx, sw, r, stack); {
	case err == nil, errors.Is(err, statestore.ErrStackExists):
		sw.known = true
		return auto.SelectStack(ctx, stack, sw)
	case !errors.Is(err, errInitByCLI):
		return auto.Stack{}, err
	}
	s, err := auto.NewStack(ctx, stack, sw)
	if auto.IsCreateStack409Error(err) {
		s, err = auto.SelectStack(ctx, stack, sw)
	}
	return s, err
}

// IsNotFound reports whether err says a stack does not exist.
func IsNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf) || auto.IsSelectStack404Error(err)
}

type notFoundError struct{ stack string }

func (n *notFoundError) Error() string { return "stack " + n.stack + " not found" }

// emptyProgram stands in where an operation does not run the program (destroy, cancel).
func emptyProgram(*pulumi.Context) error { return nil }

// program is the target's program, or emptyProgram for operations that do not run one.
func (t Target) program() pulumi.RunFunc {
	if t.Program == nil {
		return emptyProgram
	}
	return t.Program
}

// DataDir is where workspaces, PULUMI_HOME and engine-side records live.
func (e *Engine) DataDir() string { return e.dataDir }
