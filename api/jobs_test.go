package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/audit"
)

const trace = "4bf92f3577b34da6a3ce929d0e0e4736"

func traceparent() map[string]string {
	return map[string]string{"traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}
}

// TestOperationJobWithEvents: a preview is accepted as a job (202 + Location), its events stream
// over SSE to a final result, and the job, its log lines and the engine call carry the caller's
// trace id.
func TestOperationJobWithEvents(t *testing.T) {
	h := newHarness(t)
	tok := h.token("globex", "runtime.deployments.read")
	code, hdr, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok,
		body: map[string]string{"operation": "preview"}, header: traceparent()})
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", code, body)
	}
	v := decode[jobs.View](t, body)
	if hdr.Get("Location") != "/v1/jobs/"+v.ID {
		t.Errorf("Location = %q", hdr.Get("Location"))
	}
	want := jobs.Spec{Kind: "operation", Operation: "preview", TenantID: "globex", Environment: "dev",
		Stack: "tenant.globex.dev", Principal: "svc-globex", TraceID: trace}
	if diff := cmp.Diff(want, v.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	evs := h.stream(tok, v.ID, 0)
	if diff := cmp.Diff([]string{"status", "progress", "progress", "progress", "result"}, types(evs)); diff != "" {
		t.Fatalf("event types (-want +got):\n%s", diff)
	}
	final := decode[jobs.View](t, []byte(evs[len(evs)-1].data))
	if final.Status != jobs.StatusSucceeded || final.FinishedAt == nil {
		t.Fatalf("final = %+v", final)
	}
	// Resuming after the second event replays only what followed.
	resumed := h.stream(tok, v.ID, evs[1].id)
	if diff := cmp.Diff(types(evs[2:]), types(resumed)); diff != "" {
		t.Errorf("resumed stream (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"preview globex dev"}, h.backend.ranOps()); diff != "" {
		t.Errorf("engine calls (-want +got):\n%s", diff)
	}
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, v.ID) && !strings.Contains(line, `"trace_id":"`+trace+`"`) {
			t.Errorf("job log line without the trace id: %s", line)
		}
	}
	// Another tenant cannot read the job, nor learn that it exists or whose it is (issue 14.10):
	// the answer is the one for an id that was never issued.
	other := h.token("acme", "runtime.deployments.read")
	for _, path := range []string{"/v1/jobs/" + v.ID, "/v1/jobs/" + v.ID + "/events"} {
		code, _, body := h.do(call{method: "GET", path: path, token: other})
		unknownPath := strings.Replace(path, v.ID, "0190aaaa-0000-7000-8000-000000000000", 1)
		_, _, unknownBody := h.do(call{method: "GET", path: unknownPath, token: other})
		got, want := decode[map[string]any](t, body), decode[map[string]any](t, unknownBody)
		for _, p := range []map[string]any{got, want} {
			delete(p, "detail")
			delete(p, "traceId")
			delete(p, "instance")
		}
		if code != http.StatusNotFound || !cmp.Equal(want, got) || strings.Contains(string(body), "globex") {
			t.Errorf("other tenant reading %s: %d %s, want the unknown-job answer %s", path, code, body, unknownBody)
		}
	}
}

