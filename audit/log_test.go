package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openTemp(t *testing.T, opts ...Option) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "tenantctl", "audit.jsonl")
	l, err := Open(path, append([]Option{WithClock(fixedClock()), WithoutFsync()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func mustVerify(t *testing.T, path string, wantRecords int) VerifyResult {
	t.Helper()
	res, err := VerifyFile(context.Background(), path, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Records != wantRecords {
		t.Fatalf("Verify = OK %v, %d records, first bad %v; want OK with %d records", res.OK, res.Records, res.FirstBad, wantRecords)
	}
	return res
}

func TestAppendChainsRecordsInAPrivateFile(t *testing.T) {
	l, path := openTemp(t)
	ctx := context.Background()
	var prev Head = Head{Hash: GenesisHash}
	for i := 1; i <= 3; i++ {
		rec, err := l.Append(ctx, sampleEvent(i))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != uint64(i) || rec.PrevHash != prev.Hash || !isHash(rec.Hash) {
			t.Fatalf("record %d: seq %d prevHash %s hash %s; want seq %d prevHash %s", i, rec.Seq, rec.PrevHash, rec.Hash, i, prev.Hash)
		}
		prev = Head{Seq: rec.Seq, Hash: rec.Hash}
	}
	if got := l.Head(); got != prev {
		t.Errorf("Head() = %v, want %v", got, prev)
	}
	mustVerify(t, path, 3)
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
}

func TestOpenResumesTheChain(t *testing.T) {
	for _, indexSize := range []int{1, 2, DefaultIndexSize} {
		t.Run(fmt.Sprint("index ", indexSize), func(t *testing.T) {
			path, lines := writeFixture(t, 5)
			l, err := Open(path, WithIndexSize(indexSize), WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got, want := l.Head(), headOf(t, lines[4]); got != want {
				t.Errorf("Head() after Open = %v, want %v", got, want)
			}
			rec, err := l.Append(context.Background(), sampleEvent(6))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Seq != 6 || rec.PrevHash != headOf(t, lines[4]).Hash {
				t.Errorf("appended seq %d prevHash %s, want seq 6 after %s", rec.Seq, rec.PrevHash, headOf(t, lines[4]).Hash)
			}
			mustVerify(t, path, 6)
		})
	}
}

func TestAppendIsIdempotentOnEventID(t *testing.T) {
	tests := []struct {
		name      string
		indexSize int
		reopen    bool
		repeat    string // event id appended again after evt-1..evt-3
		wantSeq   uint64 // seq of the returned record
		wantTotal int
	}{
		{name: "same process", indexSize: 10, repeat: "evt-2", wantSeq: 2, wantTotal: 3},
		{name: "after reopen", indexSize: 10, reopen: true, repeat: "evt-1", wantSeq: 1, wantTotal: 3},
		{name: "within the bound", indexSize: 2, reopen: true, repeat: "evt-2", wantSeq: 2, wantTotal: 3},
		// The documented bound: an id older than the index is no longer recognized.
		{name: "beyond the bound", indexSize: 2, reopen: true, repeat: "evt-1", wantSeq: 4, wantTotal: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openTemp(t, WithIndexSize(tt.indexSize))
			ctx := context.Background()
			originals := map[string]Record{}
			for i := 1; i <= 3; i++ {
				rec, err := l.Append(ctx, sampleEvent(i))
				if err != nil {
					t.Fatal(err)
				}
				originals[rec.EventID] = rec
			}
			if tt.reopen {
				l.Close()
				var err error
				if l, err = Open(path, WithIndexSize(tt.indexSize), WithoutFsync()); err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			}
			retry := sampleEvent(7)
			retry.EventID, retry.Reason = tt.repeat, "a retry carries the same idempotency key"
			got, err := l.Append(ctx, retry)
			if err != nil {
				t.Fatal(err)
			}
			if got.Seq != tt.wantSeq {
				t.Errorf("Append(%s again) returned seq %d, want %d", tt.repeat, got.Seq, tt.wantSeq)
			}
			if got.Seq <= 3 {
				if diff := cmp.Diff(originals[tt.repeat], got); diff != "" {
					t.Errorf("a repeated id returns the original record (-want +got):\n%s", diff)
				}
			}
			mustVerify(t, path, tt.wantTotal)
		})
	}
}

func TestAppendFillsDefaults(t *testing.T) {
	now := time.Date(2025, 6, 1, 8, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	l, _ := openTemp(t, WithClock(func() time.Time { return now }))
	trace := NewTraceID()
	rec, err := l.Append(ContextWithTraceID(context.Background(), trace), Event{Type: TypeSecretRotate, Outcome: OutcomeSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	if rec.TraceID != trace {
		t.Errorf("TraceID = %q, want the context's %q", rec.TraceID, trace)
	}
	if !rec.Time.Equal(now) || rec.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", rec.Time, now)
	}
	if rec.EventID == "" {
		t.Error("EventID was not filled")
	}
	other, err := l.Append(context.Background(), Event{Type: TypeSecretRotate, Outcome: OutcomeSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	if !ValidTraceID(other.TraceID) || other.TraceID == trace || other.EventID == rec.EventID {
		t.Errorf("second event: trace %q event %q; want a fresh trace id and event id", other.TraceID, other.EventID)
	}
}

func TestAppendRejectsInvalidEvents(t *testing.T) {
	valid := func() Event { return Event{Type: TypeTenantUpdate, Outcome: OutcomeSucceeded} }
	tests := map[string]func(*Event){
		"no type":          func(e *Event) { e.Type = "" },
		"bad type":         func(e *Event) { e.Type = "Tenant Update" },
		"no outcome":       func(e *Event) { e.Outcome = "" },
		"unknown outcome":  func(e *Event) { e.Outcome = "ok" },
		"bad trace id":     func(e *Event) { e.TraceID = "4BF92F3577B34DA6A3CE929D0E0E4736" },
		"event id spaces":  func(e *Event) { e.EventID = "two words" },
		"bad op":           func(e *Event) { e.Changes = []ResourceChange{{Name: "ns", Op: "Create!"}} },
		"secret event id":  func(e *Event) { e.EventID = "id-with-canary-value" },
		"record too large": func(e *Event) { e.Reason = string(make([]byte, MaxRecordBytes)) },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			l, path := openTemp(t, WithSecretValues("canary-value"))
			ev := valid()
			mutate(&ev)
			if rec, err := l.Append(context.Background(), ev); err == nil {
				t.Fatalf("Append accepted %+v as seq %d", ev, rec.Seq)
			}
			mustVerify(t, path, 0)
		})
	}
}

func TestOpenRefusesADamagedTail(t *testing.T) {
	tests := map[string]func(lines [][]byte) [][]byte{
		"torn last record": func(l [][]byte) [][]byte { l[2] = l[2][:30]; return l },
		"edited last record": func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"tenant.provision"`), []byte(`"tenant.destroy"`), 1)
			return l
		},
		"records out of order": func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l },
		"garbage appended":     func(l [][]byte) [][]byte { return append(l, []byte("{}\n")) },
	}
	for name, tamper := range tests {
		t.Run(name, func(t *testing.T) {
			path, lines := writeFixture(t, 3)
			if err := os.WriteFile(path, joinAll(tamper(lines)), 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(path)
			if err == nil {
				l.Close()
				t.Fatal("Open accepted a damaged log")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open error = %v, want ErrCorrupt", err)
			}
		})
	}
}

func joinAll(lines [][]byte) []byte {
	var out []byte
	for _, l := range lines {
		out = append(out, l...)
	}
	return out
}

func TestAppendNoticesChangesByOthers(t *testing.T) {
	tests := map[string]func(t *testing.T, path string){
		"truncated": func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		},
		"replaced": func(t *testing.T, path string) {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"record forged by another writer": func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			forged := Record{Seq: 9, PrevHash: GenesisHash, Event: sampleEvent(9)}
			forged.Time = time.Now().UTC()
			line, err := forged.seal(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(line); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			l, path := openTemp(t)
			if _, err := l.Append(context.Background(), sampleEvent(1)); err != nil {
				t.Fatal(err)
			}
			change(t, path)
			if _, err := l.Append(context.Background(), sampleEvent(2)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Append after the log was %s: err = %v, want ErrCorrupt", name, err)
			}
		})
	}
}

func TestConcurrentAppendsFromGoroutinesFormOneChain(t *testing.T) {
	const workers, each = 16, 25
	l, path := openTemp(t)
	// A second Log on the same file in the same process: it has its own descriptor, so only the
	// flock (not the mutex) keeps it from interleaving with the first.
	other, err := Open(path, WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		target := l
		if w%2 == 1 {
			target = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := Event{EventID: fmt.Sprintf("w%d-%d", w, i), Type: TypeTenantRefresh, Outcome: OutcomeSucceeded}
				if _, err := target.Append(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustVerify(t, path, workers*each)
	assertEachIDOnce(t, path, workers*each)
}

func assertEachIDOnce(t *testing.T, path string, want int) {
	t.Helper()
	recs, err := QueryFile(context.Background(), path, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.EventID]++
		if seen[r.EventID] > 1 {
			t.Errorf("event %s appears %d times", r.EventID, seen[r.EventID])
		}
	}
	if len(seen) != want {
		t.Errorf("%d distinct events, want %d", len(seen), want)
	}
}

func TestHeadFileTracksTheHead(t *testing.T) {
	l, path := openTemp(t)
	l.Close()
	headPath := HeadPath(path)
	l, err := Open(path, WithHeadFile(headPath))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var last Record
	for i := 1; i <= 3; i++ {
		if last, err = l.Append(context.Background(), sampleEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(headPath)
	if err != nil {
		t.Fatal(err)
	}
	var got Head
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("head file %q: %v", data, err)
	}
	if diff := cmp.Diff(Head{Seq: last.Seq, Hash: last.Hash}, got); diff != "" {
		t.Errorf("head file (-want +got):\n%s", diff)
	}
}

func TestAppendHonoursContextWhileLocked(t *testing.T) {
	l, path := openTemp(t)
	unlock, err := lockPath(context.Background(), path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, sampleEvent(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append while another holds the lock: err = %v, want DeadlineExceeded", err)
	}
}
