package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"50,200,1000", []int{50, 200, 1000}, false},
		{" 2 ", []int{2}, false},
		{"200,50", nil, true},
		{"50,50", nil, true},
		{"1", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := parseSizes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSizes(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseSizes(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSample(t *testing.T) {
	tests := []struct {
		n, k int
		want []int
	}{
		{5, 0, []int{1, 2, 3, 4, 5}},
		{5, 9, []int{1, 2, 3, 4, 5}},
		{10, 4, []int{1, 2, 3, 6}},
		{1000, 3, []int{1, 2, 334}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, sample(tt.n, tt.k)); diff != "" {
			t.Errorf("sample(%d, %d) (-want +got):\n%s", tt.n, tt.k, diff)
		}
	}
	// Evenly spread and always k distinct tenants, with the drifted two.
	got := sample(1000, 100)
	if len(got) != 100 || got[0] != 1 || got[1] != 2 || got[len(got)-1] < 950 {
		t.Errorf("sample(1000, 100) = %d entries from %d to %d", len(got), got[0], got[len(got)-1])
	}
}

func TestCompare(t *testing.T) {
	c := &modeResult{Mode: "c", Flagged: []string{"bench0001", "bench0002"},
		Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3"}}
	tests := []struct {
		name    string
		a, b    *modeResult
		wantErr string
		want    agreement
	}{{
		name: "agree; (a) misses the tenant with unmanaged objects only",
		a:    &modeResult{Flagged: []string{"bench0002"}},
		b:    &modeResult{Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3"}},
		want: agreement{EngineFast: "identical (3 findings)",
			BaselineFast: "(a) flags [bench0002]; (c) flags [bench0001 bench0002]; (a) cannot see [bench0001] (unmanaged objects, routes, images)"},
	}, {
		name:    "engine finds one the fast path misses",
		b:       &modeResult{Fingerprints: []string{"bench0001 f1", "bench0002 f2", "bench0002 f3", "bench0003 f4"}},
		wantErr: "only (b): [bench0003 f4]",
	}, {
		name: "sampled engine run compares on its sample only",
		b:    &modeResult{Sample: []string{"bench0002"}, Fingerprints: []string{"bench0002 f2", "bench0002 f3"}},
		want: agreement{EngineFast: "identical (2 findings)"},
	}, {
		name:    "(a) flags a tenant (c) finds clean",
		a:       &modeResult{Flagged: []string{"bench0002", "bench0007"}},
		wantErr: "(a) flags [bench0007], which (c) does not",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes := map[string]*modeResult{"c": c}
			if tt.a != nil {
				modes["a"] = tt.a
			}
			if tt.b != nil {
				modes["b"] = tt.b
			}
			got := compare(modes, false)
			if tt.wantErr != "" {
				if got.Err == nil || !strings.Contains(got.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", got.Err, tt.wantErr)
				}
				return
			}
			if got.Err != nil {
				t.Fatal(got.Err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTableScalesSampledRuns: a sampled baseline is reported at fleet scale, with the measured
// figure beside it, and the ratio uses the fleet-scale time.
func TestTableScalesSampledRuns(t *testing.T) {
	a := &modeResult{Mode: "a", Stacks: 1001, Ran: 101, Wall: 101 * time.Second, FleetWall: 1001 * time.Second, Flagged: []string{"bench0002"}}
	c := &modeResult{Mode: "c", Stacks: 1001, Ran: 1001, Wall: 10 * time.Second, FleetWall: 10 * time.Second,
		Fingerprints: []string{"x", "y"}, Flagged: []string{"bench0001", "bench0002"}}
	var b strings.Builder
	writeTable(&b, environment{Machine: "m", Load: "1", LoadAfter: "2"}, []sizeResult{{N: 1000, Modes: map[string]*modeResult{"a": a, "c": c}}})
	for _, want := range []string{
		"| 1000 | (a) shell loop of `pulumi preview --refresh --expect-no-changes` | 101 of 1001 | 16.7 min (measured 101.0 s on 101) |",
		"| 1 | — | 100.1 |",
		"| 1000 | (c) `tenantctl drift check` (fast path) | 1001 | 10.0 s |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseModes(t *testing.T) {
	tests := []struct {
		in        string
		dataLayer bool
		want      []string
		wantErr   string
	}{
		{"cold,noop,one,force,a,b,c,d", true, allModes, ""},
		{"c, a", false, []string{"a", "c"}, ""},
		{"d,cold", true, []string{"cold", "d"}, ""},
		{"noop", true, nil, "noop runs on the fleet cold provisions"},
		{"force,a", true, nil, "force runs on the fleet cold provisions"},
		{"c,d", false, nil, "-data-layer=false"},
		{"a,x", true, nil, `"x" is not one of`},
	}
	for _, tt := range tests {
		got, err := parseModes(tt.in, tt.dataLayer)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseModes(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseModes(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseModes(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// opDoc is an OperationResult document as `tenantctl up -o json` writes it (fields the benchmark
// reads, plus some it does not).
func opDoc(ran int, results string) string {
	return `{"apiVersion": "tenantctl.connectsoft.io/v1", "kind": "OperationResult", "operation": "up",
	"commit": "abc", "dirty": false, "exitCode": 0, "ran": ` + fmt.Sprint(ran) + `, "unchanged": 0, ` + results + `}`
}

func TestParseOpSummary(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    summaryCounts
		wantErr string
	}{{
		name: "cold: every stack new",
		doc: opDoc(3, `"platform": [{"stack": "platform.dev", "changes": {"create": 16}, "reason": "never provisioned", "durationSeconds": 3.1}],
			"tenants": [{"stack": "tenant.bench0002.dev", "changes": {"create": 20}, "reason": "never provisioned"},
			            {"stack": "tenant.bench0001.dev", "changes": {"create": 20}, "reason": "never provisioned"}]`),
		want: summaryCounts{Stacks: 3, Ran: 3, RanStacks: []string{"platform.dev", "tenant.bench0001.dev", "tenant.bench0002.dev"},
			Reasons: map[string]int{"never provisioned": 3}, Created: 56},
	}, {
		name: "no-op: every stack unchanged",
		doc: opDoc(0, `"platform": [{"stack": "platform.dev", "changes": {}, "unchanged": true, "reason": "inputs digest unchanged"}],
			"tenants": [{"stack": "tenant.bench0001.dev", "changes": {}, "unchanged": true, "reason": "inputs digest unchanged"}]`),
		want: summaryCounts{Stacks: 2, Reasons: map[string]int{}},
	}, {
		name: "one changed; a forced run gives no reason",
		doc: opDoc(2, `"platform": [{"stack": "platform.dev", "changes": {"same": 16}}],
			"tenants": [{"stack": "tenant.bench0001.dev", "changes": {}, "unchanged": true},
			            {"stack": "tenant.bench0002.dev", "changes": {"update": 1, "same": 19}, "reason": "binding changed"}]`),
		want: summaryCounts{Stacks: 3, Ran: 2, RanStacks: []string{"platform.dev", "tenant.bench0002.dev"},
			Reasons: map[string]int{"binding changed": 1, "no digest check (--force)": 1}},
	}, {
		name:    "a failed stack",
		doc:     opDoc(1, `"platform": [], "tenants": [{"stack": "tenant.bench0001.dev", "error": "exit status 255"}]`),
		wantErr: "1 stack(s) did not succeed: tenant.bench0001.dev: exit status 255",
	}, {
		name:    "a skipped stack",
		doc:     opDoc(0, `"platform": [], "tenants": [{"stack": "tenant.bench0001.dev", "skipped": "platform stack platform.dev failed"}]`),
		wantErr: "did not succeed",
	}, {
		name:    "counts that do not add up",
		doc:     opDoc(5, `"platform": [{"stack": "platform.dev", "changes": {}}], "tenants": []`),
		wantErr: "counts 5 stacks run but lists 1",
	}, {
		name:    "another document",
		doc:     `{"kind": "DriftReport", "findings": []}`,
		wantErr: "want an OperationResult of up",
	}, {
		name:    "not JSON",
		doc:     `up of desired state abc`,
		wantErr: "parse the up summary",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOpSummary([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpectedRun(t *testing.T) {
	tests := []struct {
		mode   string
		n      int
		sample []string
		want   []string
	}{
		{"cold", 3, nil, []string{"platform.dev", "tenant.bench0001.dev", "tenant.bench0002.dev", "tenant.bench0003.dev"}},
		{"noop", 3, nil, []string{}},
		{"one", 3, nil, []string{"tenant.bench0003.dev"}},
		{"force", 1000, []string{"bench0001", "bench0500"}, []string{"platform.dev", "tenant.bench0001.dev", "tenant.bench0500.dev"}},
		{"a", 3, nil, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, expectedRun(tt.mode, tt.n, tt.sample)); diff != "" {
			t.Errorf("expectedRun(%s, %d) (-want +got):\n%s", tt.mode, tt.n, diff)
		}
	}
	if err := checkRun("noop", nil, []string{}); err != nil {
		t.Errorf("a no-op that ran nothing: %v", err)
	}
	if err := checkRun("noop", []string{"platform.dev"}, []string{}); err == nil || !strings.Contains(err.Error(), "noop ran 1 stacks [platform.dev], want 0 stacks") {
		t.Errorf("a no-op that ran the platform: %v", err)
	}
	many := expectedRun("cold", 10, nil)
	if err := checkRun("one", many, []string{"tenant.bench0010.dev"}); err == nil || !strings.Contains(err.Error(), "one ran 11 stacks (platform.dev, tenant.bench0001.dev") {
		t.Errorf("one that ran every stack: %v", err)
	}
}

// TestModesChangeWhatTheyClaim: the commits the no-op and one-changed modes make change no stack's
// inputs digest and exactly the changed tenant's, by the digests `up` compares (computed here the
// way automation/fleet does, without the engine), and each is a real commit.
func TestModesChangeWhatTheyClaim(t *testing.T) {
	const n = 4
	w := work{t.TempDir()}
	if _, err := benchkit.WriteDesiredStateWith(w.desired(), "../../examples/tenants", n, benchkit.DesiredOptions{DataLayer: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := commitDesired(w.desired(), true, n); err != nil {
		t.Fatal(err)
	}
	build := tenantplan.Build{Program: "test", Providers: map[string]string{"pulumi": "v3"}}
	digests := func() map[string]string {
		t.Helper()
		st, err := isolation.Load(context.Background(), w.desired())
		if err != nil {
			t.Fatal(err)
		}
		env := st.Environment("dev")
		out := map[string]string{}
		d, err := tenantplan.PlatformDigest(env, build)
		if err != nil {
			t.Fatal(err)
		}
		out[tenantplan.PlatformStackName("dev")] = d.Value
		for _, b := range st.BindingsIn("dev") {
			d, err := tenantplan.TenantDigest(tenantplan.Inputs{Binding: b, Env: env, Platform: tenantplan.ExpectedPlatformOutputs(env)}, build)
			if err != nil {
				t.Fatal(err)
			}
			out[tenantplan.TenantStackName(b.Spec.TenantID, "dev")] = d.Value
		}
		return out
	}
	before := digests()
	commits := 1
	for _, tt := range []struct {
		mode string
		want []string
	}{{"noop", nil}, {"noop", nil}, {"one", []string{"tenant.bench0004.dev"}}} {
		if err := prepare(tt.mode, w, n); err != nil {
			t.Fatalf("%s: %v", tt.mode, err)
		}
		commits++
		after := digests()
		var changed []string
		for stack, d := range after {
			if before[stack] != d {
				changed = append(changed, stack)
			}
		}
		if diff := cmp.Diff(tt.want, changed); diff != "" {
			t.Errorf("%s: stacks whose digest changed (-want +got):\n%s", tt.mode, diff)
		}
		before = after
		if diff := cmp.Diff(expectedRun(tt.mode, n, nil), changed, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: expectedRun disagrees with the digests (-want +got):\n%s", tt.mode, diff)
		}
	}
	repo, err := git.PlainOpen(w.desired())
	if err != nil {
		t.Fatal(err)
	}
	log, err := repo.Log(&git.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	_ = log.ForEach(func(c *object.Commit) error { msgs = append(msgs, c.Message); return nil })
	if len(msgs) != commits || !strings.HasPrefix(msgs[0], "bench0004: CPU quota") {
		t.Errorf("commits (newest first): %q, want %d ending with the quota change", msgs, commits)
	}
	if err := commitChange(w.desired(), "nothing"); err == nil || !strings.Contains(err.Error(), "nothing changed") {
		t.Errorf("an empty commit: %v, want it refused", err)
	}
}

// TestDataDrift: the data-plane drift statements follow the real plan of generated tenants and
// quote every name.
func TestDataDrift(t *testing.T) {
	dir := t.TempDir()
	if _, err := benchkit.WriteDesiredStateWith(dir, "../../examples/tenants", 2, benchkit.DesiredOptions{DataLayer: true}); err != nil {
		t.Fatal(err)
	}
	st, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tenants, _, err := tenantplan.PlanData(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := tenants[0].Data.Postgres, tenants[1].Data.Postgres
	got, err := dataDrift("bench0001", p1, "bench0002", p2)
	if err != nil {
		t.Fatal(err)
	}
	want := []statement{
		{p1.Database, `GRANT CREATE ON SCHEMA "bench0001" TO "t_bench0001_app"`},
		{p1.Database, `GRANT USAGE ON SCHEMA "bench0001" TO "t_bench0002_app"`},
		{"postgres", `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 't_bench0002_extra') THEN CREATE ROLE "t_bench0002_extra" NOLOGIN; END IF; END$$`},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(statement{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name    string
		p1      *tenantplan.Postgres
		wantErr string
	}{
		{"no data", nil, "no PostgreSQL data"},
		{"no schema grant", &tenantplan.Postgres{Schema: "s", LoginRole: "r"}, "no grant of schema s to its login role"},
		{"CREATE planned already", &tenantplan.Postgres{Schema: "s", LoginRole: "r", Grants: []tenantplan.PGGrant{{Role: "r", ObjectType: "schema", Schema: "s", Privileges: []string{"CREATE", "USAGE"}}}}, "nothing to add"},
	} {
		if _, err := dataDrift("x", tt.p1, "y", p2); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v, want it to contain %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCompareDataPlane(t *testing.T) {
	c := &modeResult{Fingerprints: []string{"bench0001 k1", "bench0001 p1", "bench0002 p2"}, DataFingerprints: []string{"bench0001 p1", "bench0002 p2"}}
	tests := []struct {
		name     string
		b, d     *modeResult
		injected bool
		cData    []string
		want     []string
		wantErr  string
	}{{
		name: "all three agree",
		b:    &modeResult{Fingerprints: c.Fingerprints, DataFingerprints: []string{"bench0001 p1", "bench0002 p2"}},
		d:    &modeResult{DataFingerprints: []string{"bench0001 p1", "bench0002 p2"}}, injected: true,
		want: []string{"(b) vs (c): identical (2 data-plane findings)", "(d) vs (c): identical (2 data-plane findings)"},
	}, {
		name:     "sampled (b) on its sample",
		b:        &modeResult{Sample: []string{"bench0002"}, Fingerprints: []string{"bench0002 p2"}, DataFingerprints: []string{"bench0002 p2"}},
		injected: true,
		want:     []string{"(b) vs (c): identical (1 data-plane findings)"},
	}, {
		name: "without the data layer nothing is compared",
		d:    &modeResult{DataFingerprints: []string{"bench0001 p1"}},
	}, {
		name: "(d) misses one",
		d:    &modeResult{DataFingerprints: []string{"bench0001 p1"}}, injected: true,
		wantErr: "(d) and (c) disagree on the data plane: only (d): []; only (c): [bench0002 p2]",
	}, {
		name:     "injected but none reported",
		injected: true, cData: []string{},
		wantErr: "reports none of the data-plane drift",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := *c
			if tt.cData != nil {
				cc.DataFingerprints = tt.cData
			}
			modes := map[string]*modeResult{"c": &cc}
			if tt.b != nil {
				modes["b"] = tt.b
			}
			if tt.d != nil {
				modes["d"] = tt.d
			}
			got := compare(modes, tt.injected)
			if tt.wantErr != "" {
				if got.Err == nil || !strings.Contains(got.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", got.Err, tt.wantErr)
				}
				return
			}
			if got.Err != nil {
				t.Fatal(got.Err)
			}
			if diff := cmp.Diff(tt.want, got.DataPlane); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoalCell(t *testing.T) {
	tests := []struct {
		g    goal
		n    int
		v    float64
		want string
	}{
		{goalNoop, 1000, 4.2, "< 10 s at N = 1000: met"},
		{goalNoop, 1000, 12, "< 10 s at N = 1000: NOT met"},
		{goalNoop, 50, 40, "< 10 s at N = 1000"},
		{goalCPUPerNewStack, 6, 1.5, "≤ 1.5 CPU-s per new stack: met"},
		{goalCPUPerNewStack, 6, 2.6, "≤ 1.5 CPU-s per new stack: NOT met"},
		{goalDataRatio, 1000, 100, "(b) > 100× this at N = 1000: NOT met"},
	}
	for _, tt := range tests {
		if got := tt.g.cell(tt.n, tt.v); got != tt.want {
			t.Errorf("%s at N=%d, %v: %q, want %q", tt.g.text, tt.n, tt.v, got, tt.want)
		}
	}
}

// TestProvisioningAndDataPlaneTables: every provisioning row shows what ran and why, CPU per stack
// run and its goal; a sampled force run is scaled; a size whose no-op ran stacks fails; the
// data-plane table gives (b)'s time over (c)'s and (d)'s.
func TestProvisioningAndDataPlaneTables(t *testing.T) {
	res := sizeResult{N: 1000, LoadBefore: "0.10", LoadAfter: "1.90", Modes: map[string]*modeResult{
		"cold": {Stacks: 1001, Ran: 1001, Wall: 20 * time.Minute, FleetWall: 20 * time.Minute, CPU: 1401400 * time.Millisecond,
			Reasons: map[string]int{"never provisioned": 1001}, Created: 20016},
		"noop": {Stacks: 1001, Ran: 0, Wall: 4 * time.Second, FleetWall: 4 * time.Second, CPU: 5 * time.Second, Reasons: map[string]int{}},
		"one": {Stacks: 1001, Ran: 2, Wall: 16 * time.Second, FleetWall: 16 * time.Second, CPU: 8 * time.Second,
			Reasons: map[string]int{"binding changed": 1, "last update failed": 1}, Expect: errors.New("one ran 2 stacks [a b], want 1 stacks [b]")},
		"force": {Stacks: 1001, Ran: 51, Wall: 100 * time.Second, FleetWall: 1963 * time.Second, CPU: 130 * time.Second, Sample: []string{"x"}},
		"b":     {Stacks: 1001, Ran: 1001, Wall: 600 * time.Second, FleetWall: 600 * time.Second, DataFingerprints: []string{"1", "2", "3"}},
		"c":     {Stacks: 1001, Ran: 1001, Wall: 5 * time.Second, FleetWall: 5 * time.Second, DataFingerprints: []string{"1", "2", "3"}},
		"d": {Stacks: 1001, Ran: 1001, Wall: 400 * time.Millisecond, FleetWall: 400 * time.Millisecond, DataFingerprints: []string{"1", "2", "3"},
			Runs: []time.Duration{900 * time.Millisecond, 400 * time.Millisecond, 380 * time.Millisecond}},
	}}
	var b strings.Builder
	writeTable(&b, environment{Machine: "m", Load: "0.1", LoadAfter: "1.9", DataLayer: true}, []sizeResult{res})
	for _, want := range []string{
		"| 1000 | cold `tenantctl up --all` (nothing exists yet) | 1001 of 1001 | never provisioned: 1001 | 20.0 min | 23.4 min | 1.40 s | 20016 | ≤ 1.5 CPU-s per new stack: met |",
		"| 1000 | `up --all` after a commit no stack reads (README) | 0 of 1001 | — | 4.0 s | 5.0 s | — | 0 | < 10 s at N = 1000: met |",
		"| 1000 | `up --all` after a commit changing one tenant's quota | 2 of 1001 | binding changed: 1; last update failed: 1 | 16.0 s | 8.0 s | 4.00 s | 0 | < 15 s at N = 1000: NOT met |",
		"| 1000 | `up --all --force` (full engine) | 51 of 1001 | — | 32.7 min (measured 100.0 s on 51) | 130.0 s | 2.55 s | 0 | — |",
		"| 1000 | (b) `drift check --engine-only` (preview --refresh per stack, catalog pass included) | 10.0 min | 0.00 s | 3 | — | — |",
		"(Kubernetes and data plane: no flag restricts it to the data plane) | 5.0 s | 0.00 s | 3 | 120.0 | (b) > 100× this at N = 1000: met |",
		"median of 3) | 0.40 s | 0.00 s | 3 | 1500.0 | (b) > 100× this at N = 1000: met; < 1 s at N = 1000: met |",
		"- N=1000: load average (1 min) before 0.10, after 1.90",
		"- N=1000: (d) runs 0.90 s, 0.40 s, 0.38 s",
		"- N=1000: the digest path's no-op is 491× faster than the full engine's",
		"- N=1000: WRONG STACKS: one ran 2 stacks [a b], want 1 stacks [b]",
		"data layer: on",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tables lack %q:\n%s", want, b.String())
		}
	}
	if err := res.failure(); err == nil || !strings.Contains(err.Error(), "one ran 2 stacks") {
		t.Errorf("failure() = %v, want the wrong stacks of one", err)
	}
}
