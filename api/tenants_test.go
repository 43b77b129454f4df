package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/api/jobs"
)

func TestListTenantsIsFiltered(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name  string
		token string
		want  []string
	}{
		{"tenant sees its own bindings", h.token("acme", "runtime.tenants.read"), []string{"acme/dev", "acme/prod"}},
		{"operator sees every binding", h.token("", "runtime.tenants.read", "runtime.tenants.all"), []string{"acme/dev", "acme/prod", "globex/dev", "initech/dev"}},
		{"unknown tenant sees nothing", h.token("umbrella", "runtime.tenants.read"), []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := h.do(call{method: "GET", path: "/v1/tenants", token: tc.token})
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			got := []string{}
			for _, r := range decode[struct {
				Tenants []struct{ TenantID, Environment string }
			}](t, body).Tenants {
				got = append(got, r.TenantID+"/"+r.Environment)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tenants (-want +got):\n%s", diff)
			}
		})
	}
}

type statusBody struct {
	TenantID string `json:"tenantId"`
	Stacks   []struct {
		Environment   string `json:"environment"`
		Stack         string `json:"stack"`
		Production    bool   `json:"production"`
		Exists        bool   `json:"exists"`
		LastUpdate    string `json:"lastUpdate"`
		ResourceCount *int   `json:"resourceCount"`
		ActiveJob     string `json:"activeJob"`
	} `json:"stacks"`
}

func TestTenantStatus(t *testing.T) {
	h := newHarness(t)
	h.backend.hold = make(chan struct{})
	defer close(h.backend.hold)
	tok := h.token("acme", "runtime.tenants.read", "runtime.deployments.write")
	_, _, body := h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: tok, body: map[string]string{"operation": "up", "environment": "dev"}})
	jobID := decode[map[string]any](t, body)["id"]
	code, _, body := h.do(call{method: "GET", path: "/v1/tenants/acme", token: tok})
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	st := decode[statusBody](t, body)
	if len(st.Stacks) != 2 {
		t.Fatalf("stacks = %+v", st.Stacks)
	}
	dev, prod := st.Stacks[0], st.Stacks[1]
	if dev.Stack != "tenant.acme.dev" || !dev.Exists || dev.LastUpdate == "" || dev.ResourceCount == nil || *dev.ResourceCount != 7 ||
		dev.Production || dev.ActiveJob != jobID {
		t.Errorf("dev = %+v", dev)
	}
	if prod.Stack != "tenant.acme.prod" || prod.Exists || !prod.Production || prod.ActiveJob != "" {
		t.Errorf("prod = %+v", prod)
	}
	code, _, _ = h.do(call{method: "GET", path: "/v1/tenants/nobody", token: h.token("", "runtime.tenants.read", "runtime.tenants.all")})
	if code != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", code)
	}
}

// TestStatusLoad sends 200 concurrent status requests over loopback: no errors, the p99 latency
// reported, and the burst answered from one stack listing instead of 200 CLI runs.
func TestStatusLoad(t *testing.T) {
	h := newHarness(t)
	tok := h.token("acme", "runtime.tenants.read")
	const n = 200
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
	latencies := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("GET", h.http.URL+"/v1/tenants/acme", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			resp, err := client.Do(req)
			latencies[i] = time.Since(t0)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs[i] = &statusError{resp.StatusCode}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	total := time.Since(t0)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			t.Errorf("request failed: %v", err)
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	p50, p99 := latencies[n*50/100], latencies[n*99/100-1]
	t.Logf("%d concurrent GET /v1/tenants/acme: %d errors, p50 %s, p99 %s, max %s, total %s, stack listings %d",
		n, failed, p50, p99, latencies[n-1], total, h.backend.stackCalls.Load())
	if calls := h.backend.stackCalls.Load(); calls > 3 {
		t.Errorf("%d stack listings for one burst; the status cache should share them", calls)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// Issue 14.7: one broken binding of another tenant does not take the other tenants' views down,
// and they learn nothing of it; its own tenant is told to validate, without details; operators
// see every error with paths relative to the desired state.
func TestBrokenBindingOfAnotherTenant(t *testing.T) {
	h := newHarness(t)
	broken := strings.ReplaceAll(hooliTakesAcme, "tier: silo", "tier: gold-secret-value")
	if err := os.WriteFile(filepath.Join(h.backend.dir, "tenants", "hooli.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	acme := h.token("acme", "runtime.tenants.read")
	for _, path := range []string{"/v1/tenants", "/v1/tenants/acme"} {
		code, _, body := h.do(call{method: "GET", path: path, token: acme})
		if code != http.StatusOK {
			t.Errorf("GET %s as acme: %d %s", path, code, body)
		}
		for _, leak := range []string{"hooli", "gold-secret-value", h.backend.dir} {
			if strings.Contains(string(body), leak) {
				t.Errorf("GET %s as acme reveals %q: %s", path, leak, body)
			}
		}
	}
	code, _, body := h.do(call{method: "GET", path: "/v1/tenants/hooli", token: h.token("hooli", "runtime.tenants.read")})
	if code != http.StatusInternalServerError || strings.Contains(string(body), "gold-secret-value") || !strings.Contains(string(body), "bindings:validate") {
		t.Errorf("the broken tenant's own view: %d %s", code, body)
	}
	code, _, body = h.do(call{method: "GET", path: "/v1/tenants", token: h.token("", "runtime.tenants.read", "runtime.tenants.all")})
	if code != http.StatusInternalServerError || !strings.Contains(string(body), "tenants/hooli.yaml") || strings.Contains(string(body), h.backend.dir) {
		t.Errorf("operator view: %d %s", code, body)
	}
	// A job of an unaffected tenant fails without naming the broken tenant.
	tok := h.token("acme", "runtime.deployments.read")
	code, _, body = h.do(call{method: "POST", path: "/v1/tenants/acme/operations", token: tok, body: map[string]string{"operation": "preview", "environment": "dev"}})
	if code != http.StatusAccepted {
		t.Fatalf("preview: %d %s", code, body)
	}
	v := h.waitJob(tok, decode[jobs.View](t, body).ID)
	if v.Status != jobs.StatusFailed || strings.Contains(v.Error, "hooli") || strings.Contains(v.Error, "gold") {
		t.Errorf("job on an invalid desired state: %s %q", v.Status, v.Error)
	}
}
