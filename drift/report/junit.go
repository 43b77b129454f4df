package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

// JUnit writes the report as JUnit XML for CI test views: one test suite per tenant, one passing
// test case per check (finding kind) without findings, one failing test case per finding, and one
// erroring test case per API that could not be reached. A tenant that could not be checked gets no
// passing cases: nothing about it is known to be clean.
func JUnit(w io.Writer, r *Report) error {
	v := r.finalized()
	doc := junitSuites{Name: "tenantctl drift " + v.Commit}
	stamp := v.GeneratedAt.UTC().Format("2006-01-02T15:04:05")
	props := func(extra ...junitProperty) []junitProperty {
		return append([]junitProperty{{"commit", v.Commit}, {"dirty", fmt.Sprint(v.Dirty)}}, extra...)
	}
	for _, t := range v.Tenants {
		ref := TenantRef{t.Environment, t.TenantID}
		suite := junitSuite{Name: ref.String(), Timestamp: stamp,
			Properties: props(junitProperty{"environment", t.Environment}, junitProperty{"tenantId", t.TenantID},
				junitProperty{"status", string(t.Status)}, junitProperty{"ignored", fmt.Sprint(t.Ignored)})}
		class := "drift." + strings.ReplaceAll(ref.String(), "/", ".")
		for _, e := range v.Errors {
			if e.covers(t) {
				suite.Cases = append(suite.Cases, junitErrorCase(e, class))
			}
		}
		suite.Cases = append(suite.Cases, junitChecks(v.Findings, t, class)...)
		doc.Suites = append(doc.Suites, suite.counted())
	}
	if orphan := junitOrphans(v, stamp, props()); len(orphan.Cases) > 0 {
		doc.Suites = append(doc.Suites, orphan.counted())
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

// junitChecks is one case per kind: the failures of that kind, or one pass when the tenant was
// fully checked and has none.
func junitChecks(fs []finding.Finding, t TenantResult, class string) []junitCase {
	var cases []junitCase
	kinds := finding.Kinds()
	for _, f := range fs {
		if f.Environment == t.Environment && f.TenantID == t.TenantID && !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	for _, k := range kinds {
		found := false
		for _, f := range fs {
			if f.Environment == t.Environment && f.TenantID == t.TenantID && f.Kind == k {
				cases = append(cases, junitFailureCase(f, class))
				found = true
			}
		}
		if !found && t.Status != StatusError {
			cases = append(cases, junitCase{Name: string(k), Classname: class})
		}
	}
	return cases
}

// junitOrphans collects findings without a tenant and errors that cover no listed tenant.
func junitOrphans(v *Report, stamp string, props []junitProperty) junitSuite {
	suite := junitSuite{Name: "(no tenant)", Timestamp: stamp, Properties: props}
	for _, e := range v.Errors {
		covered := false
		for _, t := range v.Tenants {
			covered = covered || e.covers(t)
		}
		if !covered {
			suite.Cases = append(suite.Cases, junitErrorCase(e, "drift.no-tenant"))
		}
	}
	for _, f := range v.Findings {
		if f.TenantID == "" {
			suite.Cases = append(suite.Cases, junitFailureCase(f, "drift.no-tenant"))
		}
	}
	return suite
}

func (s junitSuite) counted() junitSuite {
	s.Tests = len(s.Cases)
	for _, c := range s.Cases {
		if c.Failure != nil {
			s.Failures++
		}
		if c.Error != nil {
			s.Errors++
		}
	}
	return s
}

func junitErrorCase(e Error, class string) junitCase {
	return junitCase{Name: "reach " + e.API, Classname: class,
		Error: &junitProblem{Message: errorText(e), Type: "not-checked", Body: clean(errorText(e))}}
}

func junitFailureCase(f finding.Finding, class string) junitCase {
	return junitCase{Name: f.Title(), Classname: class,
		Failure: &junitProblem{Message: fmt.Sprintf("[%s] %s", f.Severity, f.Message), Type: string(f.Kind), Body: cleanLines(findingDetails(f))}}
}

// cleanLines is clean for multi-line text: CDATA cannot carry control characters, newlines it can.
func cleanLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	return strings.Join(lines, "\n")
}

// findingDetails lists a finding field by field for failure bodies and annotation messages.
func findingDetails(f finding.Finding) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("severity", string(f.Severity))
	line("tenant", TenantRef{f.Environment, f.TenantID}.String())
	line("peer tenant", f.PeerTenant)
	line("resource", f.Resource.Ref())
	line("resource id", f.Resource.ID)
	line("urn", f.Resource.URN)
	line("field", f.Field)
	if len(f.Desired) > 0 || len(f.Live) > 0 {
		line("desired", valueText(f.Desired))
		line("live", valueText(f.Live))
	}
	line("field manager", f.Manager)
	for _, e := range f.Evidence {
		line("evidence", e)
	}
	if f.Location.File != "" {
		line("desired state", firstLocation([]finding.Finding{f}))
	}
	line("remediation", string(f.Remediation))
	line("fingerprint", f.Fingerprint())
	return strings.TrimSuffix(b.String(), "\n")
}
