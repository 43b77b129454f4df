package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
)

func routeFinding() finding.Finding {
	return finding.Finding{
		Kind: finding.KindCrossTenantRoute, TenantID: "globex", Environment: "dev", PeerTenant: "acme",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy", Namespace: "t-globex", Name: "let-acme-in"},
		Message:  "admits namespace t-acme", Detector: finding.DetectorLive,
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestLoopKeepsGoingAndReportsMetrics: a failing run, a panicking run and a run with an
// unreachable tenant never stop the loop; metrics describe the last report.
func TestLoopKeepsGoingAndReportsMetrics(t *testing.T) {
	runs := 0
	check := func(ctx context.Context) (*report.Report, error) {
		runs++
		switch runs {
		case 1:
			return nil, errors.New("desired state unreadable")
		case 2:
			panic("detector bug")
		case 3:
			r := report.New("abc123")
			r.AddTenant("dev", "globex")
			r.AddTenant("dev", "acme")
			r.Add(routeFinding())
			r.Fail("dev", "acme", "kubernetes", errors.New("connection refused"))
			r.Finalize()
			return r, nil
		}
		r := report.New("abc123")
		r.AddTenant("dev", "globex")
		r.Finalize()
		return r, nil
	}
	m := NewMetrics()
	var reports []*report.Report
	ctx, cancel := context.WithCancel(context.Background())
	l := New(check, m, Options{Interval: time.Millisecond, Jitter: 0.5, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnReport: func(r *report.Report) { reports = append(reports, r) }})
	var afterThird string
	l.sleep = func(ctx context.Context, d time.Duration) bool {
		if d <= 0 || d > 2*time.Millisecond {
			t.Errorf("jittered interval %s outside ±50%% of 1ms", d)
		}
		if runs == 3 {
			afterThird = scrape(t, m)
		}
		if runs == 4 {
			cancel()
		}
		return ctx.Err() == nil
	}
	if _, err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if runs != 4 || len(reports) != 2 {
		t.Fatalf("runs=%d reports=%d, want 4 runs and 2 reports", runs, len(reports))
	}
	for _, want := range []string{
		`tenantctl_drift_findings{environment="dev",kind="cross-tenant-route",severity="critical",tenant="globex"} 1`,
		`tenantctl_drift_tenant_errors{environment="dev",tenant="acme"} 1`,
		`tenantctl_drift_runs_total{result="error"} 3`,
		"tenantctl_drift_last_run_timestamp_seconds",
	} {
		if !strings.Contains(afterThird, want) {
			t.Errorf("metrics after the third run lack %q:\n%s", want, afterThird)
		}
	}
	final := scrape(t, m)
	if strings.Contains(final, `tenantctl_drift_findings{`) {
		t.Errorf("findings of an older report still exported after a clean run:\n%s", final)
	}
	if !strings.Contains(final, `tenantctl_drift_runs_total{result="clean"} 1`) {
		t.Errorf("clean run not counted:\n%s", final)
	}
}

func TestOnceReturnsTheReport(t *testing.T) {
	r := report.New("abc")
	r.Finalize()
	got, err := New(func(context.Context) (*report.Report, error) { return r, nil }, NewMetrics(), Options{Once: true}).Run(context.Background())
	if err != nil || got != r {
		t.Fatalf("Once: got %v, %v", got, err)
	}
}