// TestConcurrentUpdateConflict: a second job on a stack with an active job is 409 naming the
// running job; once it finished the stack takes new jobs.
func TestConcurrentUpdateConflict(t *testing.T) {
	h := newHarness(t)
	h.backend.hold = make(chan struct{})
	tok := h.token("globex", "runtime.deployments.write", "runtime.deployments.read")
	up := call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}}
	code, _, body := h.do(up)
	if code != http.StatusAccepted {
		t.Fatalf("first up: %d %s", code, body)
	}
	first := decode[jobs.View](t, body)
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "preview"}})
	if code != http.StatusConflict {
		t.Fatalf("second job: %d %s, want 409", code, body)
	}
	if p := decode[map[string]any](t, body); p["runningJob"] != first.ID {
		t.Errorf("409 names job %v, want %s", p["runningJob"], first.ID)
	}
	// Another tenant's stack is not blocked.
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/initech/operations", token: h.token("initech", "runtime.deployments.read"),
		body: map[string]string{"operation": "preview"}})
	if code != http.StatusAccepted {
		t.Fatalf("other stack: %d %s", code, body)
	}
	close(h.backend.hold)
	if v := h.waitJob(tok, first.ID); v.Status != jobs.StatusSucceeded {
		t.Fatalf("first job: %+v", v)
	}
	code, _, body = h.do(up)
	if code != http.StatusAccepted {
		t.Fatalf("after the first finished: %d %s", code, body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	h.backend.hold = make(chan struct{})
	defer close(h.backend.hold)
	tok := h.token("globex", "runtime.deployments.write")
	key := map[string]string{"Idempotency-Key": "deploy-42"}
	code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}, header: key})
	if code != http.StatusAccepted {
		t.Fatalf("first: %d %s", code, body)
	}
	first := decode[jobs.View](t, body)
	// Same request, other formatting: the first job, not a 409.
	code, hdr, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: `{ "operation" : "up" }`, header: key})
	if code != http.StatusAccepted || decode[jobs.View](t, body).ID != first.ID || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %s (replayed %q)", code, body, hdr.Get("Idempotent-Replayed"))
	}
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "destroy"}, header: key})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %d %s, want 422", code, body)
	}
	// Keys are per principal: another caller's identical key is its own.
	other := h.iss.Token(t, h.iss.Claims(audience, "svc-other", "globex", "runtime.deployments.write"))
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: other, body: map[string]string{"operation": "up"}, header: key})
	if code != http.StatusConflict {
		t.Fatalf("other principal, same key: %d %s, want 409 (its own request, on a busy stack)", code, body)
	}
	code, _, _ = h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"},
		header: map[string]string{"Idempotency-Key": "bad key"}})
	if code != http.StatusBadRequest {
		t.Errorf("malformed key: %d, want 400", code)
	}
}

// TestProductionPolicy: production mutations run only after an allowing policy decision, which
// is audited with its reasons and the request's trace id; a denial changes nothing.
func TestProductionPolicy(t *testing.T) {
	tests := []struct {
		name    string
		scopes  []string
		body    map[string]string
		status  jobs.Status
		ran     []string
		reasons []string
	}{
		{"no prod scope, no ticket", []string{"runtime.deployments.write"}, map[string]string{"operation": "up", "environment": "prod"},
			jobs.StatusDenied, []string{"preview acme prod"},
			[]string{"a change ticket (request.ticket, e.g. CHG-1234) is required", "the principal lacks the runtime.deployments.prod scope"}},
		{"scope and ticket", []string{"runtime.deployments.write", "runtime.deployments.prod"}, map[string]string{"operation": "up", "environment": "prod", "ticket": "CHG-1234"},
			jobs.StatusSucceeded, []string{"preview acme prod", "up acme prod"}, []string{"production change with ticket and scope"}},
		{"destroy by the tenant", []string{"runtime.deployments.write", "runtime.deployments.prod"}, map[string]string{"operation": "destroy", "environment": "prod", "ticket": "CHG-1234"},
			jobs.StatusDenied, nil, []string{"destroying a production tenant is reserved to platform operators (runtime.tenants.all)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tok := h.token("acme", tc.scopes...)
			code, _, body := h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: tok, body: tc.body, header: traceparent()})
			if code != http.StatusAccepted {
				t.Fatalf("submit: %d %s", code, body)
			}
			v := h.waitJob(tok, decode[jobs.View](t, body).ID)
			if v.Status != tc.status {
				t.Fatalf("status = %s (%s), want %s", v.Status, v.Error, tc.status)
			}
			if v.Policy == nil {
				t.Fatal("job carries no policy decision")
			}
			if diff := cmp.Diff(tc.reasons, v.Policy.Reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ran, h.backend.ranOps()); diff != "" {
				t.Errorf("engine calls (-want +got):\n%s", diff)
			}
			recs := h.audit(audit.Filter{Type: audit.TypePolicyDecision, TraceID: trace})
			if len(recs) != 1 {
				t.Fatalf("%d policy.decision records with the trace id, want 1", len(recs))
			}
			r := recs[0]
			wantOutcome := audit.OutcomeDenied
			if tc.status == jobs.StatusSucceeded {
				wantOutcome = audit.OutcomeAllowed
			}
			if r.Outcome != wantOutcome || r.TenantID != "acme" || r.Environment != "prod" || r.Principal != "svc-acme" ||
				r.Reason != strings.Join(tc.reasons, "; ") || r.Details["jobId"] != v.ID || !strings.HasPrefix(r.Details["policy"], "default@sha256:") {
				t.Errorf("audit record = %+v", r)
			}
		})
	}
}

