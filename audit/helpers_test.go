package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixedClock returns a clock that advances one second per call from a fixed instant, so records
// have distinct, predictable times. Append calls it concurrently.
func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// sampleEvent is the n-th event of a fixture log; tenants alternate so queries have something to
// select.
func sampleEvent(n int) Event {
	tenants := []string{"acme", "globex"}
	return Event{
		EventID:     fmt.Sprintf("evt-%d", n),
		Type:        TypeTenantProvision,
		TraceID:     fmt.Sprintf("%032x", n),
		TenantID:    tenants[n%2],
		Principal:   "local:tester",
		Environment: "dev",
		Commit:      "0123456789abcdef0123456789abcdef01234567",
		Outcome:     OutcomeSucceeded,
		Changes: []ResourceChange{{
			URN:  fmt.Sprintf("urn:pulumi:dev-%s::tenant::kubernetes:core/v1:Namespace::ns", tenants[n%2]),
			Type: "kubernetes:core/v1:Namespace", Name: "ns", Op: OpCreate,
			Fields: []FieldChange{{Path: "metadata.labels.tenant", New: tenants[n%2]}},
		}},
	}
}

// writeFixture appends n sample events to a new log and returns its path and lines.
func writeFixture(t *testing.T, n int, opts ...Option) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, append([]Option{WithClock(fixedClock()), WithoutFsync()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 1; i <= n; i++ {
		if _, err := l.Append(context.Background(), sampleEvent(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return path, readLines(t, path)
}

// readLines returns the file's lines, each with its '\n' as stored.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}
