package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
)

// miniIssuer is an OIDC issuer on loopback: discovery, one RS256 key, token minting.
type miniIssuer struct {
	url string
	key *rsa.PrivateKey
}

func startIssuer(t *testing.T) *miniIssuer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &miniIssuer{key: k}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss.url, "jwks_uri": iss.url + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	iss.url = ts.URL
	return iss
}

func (i *miniIssuer) token(t *testing.T, tenant, scope string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: i.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": i.url, "aud": "api://tenantctl", "sub": "svc-" + tenant, "tenant_id": tenant, "scope": scope,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestServeCommand runs `tenantctl serve` in-process: it answers health, authenticates tokens of
// the configured issuer, serves the desired state, and stops cleanly when its context ends.
func TestServeCommand(t *testing.T) {
	testenv.Toolchain(t) // the engine checks its tools at start
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "serve-test")
	iss := startIssuer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	logs := &lockedBuffer{}
	cmd.SetOut(io.Discard)
	cmd.SetErr(logs)
	cmd.SetArgs([]string{"serve", "-d", examplesDir, "--addr", addr, "--issuer", iss.url, "--audience", "api://tenantctl",
		"--data-dir", data, "--audit-log", filepath.Join(data, "audit.jsonl"), "--kubeconfig", filepath.Join(data, "kubeconfig")})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/v1/tenants", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
	code, body := get("/v1/tenants", iss.token(t, "globex", "runtime.tenants.read"))
	if code != http.StatusOK || !strings.Contains(body, `"tenantId":"globex"`) || strings.Contains(body, "acme") {
		t.Errorf("tenants: %d %s", code, body)
	}
	// The running server's metrics, scraped without a token as Prometheus would.
	code, body = get("/metrics", "")
	for _, want := range []string{`tenantctl_api_http_requests_total{code="401",method="GET",route="/v1/tenants"} 1`,
		`tenantctl_api_auth_denials_total{reason="missing_token"} 1`, `tenantctl_api_jobs{state="running"} 0`, "process_cpu_seconds_total"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics: %d, want a line %q in:\n%s", code, want, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestServeFlags(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"serve"}, exitcode.Invalid},
		{[]string{"serve", "--issuer", "https://login.example"}, exitcode.Invalid},
		{[]string{"serve", "--issuer", "https://login.example", "--audience", "a", "--tls-cert", "c.pem"}, exitcode.Invalid},
		{[]string{"serve", "--issuer", "https://login.example", "--audience", "a", "--log-level", "loud"}, exitcode.Invalid},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if _, code := runTenantctl(t, tc.args...); code != tc.want {
				t.Errorf("exit code %d, want %d", code, tc.want)
			}
		})
	}
}
