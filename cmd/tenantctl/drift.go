package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/check"
	"github.com/connectsoft/tenantctl/drift/ignore"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
)

func init() { register(newDriftCmd) }

// newDriftCmd is the parent of the drift subcommands: check, baseline and merge here, and those
// other files register with registerDrift (remediate, watch).
func newDriftCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Find drift, unmanaged objects, cross-tenant routes and untrusted images; baseline and merge reports",
	}
	cmd.AddCommand(newDriftCheckCmd(g), newDriftBaselineCmd(g), newDriftMergeCmd(g))
	for _, sub := range driftSubcommands {
		cmd.AddCommand(sub(g))
	}
	return cmd
}

// driftCheckFlags are the flags of a drift check (check and baseline share them).
type driftCheckFlags struct {
	engineFlags
	sel       fleet.Selection
	inventory string
	// stateFile is a `pulumi stack export` file (or a folder of them) read instead of the backend.
	stateFile  string
	engineOnly bool
	confirm    bool
	shard      string
	ignores    []string
	ignoreFile string
	// secretVersions reads Key Vault for stale-secret-version findings.
	secretVersions bool
	secretGrace    time.Duration
	// postgres is the data plane's server (connection string; password from PGPASSWORD or
	// ~/.pgpass).
	postgres string
}

func (f *driftCheckFlags) add(cmd *cobra.Command, g *globalOptions, selection bool) {
	f.engineFlags.add(cmd)
	fs := cmd.Flags()
	if selection {
		fs.StringSliceVarP(&f.sel.Tenants, "tenant", "t", nil, "tenant id (repeatable; default every tenant and the platform)")
		fs.BoolVar(&f.sel.All, "all", false, "every tenant, the platform and tenant scopes without a binding (the default without --tenant)")
		addEnvFlag(cmd, &f.sel.Envs)
		fs.StringVar(&f.shard, "shard", "", "check one shard `I/N` of the tenants (stable FNV-1a hash of the tenant id); combine the reports with drift merge")
		_ = cmd.RegisterFlagCompletionFunc("tenant", completeTenants(g))
	}
	fs.StringVar(&f.inventory, "inventory", "", "check this snapshot `FILE` (tenantctl inventory export, kubectl -o yaml, ARM JSON) instead of live APIs")
	fs.StringVar(&f.stateFile, "state-file", "", "read the stacks' recorded state from this `pulumi stack export` JSON `FILE` (or a folder of them, one per stack) instead of the state backend; the engine never runs then")
	fs.BoolVar(&f.engineOnly, "engine-only", false, "run preview --refresh of every stack (the slow path) instead of the fast path")
	fs.BoolVar(&f.confirm, "confirm", true, "confirm with the engine the tenants where the fast path found drift or whose state is older than the desired state")
	fs.StringSliceVar(&f.ignores, "ignore", nil, "ignore rule (repeatable), in .tenantctl-driftignore syntax")
	fs.StringVar(&f.ignoreFile, "ignore-file", "", "ignore file (default DIR/"+ignore.DefaultFile+" when it exists)")
	fs.BoolVar(&f.secretVersions, "secret-versions", false, "also read Key Vault (default Azure credential) and report pins that are disabled, expired, missing or stale")
	fs.DurationVar(&f.secretGrace, "secret-grace", secretversions.DefaultGrace, "with --secret-versions: how long a pin may lag the vault's current version")
	fs.StringVar(&f.postgres, "postgres", "", "also check the data layer on this PostgreSQL server (connection string; password from PGPASSWORD or ~/.pgpass): roles, databases, schemas, grants, policies and row-level security against the plan, and data-plane cross-tenant routes")
}

// mode is the check mode the flags ask for.
func (f *driftCheckFlags) mode() (check.Mode, error) {
	switch {
	case f.engineOnly && f.inventory != "":
		return "", exitcode.With(exitcode.Invalid, errors.New("--engine-only runs the engine against live APIs; it cannot check an --inventory snapshot"))
	case f.engineOnly && f.stateFile != "":
		return "", exitcode.With(exitcode.Invalid, errors.New("--engine-only runs the engine on the state backend; it cannot check the states of --state-file"))
	case f.engineOnly:
		return check.ModeEngine, nil
	case f.confirm && f.inventory == "" && f.stateFile == "":
		return check.ModeConfirm, nil
	}
	// offline or on exported states, the engine never runs: --confirm has nothing to confirm with
	return check.ModeFast, nil
}

