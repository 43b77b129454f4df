package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// GitHubCommand maps a severity to a workflow command: critical and high are errors, medium a
// warning, low and info notices.
func GitHubCommand(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical, finding.SeverityHigh:
		return "error"
	case finding.SeverityMedium:
		return "warning"
	}
	return "notice"
}

// GitHub writes GitHub Actions workflow commands: one annotation per error (an API that could not
// be read, a stack never provisioned) and per finding (at the binding file and line when known),
// then a notice with the summary and the commit (and the exit code when WithExitCodes gives one).
// Values are escaped per GitHub's rules, so a message cannot inject a command.
func GitHub(w io.Writer, r *Report, opts ...RenderOption) error {
	v := r.finalized()
	var b bytes.Buffer
	for _, e := range v.Errors {
		writeCommand(&b, "error", [][2]string{{"title", "tenantctl drift: not checked (" + e.API + ")"}}, errorText(e))
	}
	for _, f := range v.Findings {
		var props [][2]string
		if f.Location.File != "" {
			props = append(props, [2]string{"file", f.Location.File})
			if f.Location.Line > 0 {
				props = append(props, [2]string{"line", fmt.Sprint(f.Location.Line)})
			}
		}
		props = append(props, [2]string{"title", fmt.Sprintf("[%s] %s (%s)", f.Severity, f.Title(), TenantRef{f.Environment, f.TenantID})})
		writeCommand(&b, GitHubCommand(f.Severity), props, f.Message+"\n"+findingDetails(f))
	}
	s := v.Summary
	commit := v.Commit
	if v.Dirty {
		commit += " (dirty)"
	}
	summary := fmt.Sprintf("commit %s: %d tenants checked (%d clean, %d drifted, %d error), %d findings%s, %d ignored",
		commit, s.Tenants, s.Clean, s.Drifted, s.Errored, s.Findings, severityCounts(s), s.Ignored)
	if code, ok := renderConfig(opts).exitCodeOf(v); ok {
		summary += fmt.Sprintf(", exit %d", code)
	}
	for _, g := range v.Fleet {
		summary += "\n" + g.Summary()
	}
	writeCommand(&b, "notice", [][2]string{{"title", "tenantctl drift summary"}}, summary)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}

func writeCommand(b *bytes.Buffer, command string, props [][2]string, message string) {
	b.WriteString("::")
	b.WriteString(command)
	for i, p := range props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(EscapeGitHubProperty(p[1]))
	}
	b.WriteString("::")
	b.WriteString(EscapeGitHubData(message))
	b.WriteByte('\n')
}

// One pass each, so the "%25" written for "%" is never escaped again.
var (
	githubData     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeGitHubData escapes a workflow command's message: %, CR and LF.
func EscapeGitHubData(s string) string { return githubData.Replace(s) }

// EscapeGitHubProperty escapes a workflow command property value: as data, plus ':' and ','.
func EscapeGitHubProperty(s string) string { return githubProperty.Replace(s) }
