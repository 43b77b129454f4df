package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/localpostgres"
	"github.com/connectsoft/tenantctl/internal/toolchain"
)

// work is the layout of the work folder.
type work struct{ root string }

func (w work) path(p ...string) string { return filepath.Join(append([]string{w.root}, p...)...) }
func (w work) cluster() string         { return w.path("cluster") }
func (w work) postgres() string        { return w.path("postgres") }
func (w work) data() string            { return w.path("data") }
func (w work) desired() string         { return w.path("desired") }
func (w work) baseline() string        { return w.path("baseline") }
func (w work) reports() string         { return w.path("reports") }
func (w work) passphrase() string      { return w.path("passphrase") }
func (w work) record() string          { return w.path("fleet.json") }

// fleetRecord is what the work folder holds between runs.
type fleetRecord struct {
	Tenants   int  `json:"tenants"`
	Injected  bool `json:"injected"`
	DataLayer bool `json:"dataLayer"`
}

// services are what the fleet runs on: the local cluster, and the data layer's PostgreSQL server
// (nil without the data layer).
type services struct {
	kubeconfig string
	pg         *localpostgres.Instance
}

// startServices starts the cluster and the server unless they run; both are detached, so -keep
// can leave them for the next run.
func startServices(ctx context.Context, w work, tc toolchain.Toolchain, dataLayer bool) (services, error) {
	var svc services
	kc, running := localcluster.Running(ctx, w.cluster())
	if !running {
		logf("starting a local cluster in %s", w.cluster())
		startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		c, err := localcluster.Start(startCtx, localcluster.Options{BinDir: tc.KubeBinDir, StateDir: w.cluster(), Detach: true})
		cancel()
		if err != nil {
			return svc, fmt.Errorf("local cluster: %w", err)
		}
		kc = c.Kubeconfig
	}
	svc.kubeconfig = kc
	if !dataLayer {
		return svc, nil
	}
	in, ok := localpostgres.Running(ctx, w.postgres())
	if !ok {
		logf("starting a local PostgreSQL server in %s", w.postgres())
		_ = localpostgres.StopDir(w.postgres()) // a stale server of an earlier boot
		var err error
		if in, err = localpostgres.Start(ctx, localpostgres.Options{StateDir: w.postgres(), Detach: true}); err != nil {
			return svc, fmt.Errorf("local postgres: %w", err)
		}
	}
	svc.pg = in
	return svc, nil
}

func stopServices(w work) error {
	return errors.Join(localcluster.StopDir(w.cluster()), localpostgres.StopDir(w.postgres()))
}

