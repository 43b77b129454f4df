package audit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// receiver is a webhook endpoint answering with the scripted status codes in turn (the last one
// repeats) and keeping what it was sent.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, r.Header.Clone())
	status := rc.statuses[min(len(rc.bodies), len(rc.statuses))-1]
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "120")
	}
	w.WriteHeader(status)
}

func sealedRecord(t *testing.T) Record {
	t.Helper()
	rec := Record{Seq: 1, PrevHash: GenesisHash, Event: sampleEvent(1)}
	rec.Time = fixedClock()()
	if _, err := rec.seal(nil); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestWebhookSinkRetriesAndSigns(t *testing.T) {
	key := []byte("0123456789abcdef-shared-key")
	tests := []struct {
		name         string
		statuses     []int
		retries      int
		wantAttempts int
		wantErr      bool
	}{
		{"accepted at once", []int{200}, 3, 1, false},
		{"retries 5xx then succeeds", []int{503, 502, 204}, 3, 3, false},
		{"honours Retry-After within the cap", []int{429, 200}, 3, 2, false},
		{"gives up after the retries", []int{500}, 2, 3, true},
		{"does not retry a client error", []int{400}, 3, 1, true},
		{"does not follow redirects", []int{http.StatusFound}, 3, 1, true},
	}
	rec := sealedRecord(t)
	wantBody, err := rec.Line()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{statuses: tt.statuses}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			sink, err := WebhookSink(srv.URL+"/audit?token=abc", WithRetries(tt.retries),
				WithBackoff(time.Millisecond, 5*time.Millisecond), WithSigningKey(key))
			if err != nil {
				t.Fatal(err)
			}
			err = sink.Emit(context.Background(), rec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Emit error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "token=abc") {
				t.Errorf("error %q repeats the URL's query", err)
			}
			if len(rc.bodies) != tt.wantAttempts {
				t.Fatalf("%d attempts, want %d", len(rc.bodies), tt.wantAttempts)
			}
			for i, body := range rc.bodies {
				if diff := cmp.Diff(string(wantBody), string(body)); diff != "" {
					t.Errorf("attempt %d body (-want +got):\n%s", i+1, diff)
				}
				h := rc.headers[i]
				if !VerifySignature(key, body, h.Get(SignatureHeader)) {
					t.Errorf("attempt %d: signature %q does not verify", i+1, h.Get(SignatureHeader))
				}
				if VerifySignature([]byte("another-key-of-16+bytes"), body, h.Get(SignatureHeader)) {
					t.Errorf("attempt %d: signature verifies under the wrong key", i+1)
				}
				if got := h.Get(IdempotencyHeader); got != rec.EventID {
					t.Errorf("attempt %d: %s = %q, want %q", i+1, IdempotencyHeader, got, rec.EventID)
				}
			}
		})
	}
}

func TestWebhookSinkStopsWhenTheContextEnds(t *testing.T) {
	srv := httptest.NewServer(&receiver{statuses: []int{503}})
	defer srv.Close()
	sink, err := WebhookSink(srv.URL, WithRetries(100), WithBackoff(time.Second, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sink.Emit(ctx, sealedRecord(t)); err == nil {
		t.Fatal("Emit succeeded against a failing receiver")
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("Emit took %v after its context ended", d)
	}
}

func TestWebhookSinkValidatesItsURLAndKey(t *testing.T) {
	tests := []struct {
		url     string
		opts    []WebhookOption
		wantErr bool
	}{
		{url: "https://governance.example.com/audit"},
		{url: "http://127.0.0.1:8080/audit"},
		{url: "http://localhost/audit"},
		{url: "http://[::1]:9/audit"},
		{url: "http://governance.example.com/audit", wantErr: true},
		{url: "http://governance.example.com/audit", opts: []WebhookOption{WithAllowInsecureHTTP()}},
		{url: "https://user:pass@governance.example.com/audit", wantErr: true},
		{url: "ftp://governance.example.com/audit", wantErr: true},
		{url: "/relative", wantErr: true},
		{url: "https://governance.example.com/audit", opts: []WebhookOption{WithSigningKey([]byte("short"))}, wantErr: true},
	}
	for _, tt := range tests {
		_, err := WebhookSink(tt.url, tt.opts...)
		if (err != nil) != tt.wantErr {
			t.Errorf("WebhookSink(%q) error = %v, wantErr %v", tt.url, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("WebhookSink(%q) error %q repeats the credentials", tt.url, err)
		}
	}
}

func TestSigningKeySources(t *testing.T) {
	dir := t.TempDir()
	private := filepath.Join(dir, "key")
	shared := filepath.Join(dir, "key-shared")
	empty := filepath.Join(dir, "key-empty")
	for p, mode := range map[string]os.FileMode{private: 0o600, shared: 0o644, empty: 0o600} {
		content := "file-key-0123456789\n"
		if p == empty {
			content = "\n"
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // the umask may have narrowed it
			t.Fatal(err)
		}
	}
	t.Setenv(SigningKeyEnv, "env-key-0123456789")
	tests := []struct {
		name    string
		load    func() ([]byte, error)
		want    string
		wantErr bool
	}{
		{"env default name", func() ([]byte, error) { return SigningKeyFromEnv("") }, "env-key-0123456789", false},
		{"env unset", func() ([]byte, error) { return SigningKeyFromEnv("TENANTCTL_TEST_UNSET_KEY") }, "", true},
		{"private file", func() ([]byte, error) { return SigningKeyFromFile(private) }, "file-key-0123456789", false},
		{"group-readable file", func() ([]byte, error) { return SigningKeyFromFile(shared) }, "", true},
		{"empty file", func() ([]byte, error) { return SigningKeyFromFile(empty) }, "", true},
		{"missing file", func() ([]byte, error) { return SigningKeyFromFile(filepath.Join(dir, "nope")) }, "", true},
	}
	for _, tt := range tests {
		got, err := tt.load()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s: key = %q, want %q", tt.name, got, tt.want)
		}
	}
}
