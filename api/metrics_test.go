package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/connectsoft/tenantctl/api/jobs"
)

// scrape reads /metrics as a Prometheus server would (no token) and parses the exposition.
func (h *harness) scrape() (map[string]*dto.MetricFamily, string) {
	h.t.Helper()
	code, hdr, body := h.do(call{method: "GET", path: "/metrics"})
	if code != http.StatusOK {
		h.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		h.t.Fatalf("GET /metrics Content-Type %q, want the text exposition format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		h.t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams, string(body)
}

// sample is the value of the series of family name whose labels are exactly labels: a counter's
// or gauge's value, a histogram's count. A missing series is 0, as Prometheus treats a counter
// that has not been incremented yet.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		return 0
	}
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
		t.Fatalf("%s%v has an unexpected type", name, labels)
	}
	return 0
}

func req(route, method, code string) map[string]string {
	return map[string]string{"route": route, "method": method, "code": code}
}

// TestMetricsCountRequestsDenialsAndJobs drives real requests through the handler and reads the
// counters, the latency histogram, the denial counter and the jobs gauge back from /metrics.
func TestMetricsCountRequestsDenialsAndJobs(t *testing.T) {
	h := newHarness(t)
	h.backend.hold = make(chan struct{})
	before, _ := h.scrape()

	globex := h.token("globex", "runtime.tenants.read", "runtime.deployments.read")
	type step struct {
		method, path, token string
		body                any
		want                int
	}
	steps := []step{
		{"GET", "/healthz", "", nil, http.StatusOK},
		{"GET", "/healthz", "", nil, http.StatusOK},
		{"GET", "/v1/tenants", "", nil, http.StatusUnauthorized},                      // missing_token
		{"GET", "/v1/tenants", "not-a-jwt", nil, http.StatusUnauthorized},             // malformed_token
		{"GET", "/v1/tenants/acme", globex, nil, http.StatusForbidden},                // tenant_mismatch
		{"POST", "/v1/tenants/globex/drift:check", globex, nil, http.StatusForbidden}, // missing_scope
		{"GET", "/v1/tenants/globex", globex, nil, http.StatusOK},
		{"POST", "/metrics", "", nil, http.StatusMethodNotAllowed},
		{"GET", "/no/such/route", "", nil, http.StatusNotFound},
	}
	for _, s := range steps {
		code, _, body := h.do(call{method: s.method, path: s.path, token: s.token, body: s.body})
		if code != s.want {
			t.Fatalf("%s %s = %d %s, want %d", s.method, s.path, code, body, s.want)
		}
	}

	// A job, held running by the backend until released.
	code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: globex,
		body: map[string]string{"operation": "preview"}})
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", code, body)
	}
	id := decode[jobs.View](t, body).ID
	h.waitStatus(globex, id, jobs.StatusRunning)
	running, _ := h.scrape()
	close(h.backend.hold)
	if v := h.waitJob(globex, id); v.Status != jobs.StatusSucceeded {
		t.Fatalf("job = %s %s", v.Status, v.Error)
	}
	after, text := h.scrape()

	delta := func(name string, labels map[string]string) float64 {
		return sample(t, after, name, labels) - sample(t, before, name, labels)
	}
	const requests = "tenantctl_api_http_requests_total"
	const latency = "tenantctl_api_http_request_duration_seconds"
	const denials = "tenantctl_api_auth_denials_total"
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{requests, req("/healthz", "GET", "200"), 2},
		{requests, req("/v1/tenants", "GET", "401"), 2},
		{requests, req("/v1/tenants/{tenant}", "GET", "403"), 1},
		{requests, req("/v1/tenants/{tenant}", "GET", "200"), 1},
		{requests, req("/v1/tenants/{tenant}/drift:check", "POST", "403"), 1},
		{requests, req("/v1/tenants/{tenant}/operations", "POST", "202"), 1},
		// The wrong method on /metrics keeps its 405 and is counted under the route.
		{requests, req("/metrics", "POST", "405"), 1},
		{requests, req("unmatched", "GET", "404"), 1},
		// The scrapes before this one: `running` and `after` itself is counted on completion.
		{requests, req("/metrics", "GET", "200"), 2},
		{latency, map[string]string{"route": "/healthz"}, 2},
		{latency, map[string]string{"route": "/v1/tenants"}, 2},
		{denials, map[string]string{"reason": "missing_token"}, 1},
		{denials, map[string]string{"reason": "malformed_token"}, 1},
		{denials, map[string]string{"reason": "tenant_mismatch"}, 1},
		{denials, map[string]string{"reason": "missing_scope"}, 1},
	} {
		if got := delta(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v moved by %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	const jobsGauge = "tenantctl_api_jobs"
	for _, tc := range []struct {
		fams      map[string]*dto.MetricFamily
		when      string
		running   float64
		succeeded float64
	}{
		{before, "before the job", 0, 0},
		{running, "while it runs", 1, 0},
		{after, "after it finished", 0, 1},
	} {
		got := []float64{sample(t, tc.fams, jobsGauge, map[string]string{"state": "running"}), sample(t, tc.fams, jobsGauge, map[string]string{"state": "succeeded"})}
		if got[0] != tc.running || got[1] != tc.succeeded {
			t.Errorf("%s: jobs running=%v succeeded=%v, want %v and %v", tc.when, got[0], got[1], tc.running, tc.succeeded)
		}
	}
	// Every state is exported, zero included, so dashboards and alerts never see a series vanish.
	if n := len(after[jobsGauge].GetMetric()); n != len(jobs.Statuses) {
		t.Errorf("%s has %d series, want one per state (%d)", jobsGauge, n, len(jobs.Statuses))
	}
	// The histogram has real buckets and a sum.
	for _, m := range after[latency].GetMetric() {
		if len(m.GetHistogram().GetBucket()) == 0 {
			t.Errorf("%s has no buckets", latency)
		}
	}
	// Go and process collectors.
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	// /metrics is public: nothing in it may name a tenant, a job or a raw path.
	for _, leak := range []string{"globex", "acme", id, "/no/such/route"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics names %q", leak)
		}
	}
}

// TestMetricsIsPublicAndKeeps405: /metrics answers without a token and ignores one a scraper
// presents (like /healthz), answers HEAD, and other methods get 405 with Allow.
func TestMetricsIsPublicAndKeeps405(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, token string
		want          int
		allow         string
	}{
		{"GET", "", http.StatusOK, ""},
		{"GET", "scraper-token-the-api-never-issued", http.StatusOK, ""},
		{"HEAD", "", http.StatusOK, ""},
		{"POST", "", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"DELETE", "", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		code, hdr, body := h.do(call{method: tc.method, path: "/metrics", token: tc.token})
		if code != tc.want || hdr.Get("Allow") != tc.allow {
			t.Errorf("%s /metrics (token %q) = %d Allow %q, want %d Allow %q (%s)", tc.method, tc.token, code, hdr.Get("Allow"), tc.want, tc.allow, body)
		}
	}
	fams, _ := h.scrape()
	if got := sample(t, fams, "tenantctl_api_auth_denials_total", map[string]string{"reason": "missing_token"}); got != 0 {
		t.Errorf("scrapes were counted as %v denials", got)
	}
}

// waitStatus polls a job until it reaches status.
func (h *harness) waitStatus(token, id string, status jobs.Status) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, _, body := h.do(call{method: "GET", path: "/v1/jobs/" + id, token: token})
		if decode[jobs.View](h.t, body).Status == status {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("job %s never reached %s", id, status)
}
