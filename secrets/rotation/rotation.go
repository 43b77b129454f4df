// Package rotation moves tenants' pinned secret references to their vault's current version, the
// way every other change reaches a tenant: the binding's currentVersion changes in the
// desired-state Git repository, then the engine brings up exactly the stacks that use it, whose
// SecretProviderClass then names the new version. References that follow the latest version are
// recorded as observed. It never reads a secret's value and never disables a version: the old
// version stays valid in the vault, and referenced by the stacks that have not applied the new
// one, so a rotation that stops half-way leaves every workload able to mount its secret and is
// resumed by the next run; a run with nothing new to do changes and records nothing.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Runner brings one tenant stack of env up from a desired state (FleetRunner: the engine).
type Runner interface {
	Up(ctx context.Context, st *isolation.DesiredState, env, tenant string) error
}

// Auditor records audit events (*audit.Auditor).
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Record, error)
}

// Rotator rotates the secret references of a desired-state folder.
type Rotator struct {
	dir       string
	reader    keyvault.Reader
	journal   *Journal
	runner    Runner
	auditor   Auditor
	principal string
	git       GitMode
	now       func() time.Time
	progress  io.Writer
}

// Option configures a Rotator.
type Option func(*Rotator)

// WithRunner sets what brings stacks up; Rotate needs one, Status does not.
func WithRunner(r Runner) Option { return func(x *Rotator) { x.runner = r } }

// WithAuditor records every rotation step as a secret.rotate event.
func WithAuditor(a Auditor) Option { return func(x *Rotator) { x.auditor = a } }

// WithPrincipal names who rotates, in audit events and commits.
func WithPrincipal(p string) Option { return func(x *Rotator) { x.principal = p } }

// WithGit says where the binding change goes (default: a commit on the checked-out branch).
func WithGit(g GitMode) Option { return func(x *Rotator) { x.git = g } }

// WithClock sets the clock that judges expiry and lag (tests).
func WithClock(now func() time.Time) Option { return func(x *Rotator) { x.now = now } }

// WithProgress receives one line per step.
func WithProgress(w io.Writer) Option { return func(x *Rotator) { x.progress = w } }

// New rotates the references of the desired state in dir, reading vaults with reader and keeping
// its journal in journal.
func New(dir string, reader keyvault.Reader, journal *Journal, opts ...Option) *Rotator {
	r := &Rotator{dir: dir, reader: reader, journal: journal, now: time.Now, progress: io.Discard, principal: audit.LocalPrincipal()}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Selection says which tenants a rotation covers.
type Selection struct {
	Tenants []string
	All     bool
	Env     string
	// Envs restricts to these environments too (the CLI's repeatable --env); none with Env empty
	// means every environment.
	Envs []string
}

// InEnv reports whether the selection covers environment env.
func (s Selection) InEnv(env string) bool {
	if s.Env == "" && len(s.Envs) == 0 {
		return true
	}
	return env == s.Env || slices.Contains(s.Envs, env)
}

func (s Selection) bindings(st *isolation.DesiredState) ([]*isolation.RuntimeTenantBinding, error) {
	if !s.All && len(s.Tenants) == 0 {
		return nil, errkind.Mark(errkind.Invalid, errors.New("select tenants with --tenant ID (repeatable) or --all"))
	}
	for _, name := range append([]string{s.Env}, s.Envs...) {
		if name != "" && st.Environment(name) == nil {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("--env %s: no such environment in %s", name, st.Dir))
		}
	}
	var out []*isolation.RuntimeTenantBinding
	found := map[string]bool{}
	for _, b := range st.Bindings {
		if s.InEnv(b.Spec.Environment) && (s.All || slices.Contains(s.Tenants, b.Spec.TenantID)) {
			out = append(out, b)
			found[b.Spec.TenantID] = true
		}
	}
	for _, t := range s.Tenants {
		if !found[t] {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("--tenant %s: no binding in %s", t, st.Dir))
		}
	}
	return out, nil
}

// Actions on one reference.
const (
	// ActionRotated: the pin moved to the new version and the stack applied it.
	ActionRotated = "rotated"
	// ActionResumed: a rotation an earlier run left in Git reached its stack.
	ActionResumed = "resumed"
	// ActionObserved: an unpinned reference's current version changed; recorded.
	ActionObserved = "observed"
	// ActionFailed: the pin moved in Git but the stack's up failed; the next run resumes it.
	ActionFailed = "failed"
	// ActionUnavailable: the vault could not be read or has no usable version; nothing changed.
	ActionUnavailable = "unavailable"
)

