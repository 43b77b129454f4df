package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"os"
	"path/filepath"
	"time"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/isolation"
)

// phase is one timed fleet operation.
type phase struct {
	Wall      time.Duration
	CPU       time.Duration // user+sys of this process and the CLIs it waited for
	Busy      float64       // cores busy on the whole machine (control plane and servers too)
	PeakRSS   int64         // bytes, this process and its descendants without the cluster
	Stacks    int
	Resources int // resources created (up) or deleted (destroy)
}

// measurement is one provisioning run: up of the platform and n tenants, then destroy of all.
type measurement struct {
	N        int
	Parallel int
	Up       phase
	Destroy  phase
}

// measure provisions n generated pool tenants with the given parallelism on a fresh local cluster
// and a fresh file state backend, then destroys them; both are timed.
func measure(ctx context.Context, tc toolchain.Toolchain, examples string, n, parallel int, logf func(string, ...any)) (m measurement, err error) {
	m = measurement{N: n, Parallel: parallel}
	work, err := os.MkdirTemp("", "tctl-bench-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(work)
	desired := filepath.Join(work, "desired")
	if _, err := benchkit.WriteDesiredState(desired, examples, n); err != nil {
		return m, err
	}
	state, err := isolation.Load(ctx, desired)
	if err != nil {
		return m, fmt.Errorf("load generated desired state: %w", err)
	}

	logf("p%d: starting a fresh local cluster", parallel)
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	cluster, err := localcluster.Start(startCtx, localcluster.Options{BinDir: tc.KubeBinDir, StateDir: filepath.Join(work, "cluster")})
	cancel()
	if err != nil {
		return m, fmt.Errorf("local cluster: %w", err)
	}
	defer cluster.Stop()

	b := make([]byte, 16)
	rand.Read(b)
	e, closeAudit, err := benchkit.NewEngine(tc, filepath.Join(work, "data"), parallel,
		automation.SecretsConfig{Provider: "passphrase", Passphrase: hex.EncodeToString(b)}, "bench:provision")
	if err != nil {
		return m, err
	}
	defer closeAudit()
	defer e.Close()
	f := fleet.New(e, state, cluster.Kubeconfig)

	logf("p%d: up of the platform stack and %d tenants", parallel, n)
	up, upPhase, err := timed(ctx, e, f, automation.OpUp, fleet.Selection{All: true}, "create")
	m.Up = upPhase
	if err != nil {
		return m, err
	}
	if got := len(up.Tenants); got != n {
		return m, fmt.Errorf("up ran %d tenant stacks, want %d", got, n)
	}
	logf("p%d: up took %s; destroying", parallel, m.Up.Wall.Round(100*time.Millisecond))
	_, m.Destroy, err = timed(ctx, e, f, automation.OpDestroy, fleet.Selection{All: true, IncludePlatform: true}, "delete")
	if err != nil {
		return m, err
	}
	if m.Destroy.Resources != m.Up.Resources {
		return m, fmt.Errorf("destroy deleted %d resources, up created %d", m.Destroy.Resources, m.Up.Resources)
	}
	logf("p%d: destroy took %s", parallel, m.Destroy.Wall.Round(100*time.Millisecond))
	return m, nil
}

// timed runs one fleet operation and fails unless every stack succeeded.
func timed(ctx context.Context, e *automation.Engine, f *fleet.Fleet, op automation.Operation, sel fleet.Selection, counted string) (fleet.Outcome, phase, error) {
	var p phase
	cpu0, busy0 := benchkit.CPUTime(), benchkit.MachineBusy()
	rss := benchkit.StartRSSSampler(250 * time.Millisecond)
	start := time.Now()
	out, err := f.Run(ctx, op, sel)
	p.Wall = time.Since(start)
	// the provider plugins the engine kept running are waited for, so their CPU time counts
	e.StopIdleProviders()
	p.PeakRSS = rss.Stop()
	p.CPU = benchkit.CPUTime() - cpu0
	p.Busy = (benchkit.MachineBusy() - busy0).Seconds() / p.Wall.Seconds()
	if err != nil {
		return out, p, fmt.Errorf("%s: %w", op, err)
	}
	var errs []error
	for _, r := range out.All() {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %s", op, r.Stack, r.Error))
		}
		p.Stacks++
		p.Resources += r.Changes[counted]
	}
	return out, p, errors.Join(errs...)
}
