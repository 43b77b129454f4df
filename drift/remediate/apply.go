package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Converger runs the engine for a stack after its objects were restored.
type Converger interface {
	Converge(ctx context.Context, stack string, step EngineStep) error
}

// Recorder writes audit events; *audit.Auditor implements it.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) (audit.Record, error)
}

// ErrNotSupported marks actions this version cannot carry out (Azure removals).
var ErrNotSupported = errors.New("not supported yet")

// Executor applies plans.
type Executor struct {
	cluster   Cluster
	converger Converger
	recorder  Recorder
	envs      Environments
	digest    string
	principal string
	source    string
	progress  io.Writer
	desired   ManagedInputs
	data      DataPlane
}

// ExecOption configures an Executor.
type ExecOption func(*Executor)

// WithPrincipal names who applies the plan in audit records.
func WithPrincipal(p string) ExecOption { return func(e *Executor) { e.principal = p } }

// WithPlanSource names the plan (its file) in audit records.
func WithPlanSource(s string) ExecOption { return func(e *Executor) { e.source = s } }

// WithDesiredCheck makes Apply verify, before changing anything, that every object a plan
// restores is still recorded by its stack and that every planned value is still the stack's
// desired value: a plan edited by hand, or made before another up, is refused.
func WithDesiredCheck(d ManagedInputs) ExecOption { return func(e *Executor) { e.desired = d } }

// WithProgress receives one line per action.
func WithProgress(w io.Writer) ExecOption { return func(e *Executor) { e.progress = w } }

