package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/watch"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// execTenantctl runs the CLI in-process and returns its exit code, stdout and stderr. The
// caller isolates the config location (XDG_CONFIG_HOME) when it matters.
func execTenantctl(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	cmd := newRootCmd()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	runExitHooks()
	if err != nil {
		stderr.WriteString("tenantctl: " + err.Error() + "\n")
	}
	return exitCodeOf(err), stdout.String(), stderr.String()
}

// TestDriftRemediateRefusesInvalidInput: everything here is refused before an engine, a cluster
// or the desired state is touched.
func TestDriftRemediateRefusesInvalidInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	importPlan := `{"apiVersion":"tenantctl.remediation/v1","commit":"c","desiredDigest":"sha256:x","createdAt":"2026-03-02T10:00:00Z","mode":"review",
	  "actions":[{"id":"A1","kind":"import","tenant":"globex","environment":"dev","fingerprints":["f"],"findingKinds":["unmanaged-resource"],
	  "target":{"provider":"kubernetes","apiVersion":"v1","kind":"ConfigMap","type":"v1/ConfigMap","namespace":"t-globex","name":"cache"},"reason":"adopt"}]}`
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plan is not JSON", []string{"drift", "remediate", "--plan", write("bad.json", "nope")}, "plan is not JSON"},
		{"plan of another schema", []string{"drift", "remediate", "--plan", write("v2.json", `{"apiVersion":"tenantctl.remediation/v2"}`)}, "is not supported"},
		{"plan with an import action", []string{"drift", "remediate", "--plan", write("import.json", importPlan)}, "import actions are not supported"},
		{"missing plan file", []string{"drift", "remediate", "--plan", filepath.Join(dir, "nope.json")}, "no such file"},
		{"--plan with --mode", []string{"drift", "remediate", "--plan", "x.json", "--mode", "auto"}, "takes no --mode"},
		{"unknown mode", []string{"drift", "remediate", "--mode", "yolo"}, `mode "yolo"`},
		{"unknown output", []string{"drift", "remediate", "-o", "sarif"}, "want text or json"},
		{"watch jitter", []string{"drift", "watch", "--jitter", "1.5"}, "--jitter 1.5"},
		{"watch interval", []string{"drift", "watch", "--interval", "0s"}, "must be positive"},
		{"watch remediate mode", []string{"drift", "watch", "--remediate", "review"}, "the only value is auto"},
		{"arguments", []string{"drift", "remediate", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			code, _, stderr := execTenantctl(t, context.Background(), tt.args...)
			if code != exitcode.Invalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, exitcode.Invalid, tt.want)
			}
		})
	}
}

func TestWatchHealth(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	h := newWatchHealth(10*time.Minute, start)
	type state struct {
		Status string
		OK     bool
		Code   *int
	}
	two := 2
	get := func(now time.Time) state {
		s, ok := h.status(now)
		return state{s.Status, ok, s.LastExitCode}
	}
	var got []state
	got = append(got, get(start.Add(20*time.Minute)))
	got = append(got, get(start.Add(31*time.Minute)))
	h.ran(start.Add(40*time.Minute), 2)
	got = append(got, get(start.Add(41*time.Minute)))
	got = append(got, get(start.Add(75*time.Minute)))
	want := []state{
		{"ok", true, nil},
		{"stale: no report for 31m0s", false, nil},
		{"ok", true, &two},
		{"stale: no report for 35m0s", false, &two},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("health (-want +got):\n%s", diff)
	}
}

func TestServeMetrics(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := newWatchHealth(time.Hour, time.Now())
	stop, addr, err := serveMetrics("127.0.0.1:0", watch.NewMetrics(), h, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, "tenantctl_drift_last_run_timestamp_seconds") {
		t.Errorf("/metrics = %d:\n%s", code, body)
	}
	code, body = get("/healthz")
	var s healthStatus
	if err := json.Unmarshal([]byte(body), &s); err != nil || code != http.StatusOK || s.Status != "ok" {
		t.Errorf("/healthz = %d %s (%v)", code, body, err)
	}
	if _, _, err := serveMetrics(addr, watch.NewMetrics(), h, logger); exitCodeOf(err) != exitcode.Invalid {
		t.Errorf("serving on a taken address = %v, want exit %d", err, exitcode.Invalid)
	}
}

func TestLogWriterSplitsLines(t *testing.T) {
	var buf bytes.Buffer
	w := &logWriter{logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	io.WriteString(w, "read 12 objects\nexported ")
	io.WriteString(w, "3 stacks\n\n")
	var msgs []string
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var rec struct{ Msg string }
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, rec.Msg)
	}
	if diff := cmp.Diff([]string{"read 12 objects", "exported 3 stacks"}, msgs); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}
