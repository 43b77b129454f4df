package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
)

// lastReportPath is where `drift check` keeps its latest report, so `status` can show a drift
// summary without re-running detection.
func lastReportPath(e *automation.Engine) string {
	return filepath.Join(e.DataDir(), "drift", "last-report.json")
}

// driftSummary is the drift column of `status`.
type driftSummary struct {
	CheckedAt time.Time `json:"checkedAt"`
	Findings  int       `json:"findings"`
	Critical  int       `json:"critical"`
}

func (d driftSummary) String() string {
	if d.Findings == 0 {
		return "clean (" + d.CheckedAt.Format(time.RFC3339) + ")"
	}
	return fmt.Sprintf("%d finding(s), %d critical (%s)", d.Findings, d.Critical, d.CheckedAt.Format(time.RFC3339))
}

// lastDrift summarises the last saved report for one stack; nil when the stack was never checked.
func lastDrift(e *automation.Engine, tenantID, env string) *driftSummary {
	f, err := os.Open(lastReportPath(e))
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := report.Decode(f)
	if err != nil {
		return nil
	}
	checked := false
	for _, t := range r.Tenants {
		if t.TenantID == tenantID && t.Environment == env {
			checked = true
		}
	}
	if !checked {
		return nil
	}
	s := &driftSummary{CheckedAt: r.GeneratedAt}
	for _, fd := range r.Findings {
		if fd.TenantID != tenantID || fd.Environment != env {
			continue
		}
		s.Findings++
		if fd.Severity == finding.SeverityCritical {
			s.Critical++
		}
	}
	return s
}
