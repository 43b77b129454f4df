package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

func shard(i, n int, build func(r *Report)) *Report {
	r := New("4f1c2e9", WithShard(i, n), WithGeneratedAt(fixtureTime.Add(time.Duration(i)*time.Minute)), WithToolVersion("v1.2.3"))
	build(r)
	return r
}

func TestMerge(t *testing.T) {
	one := shard(1, 2, func(r *Report) {
		r.AddTenant("prod", "acme")
		r.AddTenant("prod", "hooli")
		r.Add(routeNetpol(), replicasDrift(), cacheConfigMap())
		r.ApplyIgnore(ignoreKinds{finding.KindUnmanagedResource})
	})
	two := shard(2, 2, func(r *Report) {
		r.AddTenant("prod", "globex")
		r.AddTenant("dev", "initech")
		r.Add(labelConflict(), routeNetpol()) // the route again (overlapping evidence): deduplicated
	})
	two.Dirty = true

	// Shards travel as JSON files; merge what Decode read.
	var decoded []*Report
	for _, r := range []*Report{two, one} {
		var b bytes.Buffer
		if err := JSON(&b, r); err != nil {
			t.Fatal(err)
		}
		d, err := Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, d)
	}
	m, err := Merge(decoded...)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Commit       string
		Dirty        bool
		GeneratedAt  time.Time
		Shard        *Shard
		Merged       []Shard
		Environments []string
		Tenants      []TenantResult
		Findings     []string
		Ignored      int
		Status       Status
	}
	got := view{m.Commit, m.Dirty, m.GeneratedAt, m.Shard, m.Merged, m.Environments, m.Tenants, nil, m.Ignored, m.Status()}
	for _, f := range m.Findings {
		got.Findings = append(got.Findings, f.Title())
	}
	want := view{
		Commit: "4f1c2e9", Dirty: true, GeneratedAt: fixtureTime.Add(2 * time.Minute),
		Merged:       []Shard{{1, 2}, {2, 2}},
		Environments: []string{"dev", "prod"},
		Tenants: []TenantResult{
			{Environment: "dev", TenantID: "initech", Status: StatusClean},
			{Environment: "prod", TenantID: "acme", Status: StatusDrifted, Findings: 2, Ignored: 1},
			{Environment: "prod", TenantID: "globex", Status: StatusDrifted, Findings: 1},
			{Environment: "prod", TenantID: "hooli", Status: StatusClean},
		},
		Findings: []string{
			routeNetpol().Title(),
			replicasDrift().Title(),
			labelConflict().Title(),
		},
		Ignored: 1,
		Status:  StatusDrifted,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}

func TestMergeStatus(t *testing.T) {
	clean := func(i, n int) *Report {
		return shard(i, n, func(r *Report) { r.AddTenant("prod", "t"+string(rune('0'+i))) })
	}
	drift := func(i, n int) *Report { return shard(i, n, func(r *Report) { r.Add(replicasDrift()) }) }
	broken := func(i, n int) *Report {
		return shard(i, n, func(r *Report) { r.Fail("prod", "globex", "azure", errors.New("403 Forbidden")) })
	}
	tests := []struct {
		name    string
		reports []*Report
		want    Status
	}{
		{"all clean", []*Report{clean(1, 2), clean(2, 2)}, StatusClean},
		{"one drifted", []*Report{clean(1, 2), drift(2, 2)}, StatusDrifted},
		{"drift and error", []*Report{drift(1, 2), broken(2, 2)}, StatusError},
		{"missing shard is an error", []*Report{clean(1, 3), clean(3, 3)}, StatusError},
		{"unsharded reports", []*Report{New("4f1c2e9"), New("4f1c2e9")}, StatusClean},
		{"single report", []*Report{drift(1, 1)}, StatusDrifted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Merge(tt.reports...)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Status(); got != tt.want {
				t.Errorf("Status() = %s, want %s", got, tt.want)
			}
		})
	}
	m, err := Merge(clean(1, 3), clean(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Error{{API: "merge", Message: "shard 2/3 is missing from the merge; its tenants were not checked"}}, m.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestMergeRejects(t *testing.T) {
	other := New("9e8d7c6", WithShard(2, 2))
	tests := []struct {
		name    string
		reports []*Report
		want    string
	}{
		{"no reports", nil, "merge: no reports"},
		{"nil report", []*Report{New("4f1c2e9"), nil}, "merge: report 2 is missing"},
		{"mixed commits", []*Report{New("4f1c2e9", WithShard(1, 2)), other},
			"merge: report 2 is for commit 9e8d7c6 but report 1 is for commit 4f1c2e9; merge reports of one desired-state commit only"},
		{"mixed sharding", []*Report{New("4f1c2e9", WithShard(1, 2)), New("4f1c2e9")},
			"merge: report 2 is unsharded but report 1 is shard 1/2; do not mix sharded and unsharded reports"},
		{"different counts", []*Report{New("4f1c2e9", WithShard(1, 2)), New("4f1c2e9", WithShard(2, 3))},
			"merge: report 2 is shard 2/3 but report 1 is shard 1/2; shard counts differ"},
		{"shard twice", []*Report{New("4f1c2e9", WithShard(1, 2)), New("4f1c2e9", WithShard(1, 2))},
			"merge: shard 1/2 given twice (report 2)"},
		{"invalid report", []*Report{New("")}, "merge: report 1: no desired-state commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(tt.reports...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Merge error = %v, want %q", err, tt.want)
			}
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("kind %v, want %v", errkind.Of(err), errkind.Invalid)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := fixtureReport()
	policy := routeNetpol()
	policy.Kind = finding.KindManagedDrift
	policy.Field = "spec.ingress"
	policy.Desired = json.RawMessage(`[]`)
	policy.Live = json.RawMessage(`[ {"from": [{"namespaceSelector": {"matchLabels": {"tenant": "globex"}}}]} ]`)
	r.Add(policy)
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := r.finalized()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Report{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.Status() != r.Status() {
		t.Errorf("status changed: %s != %s", got.Status(), r.Status())
	}
}

func TestDecodeDerivesInsteadOfTrusting(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	// Claim everything is clean: statuses and summary are re-derived from findings and errors.
	tampered := strings.NewReplacer(`"status": "error"`, `"status": "clean"`, `"status": "drifted"`, `"status": "clean"`,
		`"errored": 1`, `"errored": 0`).Replace(b.String())
	r, err := Decode(strings.NewReader(tampered))
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Errored != 1 || r.Summary.Drifted != 3 || r.Status() != StatusError {
		t.Errorf("decoded summary %+v, status %s", r.Summary, r.Status())
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", "drift!", "report is not JSON"},
		{"no schema", `{"commit":"x"}`, `report schema version "" is not supported; this tenantctl reads "tenantctl.drift/v1"`},
		{"future schema", `{"schemaVersion":"tenantctl.drift/v2"}`, `report schema version "tenantctl.drift/v2" is not supported`},
		{"wrong types", `{"schemaVersion":"tenantctl.drift/v1","tenants":"acme"}`, "decode report"},
		{"invalid content", `{"schemaVersion":"tenantctl.drift/v1","commit":"x","findings":[{"kind":"cross-tenant-route","tenantId":"a","resource":{"provider":"azure","id":"/x"}}]}`,
			"invalid report: finding cross-tenant-route /x: cross-tenant route needs both tenantId and peerTenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode error = %v, want %q", err, tt.want)
			}
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("kind %v, want %v", errkind.Of(err), errkind.Invalid)
			}
		})
	}
}
