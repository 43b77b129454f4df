// Package localcluster runs a local Kubernetes control plane (etcd, kube-apiserver and
// kube-controller-manager built from source by hack/build-tool.sh) on loopback, for the embedded
// default, the demo and the integration tests. There is no kubelet: objects are stored and admitted,
// controllers run, pods are never scheduled — which is all the engine and the drift detectors need.
// The API server also serves the Secrets Store CSI driver's CRDs (crds.go), though no driver runs.
package localcluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"crypto/tls"
)

// Options configure a cluster. Zero ports are picked free at start.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kube-controller-manager.
	BinDir string
	// StateDir holds etcd data, certificates, keys, logs and the kubeconfig.
	StateDir string
	APIPort  int
	EtcdPort int
	PeerPort int
	// Detach starts the processes in their own session so they outlive the caller (make
	// cluster-up). Otherwise they die with the caller (tests).
	Detach bool
	// ReadyTimeout bounds the wait for /readyz.
	ReadyTimeout time.Duration
}

// Cluster is a running (or described) local control plane.
type Cluster struct {
	opts       Options
	Kubeconfig string
	Server     string
	token      string
	procs      []*exec.Cmd
}

const (
	etcdBin       = "etcd"
	apiserverBin  = "kube-apiserver"
	controllerBin = "kube-controller-manager"
	pidFile       = "pids"
)

// Start launches etcd, the API server and the controller manager and waits until the API server
// is ready. On error everything already started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	for _, b := range []string{etcdBin, apiserverBin, controllerBin} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("local cluster: %s not found in %s (install etcd, kube-apiserver and kube-controller-manager there, or set TENANTCTL_TOOLS_DIR to the tool cache that holds them; see the README's Toolchain and local cluster section): %w", b, o.BinDir, err)
		}
	}
	for _, p := range []*int{&o.APIPort, &o.EtcdPort, &o.PeerPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, fmt.Errorf("local cluster: pick port: %w", err)
			}
		}
	}
	for _, d := range []string{"etcd", "certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.StateDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("local cluster: %w", err)
		}
	}
	c := &Cluster{opts: o, Server: fmt.Sprintf("https://127.0.0.1:%d", o.APIPort)}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := c.writeCredentials(); err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", o.EtcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", o.PeerPort)
	if err := c.launch(etcdBin,
		"--name", "tenantctl",
		"--data-dir", c.path("etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "tenantctl="+peerURL,
		"--unsafe-no-fsync", "--log-level", "warn",
		"--quota-backend-bytes", strconv.Itoa(4<<30),
	); err != nil {
		return nil, err
	}
	if err := c.launch(apiserverBin,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(o.APIPort),
		"--endpoint-reconciler-type", "none",
		"--cert-dir", c.path("certs"),
		"--token-auth-file", c.path("tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", c.path("sa.pub"),
		"--service-account-signing-key-file", c.path("sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged=true",
		"--storage-media-type", "application/vnd.kubernetes.protobuf",
	); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := c.installCRDs(ctx); err != nil {
		return nil, err
	}
	if err := c.launch(controllerBin,
		"--kubeconfig", c.Kubeconfig,
		"--controllers", strings.Join(controllers, ","),
		"--service-account-private-key-file", c.path("sa.key"),
		"--root-ca-file", c.path("certs", "apiserver.crt"),
		"--leader-elect=false",
		"--secure-port", "0",
		"--concurrent-namespace-syncs", "4",
	); err != nil {
		return nil, err
	}
	if err := c.writePIDs(); err != nil {
		return nil, err
	}
	if err := c.waitAggregated(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// controllers are the kube-controller-manager controllers the local cluster runs (names as in
// k8s.io/kubernetes cmd/kube-controller-manager/names). Without a kubelet there is nothing to
// schedule, so only what stored objects and authorization depend on runs:
//   - clusterrole-aggregation-controller fills aggregated ClusterRoles (the built-in admin, edit
//     and view have an aggregationRule and no rules of their own until it runs): without it a
//     binding to edit grants nothing and authorization differs from every real cluster;
//   - serviceaccount-controller and serviceaccount-token-controller create each namespace's
//     default ServiceAccount and fill ServiceAccount token Secrets, both of which identities
//     rely on; root-ca-certificate-publisher-controller publishes kube-root-ca.crt;
//   - namespace, resourcequota and garbage-collector controllers finalise deletions and quotas.
var controllers = []string{
	"namespace-controller", "resourcequota-controller", "garbage-collector-controller",
	"serviceaccount-controller", "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
}

// aggregatedRole is the built-in ClusterRole whose rules show that aggregation has run: the API
// server creates it with an aggregationRule only, and the controller writes the union of the
// roles labelled rbac.authorization.k8s.io/aggregate-to-edit into it.
const aggregatedRole = "edit"

// waitAggregated waits until the aggregation controller has filled the built-in roles, so that a
// cluster reported ready authorizes like a real one from the first request.
func (c *Cluster) waitAggregated(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReadyTimeout)
	defer cancel()
	client := c.httpClient()
	var last error
	for {
		n, err := c.roleRules(ctx, client, aggregatedRole)
		if err == nil && n > 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("ClusterRole %s has no rules yet", aggregatedRole)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("local cluster: ClusterRole aggregation did not run (logs in %s): %v", c.path("logs"), last)
		case <-time.After(250 * time.Millisecond):
		}
		if err := c.exitedEarly(); err != nil {
			return err
		}
	}
}

// roleRules counts the rules of a ClusterRole.
func (c *Cluster) roleRules(ctx context.Context, client *http.Client, name string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/apis/rbac.authorization.k8s.io/v1/clusterroles/"+name, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("get ClusterRole %s: %s", name, resp.Status)
	}
	var role struct {
		Rules []json.RawMessage `json:"rules"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&role); err != nil {
		return 0, fmt.Errorf("get ClusterRole %s: %w", name, err)
	}
	return len(role.Rules), nil
}

func (c *Cluster) path(p ...string) string {
	return filepath.Join(append([]string{c.opts.StateDir}, p...)...)
}

// Token is the admin bearer token (system:masters). It only ever exists in the state dir.
func (c *Cluster) Token() string { return c.token }

// writeCredentials creates the admin token file and the service-account key pair.
func (c *Cluster) writeCredentials() error {
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	c.token = hex.EncodeToString(tok)
	csv := fmt.Sprintf("%s,tenantctl-admin,tenantctl-admin,\"system:masters\"\n", c.token)
	if err := os.WriteFile(c.path("tokens.csv"), []byte(csv), 0o600); err != nil {
		return fmt.Errorf("local cluster: token file: %w", err)
	}
	if _, err := os.Stat(c.path("sa.key")); err == nil {
		return nil // keep the key across restarts so issued tokens stay valid
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(c.path("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

func (c *Cluster) launch(name string, args ...string) error {
	logf, err := os.OpenFile(c.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.opts.BinDir, name), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if c.opts.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Children die with the test binary, even when it is killed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local cluster: start %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	if !c.opts.Detach {
		go func() { _ = cmd.Wait() }()
	}
	return nil
}

// httpClient talks to the API server before the kubeconfig exists.
func (c *Cluster) httpClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// The serving certificate is generated by the API server at start; it is read from
		// cert-dir for the kubeconfig afterwards.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback readiness probe only
	}}
}

// exitedEarly reports a started process that is gone.
func (c *Cluster) exitedEarly() error {
	for _, p := range c.procs {
		if p.ProcessState != nil && p.ProcessState.Exited() {
			return fmt.Errorf("local cluster: %s exited early (%s); see %s", filepath.Base(p.Path), p.ProcessState, c.path("logs"))
		}
	}
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReadyTimeout)
	defer cancel()
	client := c.httpClient()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("local cluster: API server not ready at %s (logs in %s): %v", c.Server, c.path("logs"), last)
		case <-time.After(250 * time.Millisecond):
		}
		if err := c.exitedEarly(); err != nil {
			return err
		}
	}
}

func (c *Cluster) writeKubeconfig() error {
	ca, err := os.ReadFile(c.path("certs", "apiserver.crt"))
	if err != nil {
		return fmt.Errorf("local cluster: serving certificate: %w", err)
	}
	c.Kubeconfig = c.path("kubeconfig")
	return os.WriteFile(c.Kubeconfig, []byte(kubeconfig(c.Server, ca, c.token)), 0o600)
}

func kubeconfig(server string, ca []byte, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: tenantctl-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: tenantctl-admin
  user:
    token: %s
contexts:
- name: tenantctl-local
  context:
    cluster: tenantctl-local
    user: tenantctl-admin
current-context: tenantctl-local
`, server, b64(ca), token)
}

func (c *Cluster) writePIDs() error {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "%d %s\n", p.Process.Pid, filepath.Base(p.Path))
	}
	fmt.Fprintf(&b, "server %s\n", c.Server)
	return os.WriteFile(c.path(pidFile), []byte(b.String()), 0o600)
}