// NewExecutor builds an Executor. digest is DesiredDigest of the desired state loaded now; a plan
// made for another one is refused.
func NewExecutor(cluster Cluster, converger Converger, recorder Recorder, envs Environments, digest string, opts ...ExecOption) *Executor {
	e := &Executor{cluster: cluster, converger: converger, recorder: recorder, envs: envs, digest: digest}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Outcome is what happened to one action.
type Outcome string

const (
	OutcomeApplied Outcome = "applied"
	OutcomeFailed  Outcome = "failed"
	// OutcomeRefused: live state (or the desired state) moved since planning; nothing was done.
	OutcomeRefused     Outcome = "refused"
	OutcomeUnsupported Outcome = "unsupported"
	// OutcomeNotRun: the run stopped before the action (an audit write failed).
	OutcomeNotRun Outcome = "not-run"
	// OutcomeReported: a report action; nothing to do.
	OutcomeReported Outcome = "reported"
	// OutcomeReviewOnly: a review action; tenantctl refused to carry it out (a person runs its
	// command).
	OutcomeReviewOnly Outcome = "review-only"
)

// ErrReviewOnly marks review actions: tenantctl never removes those grants.
var ErrReviewOnly = errors.New("review-only")

// ActionResult is the outcome of one action.
type ActionResult struct {
	ID          string     `json:"id"`
	Kind        ActionKind `json:"kind"`
	Tenant      string     `json:"tenant"`
	Environment string     `json:"environment"`
	Target      string     `json:"target"`
	Outcome     Outcome    `json:"outcome"`
	Error       string     `json:"error,omitempty"`
}

// Result is the outcome of applying a plan.
type Result struct {
	Actions []ActionResult `json:"actions"`
}

// Failed reports whether an action failed, is not supported, did not run, or is review-only (a
// route stays open until a person removes it).
func (r *Result) Failed() bool {
	return slices.ContainsFunc(r.Actions, func(a ActionResult) bool {
		switch a.Outcome {
		case OutcomeFailed, OutcomeUnsupported, OutcomeNotRun, OutcomeReviewOnly:
			return true
		}
		return false
	})
}

// Refused reports whether an action was refused because live (or desired) state moved since
// planning.
func (r *Result) Refused() bool {
	return slices.ContainsFunc(r.Actions, func(a ActionResult) bool { return a.Outcome == OutcomeRefused })
}

// Err is nil when every action was applied (or reported), else an error naming the others: a
// failure, or, when actions were only refused, a conflict (marked errkind.Conflict).
func (r *Result) Err() error {
	failed, refused := r.Failed(), r.Refused()
	if !failed && !refused {
		return nil
	}
	var msgs []string
	for _, a := range r.Actions {
		switch a.Outcome {
		case OutcomeFailed, OutcomeUnsupported, OutcomeRefused, OutcomeNotRun, OutcomeReviewOnly:
			msgs = append(msgs, fmt.Sprintf("%s %s %s: %s: %s", a.ID, a.Kind, a.Target, a.Outcome, a.Error))
		}
	}
	err := fmt.Errorf("remediation: %s", strings.Join(msgs, "; "))
	if failed {
		return err
	}
	return errkind.Mark(errkind.Conflict, err)
}

func (r *Result) set(id string, o Outcome, err error) {
	for i := range r.Actions {
		if r.Actions[i].ID == id {
			r.Actions[i].Outcome = o
			if err != nil {
				r.Actions[i].Error = err.Error()
			}
		}
	}
}

// Apply carries out exactly plan's actions. It refuses the whole plan, changing nothing, when it
// is invalid (exit 3), when the desired state changed since planning (with WithDesiredCheck:
// also a planned value that is not the stack's recorded desired value), or when any object it
// acts on moved (its uid or resourceVersion differ, it appeared or disappeared: exit 4). Each
// object is then changed under the same precondition, enforced by the API server. Deletes run
// first (an open cross-tenant route is the most urgent), then restores, stack by stack: the
// forced apply of the drifted fields, then the engine for the stack. Every action that was
// attempted or refused is audited; an audit failure stops the run.
func (e *Executor) Apply(ctx context.Context, plan *Plan) (*Result, error) {
	if err := e.check(plan); err != nil {
		return nil, err
	}
	if _, ok := audit.TraceIDFromContext(ctx); !ok {
		ctx = audit.ContextWithTraceID(ctx, audit.NewTraceID())
	}
	res := &Result{}
	for _, a := range plan.Actions {
		o := OutcomeNotRun
		if a.Kind == ActionReport {
			o = OutcomeReported
		}
		res.Actions = append(res.Actions, ActionResult{ID: a.ID, Kind: a.Kind, Tenant: a.Tenant, Environment: a.Environment, Target: a.Target.Ref(), Outcome: o})
	}
	if plan.DesiredDigest != e.digest {
		return res, e.refuseAll(ctx, plan, res, "the desired state changed since the plan was made: plan again")
	}
	moved, err := e.desiredMoved(ctx, plan)
	if err != nil {
		return nil, err
	}
	if len(moved) == 0 {
		if moved, err = e.preflight(ctx, plan); err != nil {
			return nil, err
		}
	}
	if len(moved) > 0 {
		var msgs []string
		for _, id := range slices.Sorted(maps.Keys(moved)) {
			msgs = append(msgs, id+": "+moved[id])
		}
		return res, e.refuseAll(ctx, plan, res, "state moved since planning ("+strings.Join(msgs, "; ")+"): plan again")
	}
	for _, a := range plan.Actions {
		if a.Kind != ActionReview {
			continue
		}
		err := fmt.Errorf("%w: tenantctl never removes %s; after review, a person runs: %s", ErrReviewOnly, a.Target.Ref(), a.Command)
		res.set(a.ID, OutcomeReviewOnly, err)
		e.logf("%s review %s: %s", a.ID, a.Target.Ref(), describe(OutcomeReviewOnly, err))
		if aerr := e.audit(ctx, plan, a, OutcomeReviewOnly, err, ""); aerr != nil {
			return res, aerr
		}
	}
	deletes := slices.DeleteFunc(slices.Clone(plan.Actions), func(a Action) bool { return a.Kind != ActionDelete })
	slices.SortStableFunc(deletes, func(a, b Action) int { return deleteOrder(a) - deleteOrder(b) })
	for _, a := range deletes {
		err := e.delete(ctx, a)
		o := outcomeOf(err)
		res.set(a.ID, o, err)
		what := a.Target.Ref()
		if stmt := dataSQL(a); stmt != "" {
			what += " (" + stmt + ")"
		}
		e.logf("%s delete %s: %s", a.ID, what, describe(o, err))
		if aerr := e.audit(ctx, plan, a, o, err, ""); aerr != nil {
			return res, aerr
		}
	}
	for _, stack := range restoreStacks(plan) {
		if err := e.restoreStack(ctx, plan, stack, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// check validates the plan against this desired state: invalid plans change nothing (exit 3).
func (e *Executor) check(plan *Plan) error {
	if err := plan.Validate(); err != nil {
		return errkind.Mark(errkind.Invalid, fmt.Errorf("invalid plan: %w", err))
	}
	var errs []error
	for _, a := range plan.Actions {
		env, ok := e.envs[a.Environment]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: environment %q is not in the desired state", a.ID, a.Environment))
			continue
		}
		if a.Kind == ActionDelete && a.Target.Provider == finding.ProviderPostgreSQL {
			if err := dataScope(*a.Target.Data, a.Tenant, env.DataOwner); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s is outside tenant %s's own scope: %w", a.ID, a.Target.Ref(), a.Tenant, err))
			}
		}
		if a.Kind == ActionDelete && a.Target.kubernetes() {
			// the labels are checked against the live object in preflight
			labels := map[string]string{tenantplan.LabelTenant: a.Tenant}
			if err := deleteScope(env, a.Tenant, a.Target.Namespace, labels); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s is outside tenant %s's own scope: %w", a.ID, a.Target.Ref(), a.Tenant, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return errkind.Mark(errkind.Invalid, fmt.Errorf("invalid plan: %w", err))
	}
	return nil
}

// desiredMoved compares the plan's restores with the stacks' recorded desired inputs.
func (e *Executor) desiredMoved(ctx context.Context, plan *Plan) (map[string]string, error) {
	moved := map[string]string{}
	if e.desired == nil {
		return moved, nil
	}
	for _, a := range plan.Actions {
		if a.Kind != ActionRestore || len(a.Fields) == 0 {
			continue
		}
		gvk := targetGVK(a.Target)
		key := inventory.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: a.Target.Namespace, Name: a.Target.Name}
		mrs, err := e.desired.Lookup(ctx, a.Stack, key)
		if err != nil {
			return nil, fmt.Errorf("desired state of %s: %w", a.Target.Ref(), err)
		}
		mr, ok := managedOf(mrs, a.Target.URN)
		if !ok {
			moved[a.ID] = fmt.Sprintf("stack %s no longer records %s", a.Stack, a.Target.Ref())
			continue
		}
		for _, f := range a.Fields {
			p, _ := parseField(f.Path)
			var planned any
			if err := json.Unmarshal(f.Desired, &planned); err != nil {
				return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("invalid plan: %s: field %s: %w", a.ID, f.Path, err))
			}
			want, ok := lookup(mr.Inputs, p)
			if !ok || !jsonEqual(stripBookkeeping(want), planned) {
				moved[a.ID] = fmt.Sprintf("%s %s is not stack %s's desired value (anymore)", a.Target.Ref(), f.Path, a.Stack)
				break
			}
		}
	}
	return moved, nil
}

// preflight reads every Kubernetes object the plan changes and reports those that moved.
func (e *Executor) preflight(ctx context.Context, plan *Plan) (map[string]string, error) {
	moved := map[string]string{}
	for _, a := range plan.Actions {
		if a.Kind == ActionDelete && a.Target.Data != nil {
			why, err := e.dataMoved(ctx, a)
			if err != nil {
				return nil, err
			}
			if why != "" {
				moved[a.ID] = why
			}
			continue
		}
		if (a.Kind != ActionRestore && a.Kind != ActionDelete) || !a.Target.kubernetes() {
			continue
		}
		gvk := targetGVK(a.Target)
		live, err := e.cluster.Get(ctx, gvk, a.Target.Namespace, a.Target.Name)
		switch {
		case apierrors.IsNotFound(err):
			if !a.Target.Absent {
				moved[a.ID] = a.Target.Ref() + " no longer exists"
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", a.Target.Ref(), err)
		case a.Target.Absent:
			moved[a.ID] = a.Target.Ref() + " exists again"
			continue
		}
		if string(live.GetUID()) != a.Target.UID && a.Target.UID != "" {
			moved[a.ID] = fmt.Sprintf("%s was replaced (uid %s, planned %s)", a.Target.Ref(), live.GetUID(), a.Target.UID)
			continue
		}
		if live.GetResourceVersion() != a.Target.ResourceVersion {
			moved[a.ID] = fmt.Sprintf("%s changed (resourceVersion %s, planned %s)", a.Target.Ref(), live.GetResourceVersion(), a.Target.ResourceVersion)
			continue
		}
		if a.Kind == ActionDelete {
			if err := deleteScope(e.envs[a.Environment], a.Tenant, live.GetNamespace(), live.GetLabels()); err != nil {
				return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("invalid plan: %s: %s is outside tenant %s's own scope: %w", a.ID, a.Target.Ref(), a.Tenant, err))
			}
		}
	}
	return moved, nil
}

func (e *Executor) refuseAll(ctx context.Context, plan *Plan, res *Result, why string) error {
	refused := errors.New(why)
	for _, a := range plan.Actions {
		if a.Kind == ActionReport {
			continue
		}
		res.set(a.ID, OutcomeRefused, refused)
		if err := e.audit(ctx, plan, a, OutcomeRefused, refused, ""); err != nil {
			return err
		}
	}
	e.logf("refused: %s", why)
	return nil
}

func (e *Executor) delete(ctx context.Context, a Action) error {
	if a.Target.Provider == finding.ProviderPostgreSQL {
		return e.deleteData(ctx, a)
	}
	if !a.Target.kubernetes() {
		return fmt.Errorf("removing Azure resource %s: %w", a.Target.ID, ErrNotSupported)
	}
	return e.cluster.Delete(ctx, targetGVK(a.Target), a.Target.Namespace, a.Target.Name, a.Target.UID, a.Target.ResourceVersion)
}

// restoreStacks lists the stacks of the plan's restores, in plan order.
func restoreStacks(plan *Plan) []string {
	var out []string
	for _, a := range plan.Actions {
		if a.Kind == ActionRestore && !slices.Contains(out, a.Stack) {
			out = append(out, a.Stack)
		}
	}
	return out
}

// restoreStack applies the field restores of one stack, then runs the engine for it unless a
// restore failed (the engine would run against a half-restored stack).
func (e *Executor) restoreStack(ctx context.Context, plan *Plan, stack string, res *Result) error {
	var acts []Action
	step := EngineUp
	for _, a := range plan.Actions {
		if a.Kind == ActionRestore && a.Stack == stack {
			acts = append(acts, a)
			if a.Engine == EngineRefreshUp {
				step = EngineRefreshUp
			}
		}
	}
	errs := make([]error, len(acts))
	failed := false
	for i, a := range acts {
		if len(a.Fields) > 0 {
			errs[i] = e.restoreFields(ctx, a)
			failed = failed || errs[i] != nil
		}
	}
	engine := "not run: a restore of the stack failed"
	if !failed {
		err := e.converger.Converge(ctx, stack, step)
		engine = string(step) + " " + stack + ": " + describe(outcomeOf(err), err)
		if err != nil {
			for i := range errs {
				errs[i] = fmt.Errorf("%s %s: %w", step, stack, err)
			}
		}
	}
	for i, a := range acts {
		o := outcomeOf(errs[i])
		res.set(a.ID, o, errs[i])
		e.logf("%s restore %s: %s (engine %s)", a.ID, a.Target.Ref(), describe(o, errs[i]), engine)
		if err := e.audit(ctx, plan, a, o, errs[i], engine); err != nil {
			return err
		}
	}
	return nil
}

// restoreFields applies a's fields with a forced server-side apply as the stack's field manager.
// The body holds every field that manager owns now, as it is live, plus the restored fields: an
// apply body is the manager's whole intent, so leaving out a field it owns would remove it. The
// planned resourceVersion in the body makes the API server refuse (409) if the object moved.
func (e *Executor) restoreFields(ctx context.Context, a Action) error {
	gvk := targetGVK(a.Target)
	live, err := e.cluster.Get(ctx, gvk, a.Target.Namespace, a.Target.Name)
	if err != nil {
		return fmt.Errorf("read %s: %w", a.Target.Ref(), err)
	}
	body, err := applyBody(live, a)
	if err != nil {
		return err
	}
	got, err := e.cluster.Apply(ctx, gvk, body, a.FieldManager)
	if err != nil {
		return fmt.Errorf("apply %s as %s: %w", a.Target.Ref(), a.FieldManager, err)
	}
	for _, f := range a.Fields {
		p, _ := parseField(f.Path)
		var want any
		if err := json.Unmarshal(f.Desired, &want); err != nil {
			return fmt.Errorf("field %s: %w", f.Path, err)
		}
		have, _ := lookup(got.Object, p)
		if !jsonEqual(want, have) {
			return fmt.Errorf("%s: %s is not the desired value after the apply (an admission webhook or another controller changed it)", a.Target.Ref(), f.Path)
		}
	}
	return nil
}

// applyBody builds the server-side apply body of a restore from the live object.
func applyBody(live *unstructured.Unstructured, a Action) (*unstructured.Unstructured, error) {
	cands, err := applyManagers(live, []string{a.FieldManager})
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	for _, c := range cands {
		if c.name == a.FieldManager {
			body = ownedFields(live.Object, c.set)
		}
	}
	for _, f := range a.Fields {
		p, err := parseField(f.Path)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(f.Desired, &v); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Path, err)
		}
		if err := assign(body, p, v, live.Object); err != nil {
			return nil, err
		}
	}
	u := &unstructured.Unstructured{Object: body}
	u.SetAPIVersion(a.Target.APIVersion)
	u.SetKind(a.Target.Kind)
	u.SetName(a.Target.Name)
	u.SetNamespace(a.Target.Namespace)
	u.SetResourceVersion(a.Target.ResourceVersion)
	u.SetManagedFields(nil)
	return u, nil
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var na, nb any
	_ = json.Unmarshal(ja, &na)
	_ = json.Unmarshal(jb, &nb)
	return reflect.DeepEqual(na, nb)
}

func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeApplied
	case errors.Is(err, ErrNotSupported):
		return OutcomeUnsupported
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err) || errors.Is(err, errDataMoved):
		// the API server's precondition: the object moved between preflight and the change
		return OutcomeRefused
	}
	return OutcomeFailed
}

func describe(o Outcome, err error) string {
	if err == nil {
		return string(o)
	}
	return string(o) + ": " + err.Error()
}

func targetGVK(t Target) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(t.APIVersion, t.Kind)
}

func (e *Executor) logf(format string, args ...any) {
	if e.progress != nil {
		fmt.Fprintf(e.progress, format+"\n", args...)
	}
}