// resetFleet stops the services and removes everything the fleet was: cluster, server, state,
// workspaces, desired-state repository and baseline project. Reports and the passphrase stay.
func resetFleet(w work) error {
	if err := stopServices(w); err != nil {
		return err
	}
	for _, d := range []string{w.cluster(), w.postgres(), w.data(), w.baseline(), w.desired(), w.record()} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, o options) error {
	tc := toolchain.Default()
	if err := tc.CheckEngine(); err != nil {
		return err
	}
	if err := tc.CheckCluster(); err != nil {
		return err
	}
	for _, p := range []*string{&o.work, &o.examples, &o.tenantctl, &o.program, &o.langHost} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	for _, bin := range []string{o.tenantctl, o.program, o.langHost} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (make bench-fleet builds it)", err)
		}
	}
	w := work{o.work}
	for _, d := range []string{w.root, w.reports()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	rec, err := loadRecord(w)
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			if err := stopServices(w); err != nil {
				logf("stop the local cluster and server: %v", err)
			}
		}()
	}
	if err := ensurePassphrase(w.passphrase()); err != nil {
		return err
	}

	env := environment{
		Machine:   fmt.Sprintf("%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version()),
		Load:      benchkit.LoadAverage(),
		DataLayer: o.dataLayer,
	}
	var svc services
	var results []sizeResult
	for _, n := range o.sizes {
		res := sizeResult{N: n, LoadBefore: benchkit.LoadAverage(), Modes: map[string]*modeResult{}}
		if o.cold() {
			// Cold means nothing exists: a new cluster, server, state backend and repository.
			logf("N=%d: a fresh fleet (cluster, PostgreSQL, state, desired-state repository)", n)
			if err := resetFleet(w); err != nil {
				return fmt.Errorf("reset the fleet: %w", err)
			}
			rec = fleetRecord{DataLayer: o.dataLayer}
		} else if svc.kubeconfig == "" {
			// A kept fleet is reused when its cluster (and server) still run and it has the
			// data layer this run asks for; otherwise it starts over.
			_, clusterUp := localcluster.Running(ctx, w.cluster())
			_, pgUp := localpostgres.Running(ctx, w.postgres())
			if !clusterUp || (o.dataLayer && !pgUp) || rec.DataLayer != o.dataLayer {
				if rec.Tenants > 0 {
					logf("the kept fleet's cluster or server is not running, or it has another data layer; starting a fresh fleet")
				}
				if err := resetFleet(w); err != nil {
					return fmt.Errorf("reset the fleet: %w", err)
				}
				rec = fleetRecord{DataLayer: o.dataLayer}
			}
		}
		if svc, err = startServices(ctx, w, tc, o.dataLayer); err != nil {
			return err
		}
		if n < rec.Tenants {
			return fmt.Errorf("the work folder holds a fleet of %d tenants, larger than %d: use sizes from %d up, or a fresh -work", rec.Tenants, n, rec.Tenants)
		}
		changed, err := benchkit.WriteDesiredStateWith(w.desired(), o.examples, n, benchkit.DesiredOptions{DataLayer: o.dataLayer})
		if err != nil {
			return err
		}
		committed, err := commitDesired(w.desired(), changed, n)
		if err != nil {
			return fmt.Errorf("commit desired state: %w", err)
		}
		if o.cold() {
			for _, m := range provisioningModes {
				if !o.has(m) {
					continue
				}
				logf("N=%d: mode (%s)", n, m)
				r, err := runMode(ctx, m, w, tc, o, svc, n)
				if err != nil {
					return fmt.Errorf("N=%d mode (%s): %w", n, m, err)
				}
				logf("N=%d: mode (%s) took %s, ran %d of %d stacks", n, m, benchkit.Secs(r.Wall), r.Ran, r.Stacks)
				res.Modes[m] = r
			}
			rec.Tenants = n
			if err := saveRecord(w, rec); err != nil {
				return err
			}
		} else if n > rec.Tenants || committed {
			// As a CD pipeline does after a commit: the whole fleet is brought up to it, so no
			// stack is older than the commit the checks compare against.
			logf("N=%d: `tenantctl up --all` of the platform and tenants 1..%d (--parallel %d; %d new)", n, n, o.parallel, n-rec.Tenants)
			if res.Provision, err = provision(ctx, w, o, svc, n); err != nil {
				return fmt.Errorf("provision N=%d: %w", n, err)
			}
			logf("N=%d: provisioned %d stacks in %s", n, res.Provision.Stacks, benchkit.Secs(res.Provision.Wall))
			rec.Tenants = n
			if err := saveRecord(w, rec); err != nil {
				return err
			}
		}
		if o.provisionOnly {
			return nil
		}
		if slices.ContainsFunc(driftModes, o.has) {
			// Every step is idempotent, and an up since the last injection may have undone some.
			if err := inject(ctx, svc.kubeconfig); err != nil {
				return fmt.Errorf("inject drift: %w", err)
			}
			if err := injectData(ctx, w, svc); err != nil {
				return fmt.Errorf("inject data-plane drift: %w", err)
			}
			res.DataInjected = svc.pg != nil
			rec.Injected = true
			if err := saveRecord(w, rec); err != nil {
				return err
			}
		}
		if o.has("a") {
			if err := writeBaselineProject(w, tc, o, svc.kubeconfig, n); err != nil {
				return fmt.Errorf("baseline project: %w", err)
			}
		}
		for _, m := range driftModes {
			if !o.has(m) {
				continue
			}
			logf("N=%d: mode (%s)", n, m)
			r, err := runMode(ctx, m, w, tc, o, svc, n)
			if err != nil {
				return fmt.Errorf("N=%d mode (%s): %w", n, m, err)
			}
			logf("N=%d: mode (%s) took %s (%d stacks run), %d findings, flagged %d", n, m, benchkit.Secs(r.Wall), r.Ran, len(r.Fingerprints), len(r.Flagged))
			res.Modes[m] = r
		}
		res.Agreement = compare(res.Modes, res.DataInjected)
		res.LoadAfter = benchkit.LoadAverage()
		results = append(results, res)
		env.LoadAfter = res.LoadAfter
		// Written after every size, so a long run leaves its finished sizes behind.
		if err := writeReport(o.out, env, results); err != nil {
			return err
		}
		if err := res.failure(); err != nil {
			printReport(env, results)
			return fmt.Errorf("N=%d: %w", n, err)
		}
	}
	printReport(env, results)
	return nil
}

// provision brings a kept fleet up to the desired state's last commit with `tenantctl up --all`,
// as a CD pipeline does: new tenants are created, changed ones updated, the others left alone.
// It runs the same binary as the checks, so the inputs digests it records (which name the build
// of the programs) are those the fast path's confirm mode compares with.
func provision(ctx context.Context, w work, o options, svc services, n int) (phase, error) {
	r := &modeResult{Mode: "provision"}
	if err := runUp(ctx, r, w, o, svc, n); err != nil {
		return phase{}, err
	}
	return phase{Wall: r.Wall, CPU: r.CPU, Stacks: r.Ran}, nil
}

func ensurePassphrase(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(hex.EncodeToString(b)), 0o600)
}

func loadRecord(w work) (fleetRecord, error) {
	var rec fleetRecord
	b, err := os.ReadFile(w.record())
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", w.record(), err)
	}
	return rec, nil
}

func saveRecord(w work, rec fleetRecord) error {
	b, _ := json.Marshal(rec)
	return os.WriteFile(w.record(), b, 0o600)
}
