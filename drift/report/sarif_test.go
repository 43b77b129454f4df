package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
)

func renderSARIF(t *testing.T, r *Report) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := SARIF(&b, r, WithExitCodes(cliExitCodes)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	return doc
}

func TestSARIFStructure(t *testing.T) {
	unknown := replicasDrift()
	unknown.Kind = "policy-violation" // a kind from a newer detector still gets a rule
	unknown.Location = finding.Location{File: `C:\desired\tenants\acme.yaml`}
	absolute := labelConflict()
	absolute.Location = finding.Location{File: "/srv/desired state/tenants/globex.yaml", Line: 9}
	reports := map[string]*Report{
		"fixture": fixtureReport(),
		"empty":   New("4f1c2e9", WithGeneratedAt(fixtureTime)),
		"sharded, unknown": func() *Report {
			r := New("4f1c2e9", WithShard(1, 2), WithDirty(true))
			r.Add(unknown, absolute)
			return r
		}(),
		"merge error only": func() *Report {
			r := New("4f1c2e9")
			r.AddError(Error{API: "merge", Message: "shard 2/2 missing"})
			return r
		}(),
		"no repository url": func() *Report { r := fixtureReport(); r.Repository = ""; return r }(),
	}
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			doc := renderSARIF(t, r)
			if errs := validateSARIF(t, doc); len(errs) > 0 {
				t.Fatalf("SARIF violates the schema:\n%v", errs)
			}
			checkSARIFSemantics(t, r, doc)
		})
	}
}

