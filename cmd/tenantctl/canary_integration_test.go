package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func canary(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// procWatcher scans every process's command line and environment while the CLI runs: a secret
// passed as an argument (or, for the passphrase, through the environment instead of its file)
// would show there.
type procWatcher struct {
	mu    sync.Mutex
	hits  []string
	stop  chan struct{}
	done  chan struct{}
	scans int
}

func watchProcs(needles ...string) *procWatcher {
	w := &procWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				if e.Name()[0] < '0' || e.Name()[0] > '9' {
					continue
				}
				for _, f := range []string{"cmdline", "environ"} {
					b, err := os.ReadFile(filepath.Join("/proc", e.Name(), f))
					if err != nil {
						continue
					}
					for _, n := range needles {
						if bytes.Contains(b, []byte(n)) {
							exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
							w.mu.Lock()
							w.hits = append(w.hits, fmt.Sprintf("/proc/%s/%s (%s)", e.Name(), f, exe))
							w.mu.Unlock()
						}
					}
				}
			}
			w.scans++
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *procWatcher) finish() ([]string, int) {
	close(w.stop)
	<-w.done
	return w.hits, w.scans
}

// TestSecretsCanary provisions the examples through the CLI with a canary passphrase, plants a
// canary value in the Secret a binding references, and proves neither value shows up in stdout,
// stderr, state, workspaces, the audit log or any process's command line or environment.
func TestSecretsCanary(t *testing.T) {
	tools := toolchain.CacheDir()
	testenv.Toolchain(t)
	cluster := testenv.Cluster(t)
	cs := testenv.Client(t)
	secretValue, passphrase := canary("secretcanary"), canary("passcanary")
	work := testenv.TempDir(t)
	t.Setenv("TENANTCTL_TOOLS_DIR", tools)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	passFile := filepath.Join(work, "passphrase")
	os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600)
	dataDir := filepath.Join(work, "data")
	auditLog := filepath.Join(work, "audit.jsonl")
	pg := testenv.PrivatePostgres(t)
	common := []string{"-d", examplesDir, "--kubeconfig", cluster.Kubeconfig, "--postgres-connection", pg.InfoPath(), "--data-dir", dataDir,
		"--passphrase-file", passFile, "--audit-log", auditLog, "--audit-stdout"}

	var stdout, stderr bytes.Buffer
	run := inProcessCLI(&stdout, &stderr)
	w := watchProcs(secretValue, passphrase)
	if code := run(append([]string{"up", "--all"}, common...)...); code != 0 {
		w.finish()
		t.Fatalf("up exit %d\nstderr:\n%s", code, stderr.String())
	}
	t.Cleanup(func() { run(append([]string{"destroy", "--all", "--include-platform"}, common...)...) })
	// The referenced secret now holds the canary; the engine must only ever name it.
	_, err := cs.CoreV1().Secrets("t-globex").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db-connection"},
		StringData: map[string]string{"value": secretValue},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		// --force: the engine must run with the canary in place (nothing changed, so an
		// incremental run would leave every stack alone).
		append([]string{"up", "--all", "--force"}, common...),
		append([]string{"preview", "--all", "--force", "-o", "json"}, common...),
		append([]string{"refresh", "--tenant", "globex"}, common...),
		append([]string{"outputs", "--all"}, common...),
		append([]string{"status"}, common...),
	} {
		if code := run(args...); code != 0 {
			w.finish()
			t.Fatalf("%v exit %d\nstderr:\n%s", args[:2], code, stderr.String())
		}
	}
	// The data layer's secrets: the server's admin password and every tenant login role's
	// generated password, read from where they belong (the password file, the tenant's Secret).
	adminPassword, err := pg.Password()
	if err != nil {
		t.Fatal(err)
	}
	canaries := []string{secretValue, passphrase, adminPassword}
	for ns, name := range map[string]string{"t-acme": "t-acme-db", "t-globex": "t-globex-db", "shared-tenants": "t-initech-db"} {
		sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("tenant database credentials %s/%s: %v", ns, name, err)
		}
		if pw := string(sec.Data["PGPASSWORD"]); len(pw) < 32 {
			t.Fatalf("%s/%s PGPASSWORD has %d characters, want a generated password", ns, name, len(pw))
		} else {
			canaries = append(canaries, pw)
		}
	}
	hits, scans := w.finish()
	if scans < 10 {
		t.Fatalf("process watcher scanned only %d times; the check proves nothing", scans)
	}
	for _, h := range hits {
		t.Errorf("canary visible in %s", h)
	}
	if !strings.Contains(stdout.String(), "tenant.globex.dev") {
		t.Fatalf("stdout does not mention the tenant; the output checks would prove nothing:\n%s", stdout.String())
	}
	for name, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		for i, c := range canaries {
			if strings.Contains(text, c) {
				t.Errorf("canary #%d found in %s", i, name)
			}
		}
	}
	files := 0
	for _, root := range []string{dataDir, filepath.Dir(auditLog), filepath.Join(work, "state")} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == passFile {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			files++
			for i, c := range canaries {
				if bytes.Contains(b, []byte(c)) {
					t.Errorf("canary #%d found in %s", i, p)
				}
			}
			return nil
		})
	}
	if files < 5 {
		t.Errorf("only %d files scanned under the data dir; expected state, workspaces and the audit log", files)
	}
	if b, _ := os.ReadFile(auditLog); !bytes.Contains(b, []byte("tenant.provision")) {
		t.Errorf("audit log has no provision record; the audit check proves nothing")
	}
	// The log the commands wrote is signed and anchored: verify with the defaults (the key's .pub
	// under XDG_CONFIG_HOME, the head checkpoint) passes, and names the signed checkpoint.
	stdout.Reset()
	if code := run("audit", "verify", auditLog); code != 0 || !strings.Contains(stdout.String(), "signed checkpoint") {
		t.Errorf("audit verify of the commands' log: exit %d, %s\n%s", code, stdout.String(), stderr.String())
	}
}
