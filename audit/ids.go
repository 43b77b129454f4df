package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// NewEventID returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then random bits, so ids
// are unique and sort roughly by creation time.
func NewEventID() string {
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		panic(fmt.Sprintf("audit: new event id: %v", err))
	}
	return id.String()
}

// NewTraceID returns a fresh random W3C trace-id: 32 lowercase hex digits, never all zero.
func NewTraceID() string {
	var b [16]byte
	for {
		_, _ = rand.Read(b[:])
		if b != [16]byte{} {
			return hex.EncodeToString(b[:])
		}
	}
}

// ValidTraceID reports whether s is a W3C trace-id: 32 lowercase hex digits, not all zero.
func ValidTraceID(s string) bool { return validLowerHex(s, 32) }

func validLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	nonZero := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f':
			nonZero = true
		default:
			return false
		}
	}
	return nonZero
}

// TraceContext is a parsed W3C traceparent header.
type TraceContext struct {
	Version  byte
	TraceID  string
	ParentID string
	Flags    byte
}

// Sampled reports the traceparent's sampled flag.
func (t TraceContext) Sampled() bool { return t.Flags&0x01 != 0 }

// String formats t as a version-00 traceparent header value.
func (t TraceContext) String() string {
	return fmt.Sprintf("00-%s-%s-%02x", t.TraceID, t.ParentID, t.Flags)
}

// ParseTraceparent parses a W3C Trace Context traceparent header
// ("00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>"). Per the spec a version-00 header must
// be exactly 55 characters, version ff is invalid, and a later version may append fields after
// the flags, which are ignored.
func ParseTraceparent(h string) (TraceContext, error) {
	h = strings.TrimSpace(h)
	bad := func(why string) (TraceContext, error) {
		return TraceContext{}, fmt.Errorf("traceparent %q: %s", h, why)
	}
	if len(h) < 55 {
		return bad("too short: want 00-<trace-id>-<parent-id>-<flags>")
	}
	ver, err := hex.DecodeString(h[0:2])
	if err != nil || h[0:2] != strings.ToLower(h[0:2]) {
		return bad("version is not two lowercase hex digits")
	}
	switch {
	case ver[0] == 0xff:
		return bad("version ff is invalid")
	case ver[0] == 0 && len(h) != 55:
		return bad("version 00 must be exactly 55 characters")
	case ver[0] > 0 && len(h) > 55 && h[55] != '-':
		return bad("fields after the flags must be separated by '-'")
	case h[2] != '-' || h[35] != '-' || h[52] != '-':
		return bad("want '-' between version, trace-id, parent-id and flags")
	}
	tc := TraceContext{Version: ver[0], TraceID: h[3:35], ParentID: h[36:52]}
	if !ValidTraceID(tc.TraceID) {
		return bad("trace-id must be 32 lowercase hex digits, not all zero")
	}
	if !validLowerHex(tc.ParentID, 16) {
		return bad("parent-id must be 16 lowercase hex digits, not all zero")
	}
	flags, err := hex.DecodeString(h[53:55])
	if err != nil || h[53:55] != strings.ToLower(h[53:55]) {
		return bad("flags are not two lowercase hex digits")
	}
	tc.Flags = flags[0]
	return tc, nil
}

type traceKey struct{}

// ContextWithTraceID carries a trace id through the engine so every event of one operation shares
// it; Log.Append uses it for events that do not set TraceID themselves.
func ContextWithTraceID(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceKey{}, traceID)
}

// TraceIDFromContext returns the trace id stored by ContextWithTraceID, if it is valid.
func TraceIDFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(traceKey{}).(string)
	if !ok || !ValidTraceID(id) {
		return "", false
	}
	return id, true
}