// checkSARIFSemantics checks what the schema cannot: rule indexes, fingerprints, levels, commit.
func checkSARIFSemantics(t *testing.T, r *Report, doc map[string]any) {
	t.Helper()
	v := r.finalized()
	run := doc["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	ruleIDs := map[string]bool{}
	for _, rule := range rules {
		ruleIDs[rule.(map[string]any)["id"].(string)] = true
	}
	for _, k := range finding.Kinds() {
		if !ruleIDs[string(k)] {
			t.Errorf("no rule for kind %s", k)
		}
	}
	results := run["results"].([]any)
	if len(results) != len(v.Findings) {
		t.Fatalf("%d results for %d findings", len(results), len(v.Findings))
	}
	for i, res := range results {
		res := res.(map[string]any)
		f := v.Findings[i]
		idx := int(res["ruleIndex"].(float64))
		if got := rules[idx].(map[string]any)["id"]; got != res["ruleId"] || got != string(f.Kind) {
			t.Errorf("result %d: ruleIndex %d names %v, ruleId %v, kind %s", i, idx, got, res["ruleId"], f.Kind)
		}
		if got := res["partialFingerprints"].(map[string]any)[FingerprintKey]; got != f.Fingerprint() {
			t.Errorf("result %d: fingerprint %v, want %s", i, got, f.Fingerprint())
		}
		if got := res["level"]; got != SARIFLevel(f.Severity) {
			t.Errorf("result %d: level %v for severity %s", i, got, f.Severity)
		}
		loc := res["locations"].([]any)[0].(map[string]any)
		if _, ok := loc["physicalLocation"]; ok != (f.Location.File != "") {
			t.Errorf("result %d: physicalLocation present=%v, finding location %q", i, ok, f.Location.File)
		}
	}
	inv := run["invocations"].([]any)[0].(map[string]any)
	if inv["executionSuccessful"] != (len(v.Errors) == 0) || int(inv["exitCode"].(float64)) != cliExitCodes(v.Status()) {
		t.Errorf("invocation %v for %d errors, status %s", inv, len(v.Errors), v.Status())
	}
	notes, _ := inv["toolExecutionNotifications"].([]any)
	if n := len(notes); n != len(v.Errors) {
		t.Errorf("%d notifications for %d errors", n, len(v.Errors))
	}
	props := run["properties"].(map[string]any)
	if props["commit"] != v.Commit || props["dirty"] != v.Dirty {
		t.Errorf("run properties name commit %v dirty %v", props["commit"], props["dirty"])
	}
	vcp, ok := run["versionControlProvenance"].([]any)
	if ok != (v.Repository != "") {
		t.Fatalf("versionControlProvenance present=%v with repository %q", ok, v.Repository)
	}
	if ok {
		d := vcp[0].(map[string]any)
		if d["repositoryUri"] != v.Repository || d["revisionId"] != v.Commit {
			t.Errorf("versionControlProvenance %v", d)
		}
	}
}

// TestSARIFSchemaCheckCatches proves the schema check is not vacuous: each change to a valid
// report breaks the keyword of the SARIF schema it should, at the place it should.
func TestSARIFSchemaCheckCatches(t *testing.T) {
	tests := []struct {
		name string
		mod  func(doc map[string]any)
		want string // "<instance pointer>: <keyword>" of one violation
	}{
		{"wrong version", func(d map[string]any) { d["version"] = "2.0.0" }, "/version: enum"},
		{"missing driver name", func(d map[string]any) { delete(driver(d), "name") }, "/runs/0/tool/driver: required"},
		{"extra result property", func(d map[string]any) { result(d)["severity"] = "high" }, "/runs/0/results/0: additionalProperties"},
		{"bad level", func(d map[string]any) { result(d)["level"] = "critical" }, "/runs/0/results/0/level: enum"},
		{"line zero", func(d map[string]any) {
			result(d)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0.0
		}, "/runs/0/results/0/locations/0/physicalLocation/region/startLine: minimum"},
		{"relative repository", func(d map[string]any) {
			d["runs"].([]any)[0].(map[string]any)["versionControlProvenance"].([]any)[0].(map[string]any)["repositoryUri"] = "desired-state"
		}, "/runs/0/versionControlProvenance/0/repositoryUri: format"},
		{"message without text", func(d map[string]any) {
			driver(d)["rules"].([]any)[0].(map[string]any)["shortDescription"] = map[string]any{}
		}, "/runs/0/tool/driver/rules/0/shortDescription: required"},
		{"duplicate rules", func(d map[string]any) {
			rules := driver(d)["rules"].([]any)
			driver(d)["rules"] = append(rules, rules[0])
		}, "/runs/0/tool/driver/rules: uniqueItems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := renderSARIF(t, fixtureReport())
			tt.mod(doc)
			got := validateSARIF(t, doc)
			if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, tt.want+":") }) {
				t.Errorf("violations %q do not include %q", got, tt.want)
			}
		})
	}
}

func driver(d map[string]any) map[string]any {
	return d["runs"].([]any)[0].(map[string]any)["tool"].(map[string]any)["driver"].(map[string]any)
}

func result(d map[string]any) map[string]any {
	return d["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
}

func TestSARIFFileURI(t *testing.T) {
	tests := map[string]string{
		"tenants/prod/acme.yaml":    "tenants/prod/acme.yaml",
		"./tenants/acme.yaml":       "tenants/acme.yaml",
		"tenants/my tenant.yaml":    "tenants/my%20tenant.yaml",
		"/srv/desired/acme.yaml":    "file:///srv/desired/acme.yaml",
		"/srv/desired state/a.yaml": "file:///srv/desired%20state/a.yaml",
	}
	for in, want := range tests {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSARIFLevels(t *testing.T) {
	got := map[finding.Severity][2]string{}
	for _, s := range finding.Severities {
		got[s] = [2]string{SARIFLevel(s), GitHubCommand(s)}
	}
	want := map[finding.Severity][2]string{
		finding.SeverityCritical: {"error", "error"}, finding.SeverityHigh: {"error", "error"},
		finding.SeverityMedium: {"warning", "warning"}, finding.SeverityLow: {"note", "notice"}, finding.SeverityInfo: {"note", "notice"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
}
