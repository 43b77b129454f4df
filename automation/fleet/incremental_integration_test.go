package fleet_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// ran is what an incremental run did: the stacks the engine ran, with the reason, and the stacks
// it left alone.
type ranSummary struct {
	Ran       map[string]string
	Unchanged []string
}

func summarizeRun(t *testing.T, o fleet.Outcome) ranSummary {
	t.Helper()
	s := ranSummary{Ran: map[string]string{}}
	for _, r := range o.All() {
		if r.Err != nil {
			t.Fatalf("stack %s: %v", r.Stack, r.Err)
		}
		if r.InputsDigest == "" {
			t.Errorf("stack %s: no inputs digest in its result", r.Stack)
		}
		if r.Unchanged {
			if r.Reason != tenantplan.ReasonUnchanged {
				t.Errorf("unchanged stack %s: reason %q", r.Stack, r.Reason)
			}
			s.Unchanged = append(s.Unchanged, r.Stack)
			continue
		}
		s.Ran[r.Stack] = r.Reason
	}
	return s
}

// startedStacks counts the stacks the engine started (its progress events): an unchanged stack
// must never reach it.
type startedStacks struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *startedStacks) observe(p automation.Progress) {
	if p.Phase != "started" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[p.Stack]++
}

func (s *startedStacks) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.n
	s.n = map[string]int{}
	return out
}