// RefOutcome is what a run did with one reference. Versions are ids, never values.
type RefOutcome struct {
	Stack       string `json:"stack"`
	TenantID    string `json:"tenantId"`
	Environment string `json:"environment"`
	Reference   string `json:"reference"`
	Vault       string `json:"vault"`
	Secret      string `json:"secretName"`
	Pinned      bool   `json:"pinned"`
	Old         string `json:"oldVersion,omitempty"`
	New         string `json:"newVersion,omitempty"`
	Action      string `json:"action"`
	Error       string `json:"error,omitempty"`
}

// StackOutcome is the up of one affected stack.
type StackOutcome struct {
	Stack       string `json:"stack"`
	TenantID    string `json:"tenantId"`
	Environment string `json:"environment"`
	Error       string `json:"error,omitempty"`
}

// Released is an old version no stack references any more: the vault's owner may disable it.
type Released struct {
	Vault   string `json:"vault"`
	Secret  string `json:"secretName"`
	Version string `json:"version"`
}

// Result is one rotation run.
type Result struct {
	// Commit is the commit this run made ("" when it made none); Revision and Dirty the desired
	// state the stacks were brought up from. In JSON, commit and dirty name the desired state as
	// in every other document of the CLI contract, and the run's own commit is rotationCommit.
	Commit     string         `json:"rotationCommit,omitempty"`
	Branch     string         `json:"branch,omitempty"`
	InPlace    bool           `json:"inPlace,omitempty"`
	Revision   string         `json:"commit"`
	Dirty      bool           `json:"dirty"`
	References []RefOutcome   `json:"references"`
	Stacks     []StackOutcome `json:"stacks"`
	Released   []Released     `json:"released,omitempty"`
}

// Failed reports whether a stack's up failed or a vault could not be read.
func (r *Result) Failed() bool {
	for _, o := range r.References {
		if o.Action == ActionFailed || (o.Action == ActionUnavailable && o.Error != "") {
			return true
		}
	}
	return false
}

// Changed reports whether the run changed or recorded anything.
func (r *Result) Changed() bool { return len(r.References) > 0 || r.Commit != "" }

// move is one pinned reference to bring to a new version.
type move struct {
	ref     secretversions.Reference
	pending *Pending
	resume  bool // Git holds it already
	applied bool // its stack applied it in this run
}

