package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/remediate"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/drift/watch"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
)

func init() { registerDrift(newDriftWatchCmd) }

type watchOptions struct {
	check        driftCheckFlags
	interval     time.Duration
	jitter       float64
	metricsAddr  string
	once         bool
	remediate    string
	imports      bool
	yes          bool
	approvalFile string
}

func newDriftWatchCmd(g *globalOptions) *cobra.Command {
	o := &watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch [--interval 10m] [--once]",
		Short: "Check for drift on an interval, serving Prometheus metrics (a Deployment, or a CronJob with --once)",
		Long: `Check for drift every --interval (±--jitter), forever or --once.

Each run reloads the desired state (keep it synced from Git beside the watcher), runs the same
live check as drift check (same flags), saves the report where status reads it and updates the
metrics served on --metrics-addr (/metrics, /healthz). A failing tenant or a failing run never
stops the loop.
With --remediate auto every run is followed by the remediation drift remediate --mode auto would
apply (production needs --yes or --approval-file). SIGTERM stops the watcher after the current
engine operation stops.

--once exits with the check's code: 0 clean, 2 findings, 1 errors.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runWatch(cmd, g, o) },
	}
	o.check.add(cmd, g, true)
	fs := cmd.Flags()
	fs.DurationVar(&o.interval, "interval", 10*time.Minute, "time between checks")
	fs.Float64Var(&o.jitter, "jitter", 0.1, "random fraction of the interval added or removed (0.1 = ±10%)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:9464", "address serving /metrics and /healthz (empty: none)")
	fs.BoolVar(&o.once, "once", false, "run one check and exit with its code (CronJob)")
	fs.StringVar(&o.remediate, "remediate", "", `"auto": apply the remediation plan after every check`)
	fs.BoolVar(&o.imports, "import", false, "with --remediate: adopt unmanaged resources (not supported: they stay reported)")
	fs.BoolVarP(&o.yes, "yes", "y", false, "with --remediate: approve remediation in production environments")
	fs.StringVar(&o.approvalFile, "approval-file", "", "with --remediate: approval for production (operation drift-remediate)")
	return cmd
}

func (o *watchOptions) validate() error {
	switch {
	case o.interval <= 0:
		return fmt.Errorf("--interval %s: must be positive", o.interval)
	case o.jitter < 0 || o.jitter >= 1:
		return fmt.Errorf("--jitter %g: want 0 <= jitter < 1", o.jitter)
	case o.remediate != "" && o.remediate != string(remediate.ModeAuto):
		return fmt.Errorf("--remediate %q: the only value is auto", o.remediate)
	}
	return nil
}

func runWatch(cmd *cobra.Command, g *globalOptions, o *watchOptions) error {
	ctx := cmd.Context()
	if err := o.validate(); err != nil {
		return exitcode.With(exitcode.Invalid, err)
	}
	logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
	kubeconfig, err := o.check.resolveKubeconfig(cmd)
	if err != nil {
		return err
	}
	e, auditor, err := o.check.serveEngine(logger)
	if err != nil {
		return err
	}
	defer auditor.Close()
	rt := &remediation{engine: e, auditor: auditor, kubeconfig: kubeconfig, postgres: o.check.resolvePostgres(cmd), pgDSN: o.check.postgres}
	if o.remediate != "" {
		cfg, err := kube.RESTConfig(kubeconfig, "")
		if err != nil {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err))
		}
		if rt.cluster, err = remediate.NewKubeClusterForConfig(cfg); err != nil {
			return exitcode.With(exitcode.Failed, err)
		}
	}
	metrics := watch.NewMetrics()
	health := newWatchHealth(o.interval, time.Now())
	stopServer, _, err := serveMetrics(o.metricsAddr, metrics, health, logger)
	if err != nil {
		return err
	}
	defer stopServer()

	check := func(ctx context.Context) (*report.Report, error) {
		// reloaded every run: the folder may be kept in sync with Git beside the watcher
		state, err := isolation.Load(ctx, g.dir)
		if err != nil {
			return nil, err
		}
		rep, err := checkLive(ctx, g, &o.check, e, state, kubeconfig, rt.postgres, true, &logWriter{logger: logger})
		if err != nil {
			return nil, err
		}
		if o.remediate != "" {
			rt.state = state
			o.remediateAfter(ctx, rt, rep, logger)
		}
		return rep, nil
	}
	onReport := func(r *report.Report) { health.ran(time.Now(), driftExitCode(r.Status())) }
	last, err := watch.New(check, metrics, watch.Options{Interval: o.interval, Jitter: o.jitter, Once: o.once, OnReport: onReport, Logger: logger}).Run(ctx)
	if !o.once {
		logger.Info("drift watch stopped")
		return nil
	}
	if err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("drift watch --once: %w", err))
	}
	if code := driftExitCode(last.Status()); code != exitcode.OK {
		return exitcode.With(code, fmt.Errorf("drift watch --once: %d finding(s), %d error(s)", len(last.Findings), len(last.Errors)))
	}
	return nil
}

// remediateAfter plans and applies the remediation of one check. Failures are logged, never
// returned: a watcher keeps watching.
func (o *watchOptions) remediateAfter(ctx context.Context, rt *remediation, rep *report.Report, logger *slog.Logger) {
	plan, err := rt.plan(ctx, rep, remediate.ModeAuto, remediate.WithImport(o.imports))
	if err != nil {
		logger.Error("plan remediation", "error", err.Error())
		return
	}
	if plan.Changes() == 0 {
		return
	}
	if err := rt.approve(o.yes, o.approvalFile, plan); err != nil {
		logger.Error("remediation not approved", "error", err.Error())
		return
	}
	res, err := rt.apply(ctx, plan, "(drift watch --remediate auto)", &logWriter{logger: logger})
	if err != nil {
		logger.Error("apply remediation", "error", err.Error())
		return
	}
	counts := map[remediate.Outcome]int{}
	for _, a := range res.Actions {
		counts[a.Outcome]++
	}
	logger.Info("remediation applied", "applied", counts[remediate.OutcomeApplied], "refused", counts[remediate.OutcomeRefused],
		"failed", counts[remediate.OutcomeFailed]+counts[remediate.OutcomeNotRun], "unsupported", counts[remediate.OutcomeUnsupported],
		"reported", counts[remediate.OutcomeReported], "exitCode", exitCodeOf(res.Err()))
}

// saveLastReport writes the report where `status` reads it, atomically.
func saveLastReport(e *automation.Engine, r *report.Report) error {
	path := lastReportPath(e)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// private: state of this data dir, read back by `status`
	return writeFileAtomic(path, privateFile, func(w io.Writer) error { return report.JSON(w, r) })
}

// watchHealth backs /healthz: healthy until no check has finished for three intervals (a
// watcher stuck in one run, or failing before producing any report).
type watchHealth struct {
	mu       sync.Mutex
	interval time.Duration
	started  time.Time
	last     time.Time
	code     int
}

func newWatchHealth(interval time.Duration, started time.Time) *watchHealth {
	return &watchHealth{interval: interval, started: started, code: -1}
}

func (h *watchHealth) ran(at time.Time, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.code = at, code
}

type healthStatus struct {
	Status       string     `json:"status"`
	LastReport   *time.Time `json:"lastReport,omitempty"`
	LastExitCode *int       `json:"lastExitCode,omitempty"`
}

func (h *watchHealth) status(now time.Time) (healthStatus, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ref := h.started
	s := healthStatus{Status: "ok"}
	if !h.last.IsZero() {
		ref = h.last
		last, code := h.last, h.code
		s.LastReport, s.LastExitCode = &last, &code
	}
	if now.Sub(ref) > 3*h.interval {
		s.Status = "stale: no report for " + now.Sub(ref).Round(time.Second).String()
		return s, false
	}
	return s, true
}

func (h *watchHealth) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s, ok := h.status(time.Now())
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(s)
}

// serveMetrics serves /metrics and /healthz on addr until the returned stop is called, and
// returns the address it listens on. The listener is opened before returning, so a taken
// address fails the command at once.
func serveMetrics(addr string, m *watch.Metrics, h *watchHealth, logger *slog.Logger) (func(), string, error) {
	if addr == "" {
		return func() {}, "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", exitcode.With(exitcode.Invalid, fmt.Errorf("--metrics-addr %s: %w", addr, err))
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/healthz", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "error", err.Error())
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, ln.Addr().String(), nil
}

// logWriter turns progress lines into log records.
type logWriter struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.logger.Info(line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
