package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/api"
	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func init() { register(newServeCmd) }

// serveDriftRunner, when set (by the drift engine's wiring), gives the API its drift routes;
// without it they answer 501.
var serveDriftRunner func(e *automation.Engine, kubeconfig string) (api.DriftRunner, error)

type serveOptions struct {
	engineFlags
	addr            string
	issuer          string
	audience        string
	algorithms      []string
	tlsCert         string
	tlsKey          string
	policyDir       string
	shutdownTimeout time.Duration
	cancelGrace     time.Duration
	maxJobs         int
	jobHistory      int
	jobDir          string
	logLevel        string
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --issuer URL --audience AUD",
		Short: "Serve the engine's operations over an authenticated HTTP API (see docs/api.md)",
		Long: `serve exposes validate, status, preview/up/destroy/refresh and drift as a REST + JSON API for
automation. Callers present OAuth2/OIDC bearer tokens from --issuer with audience --audience;
scopes runtime.{resource}.{action} and the token's tenant_id decide what they may do. Operations
run as jobs (202 + /v1/jobs/{id}, progress as Server-Sent Events). Production mutations need an
allowing decision of the Rego policy (embedded default, or --policy-dir). GET /metrics serves
Prometheus metrics (requests, latency, jobs by state, denials by reason) without a token, like
/healthz and /readyz.

Plain HTTP is for loopback development; in production pass --tls-cert/--tls-key or terminate TLS
in front of the server. SIGTERM drains: no new jobs, running ones finish (up to
--shutdown-timeout, then they are interrupted).`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, g, o) },
	}
	o.engineFlags.add(cmd)
	fs := cmd.Flags()
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8443", "listen address")
	fs.StringVar(&o.issuer, "issuer", "", "OIDC issuer URL (discovery and keys are fetched from it)")
	fs.StringVar(&o.audience, "audience", "", "audience the access tokens must be issued for")
	fs.StringSliceVar(&o.algorithms, "token-alg", []string{"RS256"}, "accepted token signing algorithms (asymmetric only)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file")
	fs.StringVar(&o.policyDir, "policy-dir", "", "folder of .rego files replacing the default policy (data.tenantctl.authz.decision)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Minute, "on SIGTERM, how long running jobs may take before they are interrupted")
	fs.DurationVar(&o.cancelGrace, "cancel-grace", time.Minute, "how long interrupted jobs get to stop")
	fs.IntVar(&o.maxJobs, "max-jobs", 2, "jobs running at once (the others queue)")
	fs.IntVar(&o.jobHistory, "job-history", 1000, "finished jobs (and their Idempotency-Keys) kept per tenant for GET /v1/jobs/{id}")
	fs.StringVar(&o.jobDir, "job-dir", "", "where jobs and Idempotency-Keys are kept across restarts (default DATA_DIR/api-jobs)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (JSON lines on stderr)")
	return cmd
}

func runServe(cmd *cobra.Command, g *globalOptions, o *serveOptions) error {
	ctx := cmd.Context()
	if o.issuer == "" || o.audience == "" {
		return exitcode.With(exitcode.Invalid, errors.New("serve: --issuer and --audience are required"))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return exitcode.With(exitcode.Invalid, errors.New("serve: --tls-cert and --tls-key go together"))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("--log-level: %w", err))
	}
	logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	kubeconfig, err := o.resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	e, auditor, err := o.serveEngine(logger)
	if err != nil {
		return err
	}
	defer auditor.Close()
	pol, err := loadPolicy(ctx, o.policyDir)
	if err != nil {
		return exitcode.With(exitcode.Invalid, err)
	}
	verifier, err := auth.NewVerifier(ctx, auth.Config{Issuer: o.issuer, Audience: o.audience, Algorithms: o.algorithms})
	if err != nil {
		return exitcode.With(exitcode.Failed, err)
	}
	jobDir := o.jobDir
	if jobDir == "" {
		jobDir = filepath.Join(e.DataDir(), "api-jobs")
	}
	var drift api.DriftRunner
	if serveDriftRunner != nil {
		if drift, err = serveDriftRunner(e, kubeconfig); err != nil {
			return exitcode.With(exitcode.Failed, fmt.Errorf("drift engine: %w", err))
		}
	}
	secrets, err := newServeRotator(g.dir, e, kubeconfig, o.resolvePostgres(cmd), auditor)
	if err != nil {
		return err
	}
	srv, err := api.New(api.Config{
		Verifier: verifier, Policy: pol, Auditor: auditor, Logger: logger, Drift: drift, Secrets: secrets,
		Backend: api.EngineBackend{Engine: e, StateDir: g.dir, Kubeconfig: kubeconfig, Postgres: o.resolvePostgres(cmd)},
		Jobs:    jobs.Options{Concurrency: o.maxJobs, History: o.jobHistory, Dir: jobDir},
	})
	if err != nil {
		return exitcode.With(exitcode.Failed, err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("serve: %w", err))
	}
	return serveUntilSignal(ctx, logger, srv, ln, o)
}

func loadPolicy(ctx context.Context, dir string) (*policy.Evaluator, error) {
	if dir == "" {
		return policy.Default(ctx)
	}
	return policy.LoadDir(ctx, dir)
}

// serveUntilSignal serves until ctx ends (SIGINT/SIGTERM), then drains the jobs while still
// answering status and event requests, and stops. A second signal interrupts the drain.
func serveUntilSignal(ctx context.Context, logger *slog.Logger, srv *api.Server, ln net.Listener, o *serveOptions) error {
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	tlsOn := o.tlsCert != ""
	if !tlsOn && !isLoopbackAddr(ln.Addr()) {
		logger.Warn("serving plain HTTP on a non-loopback address: terminate TLS in front of this server")
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsOn {
			serveErr <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			serveErr <- hs.Serve(ln)
		}
	}()
	logger.Info("serving", "addr", ln.Addr().String(), "tls", tlsOn, "issuer", o.issuer, "audience", o.audience)
	select {
	case err := <-serveErr:
		return exitcode.With(exitcode.Failed, fmt.Errorf("serve: %w", err))
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining jobs", "timeout", o.shutdownTimeout.String())
	drainCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			logger.Warn("second signal: interrupting running jobs")
			cancel()
		case <-drainCtx.Done():
		}
	}()
	drainErr := srv.Drain(drainCtx, o.cancelGrace)
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	if err := hs.Shutdown(stopCtx); err != nil {
		_ = hs.Close()
	}
	if drainErr != nil {
		return exitcode.With(exitcode.Failed, drainErr)
	}
	logger.Info("stopped")
	return nil
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// serveEngine builds the engine like the other commands do, keeping the auditor: the API records
// its own events (denials, policy decisions) in the same log, through the same Auditor. Audit
// failures cannot be tied to one job, so they are logged.
func (f *engineFlags) serveEngine(logger *slog.Logger) (*automation.Engine, *audit.Auditor, error) {
	return f.build(nil,
		func(err error) { logger.Error("audit engine operation", "error", err.Error()) },
		audit.WithSinkErrorHandler(func(r audit.Record, err error) {
			logger.Error("audit sink", "seq", r.Seq, "error", err.Error())
		}))
}
