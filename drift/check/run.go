// Package run orchestrates a drift check over a fleet: which tenants and stacks are checked, where
// the desired state comes from (recorded stack state, or the programs through the engine), where
// the live state comes from (one bulk read of the cluster, or a snapshot file), and how the
// findings of the live comparison and of the engine's preview --refresh become one report.
//
// Three modes:
//   - fast: every stack's last state is exported in parallel (no program runs), the cluster is
//     read once (one LIST per type across all namespaces) and each environment is checked in one
//     pass;
//   - engine: every stack runs `preview --refresh`; the program's planned inputs are the desired
//     state, the engine's own findings are added, and the same live comparison runs against them;
//   - confirm: fast, then the engine path for the tenants the fast path found something in, whose
//     recorded state is not from the current inputs (the inputs digest an incremental up compares),
//     or that the fast path could not judge.
//
// The two paths describe one drift in the same terms: see Reconcile for the rule.
package check

import (
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/rest"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
)

// Mode selects how the desired state is obtained and whether the engine runs.
type Mode string

const (
	// ModeFast: stack exports and one live read; never runs a program.
	ModeFast Mode = "fast"
	// ModeEngine: `preview --refresh` of every stack (the slow path), plus the live comparison
	// against the programs' inputs.
	ModeEngine Mode = "engine"
	// ModeConfirm: fast, then the engine path for the tenants that need it.
	ModeConfirm Mode = "confirm"
)

// Modes lists every mode.
var Modes = []Mode{ModeFast, ModeEngine, ModeConfirm}

func (m Mode) valid() bool { return m == ModeFast || m == ModeEngine || m == ModeConfirm }

// RouteAnalyzers builds the cross-tenant route analyzer of one environment; nil disables route
// findings for it.
type RouteAnalyzers func(env *isolation.Environment, state *isolation.DesiredState) detect.RouteAnalyzer

// Checker checks a desired state against what runs.
type Checker struct {
	engine     *automation.Engine
	state      *isolation.DesiredState
	kubeconfig string

	restConfig    *rest.Config
	snapshot      *inventory.Snapshot
	inventoryFile string
	readerOpts    []kube.Option
	routes        RouteAnalyzers
	ignore        report.Filter
	shard         *report.Shard
	exportPool    int
	staleCheck    bool
	progress      io.Writer
	now           func() time.Time
	secretReader  keyvault.Reader
	catalogs      CatalogReader
	secretGrace   time.Duration
	postgres      string
	// states replace the backend as the stacks' recorded state (WithStackStates).
	states map[string]automation.StackState
}

// Option configures a Checker.
type Option func(*Checker)

// WithPostgresConnection is the data layer's connection file the programs get when the engine
// previews a stack (fleet.WithPostgres).
func WithPostgresConnection(path string) Option { return func(c *Checker) { c.postgres = path } }

// WithStackStates checks against these recorded stack states (automation.ReadStateExports: `pulumi
// stack export` files) instead of the engine's backend. The engine never runs then: only
// ModeFast is possible, since a preview would read the backend, not these states.
func WithStackStates(states map[string]automation.StackState) Option {
	return func(c *Checker) { c.states = states }
}

// WithRESTConfig reads the live cluster with cfg instead of the kubeconfig.
func WithRESTConfig(cfg *rest.Config) Option { return func(c *Checker) { c.restConfig = cfg } }

// WithInventoryFile checks a snapshot file (tenantctl inventory export, kubectl List, ARM JSON)
// instead of live APIs: offline mode. Only ModeFast is possible then.
func WithInventoryFile(path string) Option { return func(c *Checker) { c.inventoryFile = path } }

// WithSnapshot checks an in-memory snapshot instead of live APIs (offline, like
// WithInventoryFile).
func WithSnapshot(s *inventory.Snapshot) Option { return func(c *Checker) { c.snapshot = s } }

// WithReaderOptions passes options to the live reader (types, page size, parallelism).
func WithReaderOptions(opts ...kube.Option) Option {
	return func(c *Checker) { c.readerOpts = append(c.readerOpts, opts...) }
}

// WithRouteAnalyzers replaces the default cross-tenant route analysis (isolation/reach); pass
// nil to disable it.
func WithRouteAnalyzers(r RouteAnalyzers) Option { return func(c *Checker) { c.routes = r } }

// WithIgnore applies ignore rules (*ignore.Rules) to the report. Ignored findings do not make a
// tenant a candidate for the engine in ModeConfirm.
func WithIgnore(f report.Filter) Option { return func(c *Checker) { c.ignore = f } }

// WithShard checks only the tenants tenantplan.ShardOf puts in shard (1-based index of count).
func WithShard(s report.Shard) Option { return func(c *Checker) { c.shard = &s } }

// WithExportParallel bounds how many stack exports run at once (default: the engine's pool size).
func WithExportParallel(n int) Option { return func(c *Checker) { c.exportPool = n } }

// WithStaleCheck turns the "state not from the current inputs" rule of ModeConfirm on or off
// (default on).
func WithStaleCheck(on bool) Option { return func(c *Checker) { c.staleCheck = on } }

// WithProgress receives one line per phase (what was read, what the engine confirms).
func WithProgress(w io.Writer) Option { return func(c *Checker) { c.progress = w } }

// WithClock sets the clock of the report (tests).
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// New builds a Checker. The engine reads stack state (and runs previews in ModeEngine and
// ModeConfirm); kubeconfig is what the programs' provider and the live reader use.
func New(engine *automation.Engine, state *isolation.DesiredState, kubeconfig string, opts ...Option) *Checker {
	c := &Checker{engine: engine, state: state, kubeconfig: kubeconfig, routes: ReachAnalyzers, staleCheck: true, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.exportPool < 1 && engine != nil {
		c.exportPool = engine.Parallel()
	}
	if c.exportPool < 1 {
		c.exportPool = 1
	}
	return c
}

// Offline reports whether the checker reads a snapshot instead of live APIs.
func (c *Checker) Offline() bool { return c.inventoryFile != "" || c.snapshot != nil }

func (c *Checker) validate(mode Mode) error {
	switch {
	case !mode.valid():
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: unknown mode %q (want fast, engine or confirm)", mode))
	case c.state == nil:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: no desired state"))
	case c.engine == nil:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: the stacks' state backend is needed for the desired inputs"))
	case c.Offline() && mode != ModeFast:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: a snapshot is checked without live APIs, so the engine cannot run (mode %s); use the fast mode", mode))
	case c.states != nil && mode != ModeFast:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: stack states from files are checked without the backend, so the engine cannot run (mode %s); use the fast mode", mode))
	case c.shard != nil && (c.shard.Count < 1 || c.shard.Index < 1 || c.shard.Index > c.shard.Count):
		return errkind.Mark(errkind.Invalid, fmt.Errorf("drift check: shard %s: want I/N with 1 <= I <= N", c.shard))
	}
	return nil
}

func (c *Checker) logf(format string, args ...any) {
	if c.progress != nil {
		fmt.Fprintf(c.progress, format+"\n", args...)
	}
}
