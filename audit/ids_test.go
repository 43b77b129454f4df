package audit

import (
	"context"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewEventIDIsUUIDv7AndUnique(t *testing.T) {
	uuidV7 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewEventID()
		if !uuidV7.MatchString(id) {
			t.Fatalf("NewEventID() = %q, not a UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("NewEventID() repeated %q", id)
		}
		seen[id] = true
		if !eventIDPattern.MatchString(id) {
			t.Fatalf("generated id %q is not an acceptable event id", id)
		}
	}
}

func TestNewTraceIDIsValid(t *testing.T) {
	for range 100 {
		if id := NewTraceID(); !ValidTraceID(id) {
			t.Fatalf("NewTraceID() = %q is not a valid W3C trace-id", id)
		}
	}
}

func TestValidTraceID(t *testing.T) {
	tests := map[string]bool{
		"4bf92f3577b34da6a3ce929d0e0e4736":  true,
		"00000000000000000000000000000000":  false, // all zero is invalid per W3C
		"4BF92F3577B34DA6A3CE929D0E0E4736":  false, // uppercase is invalid per W3C
		"4bf92f3577b34da6a3ce929d0e0e473":   false,
		"4bf92f3577b34da6a3ce929d0e0e47361": false,
		"4bf92f3577b34da6a3ce929d0e0e473g":  false,
		"":                                  false,
	}
	for in, want := range tests {
		if got := ValidTraceID(in); got != want {
			t.Errorf("ValidTraceID(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseTraceparent(t *testing.T) {
	tests := []struct {
		in      string
		want    TraceContext
		wantErr bool
	}{
		{in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			want: TraceContext{Version: 0, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentID: "00f067aa0ba902b7", Flags: 1}},
		{in: " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ",
			want: TraceContext{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentID: "00f067aa0ba902b7"}},
		// A future version may carry more fields after the flags.
		{in: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
			want: TraceContext{Version: 1, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentID: "00f067aa0ba902b7", Flags: 1}},
		{in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", wantErr: true},
		{in: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", wantErr: true},
		{in: "00-00000000000000000000000000000000-00f067aa0ba902b7-01", wantErr: true},
		{in: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", wantErr: true},
		{in: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", wantErr: true},
		{in: "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", wantErr: true},
		{in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz", wantErr: true},
		{in: "00-4bf92f3577b34da6", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseTraceparent(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTraceparent(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseTraceparent(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestTraceContextStringRoundTrips(t *testing.T) {
	in := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tc, err := ParseTraceparent(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := tc.String(); got != in || !tc.Sampled() {
		t.Errorf("String() = %q sampled=%v, want %q sampled=true", got, tc.Sampled(), in)
	}
}

func TestTraceIDFromContext(t *testing.T) {
	id := NewTraceID()
	tests := []struct {
		name   string
		ctx    context.Context
		wantID string
		wantOK bool
	}{
		{"set", ContextWithTraceID(context.Background(), id), id, true},
		{"unset", context.Background(), "", false},
		{"invalid", ContextWithTraceID(context.Background(), "nope"), "", false},
	}
	for _, tt := range tests {
		got, ok := TraceIDFromContext(tt.ctx)
		if got != tt.wantID || ok != tt.wantOK {
			t.Errorf("%s: TraceIDFromContext = %q, %v; want %q, %v", tt.name, got, ok, tt.wantID, tt.wantOK)
		}
	}
}
