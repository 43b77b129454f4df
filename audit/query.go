package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Filter selects records; zero fields match everything.
type Filter struct {
	TenantID string
	Type     Type
	TraceID  string
	// Since is inclusive, Until exclusive, both compared with the event Time.
	Since, Until time.Time
	// AfterSeq skips records up to and including this seq: a cursor for paging.
	AfterSeq uint64
	// Limit stops after this many matches (0: no limit); records come in log order.
	Limit int
}

// Match reports whether r passes the filter (ignoring Limit).
func (f Filter) Match(r Record) bool {
	switch {
	case r.Seq <= f.AfterSeq:
	case f.TenantID != "" && r.TenantID != f.TenantID:
	case f.Type != "" && r.Type != f.Type:
	case f.TraceID != "" && r.TraceID != f.TraceID:
	case !f.Since.IsZero() && r.Time.Before(f.Since):
	case !f.Until.IsZero() && !r.Time.Before(f.Until):
	default:
		return true
	}
	return false
}

// errStop ends Scan early without an error.
var errStop = errors.New("stop")

// Scan calls fn for each record of the log in r, in order. It decodes records without checking
// the chain (Verify does that); a line that is not a record is an error naming its line.
func Scan(r io.Reader, fn func(Record) error) error {
	sc := newLineScanner(r, MaxRecordBytes)
	for sc.Scan() {
		if sc.tooLong {
			return fmt.Errorf("line %d: longer than %d bytes", sc.number, MaxRecordBytes)
		}
		var rec Record
		if err := json.Unmarshal(sc.line, &rec); err != nil {
			return fmt.Errorf("line %d: not an audit record: %w", sc.number, err)
		}
		if err := fn(rec); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// Query returns the records in r that match f, in log order.
func Query(r io.Reader, f Filter) ([]Record, error) {
	var out []Record
	err := Scan(r, func(rec Record) error {
		if !f.Match(rec) {
			return nil
		}
		out = append(out, rec)
		if f.Limit > 0 && len(out) >= f.Limit {
			return errStop
		}
		return nil
	})
	return out, err
}

// QueryFile runs Query on the log at path as it is now (see VerifyFile).
func QueryFile(ctx context.Context, path string, f Filter) ([]Record, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	defer file.Close()
	size, err := stableSize(ctx, path, file)
	if err != nil {
		return nil, fmt.Errorf("query audit log %s: %w", path, err)
	}
	recs, err := Query(io.LimitReader(file, size), f)
	if err != nil {
		return nil, fmt.Errorf("query audit log %s: %w", path, err)
	}
	return recs, nil
}
