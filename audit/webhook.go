package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the request body under the
	// shared key, when the sink has one.
	SignatureHeader = "X-Tenantctl-Signature"
	// IdempotencyHeader carries the record's eventId so receivers can drop redeliveries.
	IdempotencyHeader = "Idempotency-Key"
	// SigningKeyEnv is the environment variable tenantctl reads the webhook signing key from.
	// Keys are never taken from flags, which end up in shell history and process listings.
	SigningKeyEnv = "TENANTCTL_AUDIT_WEBHOOK_KEY"
	// minSigningKeyBytes follows the HMAC guidance that a key be at least as long as half the
	// hash output.
	minSigningKeyBytes = 16
)

// WebhookOption configures WebhookSink.
type WebhookOption func(*webhookSink)

// WithHTTPClient sets the client (for a custom transport or CA pool). The default client does not
// follow redirects.
func WithHTTPClient(c *http.Client) WebhookOption { return func(s *webhookSink) { s.client = c } }

// WithTimeout bounds each attempt (default 10s).
func WithTimeout(d time.Duration) WebhookOption { return func(s *webhookSink) { s.timeout = d } }

// WithRetries sets how many times a failed delivery is retried (default 3).
func WithRetries(n int) WebhookOption { return func(s *webhookSink) { s.retries = max(n, 0) } }

// WithBackoff sets the first retry delay and its cap (default 200ms, 5s); delays double, with
// jitter, and a Retry-After from the receiver is honoured up to the cap.
func WithBackoff(base, maxDelay time.Duration) WebhookOption {
	return func(s *webhookSink) { s.backoff, s.maxBackoff = base, maxDelay }
}

// WithSigningKey signs every request body with HMAC-SHA256 under key (see SignatureHeader). Load
// the key with SigningKeyFromEnv or SigningKeyFromFile.
func WithSigningKey(key []byte) WebhookOption {
	return func(s *webhookSink) { s.key = append([]byte(nil), key...) }
}

// WithAllowInsecureHTTP permits plain http to a non-loopback host (a mesh sidecar that adds mTLS).
func WithAllowInsecureHTTP() WebhookOption { return func(s *webhookSink) { s.insecure = true } }

// noRedirectClient does not follow redirects: a record goes to the configured receiver or
// nowhere, and a 3xx answer is a failure to fix in the configuration.
var noRedirectClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type webhookSink struct {
	url        string
	display    string // the URL without query or fragment, safe to put in errors
	client     *http.Client
	timeout    time.Duration
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	key        []byte
	insecure   bool
}

// WebhookSink posts each record as JSON (the stored line) to rawURL. It requires https except to
// a loopback address, retries network errors, 408, 425, 429 and 5xx with backoff, and gives up
// after the retries; the record stays in the log either way.
func WebhookSink(rawURL string, opts ...WebhookOption) (Sink, error) {
	s := &webhookSink{client: noRedirectClient, timeout: 10 * time.Second, retries: 3,
		backoff: 200 * time.Millisecond, maxBackoff: 5 * time.Second}
	for _, o := range opts {
		o(s)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("webhook sink: URL is not absolute") // the URL itself may hold a token
	}
	s.url, s.display = rawURL, u.Scheme+"://"+u.Host+u.Path
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("webhook sink %s: credentials in the URL are not allowed; use a signing key", s.display)
	case u.Scheme == "https":
	case u.Scheme == "http" && (s.insecure || isLoopback(u.Hostname())):
	default:
		return nil, fmt.Errorf("webhook sink %s: want https (plain http only to a loopback address)", s.display)
	}
	if s.key != nil && len(s.key) < minSigningKeyBytes {
		return nil, fmt.Errorf("webhook sink %s: signing key is %d bytes, want at least %d", s.display, len(s.key), minSigningKeyBytes)
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *webhookSink) Emit(ctx context.Context, r Record) error {
	body, err := r.Line()
	if err != nil {
		return fmt.Errorf("webhook %s: %w", s.display, err)
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		retry, after, err := s.post(ctx, body, r)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt >= s.retries || ctx.Err() != nil {
			return fmt.Errorf("webhook %s: event %s: giving up after %d attempt(s): %w", s.display, r.EventID, attempt+1, lastErr)
		}
		t := time.NewTimer(s.delay(attempt, after))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("webhook %s: event %s: %w (last error: %v)", s.display, r.EventID, ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

// delay is the wait before retry attempt+1: exponential with "equal jitter", or the receiver's
// Retry-After, never more than the cap.
func (s *webhookSink) delay(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.maxBackoff)
	}
	d := min(s.backoff<<min(attempt, 20), s.maxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func (s *webhookSink) post(ctx context.Context, body []byte, r Record) (retry bool, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, errors.New("cannot build request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyHeader, r.EventID)
	req.Header.Set("X-Tenantctl-Event-Type", string(r.Type))
	if s.key != nil {
		req.Header.Set(SignatureHeader, Sign(s.key, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the full URL, query included
		}
		return true, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, 0, nil
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return true, parseRetryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("receiver answered %s", resp.Status)
	default:
		return false, 0, fmt.Errorf("receiver answered %s", resp.Status)
	}
}

func parseRetryAfter(v string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// Sign returns the SignatureHeader value for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a SignatureHeader value in constant time; for receivers and tests.
func VerifySignature(key, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(header))
}

// SigningKeyFromEnv reads the signing key from the environment variable name (SigningKeyEnv if
// empty). A missing or empty variable is an error so a misconfigured sink never posts unsigned.
func SigningKeyFromEnv(name string) ([]byte, error) {
	if name == "" {
		name = SigningKeyEnv
	}
	v := os.Getenv(name)
	if v == "" {
		return nil, fmt.Errorf("webhook signing key: $%s is not set", name)
	}
	return []byte(v), nil
}

// SigningKeyFromFile reads the signing key from a file only its owner can read (trailing newline
// dropped), refusing one that group or others can read.
func SigningKeyFromFile(path string) ([]byte, error) {
	b, err := readOwnerOnlyFile(path, "webhook signing key")
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("webhook signing key %s: file is empty", path)
	}
	return b, nil
}

// readOwnerOnlyFile reads a key file, refusing one that group or others can read.
func readOwnerOnlyFile(path, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: mode %v lets others read it; chmod 600", what, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}
