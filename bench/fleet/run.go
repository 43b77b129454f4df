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
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/bench/internal/benchkit"
	"github.com/connectsoft/tenantctl/internal/localcluster"
	"github.com/connectsoft/tenantctl/internal/toolchain"
	"github.com/connectsoft/tenantctl/isolation"
)

// work is the layout of the work folder.
type work struct{ root string }

func (w work) path(p ...string) string { return filepath.Join(append([]string{w.root}, p...)...) }
func (w work) cluster() string         { return w.path("cluster") }
func (w work) data() string            { return w.path("data") }
func (w work) desired() string         { return w.path("desired") }
func (w work) baseline() string        { return w.path("baseline") }
func (w work) reports() string         { return w.path("reports") }
func (w work) passphrase() string      { return w.path("passphrase") }
func (w work) record() string          { return w.path("fleet.json") }

// fleetRecord is what the work folder holds between runs.
type fleetRecord struct {
	Tenants  int  `json:"tenants"`
	Injected bool `json:"injected"`
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
	kubeconfig, running := localcluster.Running(ctx, w.cluster())
	if !running {
		if rec.Tenants > 0 {
			logf("the kept fleet's cluster is not running; starting a fresh fleet")
		}
		for _, d := range []string{w.cluster(), w.data(), w.baseline(), w.desired(), w.record()} {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		rec = fleetRecord{}
		logf("starting a local cluster in %s", w.cluster())
		startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		c, err := localcluster.Start(startCtx, localcluster.Options{BinDir: tc.KubeBinDir, StateDir: w.cluster(), Detach: true})
		cancel()
		if err != nil {
			return fmt.Errorf("local cluster: %w", err)
		}
		kubeconfig = c.Kubeconfig
	}
	if !o.keep {
		defer func() {
			if err := localcluster.StopDir(w.cluster()); err != nil {
				logf("stop local cluster: %v", err)
			}
		}()
	}
	if err := ensurePassphrase(w.passphrase()); err != nil {
		return err
	}

	env := environment{
		Machine: fmt.Sprintf("%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version()),
		Load:    benchkit.LoadAverage(),
	}
	var results []sizeResult
	for _, n := range o.sizes {
		if n < rec.Tenants {
			return fmt.Errorf("the work folder holds a fleet of %d tenants, larger than %d: use sizes from %d up, or a fresh -work", rec.Tenants, n, rec.Tenants)
		}
		changed, err := benchkit.WriteDesiredState(w.desired(), o.examples, n)
		if err != nil {
			return err
		}
		committed, err := commitDesired(w.desired(), changed, n)
		if err != nil {
			return fmt.Errorf("commit desired state: %w", err)
		}
		res := sizeResult{N: n}
		// As a CD pipeline does after a commit: the whole fleet is brought up to it, so no stack is
		// older than the commit the checks compare against (confirm mode previews those).
		if n > rec.Tenants || committed {
			logf("N=%d: up of the platform and tenants 1..%d with the engine (--parallel %d; %d new)", n, n, o.parallel, n-rec.Tenants)
			if res.Provision, err = provision(ctx, tc, w, o.parallel, kubeconfig); err != nil {
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
		if !rec.Injected {
			if err := inject(ctx, kubeconfig); err != nil {
				return fmt.Errorf("inject drift: %w", err)
			}
			rec.Injected = true
			if err := saveRecord(w, rec); err != nil {
				return err
			}
		}
		if err := writeBaselineProject(w, tc, o, kubeconfig, n); err != nil {
			return fmt.Errorf("baseline project: %w", err)
		}
		res.Modes = map[string]*modeResult{}
		for _, m := range strings.Split(o.modes, ",") {
			logf("N=%d: mode (%s)", n, m)
			r, err := runMode(ctx, m, w, tc, o, kubeconfig, n)
			if err != nil {
				return fmt.Errorf("N=%d mode (%s): %w", n, m, err)
			}
			logf("N=%d: mode (%s) took %s (%d stacks run), %d findings, flagged %d", n, m, benchkit.Secs(r.Wall), r.Ran, len(r.Fingerprints), len(r.Flagged))
			res.Modes[m] = r
		}
		res.Agreement = compare(res.Modes)
		results = append(results, res)
		env.LoadAfter = benchkit.LoadAverage()
		// Written after every size, so a long run leaves its finished sizes behind.
		if err := writeReport(o.out, env, results); err != nil {
			return err
		}
		if res.Agreement.Err != nil {
			printReport(env, results)
			return fmt.Errorf("N=%d: %w", n, res.Agreement.Err)
		}
	}
	printReport(env, results)
	return nil
}

// provision brings up the platform and every tenant with the engine in this process, as
// `tenantctl up --all` does: new tenants are created, the others updated to the current commit.
func provision(ctx context.Context, tc toolchain.Toolchain, w work, parallel int, kubeconfig string) (phase, error) {
	var p phase
	state, err := isolation.Load(ctx, w.desired())
	if err != nil {
		return p, fmt.Errorf("load generated desired state: %w", err)
	}
	e, closeAudit, err := benchkit.NewEngine(tc, w.data(), parallel,
		automation.SecretsConfig{Provider: "passphrase", PassphraseFile: w.passphrase()}, "bench:fleet")
	if err != nil {
		return p, err
	}
	defer closeAudit()
	sel := fleet.Selection{All: true}
	cpu0 := benchkit.CPUTime()
	start := time.Now()
	out, err := fleet.New(e, state, kubeconfig).Run(ctx, automation.OpUp, sel)
	p.Wall, p.CPU = time.Since(start), benchkit.CPUTime()-cpu0
	if err != nil {
		return p, err
	}
	var errs []error
	for _, r := range out.All() {
		p.Stacks++
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("up %s: %s", r.Stack, r.Error))
		}
	}
	return p, errors.Join(errs...)
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
