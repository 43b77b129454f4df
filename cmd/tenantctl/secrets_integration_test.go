package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
	"github.com/connectsoft/tenantctl/secrets/keyvault/keyvaulttest"
)

// TestSecretsRotationCanary runs secrets status, rotate and rotate again through the CLI against
// vaults served by the Azure SDK's fake, whose every version holds a canary value, with the real
// engine and a committed copy of the examples. The commands report and rotate by version id; no
// canary shows in stdout, stderr (which carries the audit events with --audit-stdout), the audit
// log, the state, the journal, the desired-state repository or any process's command line or
// environment, and no value is ever read from the vault.
func TestSecretsRotationCanary(t *testing.T) {
	testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	work := testenv.TempDir(t)
	t.Setenv("TENANTCTL_TOOLS_DIR", toolchain.CacheDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "rotation-canary-passphrase")
	dir, _ := committedExamples(t)
	oldValue, newValue, sharedValue := canary("oldsecret"), canary("newsecret"), canary("sharedsecret")

	vaults := keyvaulttest.New(time.Now().Add(-2 * time.Hour))
	const pinnedID = "3f2a9c4be1d84b6f9a0c5d7e8f1a2b3c" // examples/tenants/tenants/acme.yaml
	vaults.Put("kv-acme-dev", "acme-db-connection", oldValue, keyvaulttest.ID(pinnedID))
	newID := vaults.Put("kv-acme-dev", "acme-db-connection", newValue)
	vaults.Put("kv-connectsoft-dev", "globex-db-connection", sharedValue)
	vaults.Put("kv-connectsoft-dev", "initech-api-key", sharedValue)
	prev := newVaultReader
	newVaultReader = func() (keyvault.Reader, error) { return vaults.Client(), nil }
	t.Cleanup(func() { newVaultReader = prev })

	dataDir, auditLog := filepath.Join(work, "data"), filepath.Join(work, "audit.jsonl")
	common := []string{"-d", dir, "--kubeconfig", cluster.Kubeconfig, "--postgres-connection", testenv.PrivatePostgres(t).InfoPath(), "--data-dir", dataDir, "--audit-log", auditLog, "--audit-stdout", "--parallel", "2"}
	var stdout, stderr bytes.Buffer
	run := inProcessCLI(&stdout, &stderr)
	// --audit-stdout writes every audit event to the process's stderr: capture it.
	events, err := os.Create(filepath.Join(work, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	realStderr := os.Stderr
	os.Stderr = events
	t.Cleanup(func() { os.Stderr = realStderr; events.Close() })
	w := watchProcs(oldValue, newValue, sharedValue)
	if code := run(append([]string{"up", "--all"}, common...)...); code != 0 {
		w.finish()
		t.Fatalf("up exit %d\n%s", code, stderr.String())
	}
	t.Cleanup(func() { run(append([]string{"destroy", "--all", "--include-platform"}, common...)...) })

	// The pinned version is disabled: status reports it (exit 2) and names both versions.
	vaults.SetEnabled("kv-acme-dev", "acme-db-connection", pinnedID, false)
	stdout.Reset()
	if code := run("secrets", "status", "--all", "-d", dir, "--data-dir", dataDir, "-o", "json"); code != exitcode.Findings {
		t.Errorf("status with a disabled pin: exit %d, want %d\n%s", code, exitcode.Findings, stderr.String())
	}
	var status struct {
		References []struct {
			TenantID string
			State    string
			Pinned   string
			Current  struct{ ID string }
		}
	}
	requireEnvelope(t, stdout.String(), kindSecretsStatus, true)
	if err := json.Unmarshal(stdout.Bytes(), &status); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, stdout.String())
	}
	states := map[string]string{}
	for _, r := range status.References {
		states[r.TenantID] = r.State + " " + r.Pinned + " " + r.Current.ID
	}
	if states["acme"] != "disabled "+pinnedID+" "+newID || !strings.HasPrefix(states["globex"], "latest") {
		t.Errorf("status: %v", states)
	}

	// The drift check reports the disabled pin as a finding at the binding's line.
	drift := append([]string{"drift", "check", "--secret-versions", "-o", "json"}, common...)
	stdout.Reset()
	if code := run(drift...); code != exitcode.Findings || !strings.Contains(stdout.String(), `"stale-secret-version"`) || !strings.Contains(stdout.String(), "acme.yaml") {
		t.Errorf("drift check with a disabled pin: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run(append([]string{"secrets", "rotate", "--all"}, common...)...); code != 0 {
		t.Fatalf("rotate exit %d\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "rotated") || !strings.Contains(out, newID[:12]) || !strings.Contains(out, "observed") {
		t.Errorf("rotate output:\n%s", out)
	}
	stdout.Reset()
	if code := run(append([]string{"secrets", "rotate", "--all"}, common...)...); code != 0 || !strings.Contains(stdout.String(), "nothing to rotate") {
		t.Errorf("second rotate: exit %d\n%s", code, stdout.String())
	}
	stdout.Reset()
	if code := run(append([]string{"secrets", "rotate", "--all", "-o", "json"}, common...)...); code != 0 {
		t.Errorf("third rotate -o json: exit %d\n%s", code, stderr.String())
	} else if doc := requireEnvelope(t, stdout.String(), kindRotation, true); doc["rotationCommit"] != nil {
		t.Errorf("a rotation with nothing to rotate made commit %v", doc["rotationCommit"])
	}
	stdout.Reset()
	if code := run("secrets", "status", "--tenant", "acme", "-d", dir, "--data-dir", dataDir); code != 0 || !strings.Contains(stdout.String(), "current") {
		t.Errorf("status after the rotation: exit %d\n%s", code, stdout.String())
	}
	stdout.Reset()
	if code := run(drift...); code != 0 {
		t.Errorf("drift check after the rotation: exit %d, want clean\n%s", code, stdout.String())
	}

	hits, scans := w.finish()
	if scans < 10 {
		t.Fatalf("process watcher scanned only %d times", scans)
	}
	for _, h := range hits {
		t.Errorf("canary visible in %s", h)
	}
	eventLog, _ := os.ReadFile(events.Name())
	if !bytes.Contains(eventLog, []byte(`"secret.rotate"`)) || !bytes.Contains(eventLog, []byte(newID)) {
		t.Fatalf("the event stream holds no secret.rotate event naming the new version; the event check proves nothing")
	}
	canaries := []string{oldValue, newValue, sharedValue}
	for name, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "audit events": string(eventLog)} {
		for _, c := range canaries {
			if strings.Contains(text, c) {
				t.Errorf("canary %s in %s", c[:12], name)
			}
		}
	}
	files := 0
	for _, root := range []string{dataDir, filepath.Dir(auditLog), filepath.Join(work, "state"), dir} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			files++
			for _, c := range canaries {
				if bytes.Contains(b, []byte(c)) {
					t.Errorf("canary %s in %s", c[:12], p)
				}
			}
			return nil
		})
	}
	if b, _ := os.ReadFile(auditLog); !bytes.Contains(b, []byte(newID)) || files < 10 {
		t.Errorf("the audit log does not name the new version, or only %d files were scanned", files)
	}
	if n := vaults.ValueReads(); n != 0 {
		t.Errorf("the commands read %d secret values", n)
	}
}

// inProcessCLI runs tenantctl commands in this process, writing to stdout and stderr, and
// returns their exit codes.
func inProcessCLI(stdout, stderr *bytes.Buffer) func(args ...string) int {
	return func(args ...string) int {
		cmd := newRootCmd()
		cmd.SetOut(stdout)
		cmd.SetErr(stderr)
		cmd.SetArgs(args)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		err := cmd.ExecuteContext(ctx)
		runExitHooks()
		if err != nil {
			fmt.Fprintln(stderr, "tenantctl:", err)
		}
		return exitCodeOf(err)
	}
}
