package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectsoft/tenantctl/api/jobs"
)

// Label values stand for a bounded set: route templates (never a raw path: a path holds tenant
// and job ids, and a scanner would blow up the series count), known methods, status codes,
// denial reasons of the code and job states. /metrics is public like /healthz, so no label may
// name a tenant, principal or job either.
const (
	// routeUnmatched is the route of requests no route pattern knows (404).
	routeUnmatched = "unmatched"
	// methodOther stands for a method outside the HTTP standard ones.
	methodOther = "other"
)

// serverMetrics are the API's Prometheus series, in a registry of their own: an embedding program's
// global registry is not polluted, and two servers in one process (tests) do not collide.
type serverMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	denials  *prometheus.CounterVec
	handler  http.Handler
}

func newServerMetrics(store *jobs.Store) *serverMetrics {
	m := &serverMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_api_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tenantctl_api_http_request_duration_seconds",
			Help: "Time to answer HTTP requests, by route template (an event stream counts until it ends).",
			// Status reads answer in milliseconds, a validate of a large folder or a job submission
			// that loads the desired state in seconds.
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_api_auth_denials_total",
			Help: "Requests refused by authentication or authorization, by reason (missing_token, bad_signature, expired, ..., tenant_mismatch, missing_scope, unknown_job), before the audit log's rate limit.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.denials, jobsCollector{store: store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
	return m
}

// observe counts one answered request.
func (m *serverMetrics) observe(pattern, method string, status int, elapsed time.Duration) {
	route := routeUnmatched
	if pattern != "" {
		// "GET /v1/jobs/{id}" → "/v1/jobs/{id}": the method is a label of its own.
		if _, path, ok := strings.Cut(pattern, " "); ok {
			route = path
		} else {
			route = pattern
		}
	}
	if status == 0 {
		// The handler wrote nothing: net/http answers 200 with an empty body.
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
}

func (m *serverMetrics) denied(reason string) {
	m.denials.WithLabelValues(reason).Inc()
}

func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return methodOther
}

// jobsCollector reads the job store at scrape time, so the gauge is never out of step with what
// GET /v1/jobs/{id} answers.
type jobsCollector struct{ store *jobs.Store }

var jobsDesc = prometheus.NewDesc("tenantctl_api_jobs",
	"Jobs the server holds, by state: queued and running ones, and the finished ones still kept (--job-history per tenant).",
	[]string{"state"}, nil)

func (c jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c jobsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.store.CountByStatus()
	for _, st := range jobs.Statuses {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}

// serveMetrics is GET /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *request) {
	s.metrics.handler.ServeHTTP(w, r)
}
