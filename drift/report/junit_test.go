package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// junitView is what CI test views read from a JUnit file.
type junitView struct {
	Tests, Failures, Errors int
	Suites                  []string // "name tests/failures/errors"
	Cases                   map[string][]string
}

func readJUnit(t *testing.T, data []byte) junitView {
	t.Helper()
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit is not XML: %v\n%s", err, data)
	}
	v := junitView{Tests: doc.Tests, Failures: doc.Failures, Errors: doc.Errors, Cases: map[string][]string{}}
	for _, s := range doc.Suites {
		v.Suites = append(v.Suites, fmt.Sprintf("%s %d/%d/%d", s.Name, s.Tests, s.Failures, s.Errors))
		for _, c := range s.Cases {
			state := "pass"
			switch {
			case c.Failure != nil:
				state = "failure[" + c.Failure.Type + "] " + c.Failure.Message
			case c.Error != nil:
				state = "error[" + c.Error.Type + "]"
			}
			v.Cases[s.Name] = append(v.Cases[s.Name], c.Name+": "+state)
		}
	}
	return v
}

func TestJUnit(t *testing.T) {
	r := New("4f1c2e9", WithGeneratedAt(fixtureTime))
	r.AddTenant("prod", "hooli")
	r.Add(routeNetpol(), replicasDrift(), labelConflict())
	r.Fail("prod", "globex", "kubernetes", errors.New("connection refused"))
	r.Add(finding.Finding{Kind: finding.KindUnmanagedResource, Environment: "prod", Message: "stray namespace",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/Namespace", Name: "scratch"}})
	r.AddError(Error{Environment: "dev", API: "azure", Message: "403"})

	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	pass := func(kinds ...finding.Kind) []string {
		var out []string
		for _, k := range kinds {
			out = append(out, string(k)+": pass")
		}
		return out
	}
	want := junitView{
		Tests: 20, Failures: 4, Errors: 2,
		Suites: []string{"prod/acme 8/2/0", "prod/globex 2/1/1", "prod/hooli 8/0/0", "(no tenant) 2/1/1"},
		Cases: map[string][]string{
			"prod/acme": append(append([]string{
				"cross-tenant-route: networking.k8s.io/v1/NetworkPolicy tenant-acme/allow-globex → globex: failure[cross-tenant-route] [critical] NetworkPolicy admits pods of tenant globex"},
				pass(finding.KindUntrustedImage, finding.KindFieldConflict, finding.KindMissingResource, finding.KindStaleSecretVersion)...),
				append([]string{"managed-drift: apps/v1/Deployment tenant-acme/api spec.replicas: failure[managed-drift] [medium] replicas changed outside Pulumi"},
					pass(finding.KindUnpinnedImage, finding.KindUnmanagedResource)...)...),
			"prod/globex": {
				"reach kubernetes: error[not-checked]",
				"field-conflict: v1/Namespace tenant-globex metadata.labels.tenant: failure[field-conflict] [high] label changed by another field manager",
			},
			"prod/hooli": pass(finding.Kinds()...),
			"(no tenant)": {
				"reach azure: error[not-checked]",
				"unmanaged-resource: v1/Namespace scratch: failure[unmanaged-resource] [low] stray namespace",
			},
		},
	}
	if diff := cmp.Diff(want, readJUnit(t, b.Bytes())); diff != "" {
		t.Errorf("JUnit (-want +got):\n%s", diff)
	}
	out := b.String()
	for _, s := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`<property name="commit" value="4f1c2e9"></property>`,
		"<![CDATA[severity: medium\ntenant: prod/acme\n",
		"desired: 3\nlive: 5\n",
		`timestamp="2026-03-01T12:30:00"`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("JUnit lacks %q:\n%s", s, out)
		}
	}
}

func TestJUnitEscapesHostileText(t *testing.T) {
	f := replicasDrift()
	f.Message = `<script>"&'` + "\x1b[31m ]]> end"
	f.Evidence = []string{"line\x00with NUL"}
	r := New("4f1c2e9")
	r.Add(f)
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("hostile text broke the XML: %v\n%s", err, b.String())
	}
	var failure *junitProblem
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			failure = c.Failure
		}
	}
	if failure == nil {
		t.Fatalf("no failure case:\n%s", b.String())
	}
	if failure.Message != "[medium] <script>\"&'\uFFFD[31m ]]> end" {
		t.Errorf("failure message = %+v", failure)
	}
	if !strings.Contains(failure.Body, `evidence: line\x00with NUL`) {
		t.Errorf("failure body = %q", failure.Body)
	}
}