// Stop terminates the processes this Cluster started, in reverse order.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		terminate(c.procs[i].Process.Pid)
	}
	c.procs = nil
	_ = os.Remove(c.path(pidFile))
}

// StopDir stops a detached cluster by the pid file in its state dir (make cluster-down).
func StopDir(stateDir string) error {
	data, err := os.ReadFile(filepath.Join(stateDir, pidFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) != 2 || f[0] == "server" {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil && isProcess(pid, f[1]) {
			terminate(pid)
		}
	}
	return os.Remove(filepath.Join(stateDir, pidFile))
}

// Running reports whether the detached cluster in stateDir answers, and its kubeconfig path.
func Running(ctx context.Context, stateDir string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(stateDir, pidFile))
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "server" {
			c := &Cluster{opts: Options{StateDir: stateDir, ReadyTimeout: 3 * time.Second}, Server: f[1]}
			tok, err := os.ReadFile(filepath.Join(stateDir, "tokens.csv"))
			if err != nil {
				return "", false
			}
			c.token = strings.SplitN(string(tok), ",", 2)[0]
			if c.waitReady(ctx) != nil {
				return "", false
			}
			return filepath.Join(stateDir, "kubeconfig"), true
		}
	}
	return "", false
}

// isProcess guards against killing an unrelated process that reused a stale pid.
func isProcess(pid int, name string) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(name, strings.TrimSpace(string(comm)))
}

func terminate(pid int) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p.Signal(syscall.Signal(0)) != nil {
			return
		}
		if _, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
				return // zombie: exited, awaiting its parent's wait
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = p.Signal(syscall.SIGKILL)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
