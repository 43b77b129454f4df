package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// engineFlags are the flags of every command that runs the engine.
type engineFlags struct {
	backend        string
	dataDir        string
	passphraseFile string
	secretsProv    string
	kubeconfig     string
	postgresConn   string
	parallel       int
	lockWait       time.Duration
	auditLog       string
	auditStdout    bool
	auditWebhook   string
	auditKey       string
	auditCheckpt   string
}

func (f *engineFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.backend, "backend", "", "state backend URL: file://DIR (default under the data dir), azblob://CONTAINER, postgres://...")
	fs.StringVar(&f.dataDir, "data-dir", "", "where workspaces, PULUMI_HOME and the default file state live (default $XDG_DATA_HOME/tenantctl)")
	fs.StringVar(&f.passphraseFile, "passphrase-file", "", "file holding the stacks' secrets passphrase (or set PULUMI_CONFIG_PASSPHRASE); never pass the passphrase itself as a flag")
	fs.StringVar(&f.secretsProv, "secrets-provider", "passphrase", "secrets provider: passphrase, or azurekeyvault://VAULT.vault.azure.net/keys/KEY for production")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig path for the Kubernetes provider (default: the running local cluster, else $KUBECONFIG)")
	fs.StringVar(&f.postgresConn, "postgres-connection", "", "data layer's server: a connection file (JSON: host, port, adminRole, passwordFile, sslmode) for environments that keep tenant data on PostgreSQL (default $TENANTCTL_POSTGRES_CONNECTION, else the running local server)")
	fs.IntVar(&f.parallel, "parallel", runtime.NumCPU(), "stacks operated on at once")
	fs.DurationVar(&f.lockWait, "lock-wait", 0, "when a stack is locked by another process, retry with backoff for this long before reporting a conflict")
	fs.StringVar(&f.auditLog, "audit-log", "", "audit log path (default $XDG_STATE_HOME/tenantctl/audit.jsonl)")
	fs.BoolVar(&f.auditStdout, "audit-stdout", false, "also write every audit record to stderr as JSON")
	fs.StringVar(&f.auditWebhook, "audit-webhook", "", "also post every audit record to this URL (HMAC key from $TENANTCTL_AUDIT_WEBHOOK_KEY)")
	fs.StringVar(&f.auditKey, "audit-signing-key", "", "ed25519 key signing audit records and checkpoints, created on first use (default $XDG_CONFIG_HOME/tenantctl/audit-signing.key)")
	fs.StringVar(&f.auditCheckpt, "audit-checkpoint", "", "second copy of the audit log's signed checkpoint (default DATA_DIR/audit-checkpoints/<log>.checkpoint, beside the file state)")
}

// auditConfig is the audit log every engine command writes: signed records, the head file beside
// the log and a second checkpoint copy in the data dir.
func (f *engineFlags) auditConfig(secretValues []string) (audit.Config, error) {
	key := f.auditKey
	if key == "" {
		var err error
		if key, err = audit.DefaultSigningKeyPath(); err != nil {
			return audit.Config{}, err
		}
	}
	logPath := f.auditLog
	if logPath == "" {
		var err error
		if logPath, err = audit.DefaultPath(); err != nil {
			return audit.Config{}, err
		}
	}
	checkpoint := f.auditCheckpt
	if checkpoint == "" {
		dir := f.dataDir
		if dir == "" {
			dir = automation.DefaultDataDir()
		}
		checkpoint = audit.CheckpointCopyPath(dir, logPath)
	}
	cfg := audit.Config{Path: logPath, HeadFile: true, WebhookURL: f.auditWebhook, SecretValues: secretValues,
		SigningKeyFile: key, CheckpointFile: checkpoint}
	if f.auditStdout {
		cfg.Stdout = os.Stderr
	}
	return cfg, nil
}

// resolveKubeconfig picks the cluster the programs target.
func (f *engineFlags) resolveKubeconfig(cmd *cobra.Command) (string, error) {
	if f.kubeconfig != "" {
		return f.kubeconfig, nil
	}
	if kc, ok := localcluster.Running(cmd.Context(), defaultClusterDir()); ok {
		return kc, nil
	}
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		return kc, nil
	}
	return "", exitcode.With(exitcode.Invalid, errors.New("no cluster: pass --kubeconfig, set KUBECONFIG, or start the local cluster with `tenantctl local-cluster up`"))
}

// resolvePostgres picks the data layer's connection file: the flag, the environment, else the
// running local server's; "" when there is none (the programs of environments that keep data on
// PostgreSQL then fail with what to do).
func (f *engineFlags) resolvePostgres(cmd *cobra.Command) string {
	return resolvePostgresConnection(cmd, f.postgresConn)
}

func resolvePostgresConnection(cmd *cobra.Command, flag string) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv("TENANTCTL_POSTGRES_CONNECTION"); v != "" {
		return v
	}
	if in, ok := localpostgres.Running(cmd.Context(), filepath.Join(defaultClusterDir(), "postgres")); ok {
		return in.InfoPath()
	}
	return ""
}