// rules are the ignore file's rules followed by --ignore's (later rules win).
func (f *driftCheckFlags) rules(dir string) (*ignore.Rules, error) {
	var file *ignore.Rules
	var err error
	if f.ignoreFile != "" {
		file, err = ignore.Load(f.ignoreFile)
	} else {
		file, err = ignore.LoadDefault(dir)
	}
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("ignore rules: %w", err))
	}
	flags, err := ignore.FromFlags(f.ignores)
	if err != nil {
		return nil, err
	}
	return ignore.Join(file, flags), nil
}

// driftCheckRunner is a prepared drift check: desired state loaded, engine built, flags resolved.
// Commands that act on findings (remediate, watch) can build one from the same flags and call
// Run; Close releases the engine's audit log.
type driftCheckRunner struct {
	Engine     *automation.Engine
	State      *isolation.DesiredState
	Kubeconfig string
	Selection  fleet.Selection
	Mode       check.Mode
	Checker    *check.Checker
	closeAudit func() error
	// fromFiles: the stacks' state came from --state-file, not the backend status describes.
	fromFiles bool
}

// newDriftCheckRunner resolves the flags. withIgnore false checks without ignore rules (baseline).
func newDriftCheckRunner(cmd *cobra.Command, g *globalOptions, f *driftCheckFlags, withIgnore bool, extra ...check.Option) (*driftCheckRunner, error) {
	ctx := cmd.Context()
	mode, err := f.mode()
	if err != nil {
		return nil, err
	}
	var opts []check.Option
	if f.shard != "" {
		sh, err := report.ParseShard(f.shard)
		if err != nil {
			return nil, err
		}
		opts = append(opts, check.WithShard(sh))
	}
	state, err := isolation.Load(ctx, g.dir)
	if err != nil {
		return nil, err
	}
	if f.secretVersions {
		if f.inventory != "" {
			return nil, exitcode.With(exitcode.Invalid, errors.New("--secret-versions reads Key Vault; it cannot judge an --inventory snapshot offline"))
		}
		reader, err := vaultReader()
		if err != nil {
			return nil, err
		}
		opts = append(opts, check.WithSecretVersions(reader, f.secretGrace))
	}
	conn := f.resolvePostgres(cmd)
	opts = append(opts, check.WithPostgresConnection(conn))
	// Offline (--inventory), only an explicit --postgres is read.
	pgcfg, err := dataPlaneServer(f.postgres, conn, usesPostgres(state) && f.inventory == "")
	if err != nil {
		return nil, err
	}
	if pgcfg != nil {
		opts = append(opts, check.WithDataPlane(func(ctx context.Context, _ *isolation.Environment) ([]*pgcatalog.Catalog, error) {
			return pgcatalog.ReadServer(ctx, pgcfg)
		}))
	}
	if withIgnore {
		rules, err := f.rules(g.dir)
		if err != nil {
			return nil, err
		}
		opts = append(opts, check.WithIgnore(rules))
	}
	kubeconfig, err := f.resolveKubeconfig(cmd)
	switch {
	case err != nil && f.inventory == "":
		return nil, err
	case f.inventory != "":
		// offline: no program runs and nothing is read live, so no cluster is needed
		kubeconfig = ""
		opts = append(opts, check.WithInventoryFile(f.inventory))
	}
	if mode == check.ModeEngine {
		// every stack is previewed: report a missing passphrase or tool once, up front. The fast
		// path reads the backend directly and needs neither; confirm needs them only for the
		// stacks it confirms, and the engine reports them there.
		if err := f.requireEngine(); err != nil {
			return nil, err
		}
	}
	e, closeAudit, _, err := f.engine(nil)
	if err != nil {
		return nil, err
	}
	if f.stateFile != "" {
		states, err := automation.ReadStateExports(f.stateFile, e.ProjectName())
		if err != nil {
			closeAudit()
			return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--state-file: %w", err))
		}
		opts = append(opts, check.WithStackStates(states))
	}
	opts = append(opts, check.WithProgress(cmd.ErrOrStderr()))
	sel := f.sel
	if len(sel.Tenants) == 0 {
		sel.All = true
	}
	return &driftCheckRunner{
		Engine: e, State: state, Kubeconfig: kubeconfig, Selection: sel, Mode: mode, fromFiles: f.stateFile != "",
		Checker: check.New(e, state, kubeconfig, append(opts, extra...)...), closeAudit: closeAudit,
	}, nil
}

// Run checks and, after a live check, keeps the report where `tenantctl status` reads it.
func (r *driftCheckRunner) Run(ctx context.Context) (*check.Outcome, error) {
	out, err := r.Checker.Run(ctx, r.Selection, r.Mode)
	if err != nil {
		return nil, err
	}
	if !r.Checker.Offline() && !r.fromFiles {
		if err := saveLastReport(r.Engine, out.Report); err != nil {
			out.Report.Fail("", "", "tenantctl", fmt.Errorf("save the report for `tenantctl status`: %w", err))
		}
	}
	return out, nil
}

