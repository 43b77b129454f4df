package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// fleetTenantsShown bounds the tenant list of one fleet line; the count says the rest.
const fleetTenantsShown = 5

// maxValueText bounds a desired or live value in the text table.
const maxValueText = 60

// Text writes the human report: a header naming the commit, one table per tenant (findings sorted
// by severity), the causes shared by several tenants, and the result (with its exit code when
// WithExitCodes gives one).
func Text(w io.Writer, r *Report, opts ...RenderOption) error {
	v := r.finalized()
	var b bytes.Buffer
	writeHeader(&b, v)
	byTenant := map[TenantRef][]finding.Finding{}
	for _, f := range v.Findings {
		ref := TenantRef{f.Environment, f.TenantID}
		byTenant[ref] = append(byTenant[ref], f)
	}
	for _, t := range v.Tenants {
		writeTenant(&b, v, t, byTenant[TenantRef{t.Environment, t.TenantID}])
	}
	writeUnattributed(&b, v)
	writeFleet(&b, v)
	writeResult(&b, v, renderConfig(opts))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

func writeHeader(b *bytes.Buffer, r *Report) {
	commit := clean(r.Commit)
	if r.Dirty {
		commit += " (dirty: uncommitted changes)"
	}
	fmt.Fprintf(b, "Drift report for commit %s, generated %s\n", commit, r.GeneratedAt.UTC().Format("2006-01-02 15:04:05Z"))
	if len(r.Environments) > 0 {
		fmt.Fprintf(b, "Environments: %s", clean(strings.Join(r.Environments, ", ")))
		if r.Shard != nil {
			fmt.Fprintf(b, "  (shard %s)", r.Shard)
		}
		b.WriteString("\n")
	}
	s := r.Summary
	fmt.Fprintf(b, "Tenants: %d checked: %d clean, %d drifted, %d error\n", s.Tenants, s.Clean, s.Drifted, s.Errored)
	fmt.Fprintf(b, "Findings: %d%s; ignored: %d; errors: %d\n", s.Findings, severityCounts(s), s.Ignored, s.Errors)
}

func severityCounts(s Summary) string {
	var parts []string
	for _, sev := range finding.Severities {
		if n := s.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func writeTenant(b *bytes.Buffer, r *Report, t TenantResult, fs []finding.Finding) {
	fmt.Fprintf(b, "\n%s  %s", clean(TenantRef{t.Environment, t.TenantID}.String()), t.Status)
	if t.Ignored > 0 {
		fmt.Fprintf(b, "  (%d ignored)", t.Ignored)
	}
	for _, f := range fs {
		if f.Location.File != "" {
			fmt.Fprintf(b, "  %s", clean(f.Location.File))
			break
		}
	}
	b.WriteString("\n")
	for _, e := range r.Errors {
		if e.covers(t) {
			fmt.Fprintf(b, "  ERROR  %s: %s\n", clean(e.API), clean(e.Message))
		}
	}
	writeFindingTable(b, fs)
}

func writeUnattributed(b *bytes.Buffer, r *Report) {
	var fs []finding.Finding
	for _, f := range r.Findings {
		if f.TenantID == "" {
			fs = append(fs, f)
		}
	}
	var errs []Error
	for _, e := range r.Errors {
		covered := false
		for _, t := range r.Tenants {
			covered = covered || e.covers(t)
		}
		if !covered {
			errs = append(errs, e)
		}
	}
	if len(fs) == 0 && len(errs) == 0 {
		return
	}
	b.WriteString("\n(no tenant)\n")
	for _, e := range errs {
		where := clean(e.Environment)
		if where != "" {
			where += " "
		}
		fmt.Fprintf(b, "  ERROR  %s%s: %s\n", where, clean(e.API), clean(e.Message))
	}
	writeFindingTable(b, fs)
}

func writeFindingTable(b *bytes.Buffer, fs []finding.Finding) {
	if len(fs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEVERITY\tKIND\tRESOURCE\tFIELD\tDETAIL")
	for _, f := range fs {
		field := f.Field
		if field == "" {
			field = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Severity, clean(string(f.Kind)), clean(f.Resource.Ref()), clean(field), clean(detail(f)))
	}
	tw.Flush()
}

// detail is the last column: what a person needs to judge the finding without opening JSON.
func detail(f finding.Finding) string {
	var parts []string
	if f.PeerTenant != "" {
		parts = append(parts, "reaches tenant "+f.PeerTenant)
	}
	if f.Manager != "" {
		parts = append(parts, "owned by "+f.Manager)
	}
	if len(f.Desired) > 0 || len(f.Live) > 0 {
		parts = append(parts, fmt.Sprintf("desired %s, live %s", valueText(f.Desired), valueText(f.Live)))
	}
	parts = append(parts, f.Message)
	return strings.Join(parts, "; ")
}

func valueText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(absent)"
	}
	var buf bytes.Buffer
	s := string(raw)
	if err := json.Compact(&buf, raw); err == nil {
		s = buf.String()
	}
	if r := []rune(s); len(r) > maxValueText {
		s = string(r[:maxValueText-1]) + "…"
	}
	return s
}

func firstLocation(fs []finding.Finding) string {
	for _, f := range fs {
		if f.Location.File != "" {
			if f.Location.Line > 0 {
				return fmt.Sprintf("%s:%d", f.Location.File, f.Location.Line)
			}
			return f.Location.File
		}
	}
	return ""
}

func writeFleet(b *bytes.Buffer, r *Report) {
	if len(r.Fleet) == 0 {
		return
	}
	b.WriteString("\nSame cause in several tenants (fix once at the source):\n")
	for _, g := range r.Fleet {
		names := make([]string, 0, fleetTenantsShown)
		for i, t := range g.Tenants {
			if i == fleetTenantsShown {
				break
			}
			if len(r.Environments) > 1 {
				names = append(names, t.String())
			} else {
				names = append(names, t.TenantID)
			}
		}
		list := strings.Join(names, ", ")
		if more := len(g.Tenants) - len(names); more > 0 {
			list += fmt.Sprintf(", … +%d more", more)
		}
		fmt.Fprintf(b, "  %s: %s\n", clean(g.Summary()), clean(list))
	}
}

func writeResult(b *bytes.Buffer, r *Report, o renderOptions) {
	exit := ""
	if code, ok := o.exitCodeOf(r); ok {
		exit = fmt.Sprintf(" (exit %d)", code)
	}
	switch r.Status() {
	case StatusError:
		fmt.Fprintf(b, "\nResult: ERROR%s: %d tenant(s) could not be checked completely", exit, r.Summary.Errored)
		if n := unattributedErrors(r); n > 0 {
			fmt.Fprintf(b, ", %d error(s) not tied to a tenant", n)
		}
		b.WriteString("; a tenant that could not be checked is never reported as clean.\n")
	case StatusDrifted:
		fmt.Fprintf(b, "\nResult: DRIFT%s: %d finding(s) in %d tenant(s).\n", exit, r.Summary.Findings, r.Summary.Drifted)
	default:
		fmt.Fprintf(b, "\nResult: CLEAN%s.\n", exit)
	}
}

// unattributedErrors counts errors that cover no listed tenant (e.g. a missing shard), so the result
// line never says "0 tenants could not be checked" while exiting 1.
func unattributedErrors(r *Report) int {
	n := 0
	for _, e := range r.Errors {
		covered := false
		for _, t := range r.Tenants {
			covered = covered || e.covers(t)
		}
		if !covered {
			n++
		}
	}
	return n
}

// clean makes text from live objects safe for a terminal: control characters (escape sequences,
// carriage returns that overwrite a line) are shown as \x.. instead of being interpreted.
func clean(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