// Rotate moves every selected pinned reference to its vault's current version, resumes the
// rotations earlier runs left unfinished, and records changed versions of unpinned references.
func (r *Rotator) Rotate(ctx context.Context, sel Selection) (*Result, error) {
	if r.runner == nil {
		return nil, errors.New("rotate: no runner to bring stacks up")
	}
	// One trace for the run: its secret.rotate events, the engine's updates and the commit.
	if _, ok := audit.TraceIDFromContext(ctx); !ok {
		ctx = audit.ContextWithTraceID(ctx, audit.NewTraceID())
	}
	unlock, err := r.journal.Lock(ctx)
	if err != nil {
		return nil, errkind.Mark(errkind.Conflict, err)
	}
	defer unlock()

	st, err := isolation.Load(ctx, r.dir)
	if err != nil {
		return nil, err
	}
	var g *repo
	res := &Result{InPlace: r.git.InPlace}
	if !r.git.InPlace {
		if st.GitRoot == "" {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("rotate: %s is not in a Git work tree; rotation commits the binding change (or pass --in-place)", r.dir))
		}
		if g, err = openRepo(st.GitRoot); err != nil {
			return nil, err
		}
		if r.git.Branch != "" {
			if st.Dirty {
				return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("rotate: the desired state in %s has uncommitted changes; commit them before switching to branch %s", r.dir, r.git.Branch))
			}
			if err := g.checkout(r.git.Branch); err != nil {
				return nil, err
			}
			if st, err = isolation.Load(ctx, r.dir); err != nil {
				return nil, err
			}
		}
		if res.Branch, err = g.branch(); err != nil {
			return nil, err
		}
	}
	bindings, err := sel.bindings(st)
	if err != nil {
		return nil, err
	}
	now := r.now()
	refs, _ := secretversions.Evaluate(ctx, st, bindings, r.reader, now, 0)
	journals := map[string]*StackRecord{}
	for _, ref := range refs {
		if _, ok := journals[ref.Stack]; !ok {
			if journals[ref.Stack], err = r.journal.Read(ref.Stack); err != nil {
				return nil, err
			}
		}
	}

	var moves []*move
	for _, ref := range refs {
		rec := journals[ref.Stack].ref(ref)
		switch {
		case ref.State == secretversions.StateError || ref.Current == nil:
			out := outcome(ref, ActionUnavailable)
			out.Error = ref.Error
			if out.Error == "" {
				out.Error = "the vault has no enabled, unexpired version of " + ref.Secret
			}
			res.References = append(res.References, out)
		case ref.Pinned == "":
			if rec.Observed == ref.Current.ID {
				continue
			}
			out := outcome(ref, ActionObserved)
			out.Old, out.New = rec.Observed, ref.Current.ID
			r.record(ctx, st.Commit, out, audit.OutcomeSucceeded, "observed", "", nil)
			rec.Observed, rec.ObservedAt = ref.Current.ID, now
			res.References = append(res.References, out)
			r.logf("%s %s: unpinned, now resolves to %s", ref.Stack, ref.Name, ref.Current.ID)
		case !strings.EqualFold(ref.Pinned, ref.Current.ID):
			if p := rec.Pending; p != nil && !strings.EqualFold(p.New, ref.Current.ID) {
				// A newer version arrived before the last rotation reached the stack.
				out := outcome(ref, ActionRotated)
				out.Old, out.New = p.Old, p.New
				r.record(ctx, st.Commit, out, audit.OutcomeSkipped, "superseded", "version "+ref.Current.ID+" superseded it before the stack applied it", nil)
			}
			old := ref.Pinned
			if p := rec.Pending; p != nil && strings.EqualFold(p.New, ref.Pinned) {
				old = p.Old // Git holds the last move already; the stack still runs its old version
			}
			rec.Pending = &Pending{ID: rotationID(ref, old, ref.Current.ID), Old: old, New: ref.Current.ID, Phase: PhasePlanned, Started: now}
			moves = append(moves, &move{ref: ref, pending: rec.Pending})
		case rec.Pending != nil && strings.EqualFold(rec.Pending.New, ref.Pinned):
			moves = append(moves, &move{ref: ref, pending: rec.Pending, resume: true})
		case rec.Pending != nil:
			rec.Pending = nil // Git was moved back by hand; nothing is in flight any more
		}
	}
	var toWrite []edit
	for _, m := range moves {
		if !m.resume {
			toWrite = append(toWrite, edit{File: m.ref.Location.File, Line: m.ref.Location.Line, Old: m.ref.Pinned, New: m.pending.New})
		}
	}
	if g != nil && len(toWrite) > 0 {
		staged, err := g.staged()
		if err != nil {
			return nil, err
		}
		if len(staged) > 0 {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("rotate: the Git index holds staged changes (%s); a rotation commit would take them along: commit or unstage them first", strings.Join(staged, ", ")))
		}
	}
	// The journal knows every planned move before Git changes, so a run that dies from here on
	// is resumed by the next one.
	if err := r.writeJournals(journals); err != nil {
		return nil, err
	}
	if len(moves) == 0 {
		res.Revision, res.Dirty = st.Commit, st.Dirty
		return res, nil
	}
	for _, m := range moves {
		if !m.resume {
			r.record(ctx, st.Commit, moveOutcome(m, ActionRotated), audit.OutcomeStarted, "started", "", nil)
		}
	}
	if len(toWrite) > 0 {
		files, err := applyEdits(toWrite)
		if err != nil {
			return nil, err
		}
		if g != nil {
			if res.Commit, err = g.commit(files, r.commitMessage(ctx, moves), r.git.Author); err != nil {
				return nil, err
			}
			r.logf("committed %s on %s", short(res.Commit), orDetached(res.Branch))
		}
		if st, err = isolation.Load(ctx, r.dir); err != nil {
			return nil, fmt.Errorf("rotate: the desired state after the change: %w", err)
		}
		for _, m := range moves {
			if m.pending.Phase == PhasePlanned {
				m.pending.Phase, m.pending.Commit = PhaseCommitted, res.Commit
			}
		}
		if err := r.writeJournals(journals); err != nil {
			return nil, err
		}
	}
	res.Revision, res.Dirty = st.Commit, st.Dirty
	r.applyStacks(ctx, st, moves, journals, res)
	if err := r.writeJournals(journals); err != nil {
		return res, err
	}
	res.Released = r.released(ctx, st, moves)
	return res, nil
}

