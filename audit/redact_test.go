package audit

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/secretclass/corpus"
)

// The audit log masks by the project's one classifier: every secret of the shared corpus is
// masked in details, field changes, reasons and errors, and every benign entry stays readable.
func TestRedactorMasksTheSharedCorpus(t *testing.T) {
	r := NewRedactor()
	for _, k := range corpus.SecretKeys {
		ev := r.Event(Event{Details: map[string]string{k: corpus.Canary}})
		if got := ev.Details[k]; got != Redacted {
			t.Errorf("details[%q] = %q, want masked", k, got)
		}
	}
	for _, p := range corpus.SecretPaths {
		ev := r.Event(Event{Changes: []ResourceChange{{Type: "kubernetes:core/v1:ConfigMap", Op: OpUpdate,
			Fields: []FieldChange{{Path: p, Old: "a" + corpus.Canary, New: corpus.Canary}}}}})
		if f := ev.Changes[0].Fields[0]; f.Old != Redacted || f.New != Redacted {
			t.Errorf("field %q: old %q new %q, want masked", p, f.Old, f.New)
		}
	}
	for _, rt := range corpus.SecretResourceTypes {
		ev := r.Event(Event{Changes: []ResourceChange{{Type: rt, Op: OpUpdate, Fields: []FieldChange{
			{Path: "properties.value", New: corpus.Canary}, {Path: "metadata.labels.tenant", New: "acme"}}}}})
		if f := ev.Changes[0].Fields; f[0].New != Redacted || f[1].New != "acme" {
			t.Errorf("%s: fields %+v, want the value masked and the label kept", rt, f)
		}
	}
	for _, v := range corpus.SecretValues {
		ev := r.Event(Event{Reason: v, Error: "failed: " + v, Details: map[string]string{"note": v},
			Changes: []ResourceChange{{Op: OpUpdate, Fields: []FieldChange{{Path: "spec.template.spec.containers[0].args", New: v}}}}})
		for _, got := range []string{ev.Reason, ev.Error, ev.Details["note"], ev.Changes[0].Fields[0].New} {
			if strings.Contains(got, corpus.Canary) {
				t.Errorf("value %q leaked as %q", v, got)
			}
		}
	}
	for _, k := range corpus.BenignKeys {
		if got := r.Event(Event{Details: map[string]string{k: "kept"}}).Details[k]; got != "kept" {
			t.Errorf("benign details[%q] = %q", k, got)
		}
	}
	for _, v := range corpus.BenignValues {
		ev := r.Event(Event{Reason: v, Changes: []ResourceChange{{Op: OpUpdate, Fields: []FieldChange{{Path: "spec.template.spec.containers[0].image", New: v}}}}})
		if ev.Reason != v || ev.Changes[0].Fields[0].New != v {
			t.Errorf("benign value %q became %q / %q", v, ev.Reason, ev.Changes[0].Fields[0].New)
		}
	}
}

func TestRedactorEvent(t *testing.T) {
	const canary = "canary-Zq9-4711"
	r := NewRedactor(canary)
	in := Event{
		EventID: "evt-1", Reason: "rotated to " + canary, Error: "auth failed for " + canary,
		Details: map[string]string{
			"clientSecret": "not-registered-but-secret-key",
			"secretName":   "db-password",
			"note":         "base64 " + base64.StdEncoding.EncodeToString([]byte(canary)),
			canary:         "value under a key that is itself the secret",
			"emptyToken":   "",
		},
		Changes: []ResourceChange{
			{Type: "kubernetes:core/v1:ConfigMap", Name: "cfg", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.password", Old: "old-pass", New: "new-pass"},
				{Path: "data.mode", Old: "a", New: "b " + canary},
			}},
			{Type: "kubernetes:core/v1:Secret", Name: "db", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.host", Old: "h1", New: "h2"},
				{Path: "metadata.labels.tenant", Old: "acme", New: "acme2"},
			}},
		},
	}
	want := Event{
		EventID: "evt-1", Reason: "rotated to " + Redacted, Error: "auth failed for " + Redacted,
		Details: map[string]string{
			"clientSecret": Redacted,
			"secretName":   "db-password",
			"note":         "base64 " + Redacted,
			Redacted:       "value under a key that is itself the secret",
			"emptyToken":   "",
		},
		Changes: []ResourceChange{
			{Type: "kubernetes:core/v1:ConfigMap", Name: "cfg", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.password", Old: Redacted, New: Redacted},
				{Path: "data.mode", Old: "a", New: "b " + Redacted},
			}},
			{Type: "kubernetes:core/v1:Secret", Name: "db", Op: OpUpdate, Fields: []FieldChange{
				{Path: "data.host", Old: Redacted, New: Redacted},
				{Path: "metadata.labels.tenant", Old: "acme", New: "acme2"},
			}},
		},
	}
	before := in.clone()
	got := r.Event(in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Event() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("Event() modified its input (-before +after):\n%s", diff)
	}
}

func TestRedactorMasksLongestSecretWhole(t *testing.T) {
	r := NewRedactor("abc", "abcdef")
	if got, want := r.String("x abcdef y abc"), "x "+Redacted+" y "+Redacted; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !r.Leaks([]byte("..abc..")) || r.Leaks([]byte("ab c")) {
		t.Error("Leaks() disagrees with the registered values")
	}
}
