package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/buildinfo"
	"github.com/connectsoft/tenantctl/internal/workpool"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// WithProgramVersion sets what identifies the build of the programs in every stack's inputs digest
// (default ProgramVersion()). Tests use it to stand for a new release.
func WithProgramVersion(v string) Option { return func(f *Fleet) { f.programVersion = v } }

// ProgramVersion identifies the build of the programs this process runs: a release build's version
// and commit (stamped by the Makefile, or recorded by `go install …@vX`); for a development build
// (no commit, or built from a modified tree) the SHA-256 of the executable, since its version
// says nothing about its code. A new build of the programs changes every stack's inputs digest.
var ProgramVersion = sync.OnceValue(func() string {
	in := buildinfo.Get()
	if in.Commit != "" && !in.Dirty && !strings.HasSuffix(in.Version, "-dirty") {
		return in.Version + "+" + in.Commit
	}
	if sum, err := executableDigest(); err == nil {
		return in.Version + "+exe." + sum
	}
	// Nothing identifies this build: a value of its own means no stack is ever taken as
	// unchanged by it.
	return in.Version + "+unidentified." + strconv.FormatInt(time.Now().UnixNano(), 10)
})

func executableDigest() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// build is what env's stacks run with beyond the desired state.
func (f *Fleet) build(env *isolation.Environment) (tenantplan.Build, error) {
	b := tenantplan.Build{Program: f.programVersion, Providers: map[string]string{}}
	if b.Program == "" {
		b.Program = ProgramVersion()
	}
	for name, v := range f.engine.PluginVersions() {
		// Only the azure target's programs run the azure-native provider: placing it in the tool
		// cache must not make the kubernetes target's stacks run again.
		if name == "azure-native" && env.Spec.Target != isolation.TargetAzure {
			continue
		}
		b.Providers[name] = v
	}
	if tenantplan.UsesPostgres(env) {
		s, err := f.postgresSettings()
		if err != nil {
			return b, err
		}
		b.Settings = s
	}
	return b, nil
}

// postgresSettings are the data layer's server as the programs' tenantpg provider sees it, less
// the password: a new server is a new place for every tenant's database.
func (f *Fleet) postgresSettings() (map[string]string, error) {
	f.pgOnce.Do(func() {
		c, _, err := stacks.LoadPostgresConnection(f.postgres)
		if err != nil {
			f.pgErr = err
			return
		}
		f.pgSettings = map[string]string{
			"postgres.host": c.Host, "postgres.port": strconv.Itoa(c.Port), "postgres.database": c.Database,
			"postgres.adminRole": c.AdminRole, "postgres.sslmode": c.SSLMode, "postgres.sslrootcert": c.SSLRootCert,
		}
	})
	return f.pgSettings, f.pgErr
}

// TenantDigest is the inputs digest of b's tenant stack when it consumes platform.
func (f *Fleet) TenantDigest(b *isolation.RuntimeTenantBinding, platform tenantplan.PlatformOutputs) (tenantplan.Digest, error) {
	env := f.state.Environment(b.Spec.Environment)
	bd, err := f.build(env)
	if err != nil {
		return tenantplan.Digest{}, err
	}
	return tenantplan.TenantDigest(tenantplan.Inputs{Binding: b, Env: env, Platform: platform}, bd)
}

// PlatformDigest is the inputs digest of env's platform stack.
func (f *Fleet) PlatformDigest(env *isolation.Environment) (tenantplan.Digest, error) {
	bd, err := f.build(env)
	if err != nil {
		return tenantplan.Digest{}, err
	}
	return tenantplan.PlatformDigest(env, bd)
}

// withDigest makes a program record its inputs digest as stack outputs once it has registered
// everything (a program that fails exports none, so its stack is not taken as up to date).
func withDigest(program pulumi.RunFunc, d tenantplan.Digest, err error) pulumi.RunFunc {
	if err != nil {
		return program // the program refuses the same inputs with its own error
	}
	return func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		ctx.Export(tenantplan.OutputInputsDigest, pulumi.String(d.Value))
		ctx.Export(tenantplan.OutputInputsParts, pulumi.ToStringMap(d.Parts))
		return nil
	}
}

// Recorded is what the state backend holds of a stack, as far as deciding whether it must run
// goes.
type Recorded struct {
	// Exists: the backend has the stack.
	Exists    bool
	Resources int
	// Locked: an update holds the stack's lock now.
	Locked bool
	// Pending counts the operations an interrupted update left in the checkpoint.
	Pending int
	// StateTime is when the checkpoint was last written (its manifest time; zero: unknown).
	StateTime time.Time
	// Outputs are the stack's recorded outputs (secrets masked).
	Outputs map[string]any
	// Last is the latest operation of the stack's history; nil with HistoryRead when it has none.
	Last *automation.LastOperation
	// HistoryRead says whether the history was read at all (the drift check reads it only where
	// the backend's storage is read directly).
	HistoryRead bool
}

