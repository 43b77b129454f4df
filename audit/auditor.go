package audit

import (
	"context"
	"fmt"
)

// Auditor is what the engine calls for every audited operation: it appends the event to the log
// (the source of truth) and then forwards the record to the sinks.
type Auditor struct {
	log         *Log
	sink        Sink
	onSinkError func(Record, error)
}

// AuditorOption configures NewAuditor.
type AuditorOption func(*Auditor)

// WithSinks adds sinks the records are forwarded to, in order.
func WithSinks(sinks ...Sink) AuditorOption {
	return func(a *Auditor) {
		if a.sink != nil {
			sinks = append([]Sink{a.sink}, sinks...)
		}
		a.sink = Multi(sinks...)
	}
}

// WithSinkErrorHandler makes Record hand sink failures to fn (to log them) instead of returning
// them, for callers that must not fail an operation because a forwarder is down.
func WithSinkErrorHandler(fn func(Record, error)) AuditorOption {
	return func(a *Auditor) { a.onSinkError = fn }
}

// NewAuditor returns an Auditor writing to log.
func NewAuditor(log *Log, opts ...AuditorOption) *Auditor {
	a := &Auditor{log: log}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Log returns the Auditor's log.
func (a *Auditor) Log() *Log { return a.log }

// Record appends ev and emits the record. If the append fails, nothing is emitted and the error
// is returned. If a sink fails, the record is still returned, with a *SinkError (matching
// ErrSinkFailed) unless a sink error handler took it.
func (a *Auditor) Record(ctx context.Context, ev Event) (Record, error) {
	rec, err := a.log.Append(ctx, ev)
	if err != nil {
		return Record{}, err
	}
	if a.sink == nil {
		return rec, nil
	}
	if err := a.sink.Emit(ctx, rec); err != nil {
		serr := &SinkError{Seq: rec.Seq, EventID: rec.EventID, Err: err}
		if a.onSinkError != nil {
			a.onSinkError(rec, serr)
			return rec, nil
		}
		return rec, serr
	}
	return rec, nil
}

// Close closes the log.
func (a *Auditor) Close() error {
	if err := a.log.Close(); err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}
