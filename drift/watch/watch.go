// Package watch runs drift checks on an interval (tenantctl drift watch): jittered so a fleet of
// watchers does not hit the APIs in lockstep, resilient (a failing tenant or a failing run never
// stops the loop), and observable through Prometheus metrics.
package watch

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectsoft/tenantctl/drift/report"
)

// CheckFunc runs one drift check. A report with per-tenant errors is a normal result; an error
// means the run produced no report at all (e.g. the desired state is unreadable).
type CheckFunc func(ctx context.Context) (*report.Report, error)

// Options tune a Loop.
type Options struct {
	Interval time.Duration
	// Jitter is the fraction of Interval added or removed at random (0.1 = ±10%).
	Jitter float64
	// Once runs a single check and returns (CronJob mode).
	Once bool
	// OnReport receives every report (the CLI saves it for `status` and prints a summary).
	OnReport func(*report.Report)
	Logger   *slog.Logger
}

// Loop is a drift watcher.
type Loop struct {
	check   CheckFunc
	opts    Options
	metrics *Metrics
	now     func() time.Time
	sleep   func(context.Context, time.Duration) bool
}

// New builds a Loop that records into m.
func New(check CheckFunc, m *Metrics, opts Options) *Loop {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Loop{check: check, opts: opts, metrics: m, now: time.Now, sleep: sleepCtx}
}

// Run checks until ctx is cancelled (or once). It returns the last report's exit code semantics
// only in Once mode; a watcher's own health is in its metrics.
func (l *Loop) Run(ctx context.Context) (*report.Report, error) {
	var last *report.Report
	for {
		r, err := l.runOnce(ctx)
		if r != nil {
			last = r
		}
		if l.opts.Once {
			return last, err
		}
		if !l.sleep(ctx, l.next()) {
			return last, nil
		}
	}
}

func (l *Loop) runOnce(ctx context.Context) (r *report.Report, err error) {
	start := l.now()
	defer func() {
		// One bad run (a detector bug, a panic on odd live data) must not end the watcher.
		if p := recover(); p != nil {
			err = errors.New("drift check panicked")
			l.opts.Logger.Error("drift check panicked", "panic", p)
		}
		l.metrics.observeRun(start, l.now(), r, err)
	}()
	r, err = l.check(ctx)
	if err != nil {
		l.opts.Logger.Error("drift check failed", "error", err)
		return nil, err
	}
	if l.opts.OnReport != nil {
		l.opts.OnReport(r)
	}
	l.opts.Logger.Info("drift check finished", "commit", r.Commit, "findings", len(r.Findings), "errors", len(r.Errors), "status", r.Status())
	return r, nil
}

// next is the interval with ±jitter.
func (l *Loop) next() time.Duration {
	if l.opts.Jitter <= 0 {
		return l.opts.Interval
	}
	j := (rand.Float64()*2 - 1) * l.opts.Jitter
	return time.Duration(float64(l.opts.Interval) * (1 + j))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Metrics are the watcher's Prometheus series.
type Metrics struct {
	reg        *prometheus.Registry
	findings   *prometheus.GaugeVec
	tenantErrs *prometheus.GaugeVec
	runs       *prometheus.CounterVec
	lastRun    prometheus.Gauge
	lastOK     prometheus.Gauge
	duration   prometheus.Histogram
}

// NewMetrics registers the series in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantctl_drift_findings", Help: "Findings of the last drift check by kind, severity, tenant and environment.",
		}, []string{"kind", "severity", "tenant", "environment"}),
		tenantErrs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantctl_drift_tenant_errors", Help: "1 when the last check could not check the tenant (an unreachable API is an error, never clean).",
		}, []string{"tenant", "environment"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_drift_runs_total", Help: "Drift checks run, by result (clean, drift, error).",
		}, []string{"result"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantctl_drift_last_run_timestamp_seconds", Help: "When the last drift check finished.",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantctl_drift_last_success_timestamp_seconds", Help: "When the last drift check that produced a report without errors finished.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tenantctl_drift_run_duration_seconds", Help: "Duration of drift checks.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
		}),
	}
	m.reg.MustRegister(m.findings, m.tenantErrs, m.runs, m.lastRun, m.lastOK, m.duration)
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRun(start, end time.Time, r *report.Report, err error) {
	m.lastRun.Set(float64(end.Unix()))
	m.duration.Observe(end.Sub(start).Seconds())
	if err != nil || r == nil {
		m.runs.WithLabelValues("error").Inc()
		return
	}
	// Gauges describe the last report only: tenants that became clean drop to absent.
	m.findings.Reset()
	m.tenantErrs.Reset()
	for _, f := range r.Findings {
		m.findings.WithLabelValues(string(f.Kind), string(f.Severity), f.TenantID, f.Environment).Inc()
	}
	for _, e := range r.Errors {
		m.tenantErrs.WithLabelValues(e.TenantID, e.Environment).Set(1)
	}
	switch r.Status() {
	case report.StatusClean:
		m.runs.WithLabelValues("clean").Inc()
		m.lastOK.Set(float64(end.Unix()))
	case report.StatusDrifted:
		m.runs.WithLabelValues("drift").Inc()
		m.lastOK.Set(float64(end.Unix()))
	default:
		m.runs.WithLabelValues("error").Inc()
	}
}
