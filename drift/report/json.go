package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// JSON writes the report in the versioned JSON schema (docs/drift-reports.md), finalized and
// redacted.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.finalized()); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// maxReportSize bounds a report file read by Decode; a 10,000-tenant fleet with findings stays far
// below it.
const maxReportSize = 512 << 20

// Decode reads a JSON report (a shard for merge). It checks the schema version before anything
// else, validates the content and re-derives statuses and summary instead of trusting them.
// Invalid reports are invalid input (exit 3).
func Decode(rd io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxReportSize+1))
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if len(data) > maxReportSize {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("report larger than %d bytes", maxReportSize))
	}
	var head struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("report is not JSON: %w", err))
	}
	if head.SchemaVersion != SchemaVersion {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("report schema version %q is not supported; this tenantctl reads %q", head.SchemaVersion, SchemaVersion))
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("decode report: %w", err))
	}
	if err := r.Validate(); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("invalid report: %w", err))
	}
	r.Finalize()
	return &r, nil
}