// applyStacks brings every stack with a move up, one after the other, and records each
// reference's outcome; a failed stack keeps its moves pending.
func (r *Rotator) applyStacks(ctx context.Context, st *isolation.DesiredState, moves []*move, journals map[string]*StackRecord, res *Result) {
	byStack := map[string][]*move{}
	var stacks []string
	for _, m := range moves {
		if _, ok := byStack[m.ref.Stack]; !ok {
			stacks = append(stacks, m.ref.Stack)
		}
		byStack[m.ref.Stack] = append(byStack[m.ref.Stack], m)
	}
	sort.Strings(stacks)
	for _, stack := range stacks {
		ms := byStack[stack]
		first := ms[0].ref
		so := StackOutcome{Stack: stack, TenantID: first.TenantID, Environment: first.Environment}
		r.logf("up %s", stack)
		err := ctx.Err()
		if err == nil {
			err = r.runner.Up(ctx, st, first.Environment, first.TenantID)
		}
		for _, m := range ms {
			action := ActionRotated
			if m.resume {
				action = ActionResumed
			}
			out := moveOutcome(m, action)
			rec := journals[stack].ref(m.ref)
			if err != nil {
				out.Action, out.Error = ActionFailed, err.Error()
				m.pending.Attempts++
				m.pending.Error = err.Error()
				r.record(ctx, st.Commit, out, audit.OutcomeFailed, "failed", "", err)
			} else {
				r.record(ctx, st.Commit, out, audit.OutcomeSucceeded, "applied", "", nil)
				rec.Applied, rec.AppliedAt, rec.Pending = m.pending.New, r.now(), nil
				m.applied = true
			}
			res.References = append(res.References, out)
		}
		if err != nil {
			so.Error = err.Error()
			r.logf("up %s failed: %v", stack, err)
		}
		res.Stacks = append(res.Stacks, so)
	}
}

// released finds the old versions of this run's applied moves that no binding pins and no
// unfinished rotation still runs: from now on no stack uses them.
func (r *Rotator) released(ctx context.Context, st *isolation.DesiredState, moves []*move) []Released {
	pinned := map[Released]bool{}
	for _, b := range st.Bindings {
		for _, s := range b.Spec.Secrets {
			if v, ok := isolation.VaultName(s.KeyVaultRef); ok && s.CurrentVersion != "" {
				pinned[Released{strings.ToLower(v), s.SecretName, strings.ToLower(s.CurrentVersion)}] = true
			}
		}
	}
	if stacks, err := r.journal.Stacks(); err == nil {
		for _, stack := range stacks {
			rec, err := r.journal.Read(stack)
			if err != nil {
				continue
			}
			for _, ref := range rec.References {
				if ref.Pending != nil {
					if v, ok := isolation.VaultName(ref.Vault); ok {
						pinned[Released{strings.ToLower(v), ref.Secret, strings.ToLower(ref.Pending.Old)}] = true
					}
				}
			}
		}
	}
	seen := map[Released]bool{}
	var out []Released
	for _, m := range moves {
		v, _ := isolation.VaultName(m.ref.Vault)
		rel := Released{strings.ToLower(v), m.ref.Secret, strings.ToLower(m.pending.Old)}
		if !m.applied || m.pending.Old == "" || seen[rel] || pinned[rel] {
			continue
		}
		seen[rel] = true
		out = append(out, rel)
		ev := audit.Event{
			EventID: "secret.rotate:" + uuid.NewSHA1(eventNS, []byte("released|"+rel.Vault+"|"+rel.Secret+"|"+rel.Version)).String() + ":released",
			Type:    audit.TypeSecretRotate, TenantID: m.ref.TenantID, Principal: r.principal, Environment: m.ref.Environment,
			Commit: st.Commit, Outcome: audit.OutcomeSucceeded,
			Reason:  "no stack references the old version any more; it may be disabled",
			Details: map[string]string{"phase": "released", "vault": rel.Vault, "secretName": rel.Secret, "oldVersion": rel.Version},
		}
		r.audit(ctx, ev)
		r.logf("%s/%s version %s is referenced by no stack any more", rel.Vault, rel.Secret, rel.Version)
	}
	return out
}

func (r *Rotator) writeJournals(journals map[string]*StackRecord) error {
	stacks := make([]string, 0, len(journals))
	for s := range journals {
		stacks = append(stacks, s)
	}
	sort.Strings(stacks)
	for _, s := range stacks {
		if err := r.journal.Write(journals[s]); err != nil {
			return err
		}
	}
	return nil
}