// TestIncrementalUp walks issue 17 with the real engine: only the stacks whose inputs changed run,
// each for the right reason, judged from what the state backend records (no pulumi process for
// the others); a refresh, a program version bump and a forced run re-run what they must.
func TestIncrementalUp(t *testing.T) {
	started := &startedStacks{n: map[string]int{}}
	tc := testenv.Toolchain(t)
	dataDir := testenv.TempDir(t)
	e, err := automation.New(automation.WithToolchain(tc), automation.WithDataDir(dataDir), automation.WithParallel(2),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "fleet-test"}),
		automation.WithProgress(started.observe))
	if err != nil {
		t.Fatal(err)
	}
	cluster := testenv.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	dir := testenv.CopyDir(t, filepath.Join("..", "..", "examples", "tenants"))
	version := "v1.0.0+test"
	newFleet := func() *fleet.Fleet {
		return fleet.New(e, load(t, dir), cluster.Kubeconfig, fleet.WithProgramVersion(version))
	}
	t.Cleanup(func() {
		newFleet().Run(context.Background(), automation.OpDestroy, fleet.Selection{All: true, IncludePlatform: true})
	})
	incremental := fleet.Selection{All: true, Incremental: true}
	all := []string{"platform.dev", "tenant.acme.dev", "tenant.globex.dev", "tenant.initech.dev"}
	step := func(name string, op automation.Operation, sel fleet.Selection, want ranSummary) {
		t.Helper()
		o, err := newFleet().Run(ctx, op, sel)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := summarizeRun(t, o)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", name, diff)
		}
		wantStarted := map[string]int{}
		for s := range want.Ran {
			wantStarted[s] = 1
		}
		if diff := cmp.Diff(wantStarted, started.take()); diff != "" {
			t.Errorf("%s: stacks the engine started (-want +got):\n%s", name, diff)
		}
	}
	edit := func(file, from, to string) {
		t.Helper()
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(b), from, to, 1)
		if edited == string(b) {
			t.Fatalf("%s has no %q to edit", file, from)
		}
		if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The example fleet without its data layer: which stacks run does not depend on what they
	// create, the data layer has tests of its own, and every stack run is cheaper without it.
	edit("environments/dev.yaml", "    engine: postgresql\n", "")
	every := func(reason string) map[string]string {
		out := map[string]string{}
		for _, s := range all {
			out[s] = reason
		}
		return out
	}

	step("first up", automation.OpUp, incremental, ranSummary{Ran: every(fleet.ReasonNeverProvisioned)})

	// What the backend records, read straight from its storage, is what the CLI reports.
	direct, err := newFleet().Records(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	viaCLI, err := newFleet().RecordsFromCLIForTest(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		d, c := direct[s], viaCLI[s]
		if d.Last == nil || !d.Last.Succeeded() || c.Last == nil || !c.Last.Succeeded() {
			t.Errorf("%s: last operation %+v (storage), %+v (CLI), want a succeeded update", s, d.Last, c.Last)
		}
		dd, ok1 := tenantplan.RecordedDigest(d.Outputs)
		cd, ok2 := tenantplan.RecordedDigest(c.Outputs)
		if !ok1 || !ok2 || dd.Value != cd.Value || len(dd.Parts) == 0 {
			t.Errorf("%s: recorded digest %+v (storage), %+v (CLI)", s, dd, cd)
		}
		if d.Resources != c.Resources || d.Pending != 0 || d.Locked {
			t.Errorf("%s: storage %d resources (pending %d, locked %v), CLI %d", s, d.Resources, d.Pending, d.Locked, c.Resources)
		}
	}

	step("no-op up", automation.OpUp, incremental, ranSummary{Ran: map[string]string{}, Unchanged: all})

	// One binding: exactly its stack is previewed, then updated.
	edit("tenants/globex.yaml", "pods: 10", "pods: 12")
	onlyGlobex := ranSummary{Ran: map[string]string{"tenant.globex.dev": tenantplan.ReasonBinding},
		Unchanged: []string{"platform.dev", "tenant.acme.dev", "tenant.initech.dev"}}
	step("preview after a binding edit", automation.OpPreview, incremental, onlyGlobex)
	step("up after a binding edit", automation.OpUp, incremental, onlyGlobex)

	// An environment field one tenant reads (its workload identity), and one no program reads.
	edit("environments/dev.yaml", "acme: 0a1c0000-0000-4000-8000-00000000ac3e", "acme: 0a1c0000-0000-4000-8000-00000000ac3f")
	edit("environments/dev.yaml", "  production: false\n", "  production: false\n  allowedRoutes:\n    - {from: acme, to: globex, reason: agreed integration}\n")
	step("up after environment edits", automation.OpUp, incremental, ranSummary{
		Ran:       map[string]string{"tenant.acme.dev": tenantplan.ReasonEnvironment},
		Unchanged: []string{"platform.dev", "tenant.globex.dev", "tenant.initech.dev"}})

	// The platform's outputs: the platform runs first and every tenant, which consumes them, after.
	edit("environments/dev.yaml", "ingressNamespace: platform-ingress", "ingressNamespace: platform-ingress-b")
	step("up after a platform output change", automation.OpUp, incremental, ranSummary{Ran: map[string]string{
		"platform.dev": tenantplan.ReasonEnvironment, "tenant.acme.dev": tenantplan.ReasonPlatform,
		"tenant.globex.dev": tenantplan.ReasonPlatform, "tenant.initech.dev": tenantplan.ReasonPlatform,
	}})

	// A refresh may have recorded drift only an update restores: the refreshed stacks (a tenant's
	// refresh refreshes its platform stack first) run again; the platform's outputs stay the same,
	// so the other tenants do not.
	step("refresh one tenant", automation.OpRefresh, fleet.Selection{Tenants: []string{"initech"}},
		ranSummary{Ran: map[string]string{"platform.dev": "", "tenant.initech.dev": ""}})
	refreshed := "last operation was a refresh (succeeded), not an update"
	step("up after a refresh", automation.OpUp, incremental, ranSummary{
		Ran:       map[string]string{"platform.dev": refreshed, "tenant.initech.dev": refreshed},
		Unchanged: []string{"tenant.acme.dev", "tenant.globex.dev"}})

	version = "v1.0.1+test"
	step("up with a new program version", automation.OpUp, incremental, ranSummary{Ran: every(tenantplan.ReasonProgram)})

	step("forced up", automation.OpUp, fleet.Selection{All: true}, ranSummary{Ran: every("")})
	step("no-op up after all that", automation.OpUp, incremental, ranSummary{Ran: map[string]string{}, Unchanged: all})
}