// TestNonProductionSkipsPolicy: the policy gates production only (no preview, no decision).
func TestNonProductionSkipsPolicy(t *testing.T) {
	h := newHarness(t)
	tok := h.token("acme", "runtime.deployments.write")
	code, _, body := h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: tok, body: map[string]string{"operation": "up", "environment": "dev"}})
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", code, body)
	}
	v := h.waitJob(tok, decode[jobs.View](t, body).ID)
	if v.Status != jobs.StatusSucceeded || v.Policy != nil {
		t.Fatalf("job = %+v", v)
	}
	if diff := cmp.Diff([]string{"up acme dev"}, h.backend.ranOps()); diff != "" {
		t.Errorf("engine calls (-want +got):\n%s", diff)
	}
}

func TestJobOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*fakeBackend)
		status   jobs.Status
		errorHas string
	}{
		{"engine conflict", func(f *fakeBackend) { f.conflict.Store(true) }, jobs.StatusConflict, "locked"},
		{"stack failure with a secret in the message", func(f *fakeBackend) { f.fail.Store("login failed for passphrase hunter2-passphrase") },
			jobs.StatusFailed, "passphrase [REDACTED]"},
		// Not registered anywhere: the classifier recognises the credentials themselves.
		{"stack failure with a connection string", func(f *fakeBackend) {
			f.fail.Store("connect Server=db;Password=unregistered-Zq9; as postgres://app:unregistered-Zq9@db/x --client-secret unregistered-Zq9")
		}, jobs.StatusFailed, "Password=[REDACTED]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h.backend)
			tok := h.token("globex", "runtime.deployments.write")
			code, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}})
			if code != http.StatusAccepted {
				t.Fatalf("submit: %d %s", code, body)
			}
			id := decode[jobs.View](t, body).ID
			v := h.waitJob(tok, id)
			if v.Status != tc.status || !strings.Contains(v.Error, tc.errorHas) {
				t.Fatalf("job = %s %q, want %s containing %q", v.Status, v.Error, tc.status, tc.errorHas)
			}
			_, _, raw := h.do(call{method: "GET", path: "/v1/jobs/" + id, token: tok})
			events := h.stream(tok, id, 0)
			for _, e := range events {
				raw = append(raw, e.data...)
			}
			for _, canary := range []string{"hunter2-passphrase", "unregistered-Zq9"} {
				if strings.Contains(string(raw)+h.logs.String(), canary) {
					t.Errorf("secret value %s left the server", canary)
				}
			}
		})
	}
}

func TestUnknownTargets(t *testing.T) {
	h := newHarness(t)
	op := h.token("", "runtime.deployments.write", "runtime.tenants.all", "runtime.deployments.read")
	tests := []struct {
		name string
		c    call
		want int
	}{
		{"unknown tenant", call{method: "POST", path: "/v1/tenants/nobody/operations", token: op, body: map[string]string{"operation": "up"}}, http.StatusNotFound},
		{"unknown environment", call{method: "POST", path: "/v1/tenants/globex/operations", token: op, body: map[string]string{"operation": "up", "environment": "prod"}}, http.StatusNotFound},
		{"ambiguous environment", call{method: "POST", path: "/v1/tenants/acme/operations", token: op, body: map[string]string{"operation": "up"}}, http.StatusUnprocessableEntity},
		{"unknown operation", call{method: "POST", path: "/v1/tenants/acme/operations", token: op, body: map[string]string{"operation": "import"}}, http.StatusBadRequest},
		{"unknown member", call{method: "POST", path: "/v1/tenants/acme/operations", token: op, body: `{"operation":"up","force":true}`}, http.StatusBadRequest},
		{"unknown job", call{method: "GET", path: "/v1/jobs/0190f3c2-0000-7000-8000-000000000000", token: op}, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := h.do(tc.c)
			if code != tc.want {
				t.Fatalf("%d %s, want %d", code, body, tc.want)
			}
			if hdr.Get("Content-Type") != "application/problem+json" || decode[map[string]any](t, body)["traceId"] == "" {
				t.Errorf("not a problem with a trace id: %s %s", hdr.Get("Content-Type"), body)
			}
		})
	}
}