func (f *engineFlags) resolvePassphraseFile() {
	if os.Getenv("TENANTCTL_PASSPHRASE_FILE") != "" && f.passphraseFile == "" {
		f.passphraseFile = os.Getenv("TENANTCTL_PASSPHRASE_FILE")
	}
}

// requireEngine is called by commands about to run the engine (up, preview, refresh, destroy,
// remediation, rotation, drift check --engine-only), so a missing passphrase or tool is reported
// before anything starts instead of once per stack: the passphrase as invalid input (exit 3),
// missing tools as a failure (exit 1) saying where they are looked for.
func (f *engineFlags) requireEngine() error {
	f.resolvePassphraseFile()
	if f.secretsProv == "passphrase" && f.passphraseFile == "" {
		_, env := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE")
		_, envFile := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE_FILE")
		if !env && !envFile {
			return exitcode.With(exitcode.Invalid, errors.New("the passphrase secrets provider needs --passphrase-file, TENANTCTL_PASSPHRASE_FILE, PULUMI_CONFIG_PASSPHRASE_FILE or PULUMI_CONFIG_PASSPHRASE"))
		}
	}
	if err := toolchain.Default().CheckEngine(); err != nil {
		return exitcode.With(exitcode.Failed, err)
	}
	return nil
}

// engine builds the engine with an auditor. The returned closer flushes the audit log; a failed
// audit write is reported through auditErr. It requires neither the tools nor a passphrase (see
// requireEngine).
func (f *engineFlags) engine(progress func(automation.Progress)) (*automation.Engine, func() error, *error, error) {
	var auditErr error
	e, auditor, err := f.newEngine(progress, func(err error) { auditErr = errors.Join(auditErr, err) })
	if err != nil {
		return nil, nil, nil, err
	}
	return e, auditor.Close, &auditErr, nil
}

// build creates the audit log and the engine that records into it, for a command that runs the
// engine (requireEngine first). onAuditErr receives failures
// to record an engine operation; the auditor options reach the audit log (e.g. a sink error
// handler). Commands that write their own audit events (serve, remediate) keep the auditor.
func (f *engineFlags) build(progress func(automation.Progress), onAuditErr func(error), auditorOpts ...audit.AuditorOption) (*automation.Engine, *audit.Auditor, error) {
	if err := f.requireEngine(); err != nil {
		return nil, nil, err
	}
	return f.newEngine(progress, onAuditErr, auditorOpts...)
}

// newEngine is build without requireEngine.
func (f *engineFlags) newEngine(progress func(automation.Progress), onAuditErr func(error), auditorOpts ...audit.AuditorOption) (*automation.Engine, *audit.Auditor, error) {
	// No passphrase and no tools are required here: read-only commands (status, the drift fast
	// path) read the state backend directly. Commands that run the engine call requireEngine, and
	// the engine itself checks both before its first CLI call.
	f.resolvePassphraseFile()
	var secretValues []string
	if p := os.Getenv("PULUMI_CONFIG_PASSPHRASE"); p != "" {
		secretValues = append(secretValues, p)
	}
	if f.passphraseFile != "" {
		b, err := os.ReadFile(f.passphraseFile)
		if err != nil {
			return nil, nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--passphrase-file: %w", err))
		}
		// The audit log never writes the passphrase, even if something tried to record it.
		if s := strings.TrimRight(string(b), "\r\n"); s != "" {
			secretValues = append(secretValues, string(b), s)
		}
	}
	cfg, err := f.auditConfig(secretValues)
	if err != nil {
		return nil, nil, exitcode.With(exitcode.Invalid, err)
	}
	auditor, err := audit.NewFromConfig(cfg, auditorOpts...)
	if err != nil {
		return nil, nil, exitcode.With(exitcode.Failed, fmt.Errorf("audit log: %w", err))
	}
	opts := []automation.Option{
		automation.WithSecrets(automation.SecretsConfig{Provider: f.secretsProv, PassphraseFile: f.passphraseFile}),
		automation.WithParallel(f.parallel),
		automation.WithLockWait(f.lockWait),
		automation.WithPrincipal(audit.LocalPrincipal()),
		automation.WithAuditor(automation.AuditLog{Auditor: auditor, OnError: onAuditErr}),
	}
	if progress != nil {
		opts = append(opts, automation.WithProgress(progress))
	}
	if f.backend != "" {
		opts = append(opts, automation.WithBackend(f.backend))
	}
	if f.dataDir != "" {
		opts = append(opts, automation.WithDataDir(f.dataDir))
	}
	if v := os.Getenv("TENANTCTL_SHARED_PROVIDERS"); v == "0" || strings.EqualFold(v, "false") {
		opts = append(opts, automation.WithSharedProviders(false))
	}
	e, err := automation.New(opts...)
	if err != nil {
		auditor.Close()
		return nil, nil, exitcode.With(exitcode.Failed, err)
	}
	// The provider plugins the engine keeps running stop when the command returns.
	atExit(e.Close)
	return e, auditor, nil
}
