package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Sink receives every record after it is in the log. The log is the source of truth: a sink that
// fails loses nothing, and delivery is at least once (a retried event is emitted again with the
// same eventId, which receivers use to deduplicate).
type Sink interface {
	Emit(ctx context.Context, r Record) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, r Record) error

func (f SinkFunc) Emit(ctx context.Context, r Record) error { return f(ctx, r) }

// JSONSink writes each record to w as one JSON line, byte for byte as the log stores it.
func JSONSink(w io.Writer) Sink { return &jsonSink{w: w} }

type jsonSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *jsonSink) Emit(_ context.Context, r Record) error {
	line, err := r.Line()
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	return nil
}

// Multi emits to every sink, even after one fails, and joins their errors.
func Multi(sinks ...Sink) Sink { return multiSink(sinks) }

type multiSink []Sink

func (m multiSink) Emit(ctx context.Context, r Record) error {
	var errs []error
	for _, s := range m {
		if err := s.Emit(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ErrSinkFailed matches (errors.Is) the error Auditor.Record returns when the record was logged
// but a sink failed.
var ErrSinkFailed = errors.New("audit sink failed")

// SinkError reports that a record is safely in the log but a sink did not take it.
type SinkError struct {
	Seq     uint64
	EventID string
	Err     error
}

func (e *SinkError) Error() string {
	return fmt.Sprintf("audit record seq %d (event %s) is logged, but a sink failed: %v", e.Seq, e.EventID, e.Err)
}

func (e *SinkError) Unwrap() []error { return []error{ErrSinkFailed, e.Err} }
