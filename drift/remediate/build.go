package remediate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/inventory"
)

// Planner builds plans from drift reports. It reads every object it would act on (its uid,
// resourceVersion and field managers go into the plan) and the desired inputs of the stacks
// whose objects it restores.
type Planner struct {
	cluster  Cluster
	desired  ManagedInputs
	envs     Environments
	managers []string
	imports  bool
	now      func() time.Time
}

// PlanOption configures a Planner.
type PlanOption func(*Planner)

// WithFieldManagers adds field manager name prefixes that are the stacks' own, besides
// pulumi-kubernetes (a provider configured with another fieldManager).
func WithFieldManagers(prefixes ...string) PlanOption {
	return func(p *Planner) { p.managers = append(p.managers, prefixes...) }
}

// WithImport asks for unmanaged resources to be adopted. Adoption is not supported: the tenant
// programs declare their resources themselves, so an imported object would be deleted by the
// next up. Such findings stay report actions whose reason says how to adopt them.
func WithImport(on bool) PlanOption { return func(p *Planner) { p.imports = on } }

// WithClock sets the plan's creation time source (tests).
func WithClock(now func() time.Time) PlanOption { return func(p *Planner) { p.now = now } }

// NewPlanner builds a Planner. cluster reads live Kubernetes objects; desired gives the stacks'
// desired inputs; envs describes the environments (shared namespace for the scope rule).
func NewPlanner(cluster Cluster, desired ManagedInputs, envs Environments, opts ...PlanOption) *Planner {
	p := &Planner{cluster: cluster, desired: desired, envs: envs, managers: []string{detect.PulumiManagerPrefix}, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Build plans the remediation of rep's findings. Findings of one object become one action (a
// restore may leave a report action beside it for fields it cannot restore):
//
//   - managed-drift and field-conflict on a Kubernetes object: restore-fields, the drifted fields
//     set to their desired values; on an Azure resource: restore by the engine (refresh, up);
//   - missing-resource: restore (the engine recreates it);
//   - cross-tenant-route to delete, on an object no stack manages, inside the tenant's own scope:
//     delete (the object's other findings, such as unmanaged-resource, go with it);
//   - cross-tenant-route opened by an identity grant outside the tenant's own scope (a
//     ClusterRoleBinding or ClusterRole, a binding in another namespace, an Azure role
//     assignment, access policy or federated credential): review, with the command a person runs;
//   - everything else (unmanaged resources, images, possible routes, routes opened by a managed
//     object or outside the tenant's scope): report.
//
// An error means the plan could not be built (an API or a stack state unreadable).
func (p *Planner) Build(ctx context.Context, rep *report.Report, mode Mode, digest string) (*Plan, error) {
	plan := &Plan{APIVersion: SchemaVersion, Commit: rep.Commit, Dirty: rep.Dirty, DesiredDigest: digest,
		CreatedAt: p.now().UTC(), Mode: mode, Actions: []Action{}}
	for _, g := range groupFindings(rep.Findings) {
		as, err := p.planGroup(ctx, g)
		if err != nil {
			return nil, err
		}
		plan.Actions = append(plan.Actions, as...)
	}
	slices.SortStableFunc(plan.Actions, func(a, b Action) int {
		return cmp.Or(strings.Compare(a.Environment, b.Environment), strings.Compare(a.Tenant, b.Tenant),
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), strings.Compare(a.Target.Ref(), b.Target.Ref()))
	})
	for i := range plan.Actions {
		plan.Actions[i].ID = fmt.Sprintf("A%d", i+1)
	}
	return plan, nil
}

func kindRank(k ActionKind) int {
	return slices.Index([]ActionKind{ActionRestore, ActionDelete, ActionReview, ActionImport, ActionReport}, k)
}

// group is the findings about one object in one environment.
type group struct {
	env      string
	resource finding.Resource
	findings []finding.Finding
}

func groupFindings(fs []finding.Finding) []*group {
	var out []*group
	index := map[string]*group{}
	for _, f := range fs {
		f = f.Normalize()
		r := f.Resource
		key := strings.Join([]string{f.Environment, string(r.Provider), r.Type, r.Namespace, r.Name, strings.ToLower(r.ID)}, "\x00")
		g, ok := index[key]
		if !ok {
			g = &group{env: f.Environment, resource: r}
			index[key] = g
			out = append(out, g)
		}
		g.findings = append(g.findings, f)
	}
	return out
}

func (p *Planner) planGroup(ctx context.Context, g *group) ([]Action, error) {
	if g.resource.Provider == finding.ProviderPostgreSQL {
		return p.planData(g), nil
	}
	var drift, missing, routes, rest []finding.Finding
	for _, f := range g.findings {
		switch {
		case (f.Kind == finding.KindManagedDrift || f.Kind == finding.KindFieldConflict) && f.Stack != "" && f.Field != "":
			drift = append(drift, f)
		case f.Kind == finding.KindMissingResource && f.Stack != "":
			missing = append(missing, f)
		case f.Kind == finding.KindCrossTenantRoute && f.Remediation == finding.RemediationDelete:
			routes = append(routes, f)
		default:
			rest = append(rest, f)
		}
	}
	var acts []Action
	var left []reported
	switch {
	case len(missing) > 0:
		a, err := p.planMissing(ctx, g, missing)
		if err != nil {
			return nil, err
		}
		acts, left = []Action{a}, p.reasons(concat(drift, routes, rest))
	case len(drift) > 0:
		a, bad, err := p.planRestore(ctx, g, drift)
		if err != nil {
			return nil, err
		}
		if a != nil {
			acts = append(acts, *a)
		}
		left = append(bad, p.reasons(concat(routes, rest))...)
	case len(routes) > 0:
		a, err := p.planDelete(ctx, g, routes)
		if err != nil {
			return nil, err
		}
		acts = []Action{a}
	default:
		left = p.reasons(rest)
	}
	if r := reportOf(g, left); r != nil {
		acts = append(acts, *r)
	}
	return acts, nil
}

func concat(parts ...[]finding.Finding) []finding.Finding {
	var out []finding.Finding
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// reported is a finding a report action carries, and why nothing changes it.
type reported struct {
	f   finding.Finding
	why string
}

func (p *Planner) reasons(fs []finding.Finding) []reported {
	out := make([]reported, len(fs))
	for i, f := range fs {
		out[i] = reported{f, p.reportReason(f)}
	}
	return out
}

func allBecause(fs []finding.Finding, why string) []reported {
	out := make([]reported, len(fs))
	for i, f := range fs {
		out[i] = reported{f, why}
	}
	return out
}

// reportOf makes one report action of an object's remaining findings; nil when there are none.
func reportOf(g *group, rs []reported) *Action {
	if len(rs) == 0 {
		return nil
	}
	fs := make([]finding.Finding, len(rs))
	var whys []string
	for i, r := range rs {
		fs[i] = r.f
		if !slices.Contains(whys, r.why) {
			whys = append(whys, r.why)
		}
	}
	a := newAction(ActionReport, g, fs)
	a.Reason = strings.Join(whys, "; ")
	return &a
}

// reportAction is reportOf for findings sharing one reason.
func reportAction(g *group, fs []finding.Finding, why string) Action {
	return *reportOf(g, allBecause(fs, why))
}

// newAction starts an action for fs about g's object.
func newAction(kind ActionKind, g *group, fs []finding.Finding) Action {
	a := Action{Kind: kind, Tenant: fs[0].TenantID, Environment: g.env, Target: targetOf(g.resource)}
	for _, f := range fs {
		a.Fingerprints = append(a.Fingerprints, f.Fingerprint())
		if !slices.Contains(a.FindingKinds, f.Kind) {
			a.FindingKinds = append(a.FindingKinds, f.Kind)
		}
	}
	return a
}

func targetOf(r finding.Resource) Target {
	t := Target{Provider: r.Provider, Type: r.Type, Namespace: r.Namespace, Name: r.Name, ID: r.ID, URN: r.URN}
	if gvk, ok := kubeGVK(r); ok {
		t.APIVersion, t.Kind = gvk.GroupVersion().String(), gvk.Kind
	}
	return t
}

func kubeGVK(r finding.Resource) (schema.GroupVersionKind, bool) {
	if r.Provider != finding.ProviderKubernetes || r.Name == "" {
		return schema.GroupVersionKind{}, false
	}
	return inventory.ParseTypeString(r.Type)
}

func (p *Planner) reportReason(f finding.Finding) string {
	switch f.Kind {
	case finding.KindUnmanagedResource:
		if p.imports {
			return "unmanaged resource: adoption (--import) is not supported, because the tenant's program does not declare it and the next up would delete it; declare it in the desired state, or delete it"
		}
		return "unmanaged resource: a person decides (delete it, declare it in the desired state, or ignore it)"
	case finding.KindCrossTenantRoute:
		return "possible cross-tenant route: the analysis could not decide it; review the evidence"
	case finding.KindManagedDrift, finding.KindFieldConflict:
		return "drift the engine reported without a field to restore: re-apply the stack with tenantctl up"
	}
	return f.Kind.Info().Fix
}

// planMissing restores a managed object that is gone: the engine refreshes the stack (dropping it
// from the state) and recreates it.
func (p *Planner) planMissing(ctx context.Context, g *group, fs []finding.Finding) (Action, error) {
	a := newAction(ActionRestore, g, fs)
	a.Stack, a.Engine = fs[0].Stack, EngineRefreshUp
	a.Reason = fmt.Sprintf("%s is missing; refresh and up %s recreate it", g.resource.Ref(), a.Stack)
	if gvk, ok := kubeGVK(g.resource); ok {
		_, err := p.cluster.Get(ctx, gvk, g.resource.Namespace, g.resource.Name)
		switch {
		case err == nil:
			return reportAction(g, fs, g.resource.Ref()+" exists again since the check; nothing to recreate"), nil
		case !apierrors.IsNotFound(err):
			return Action{}, fmt.Errorf("read %s: %w", g.resource.Ref(), err)
		}
		a.Target.Absent = true
	}
	return a, nil
}

// planRestore restores drifted fields. Kubernetes: the fields the desired inputs set are applied
// as the stack's field manager; the findings it cannot restore (an item the desired state does
// not declare, a secret value) are returned for a report. Azure: the engine restores the
// resource.
func (p *Planner) planRestore(ctx context.Context, g *group, fs []finding.Finding) (*Action, []reported, error) {
	stack := fs[0].Stack
	if slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Stack != stack }) {
		return nil, allBecause(fs, g.resource.Ref()+" drifted in fields of several stacks; re-apply them with tenantctl up"), nil
	}
	gvk, ok := kubeGVK(g.resource)
	if !ok {
		a := newAction(ActionRestore, g, fs)
		a.Stack, a.Engine = stack, EngineRefreshUp
		a.Reason = fmt.Sprintf("%s drifted; refresh and up %s restore it", g.resource.Ref(), stack)
		return &a, nil, nil
	}
	key := inventory.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: g.resource.Namespace, Name: g.resource.Name}
	mrs, err := p.desired.Lookup(ctx, stack, key)
	if err != nil {
		return nil, nil, fmt.Errorf("desired state of %s: %w", g.resource.Ref(), err)
	}
	mr, ok := managedOf(mrs, g.resource.URN)
	if !ok {
		return nil, allBecause(fs, fmt.Sprintf("stack %s no longer records %s; re-apply it with tenantctl up", stack, g.resource.Ref())), nil
	}
	live, err := p.cluster.Get(ctx, gvk, g.resource.Namespace, g.resource.Name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, allBecause(fs, g.resource.Ref()+" no longer exists; the next check reports it missing"), nil
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", g.resource.Ref(), err)
	}
	cands, err := applyManagers(live, p.managers)
	if err != nil {
		return nil, allBecause(fs, err.Error()), nil
	}
	mgr, ok := pickManager(cands, mr.Inputs)
	if !ok {
		return nil, allBecause(fs, fmt.Sprintf("no server-side apply manager of stack %s is left on %s to restore as; re-apply it with tenantctl up", stack, g.resource.Ref())), nil
	}
	fields, restored, bad := restoreFields(g.resource, fs, mr.Inputs, live)
	if len(fields) == 0 {
		return nil, bad, nil
	}
	a := newAction(ActionRestore, g, restored)
	a.Stack, a.Engine, a.FieldManager, a.Fields = stack, EngineUp, mgr.name, fields
	a.Target.UID, a.Target.ResourceVersion = string(live.GetUID()), live.GetResourceVersion()
	a.Reason = restoreReason(g.resource, fields, mgr.name, stack)
	return &a, bad, nil
}

// managedOf picks the stack's resource for the object: the one with the finding's URN, else the
// one that is not a patch.
func managedOf(mrs []detect.ManagedResource, urn string) (detect.ManagedResource, bool) {
	mrs = slices.DeleteFunc(slices.Clone(mrs), func(m detect.ManagedResource) bool { return m.External })
	for _, m := range mrs {
		if urn != "" && m.URN == urn {
			return m, true
		}
	}
	for _, m := range mrs {
		if !m.Patch {
			return m, true
		}
	}
	if len(mrs) > 0 {
		return mrs[0], true
	}
	return detect.ManagedResource{}, false
}