// Close releases the engine's resources.
func (r *driftCheckRunner) Close() error { return r.closeAudit() }

func newDriftCheckCmd(g *globalOptions) *cobra.Command {
	var f driftCheckFlags
	var outFile string
	cmd := &cobra.Command{
		Use:   "check [--tenant ID ...|--all] [-o text|json|sarif|junit|github] [--out FILE]",
		Short: "Check tenants for drift; exit 0 clean, 2 drift found, 1 error (an API unreachable), 3 invalid input",
		Long: `Check compares what runs with the desired state in Git, for every tenant by default.

By default (the fast path) it reads every stack's last state from the backend (stack exports, in
parallel, no program runs), lists the cluster once (one LIST per resource type across all
namespaces), and in one pass per environment compares the live objects with the stacks' desired
inputs field by field, finds objects no stack manages, cross-tenant routes and untrusted or
unpinned images. Then (--confirm, on by default) it runs the engine's preview --refresh for the
tenants where the fast path found something or whose state is older than the desired-state
commit. --engine-only runs the engine for every stack. --inventory FILE checks a snapshot offline.
--state-file FILE reads the stacks' state from ` + "`pulumi stack export`" + ` documents (a file, or a folder of
them) instead of the backend, as driftctl reads a tfstate; the engine never runs then.

The fast path, --inventory and --state-file need neither the pulumi CLI, its provider plugins nor
the secrets passphrase: the backend's storage (file://, postgres://) is read directly. The engine
(--engine-only, and --confirm for the stacks it confirms) needs all three.

The report names the desired-state commit. Formats: text (grouped by tenant and severity, then
causes shared by several tenants), json, sarif, junit, github. Ignore rules come from
DIR/.tenantctl-driftignore and --ignore.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := report.ParseFormat(g.output)
			if err != nil {
				return err
			}
			runner, err := newDriftCheckRunner(cmd, g, &f, true)
			if err != nil {
				return err
			}
			defer runner.Close()
			out, err := runner.Run(cmd.Context())
			if err != nil {
				return err
			}
			for _, er := range out.Engine {
				fmt.Fprintf(cmd.ErrOrStderr(), "engine preview --refresh of %s: %s\n", er.Stack, er.Reason)
			}
			return writeReport(cmd, format, outFile, out.Report, "drift check")
		},
	}
	f.add(cmd, g, true)
	cmd.Flags().StringVar(&outFile, "out", "", "write the report to this file instead of stdout")
	return cmd
}

// writeReport renders r to outFile (or stdout) and returns the report's exit code as an error.
func writeReport(cmd *cobra.Command, format report.Format, outFile string, r *report.Report, what string) error {
	var buf bytes.Buffer
	if err := report.Render(&buf, format, r, report.WithExitCodes(driftExitCode)); err != nil {
		return exitcode.With(exitcode.Failed, err)
	}
	if outFile == "" {
		if _, err := cmd.OutOrStdout().Write(buf.Bytes()); err != nil {
			return exitcode.With(exitcode.Failed, err)
		}
	} else if err := writeFileAtomic(outFile, sharedFile, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("%s: write %s: %w", what, outFile, err))
	}
	r.Finalize()
	switch code := driftExitCode(r.Status()); code {
	case exitcode.OK:
		return nil
	case exitcode.Findings:
		return exitcode.With(code, fmt.Errorf("%s: %d finding(s) in %d tenant(s)", what, r.Summary.Findings, r.Summary.Drifted))
	default:
		var msgs []string
		for _, e := range r.Errors {
			msgs = append(msgs, e.API+": "+e.Message)
		}
		return exitcode.With(code, fmt.Errorf("%s: %d error(s); nothing can be vouched for: %s", what, len(r.Errors), firstLines(msgs, 3)))
	}
}

func firstLines(msgs []string, n int) string {
	if len(msgs) > n {
		return strings.Join(msgs[:n], "; ") + fmt.Sprintf("; and %d more", len(msgs)-n)
	}
	return strings.Join(msgs, "; ")
}

func newDriftBaselineCmd(g *globalOptions) *cobra.Command {
	var f driftCheckFlags
	var file string
	cmd := &cobra.Command{
		Use:   "baseline [--out FILE] [-o text|json]",
		Short: "Write an ignore file accepting every current finding (default DIR/" + ignore.DefaultFile + ")",
		Long: `Baseline checks the whole fleet like "drift check --all", without ignore rules, and writes an
ignore file with one exact rule per finding, so the next check is clean and reports only new drift.
The file is replaced: it accepts what the old rules ignored too, and hand-written rules are gone
(review the diff before committing it). A cross-tenant route is accepted by a rule naming both
tenants. A check that could not reach an API writes nothing (exit 1): a partial baseline would
hide drift. -o json prints what was written as a DriftBaseline document.`,
		Args: invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if legacy := legacyOutFile(cmd, g, "text", "json"); legacy != "" && file == "" {
				file = legacy
			}
			format, err := outputFormat(cmd, g, "text", "json")
			if err != nil {
				return err
			}
			return runDriftBaseline(cmd, g, &f, file, format)
		},
	}
	f.add(cmd, g, false)
	cmd.Flags().StringVar(&file, "out", "", "ignore file to write (default DIR/"+ignore.DefaultFile+")")
	return cmd
}

func runDriftBaseline(cmd *cobra.Command, g *globalOptions, f *driftCheckFlags, file, format string) error {
	runner, err := newDriftCheckRunner(cmd, g, f, false)
	if err != nil {
		return err
	}
	defer runner.Close()
	out, err := runner.Run(cmd.Context())
	if err != nil {
		return err
	}
	r := out.Report
	if driftExitCode(r.Status()) == exitcode.Failed {
		var b bytes.Buffer
		_ = report.Text(&b, r, report.WithExitCodes(driftExitCode))
		cmd.ErrOrStderr().Write(b.Bytes())
		return exitcode.With(exitcode.Failed, errors.New("drift baseline: the check did not complete; no baseline written"))
	}
	if file == "" {
		file = filepath.Join(g.dir, ignore.DefaultFile)
	}
	data := ignore.Baseline(r.Findings, ignore.BaselineMeta{Commit: r.Commit, Dirty: r.Dirty, GeneratedAt: r.GeneratedAt})
	// shared: the ignore file is reviewed and committed with the desired state, like the bindings
	if err := writeFileAtomic(file, sharedFile, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return exitcode.With(exitcode.Failed, fmt.Errorf("drift baseline: write %s: %w", file, err))
	}
	if format == "json" {
		return writeDocument(cmd.OutOrStdout(), kindBaseline, struct {
			File string `json:"file"`
			revisionFields
			Rules int `json:"rules"`
		}{file, revisionFields{r.Commit, r.Dirty}, len(r.Findings)})
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d rule(s) accepting the findings of commit %s\n", file, len(r.Findings), r.Commit)
	return nil
}

func newDriftMergeCmd(g *globalOptions) *cobra.Command {
	var outFile string
	var allowMissing bool
	cmd := &cobra.Command{
		Use:   "merge FILE... [-o text|json|sarif|junit|github] [--out FILE]",
		Short: "Combine shard reports (drift check --shard I/N -o json) into one report with the same exit codes",
		Long: `Merge reads JSON reports of one desired-state commit (the shards of one run, or checks of
separate environments) and writes one report: tenants united, findings deduplicated, errors kept.
A shard missing from an I/N set is an error of the merged report (exit 1): its tenants were not
checked. Reports of different commits, a shard given twice or mixed shard counts are invalid
input (exit 3). With --allow-missing a FILE that does not exist is skipped, so the shard that
did not write it is reported missing (exit 1) in a merged report that is still written: what a
merge step after the shards of a Kubernetes Job needs (tenantctl deploy cronjob).`,
		Args: invalidArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := report.ParseFormat(g.output)
			if err != nil {
				return err
			}
			var parts []*report.Report
			for _, p := range args {
				if _, err := os.Stat(p); allowMissing && errors.Is(err, fs.ErrNotExist) {
					fmt.Fprintf(cmd.ErrOrStderr(), "drift merge: %s does not exist: its shard is reported missing\n", p)
					continue
				}
				r, err := decodeReportFile(p)
				if err != nil {
					return err
				}
				parts = append(parts, r)
			}
			if len(parts) == 0 {
				return exitcode.With(exitcode.Failed, fmt.Errorf("drift merge: none of the %d reports exists", len(args)))
			}
			merged, err := report.Merge(parts...)
			if err != nil {
				return err
			}
			return writeReport(cmd, format, outFile, merged, "drift merge")
		},
	}
	cmd.Flags().StringVar(&outFile, "out", "", "write the merged report to this file instead of stdout")
	cmd.Flags().BoolVar(&allowMissing, "allow-missing", false, "skip report files that do not exist; their shards are reported missing")
	return cmd
}

func decodeReportFile(path string) (*report.Report, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("drift merge: %w", err))
	}
	defer fh.Close()
	r, err := report.Decode(fh)
	if err != nil {
		return nil, exitcode.With(exitCodeOf(err), fmt.Errorf("drift merge: %s: %w", path, err))
	}
	return r, nil
}