// TestGracefulShutdown: draining refuses new jobs (503) and reports not ready, lets a running job
// finish when it can, and cancels it when the timeout passes.
func TestGracefulShutdown(t *testing.T) {
	t.Run("job finishes during the drain", func(t *testing.T) {
		h := newHarness(t)
		h.backend.hold = make(chan struct{})
		tok := h.token("globex", "runtime.deployments.write")
		_, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}})
		id := decode[jobs.View](t, body).ID
		drained := make(chan error, 1)
		go func() { drained <- h.server.Drain(context.Background(), time.Second) }()
		waitFor(t, func() bool { return h.server.Jobs().Draining() })
		code, hdr, _ := h.do(call{method: "POST", path: "/v1/tenants/initech/operations", token: h.token("initech", "runtime.deployments.write"),
			body: map[string]string{"operation": "up"}})
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("submit while draining: %d, want 503 with Retry-After", code)
		}
		if code, _, _ := h.do(call{method: "GET", path: "/readyz"}); code != http.StatusServiceUnavailable {
			t.Errorf("readyz while draining: %d", code)
		}
		close(h.backend.hold)
		if err := <-drained; err != nil {
			t.Fatalf("drain: %v", err)
		}
		if v := h.waitJob(tok, id); v.Status != jobs.StatusSucceeded {
			t.Errorf("job = %s", v.Status)
		}
	})
	t.Run("timeout cancels the job", func(t *testing.T) {
		h := newHarness(t)
		h.backend.hold = make(chan struct{})
		tok := h.token("globex", "runtime.deployments.write")
		_, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}})
		id := decode[jobs.View](t, body).ID
		waitFor(t, func() bool { j, _ := h.server.Jobs().Get(id); return j.Status() == jobs.StatusRunning })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := h.server.Drain(ctx, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("drain: %v, want a cancellation error", err)
		}
		if v := h.waitJob(tok, id); v.Status != jobs.StatusCancelled {
			t.Errorf("job = %s, want cancelled", v.Status)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventStreamOutlivesServerTimeouts: an event stream lasts as long as its job, even on a
// server whose read and write timeouts are shorter.
func TestEventStreamOutlivesServerTimeouts(t *testing.T) {
	h := newHarness(t)
	short := httptest.NewUnstartedServer(h.server.Handler())
	short.Config.ReadTimeout = 200 * time.Millisecond
	short.Config.WriteTimeout = 200 * time.Millisecond
	short.Start()
	t.Cleanup(short.Close)
	h.http = short
	h.backend.hold = make(chan struct{})
	tok := h.token("globex", "runtime.deployments.write")
	_, _, body := h.do(call{method: "POST", path: "/v1/tenants/globex/operations", token: tok, body: map[string]string{"operation": "up"}})
	id := decode[jobs.View](t, body).ID
	go func() {
		time.Sleep(time.Second)
		close(h.backend.hold)
	}()
	evs := h.stream(tok, id, 0)
	if len(evs) == 0 || evs[len(evs)-1].typ != "result" {
		t.Fatalf("stream ended early: %v", types(evs))
	}
}

func TestAccessLog(t *testing.T) {
	h := newHarness(t)
	h.do(call{method: "GET", path: "/v1/tenants/acme", token: h.token("acme", "runtime.tenants.read"), header: traceparent()})
	var found bool
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"http request"`) && strings.Contains(line, `"route":"GET /v1/tenants/{tenant}"`) &&
			strings.Contains(line, `"trace_id":"`+trace+`"`) && strings.Contains(line, `"principal":"svc-acme"`) && strings.Contains(line, `"status":200`) {
			found = true
		}
		if strings.Contains(line, "Bearer") || strings.Contains(line, "eyJ") {
			t.Errorf("log line carries token material: %s", line)
		}
	}
	if !found {
		t.Errorf("no access log line with route, trace id, principal and status:\n%s", h.logs.String())
	}
}
