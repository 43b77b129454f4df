package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func shardReport(t *testing.T, dir, commit string, shard *report.Shard, tenant string, findings ...finding.Finding) string {
	t.Helper()
	var opts []report.Option
	name := "all"
	if shard != nil {
		opts = append(opts, report.WithShard(shard.Index, shard.Count))
		name = shard.String()
	}
	r := report.New(commit, opts...)
	r.AddTenant("dev", tenant)
	r.Add(findings...)
	p := filepath.Join(dir, strings.ReplaceAll(commit+"-"+name+"-"+tenant, "/", "of")+".json")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := report.JSON(fh, r); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDriftMerge(t *testing.T) {
	dir := t.TempDir()
	cm := finding.Finding{Kind: finding.KindUnmanagedResource, TenantID: "globex", Environment: "dev",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "t-globex", Name: "cache"}}
	one, two := &report.Shard{Index: 1, Count: 2}, &report.Shard{Index: 2, Count: 2}
	clean1 := shardReport(t, dir, "c1", one, "acme")
	drift2 := shardReport(t, dir, "c1", two, "globex", cm)
	clean2 := shardReport(t, dir, "c1", two, "initech")
	other := shardReport(t, dir, "c2", two, "globex")
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout (a report) or stderr (an error)
	}{
		{"clean shards", []string{clean1, clean2}, exitcode.OK, "Tenants: 2 checked: 2 clean"},
		{"a shard with drift", []string{clean1, drift2}, exitcode.Findings, "drift merge: 1 finding(s) in 1 tenant(s)"},
		{"a missing shard is an error", []string{drift2}, exitcode.Failed, "shard 1/2 is missing"},
		{"different commits", []string{clean1, other}, exitcode.Invalid, "merge reports of one desired-state commit only"},
		{"a shard twice", []string{drift2, clean2, clean1}, exitcode.Invalid, "given twice"},
		{"not a report", []string{clean1, notJSON}, exitcode.Invalid, "report is not JSON"},
		{"no such file", []string{filepath.Join(dir, "nope.json")}, exitcode.Invalid, "no such file"},
		{"no files", nil, exitcode.Invalid, "requires at least 1 arg"},
		{"sarif", []string{"-o", "sarif", clean1, drift2}, exitcode.Findings, `"version": "2.1.0"`},
		{"unknown format", []string{"-o", "xml", clean1, clean2}, exitcode.Invalid, `output format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			code, stdout, stderr := execTenantctl(t, context.Background(), append([]string{"drift", "merge"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant %q", code, tt.wantCode, stdout, stderr, tt.want)
			}
		})
	}
}

func TestDriftMergeOut(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	a := shardReport(t, dir, "c1", &report.Shard{Index: 1, Count: 2}, "acme")
	b := shardReport(t, dir, "c1", &report.Shard{Index: 2, Count: 2}, "globex")
	out := filepath.Join(dir, "merged.json")
	code, stdout, stderr := execTenantctl(t, context.Background(), "drift", "merge", "-o", "json", "--out", out, a, b)
	if code != exitcode.OK || stdout != "" {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	merged, err := report.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	var tenants []string
	for _, tr := range merged.Tenants {
		tenants = append(tenants, tr.TenantID)
	}
	if diff := cmp.Diff([]string{"acme", "globex"}, tenants); diff != "" {
		t.Errorf("merged tenants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]report.Shard{{Index: 1, Count: 2}, {Index: 2, Count: 2}}, merged.Merged); diff != "" {
		t.Errorf("merged shards (-want +got):\n%s", diff)
	}
}

// TestDriftCheckRefusesInvalidInput: refused before an engine or a cluster is touched.
func TestDriftCheckRefusesInvalidInput(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "tenants")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"shard out of range", []string{"drift", "check", "--shard", "3/2"}, `shard "3/2"`},
		{"shard syntax", []string{"drift", "check", "--shard", "half"}, `shard "half"`},
		{"unknown format", []string{"drift", "check", "-o", "xml"}, `output format "xml"`},
		{"engine on a snapshot", []string{"drift", "check", "--engine-only", "--inventory", "snap.json"}, "cannot check an --inventory snapshot"},
		{"bad ignore rule", []string{"drift", "check", "-d", dir, "--ignore", "colour=red"}, "--ignore:1"},
		{"missing ignore file", []string{"drift", "check", "-d", dir, "--ignore-file", filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"no desired state", []string{"drift", "check", "-d", filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"check arguments", []string{"drift", "check", "acme"}, "unknown command"},
		{"baseline arguments", []string{"drift", "baseline", "acme"}, "unknown command"},
		{"baseline on a snapshot with the engine", []string{"drift", "baseline", "--engine-only", "--inventory", "snap.json"}, "cannot check an --inventory snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			code, _, stderr := execTenantctl(t, context.Background(), tt.args...)
			if code != exitcode.Invalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, exitcode.Invalid, tt.want)
			}
		})
	}
}