// Reasons a stack runs that do not come from comparing digests.
const (
	ReasonNeverProvisioned = "never provisioned"
	ReasonLastFailed       = "last update failed"
	ReasonInProgress       = "an update is in progress"
	ReasonInterrupted      = "last update was interrupted (pending operations)"
	ReasonUnrecorded       = "the state changed after its last recorded operation (an interrupted update, or an edit of the state)"
	ReasonNoHistory        = "no update history"
	ReasonNoDigest         = "no inputs digest recorded (last updated without one)"
	ReasonForced           = "forced"
	ReasonRefresh          = "refresh asked"
)

// Decide says whether a stack whose current inputs digest is d (derr: the inputs do not plan)
// must run, given what its backend records, and why. A stack runs unless its last operation was
// an update that succeeded, recorded the same digest and left nothing pending.
func Decide(d tenantplan.Digest, derr error, r Recorded) (run bool, reason string) {
	switch {
	case derr != nil:
		return true, "inputs do not plan: " + derr.Error()
	case !r.Exists || r.Resources == 0:
		return true, ReasonNeverProvisioned
	case r.Locked:
		return true, ReasonInProgress
	case r.Pending > 0:
		return true, ReasonInterrupted
	case r.HistoryRead && r.Last == nil:
		return true, ReasonNoHistory
	case r.HistoryRead && !r.Last.At.IsZero() && r.StateTime.After(r.Last.At):
		// The backend names a history entry after the operation's last checkpoint write: a
		// later write is an update that never recorded its result.
		return true, ReasonUnrecorded
	case r.HistoryRead && !r.Last.Succeeded():
		if r.Last.Kind == "update" {
			return true, ReasonLastFailed
		}
		// A refresh may have recorded drift that only an update restores; an import or a
		// destroy replaced what the last update left.
		return true, fmt.Sprintf("last operation was a %s (%s), not an update", r.Last.Kind, r.Last.Result)
	}
	rec, ok := tenantplan.RecordedDigest(r.Outputs)
	if !ok {
		return true, ReasonNoDigest
	}
	if why := d.Changed(rec); why != nil {
		return true, strings.Join(why, ", ")
	}
	return false, tenantplan.ReasonUnchanged
}

// Records reads what the backend holds of the named stacks: straight from its storage where it can
// (file://, postgres://: one read for the fleet, no pulumi process), else through the CLI, one
// stack at a time on the engine's pool (export and history).
func (f *Fleet) Records(ctx context.Context, names []string) (map[string]Recorded, error) {
	states, err := f.engine.StackStates(ctx)
	if errors.Is(err, automation.ErrStatesUnsupported) {
		return f.recordsFromCLI(ctx, names)
	}
	if err != nil {
		return nil, fmt.Errorf("read stack states from %s: %w", f.engine.BackendURL(), err)
	}
	ops, err := f.engine.LastOperations(ctx)
	if err != nil {
		return nil, fmt.Errorf("read update history from %s: %w", f.engine.BackendURL(), err)
	}
	out := make(map[string]Recorded, len(names))
	for _, name := range names {
		st, ok := states[name]
		if !ok {
			out[name] = Recorded{HistoryRead: true}
			continue
		}
		r := recordedFrom(st.Deployment)
		r.Locked, r.StateTime = st.Locked, st.LastUpdate
		r.HistoryRead = true
		if op, ok := ops[name]; ok {
			r.Last = &op
		}
		out[name] = r
	}
	return out, nil
}

// RecordedFromDeployment is what a stack's exported state says for the decision (no lock, no
// history): the drift check reads deployments already.
func RecordedFromDeployment(d automation.Deployment) Recorded { return recordedFrom(d) }

func recordedFrom(d automation.Deployment) Recorded {
	r := Recorded{Exists: true, Resources: len(d.Resources), Pending: len(d.PendingOperations)}
	for _, res := range d.Resources {
		if res.Type == "pulumi:pulumi:Stack" {
			r.Outputs = res.Outputs
		}
	}
	return r
}

func (f *Fleet) recordsFromCLI(ctx context.Context, names []string) (map[string]Recorded, error) {
	out := make(map[string]Recorded, len(names))
	var mu sync.Mutex
	var firstErr error
	workpool.Each(ctx, f.engine.Parallel(), len(names), func(i int) {
		r, err := f.recordFromCLI(ctx, names[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		out[names[i]] = r
	}, nil)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

func (f *Fleet) recordFromCLI(ctx context.Context, name string) (Recorded, error) {
	d, err := f.engine.Export(ctx, name)
	if automation.IsNotFound(err) {
		return Recorded{HistoryRead: true}, nil
	}
	if err != nil {
		return Recorded{}, err
	}
	r := recordedFrom(d)
	op, ok, err := f.engine.LastOperationOf(ctx, name)
	if err != nil {
		return Recorded{}, err
	}
	r.HistoryRead = true
	if ok {
		r.Last = &op
	}
	return r, nil
}