// ref is the record of ref in rec, created when missing.
func (rec *StackRecord) ref(ref secretversions.Reference) *RefRecord {
	out, ok := rec.References[ref.Name]
	if !ok || out.Vault != ref.Vault || out.Secret != ref.Secret {
		// A reference renamed to another secret starts afresh.
		out = &RefRecord{Vault: ref.Vault, Secret: ref.Secret}
		rec.References[ref.Name] = out
	}
	return out
}

func outcome(ref secretversions.Reference, action string) RefOutcome {
	return RefOutcome{Stack: ref.Stack, TenantID: ref.TenantID, Environment: ref.Environment, Reference: ref.Name,
		Vault: ref.Vault, Secret: ref.Secret, Pinned: ref.Pinned != "", Action: action}
}

func moveOutcome(m *move, action string) RefOutcome {
	out := outcome(m.ref, action)
	out.Pinned, out.Old, out.New = true, m.pending.Old, m.pending.New
	return out
}

// eventNS scopes rotation event ids.
var eventNS = uuid.MustParse("6f1b0c9e-3d2a-5c4b-9e8f-7a6b5c4d3e2f")

// rotationID names the move of one reference from old to new: the same move always has the same
// id, so its audit events are recorded once however often a run repeats or resumes it.
func rotationID(ref secretversions.Reference, old, new string) string {
	key := strings.Join([]string{ref.Stack, ref.Name, strings.ToLower(ref.Vault), ref.Secret, strings.ToLower(old), strings.ToLower(new)}, "|")
	return uuid.NewSHA1(eventNS, []byte(key)).String()
}

// record writes the secret.rotate event of one reference and step. A step's event id derives
// from the move and the step, so a repeated step is recorded once; failures are attempts, each
// its own event.
func (r *Rotator) record(ctx context.Context, commit string, o RefOutcome, outcome audit.Outcome, phase, reason string, failure error) {
	id := rotationID(secretversions.Reference{Stack: o.Stack, Name: o.Reference, Vault: o.Vault, Secret: o.Secret}, o.Old, o.New)
	ev := audit.Event{
		EventID: "secret.rotate:" + id + ":" + phase,
		Type:    audit.TypeSecretRotate, TenantID: o.TenantID, Principal: r.principal, Environment: o.Environment,
		Commit: commit, Outcome: outcome, Reason: reason,
		Details: map[string]string{
			"phase": phase, "rotation": id, "stack": o.Stack, "reference": o.Reference, "vault": o.Vault, "secretName": o.Secret,
			"oldVersion": o.Old, "newVersion": o.New, "pinned": fmt.Sprint(o.Pinned),
		},
	}
	if failure != nil {
		ev.EventID = "" // every failed attempt is its own event
		ev.Error = failure.Error()
	}
	r.audit(ctx, ev)
}

func (r *Rotator) audit(ctx context.Context, ev audit.Event) {
	if r.auditor == nil {
		return
	}
	if _, err := r.auditor.Record(ctx, ev); err != nil && !errors.Is(err, audit.ErrSinkFailed) {
		r.logf("audit: %v", err)
	}
}

func (r *Rotator) commitMessage(ctx context.Context, moves []*move) string {
	var b strings.Builder
	b.WriteString("Rotate Key Vault secret versions\n\n")
	for _, m := range moves {
		if m.resume {
			continue
		}
		fmt.Fprintf(&b, "%s %s (%s/%s): %s -> %s\n", m.ref.Stack, m.ref.Name, m.ref.Vault, m.ref.Secret, orLatest(m.ref.Pinned), m.pending.New)
	}
	fmt.Fprintf(&b, "\nRotated-By: %s\n", r.principal)
	if tid, ok := audit.TraceIDFromContext(ctx); ok {
		fmt.Fprintf(&b, "Trace-Id: %s\n", tid)
	}
	return b.String()
}

func (r *Rotator) logf(format string, args ...any) { fmt.Fprintf(r.progress, format+"\n", args...) }

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func orDetached(branch string) string {
	if branch == "" {
		return "a detached HEAD"
	}
	return "branch " + branch
}

func orLatest(v string) string {
	if v == "" {
		return "latest"
	}
	return v
}

// StackOf is the tenant stack of a binding.
func StackOf(b *isolation.RuntimeTenantBinding) string {
	return tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)
}
