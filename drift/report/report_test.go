package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

// cliExitCodes stands in for cmd/tenantctl's table (tested there): the renderers echo whatever
// code the caller gives them.
func cliExitCodes(s Status) int {
	switch s {
	case StatusError:
		return 1
	case StatusDrifted:
		return 2
	}
	return 0
}

// TestRenderEchoesTheCallersExitCode: the number in the text, GitHub and SARIF output is the
// caller's, and without one they state the status alone.
func TestRenderEchoesTheCallersExitCode(t *testing.T) {
	seven := WithExitCodes(func(Status) int { return 7 })
	tests := []struct {
		format Format
		opts   []RenderOption
		want   string
		absent string
	}{
		{FormatText, []RenderOption{seven}, "\nResult: ERROR (exit 7): 1 tenant(s)", ""},
		{FormatText, nil, "\nResult: ERROR: 1 tenant(s)", "(exit"},
		{FormatGitHub, []RenderOption{seven}, "1 ignored, exit 7%0A", ""},
		{FormatGitHub, nil, "1 ignored%0A", ", exit"},
		{FormatSARIF, []RenderOption{seven}, `"exitCode": 7`, ""},
		{FormatSARIF, nil, `"executionSuccessful": false`, `"exitCode"`},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := Render(&b, tt.format, fixtureReport(), tt.opts...); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) || tt.absent != "" && strings.Contains(b.String(), tt.absent) {
			t.Errorf("%s with %d option(s): want %q and no %q in\n%s", tt.format, len(tt.opts), tt.want, tt.absent, b.String())
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name  string
		build func(r *Report)
		want  Status
	}{
		{"nothing checked", func(r *Report) {}, StatusClean},
		{"clean tenants", func(r *Report) { r.AddTenant("prod", "acme"); r.AddTenant("prod", "globex") }, StatusClean},
		{"one finding", func(r *Report) { r.AddTenant("prod", "globex"); r.Add(replicasDrift()) }, StatusDrifted},
		{"error only", func(r *Report) { r.Fail("prod", "acme", "azure", errors.New("timeout")) }, StatusError},
		{"error wins over findings", func(r *Report) {
			r.Add(routeNetpol())
			r.Fail("prod", "", "kubernetes", errors.New("connection refused"))
		}, StatusError},
		{"all findings ignored", func(r *Report) {
			r.Add(cacheConfigMap())
			r.ApplyIgnore(ignoreKinds{finding.KindUnmanagedResource})
		}, StatusClean},
		{"tenant marked error without error entry", func(r *Report) {
			r.Tenants = append(r.Tenants, TenantResult{Environment: "prod", TenantID: "acme", Status: StatusError})
		}, StatusError},
		{"fixture", func(r *Report) { *r = *fixtureReport() }, StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("abc", WithGeneratedAt(fixtureTime))
			tt.build(r)
			if got := r.Status(); got != tt.want {
				t.Errorf("Status() = %s, want %s", got, tt.want)
			}
			r.Finalize()
			if got := r.Status(); got != tt.want {
				t.Errorf("Status() after Finalize = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFinalizeStatuses(t *testing.T) {
	r := New("abc", WithGeneratedAt(fixtureTime), WithEnvironments("staging"))
	r.AddTenant("prod", "acme")
	r.AddTenant("prod", "globex")
	r.AddTenant("dev", "acme")
	r.AddTenant("dev", "hooli")
	r.Add(replicasDrift())                                             // prod/acme drifted
	r.Fail("dev", "", "kubernetes", errors.New("cluster unreachable")) // every dev tenant errors
	dup := replicasDrift()
	dup.Live = json.RawMessage(`9`)
	dup.Severity = finding.SeverityHigh
	r.Add(dup) // same fingerprint, more severe: replaces the first
	r.Add(routeNetpol())
	r.Fail("dev", "", "kubernetes", errors.New("cluster unreachable")) // duplicate error collapses
	r.Finalize()

	got := r.Tenants
	want := []TenantResult{
		{Environment: "dev", TenantID: "acme", Status: StatusError, Error: "kubernetes: cluster unreachable"},
		{Environment: "dev", TenantID: "hooli", Status: StatusError, Error: "kubernetes: cluster unreachable"},
		{Environment: "prod", TenantID: "acme", Status: StatusDrifted, Findings: 2},
		{Environment: "prod", TenantID: "globex", Status: StatusClean},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dev", "prod", "staging"}, r.Environments); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if len(r.Findings) != 2 || r.Findings[0].Kind != finding.KindCrossTenantRoute || string(r.Findings[1].Live) != "9" {
		t.Errorf("findings not deduplicated/sorted: %+v", r.Findings)
	}
	wantSummary := Summary{Tenants: 4, Clean: 1, Drifted: 1, Errored: 2, Findings: 2, Errors: 1,
		ByKind:     map[finding.Kind]int{finding.KindCrossTenantRoute: 1, finding.KindManagedDrift: 1},
		BySeverity: map[finding.Severity]int{finding.SeverityCritical: 1, finding.SeverityHigh: 1}}
	if diff := cmp.Diff(wantSummary, r.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestAddNormalizesAndRedacts(t *testing.T) {
	r := New("abc")
	secret := finding.Finding{Kind: finding.KindManagedDrift, TenantID: "acme", Environment: "prod", Field: "data.password",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/Secret", Namespace: "tenant-acme", Name: "db"},
		Desired:  json.RawMessage(`"aHVudGVyMg=="`), Live: json.RawMessage(`"c3dvcmRmaXNo"`)}
	route := routeNetpol()
	route.Severity = finding.SeverityLow
	r.Add(secret, route)
	if string(r.Findings[0].Desired) != `"`+finding.Redacted+`"` || string(r.Findings[0].Live) != `"`+finding.Redacted+`"` {
		t.Errorf("Add kept secret values: %s / %s", r.Findings[0].Desired, r.Findings[0].Live)
	}
	if r.Findings[1].Severity != finding.SeverityCritical {
		t.Errorf("route severity = %s, want critical", r.Findings[1].Severity)
	}
	if diff := cmp.Diff([]TenantResult{{Environment: "prod", TenantID: "acme"}}, r.Tenants); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}

	// A report assembled by hand still renders redacted.
	raw := New("abc")
	raw.Findings = append(raw.Findings, secret)
	for _, f := range Formats {
		var b strings.Builder
		if err := Render(&b, f, raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "aHVudGVyMg==") || strings.Contains(b.String(), "c3dvcmRmaXNo") {
			t.Errorf("%s output leaks a secret value", f)
		}
	}
}

func TestApplyIgnoreCounts(t *testing.T) {
	r := fixtureReport()
	r.ApplyIgnore(ignoreKinds{finding.KindManagedDrift, finding.KindFieldConflict})
	r.ApplyIgnore(nil)
	r.Finalize()
	got := map[string]int{}
	for _, tr := range r.Tenants {
		got[tr.TenantID] = tr.Ignored
	}
	if diff := cmp.Diff(map[string]int{"acme": 2, "globex": 1, "hooli": 0, "initech": 0, "umbrella": 0}, got); diff != "" {
		t.Errorf("ignored per tenant (-want +got):\n%s", diff)
	}
	if r.Ignored != 3 || r.Summary.Ignored != 3 || r.Summary.Findings != 3 {
		t.Errorf("ignored = %d, summary ignored = %d, findings = %d; want 3, 3, 3", r.Ignored, r.Summary.Ignored, r.Summary.Findings)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(r *Report)
		want string
	}{
		{"valid", func(r *Report) {}, ""},
		{"no commit", func(r *Report) { r.Commit = "" }, "no desired-state commit"},
		{"future schema", func(r *Report) { r.SchemaVersion = "tenantctl.drift/v2" }, `schema version "tenantctl.drift/v2"`},
		{"bad shard", func(r *Report) { r.Shard = &Shard{Index: 3, Count: 2} }, "shard 3/2"},
		{"bad finding", func(r *Report) { r.Findings[0].PeerTenant = "" }, "needs both tenantId and peerTenant"},
		{"tenant without id", func(r *Report) { r.Tenants = append(r.Tenants, TenantResult{}) }, "has no id"},
		{"error without message", func(r *Report) { r.Errors[0].Message = "" }, "has no message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureReport()
			r.Finalize()
			tt.mod(r)
			err := r.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"1/1", Shard{1, 1}, false},
		{"2/4", Shard{2, 4}, false},
		{" 3 / 4 ", Shard{3, 4}, false},
		{"0/4", Shard{}, true},
		{"0+1/4", Shard{1, 4}, false},
		{"3+1/4", Shard{4, 4}, false},
		{"5/4", Shard{}, true},
		{"4", Shard{}, true},
		{"a/b", Shard{}, true},
		{"1/0", Shard{}, true},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Errorf("ParseShard(%q) kind %v, want %v", tt.in, errkind.Of(err), errkind.Invalid)
		}
	}
}

func TestParseFormatAndRender(t *testing.T) {
	for _, f := range Formats {
		got, err := ParseFormat(strings.ToUpper(string(f)))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", strings.ToUpper(string(f)), got, err)
		}
	}
	if _, err := ParseFormat("yaml"); errkind.Of(err) != errkind.Invalid ||
		err.Error() != `output format "yaml": want one of text, json, sarif, junit, github` {
		t.Errorf("ParseFormat(yaml) = %v", err)
	}
	var b strings.Builder
	if err := Render(&b, "yaml", fixtureReport()); errkind.Of(err) != errkind.Invalid || b.Len() != 0 {
		t.Errorf("Render(yaml) = %v, wrote %d bytes", err, b.Len())
	}
}

func TestManyTenantsAndStaleIndex(t *testing.T) {
	r := New("abc")
	const n = 20000
	for i := range n {
		r.AddTenant("prod", fmt.Sprintf("t%05d", i))
	}
	for i := n - 1; i >= 0; i -= 2 {
		f := replicasDrift()
		f.TenantID = fmt.Sprintf("t%05d", i)
		r.Add(f)
	}
	slices.Reverse(r.Tenants) // behind the index's back
	r.AddTenant("prod", "t00007")
	r.Add(cacheConfigMap()) // new tenant prod/acme
	r.ApplyIgnore(ignoreKinds{finding.KindUnmanagedResource})
	r.Finalize()
	if len(r.Tenants) != n+1 || r.Summary.Drifted != n/2 || r.Summary.Clean != n/2+1 {
		t.Fatalf("tenants %d, drifted %d, clean %d", len(r.Tenants), r.Summary.Drifted, r.Summary.Clean)
	}
	if acme := r.tenant("prod", "acme"); acme == nil || acme.Ignored != 1 || acme.Status != StatusClean {
		t.Errorf("prod/acme = %+v", acme)
	}
}
