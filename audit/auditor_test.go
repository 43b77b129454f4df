package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCanarySecretNeverLeaves puts a registered canary value everywhere an operation could carry
// it and checks that neither the log file nor any sink ever sees it.
func TestCanarySecretNeverLeaves(t *testing.T) {
	const canary = "CANARY-7f3a9c-do-not-log"
	var stdout bytes.Buffer
	rc := &receiver{statuses: []int{200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	webhook, err := WebhookSink(srv.URL, WithSigningKey([]byte("0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	log, path := openTemp(t, WithSecretValues(canary))
	aud := NewAuditor(log, WithSinks(JSONSink(&stdout), webhook))

	events := []Event{
		{Type: TypeSecretRotate, TenantID: "acme", Outcome: OutcomeSucceeded,
			Reason:  "rotated db-password, old value " + canary,
			Details: map[string]string{"secretName": "db-password", "newValue": canary, "password": canary, "note": "b64 " + base64.StdEncoding.EncodeToString([]byte(canary))},
			Changes: []ResourceChange{{Type: "azure-native:keyvault:Secret", Name: "db-password", Op: OpUpdate,
				Fields: []FieldChange{{Path: "properties.value", Old: "previous", New: canary}}}}},
		{Type: TypeTenantUpdate, TenantID: "acme", Outcome: OutcomeFailed,
			Error: "provider said: invalid connection string Server=db;Password=" + canary,
			Changes: []ResourceChange{{Type: "kubernetes:core/v1:ConfigMap", Name: "app", Op: OpUpdate,
				Fields: []FieldChange{{Path: "data.greeting", Old: "hello", New: "hello " + canary}}}}},
	}
	for _, ev := range events {
		rec, err := aud.Record(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Details != nil && rec.Details["secretName"] != "db-password" {
			t.Errorf("the secret's reference was masked too: %v", rec.Details)
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string][]byte{"log file": file, "stdout sink": stdout.Bytes()}
	for i, b := range rc.bodies {
		outputs["webhook body "+string(rune('1'+i))] = b
	}
	if len(rc.bodies) != len(events) || bytes.Count(file, []byte("\n")) != len(events) {
		t.Fatalf("webhook got %d bodies and the log has %d lines, want %d each", len(rc.bodies), bytes.Count(file, []byte("\n")), len(events))
	}
	for name, b := range outputs {
		if bytes.Contains(b, []byte(canary)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(canary)))) {
			t.Errorf("%s contains the canary secret", name)
		}
		if !bytes.Contains(b, []byte(Redacted)) {
			t.Errorf("%s shows no redaction at all", name)
		}
	}
	if !bytes.Equal(file, stdout.Bytes()) {
		t.Error("the stdout sink did not receive the records exactly as logged")
	}
	mustVerify(t, path, len(events))
}

func TestAuditorKeepsTheRecordWhenASinkFails(t *testing.T) {
	failing := SinkFunc(func(context.Context, Record) error { return errors.New("governance is down") })
	var delivered []uint64
	working := SinkFunc(func(_ context.Context, r Record) error { delivered = append(delivered, r.Seq); return nil })

	t.Run("error returned", func(t *testing.T) {
		log, path := openTemp(t)
		delivered = nil
		aud := NewAuditor(log, WithSinks(failing), WithSinks(working))
		rec, err := aud.Record(context.Background(), sampleEvent(1))
		var serr *SinkError
		if !errors.As(err, &serr) || !errors.Is(err, ErrSinkFailed) {
			t.Fatalf("Record error = %v, want a *SinkError", err)
		}
		if rec.Seq != 1 || serr.EventID != "evt-1" {
			t.Errorf("Record returned seq %d, SinkError event %q; want seq 1 and evt-1", rec.Seq, serr.EventID)
		}
		if diff := cmp.Diff([]uint64{1}, delivered); diff != "" {
			t.Errorf("a failing sink kept the others from the record (-want +got):\n%s", diff)
		}
		mustVerify(t, path, 1)
	})
	t.Run("error handled", func(t *testing.T) {
		log, path := openTemp(t)
		var handled []error
		aud := NewAuditor(log, WithSinks(failing), WithSinkErrorHandler(func(_ Record, err error) { handled = append(handled, err) }))
		if _, err := aud.Record(context.Background(), sampleEvent(1)); err != nil {
			t.Fatalf("Record with a sink error handler: %v", err)
		}
		if len(handled) != 1 {
			t.Errorf("handler called %d times, want 1", len(handled))
		}
		mustVerify(t, path, 1)
	})
	t.Run("append fails, nothing emitted", func(t *testing.T) {
		log, _ := openTemp(t)
		delivered = nil
		aud := NewAuditor(log, WithSinks(working))
		if _, err := aud.Record(context.Background(), Event{Type: "bad type"}); err == nil {
			t.Fatal("Record accepted an invalid event")
		}
		if len(delivered) != 0 {
			t.Errorf("sinks got %v for an event that was not logged", delivered)
		}
	})
}

func TestAuditorRetryReemitsTheSameRecord(t *testing.T) {
	var got []Record
	sink := SinkFunc(func(_ context.Context, r Record) error { got = append(got, r); return nil })
	log, path := openTemp(t)
	aud := NewAuditor(log, WithSinks(sink))
	ev := sampleEvent(1)
	ev.Time = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2 {
		if _, err := aud.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 {
		t.Fatalf("sink got %d records, want the same one twice", len(got))
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("a retried event reached the sink as a different record (-first +second):\n%s", diff)
	}
	mustVerify(t, path, 1)
}
