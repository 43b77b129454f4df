// Package fleet turns the desired state into engine targets and runs an operation over a
// selection of tenants in the right order: an environment's platform stack before its tenant
// stacks (they consume its outputs), tenants after platforms on destroy.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	azurestacks "github.com/connectsoft/tenantctl/stacks/azure"
	k8sstacks "github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Selection says which tenants an operation covers.
type Selection struct {
	Tenants []string // tenant ids; empty with All for every tenant
	All     bool
	Env     string // restrict to one environment (empty: every environment)
	// Envs restricts to these environments too (the CLI's repeatable --env): Env and Envs together
	// name the environments of the selection (InEnv); none means every environment.
	Envs []string
	// IncludePlatform also destroys the platform stacks of the selected environments (destroy only;
	// up, preview and refresh always run the platform first).
	IncludePlatform bool
	// TenantsOnly leaves the platform stacks alone: tenant stacks read the platform's recorded
	// outputs, and an up is refused for an environment whose platform stack was never brought up.
	// The API sets it for every caller but platform operators with the platform scope.
	TenantsOnly bool
	// PlanDir pins updates to previews: a preview saves each stack's plan to PlanDir/<stack>.plan
	// and an up applies it (Pulumi refuses an update that goes beyond its plan).
	PlanDir string
	// Incremental runs up and preview only for the stacks whose inputs changed since their last
	// successful update (Decide): the others are results with Unchanged set, and the engine never
	// opens them. Every stack's recorded digest is read from the backend first, in one read where
	// the backend's storage allows it.
	Incremental bool
	// Refresh reads every selected stack's resources from the providers before its up or preview
	// (pulumi up --refresh). Only the engine can tell drift, so every selected stack runs.
	Refresh bool
	// Shard restricts the run to one shard (shard.go): I/N (I >= 1) runs the tenants
	// tenantplan.ShardOf puts there and reads the platform's recorded outputs, as TenantsOnly;
	// 0/N runs the platform stacks only.
	Shard *tenantplan.Shard
}

// Fleet runs operations for a desired state.
type Fleet struct {
	engine         *automation.Engine
	state          *isolation.DesiredState
	kubeconfig     string
	postgres       string
	programVersion string

	pgOnce     sync.Once
	pgSettings map[string]string
	pgErr      error
}

// Option configures a Fleet.
type Option func(*Fleet)

// WithPostgres is the path of the data layer's connection file (stack config tenantctl:postgres),
// which the programs of environments that keep tenant data on PostgreSQL need.
func WithPostgres(connectionFile string) Option {
	return func(f *Fleet) { f.postgres = connectionFile }
}

// New binds an engine to a desired state. kubeconfig is the path the programs' Kubernetes provider
// uses (stack config tenantctl:kubeconfig).
func New(e *automation.Engine, s *isolation.DesiredState, kubeconfig string, opts ...Option) *Fleet {
	f := &Fleet{engine: e, state: s, kubeconfig: kubeconfig}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Outcome is the result of one fleet operation.
type Outcome struct {
	Operation automation.Operation `json:"operation"`
	Commit    string               `json:"commit"`
	Dirty     bool                 `json:"dirty"`
	Platform  []automation.Result  `json:"platform"`
	Tenants   []automation.Result  `json:"tenants"`
}

// All is every result, platforms first.
func (o Outcome) All() []automation.Result { return append(slices.Clone(o.Platform), o.Tenants...) }

// Failed reports whether any stack's operation failed for another reason than a lock.
func (o Outcome) Failed() bool {
	return slices.ContainsFunc(o.All(), func(r automation.Result) bool { return r.Err != nil && !r.Conflict })
}

// Conflicted reports whether any stack was locked or being updated by another process.
func (o Outcome) Conflicted() bool {
	return slices.ContainsFunc(o.All(), func(r automation.Result) bool { return r.Conflict })
}

// Select resolves a selection to bindings and their environments. Unknown tenant ids and
// environments are invalid input.
func (f *Fleet) Select(sel Selection) ([]*isolation.RuntimeTenantBinding, []*isolation.Environment, error) {
	if !sel.All && len(sel.Tenants) == 0 {
		return nil, nil, errkind.Mark(errkind.Invalid, errors.New("select tenants with --tenant ID (repeatable) or --all"))
	}
	if err := sel.CheckShard(""); err != nil {
		return nil, nil, err
	}
	for _, name := range sel.Environments() {
		if f.state.Environment(name) == nil {
			return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("--env %s: no such environment in %s", name, f.state.Dir))
		}
	}
	want := map[string]bool{}
	for _, t := range sel.Tenants {
		want[t] = true
	}
	var out []*isolation.RuntimeTenantBinding
	found := map[string]bool{}
	for _, b := range f.state.Bindings {
		if !sel.InEnv(b.Spec.Environment) {
			continue
		}
		if sel.All || want[b.Spec.TenantID] {
			out = append(out, b)
			found[b.Spec.TenantID] = true
		}
	}
	var unknown []string
	for t := range want {
		if !found[t] {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, errkind.Mark(errkind.Invalid, fmt.Errorf("--tenant: no binding for %v in %s", unknown, f.state.Dir))
	}
	envSet := map[string]bool{}
	var envs []*isolation.Environment
	for _, b := range out {
		if !envSet[b.Spec.Environment] {
			envSet[b.Spec.Environment] = true
			envs = append(envs, f.state.Environment(b.Spec.Environment))
		}
	}
	if sel.All {
		// a selected environment without tenants still has its platform stack
		for _, name := range sel.Environments() {
			if !envSet[name] {
				envSet[name] = true
				envs = append(envs, f.state.Environment(name))
			}
		}
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i].Name() < envs[j].Name() })
	// The environments are those of the whole selection: every shard agrees on them, and the
	// platform shard runs their platform stacks.
	return sel.inShard(out), envs, nil
}

func (f *Fleet) config() map[string]string {
	cfg := map[string]string{stacks.FullConfigKey(stacks.ConfigKubeconfig): f.kubeconfig}
	if f.postgres != "" {
		cfg[stacks.FullConfigKey(stacks.ConfigPostgres)] = f.postgres
	}
	return cfg
}

// PlatformTarget is the engine target of an environment's platform stack. Its program records the
// stack's inputs digest as outputs.
func (f *Fleet) PlatformTarget(env *isolation.Environment) automation.Target {
	t, _, _ := f.platformTarget(env)
	return t
}

func (f *Fleet) platformTarget(env *isolation.Environment) (automation.Target, tenantplan.Digest, error) {
	d, err := f.PlatformDigest(env)
	return automation.Target{
		Stack:       tenantplan.PlatformStackName(env.Name()),
		Environment: env.Name(),
		Production:  env.Spec.Production,
		Commit:      f.state.Commit,
		Program:     withDigest(platformProgram(env), d, err),
		Config:      configMap(f.config()),
	}, d, err
}

// TenantTarget is the engine target of one tenant stack. Its program records the stack's inputs
// digest as outputs.
func (f *Fleet) TenantTarget(b *isolation.RuntimeTenantBinding, platform tenantplan.PlatformOutputs) automation.Target {
	t, _, _ := f.tenantTarget(b, platform)
	return t
}

func (f *Fleet) tenantTarget(b *isolation.RuntimeTenantBinding, platform tenantplan.PlatformOutputs) (automation.Target, tenantplan.Digest, error) {
	env := f.state.Environment(b.Spec.Environment)
	d, err := f.TenantDigest(b, platform)
	return automation.Target{
		Stack:       tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment),
		TenantID:    b.Spec.TenantID,
		Environment: b.Spec.Environment,
		Production:  env.Spec.Production,
		Commit:      f.state.Commit,
		Program:     withDigest(tenantProgram(tenantplan.Inputs{Binding: b, Env: env, Platform: platform}), d, err),
		Config:      configMap(f.config()),
		// Every tenant stack of the environment configures its providers from the same
		// environment, config and platform outputs; platform stacks start their own (they
		// create the CRDs a kept Kubernetes provider would not know about).
		ProviderScope: f.providerScope(env, platform),
	}, d, err
}

// providerScope names what the providers of env's tenant stacks are configured from: tenant
// operations with the same scope may share provider processes (automation.Target.ProviderScope).
// Anything it cannot render makes the scope empty, and the operation starts its own.
func (f *Fleet) providerScope(env *isolation.Environment, platform tenantplan.PlatformOutputs) string {
	h := sha256.New()
	for _, v := range []any{env.Name(), env.Spec, f.config(), platform} {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return "tenants/" + env.Name() + "/" + hex.EncodeToString(h.Sum(nil))[:16]
}

// platformProgram and tenantProgram pick the programs of the environment's target. Both targets
// export the same platform outputs, so tenant stacks read them the same way.
func platformProgram(env *isolation.Environment) pulumi.RunFunc {
	if env.Spec.Target == isolation.TargetAzure {
		return azurestacks.PlatformProgram(env)
	}
	return k8sstacks.PlatformProgram(env)
}

func tenantProgram(in tenantplan.Inputs) pulumi.RunFunc {
	if in.Env.Spec.Target == isolation.TargetAzure {
		return azurestacks.TenantProgram(in)
	}
	return k8sstacks.TenantProgram(in)
}

// Run performs op on the selection.
func (f *Fleet) Run(ctx context.Context, op automation.Operation, sel Selection) (Outcome, error) {
	bindings, envs, err := f.Select(sel)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Operation: op, Commit: f.state.Commit, Dirty: f.state.Dirty}
	if op == automation.OpDestroy {
		if err := sel.CheckShard(op); err != nil {
			return Outcome{}, err
		}
		out.Tenants = f.engine.Run(ctx, op, f.tenantTargets(bindings, nil))
		if sel.IncludePlatform && sel.platformShard() {
			out.Platform = f.destroyPlatformShard(ctx, envs)
			return out, nil
		}
		if sel.IncludePlatform {
			if failed := failedEnvs(out.Tenants); len(failed) > 0 {
				for _, env := range envs {
					r := automation.Result{Stack: tenantplan.PlatformStackName(env.Name()), Environment: env.Name(), Operation: op}
					if failed[env.Name()] {
						r.Skipped = "a tenant stack of this environment failed to destroy"
					}
					out.Platform = append(out.Platform, r)
				}
				return out, nil
			}
			out.Platform = f.engine.Run(ctx, op, f.platformTargets(envs))
		}
		return out, nil
	}

	incremental := sel.Incremental && !sel.Refresh && (op == automation.OpUp || op == automation.OpPreview)
	var records map[string]Recorded
	if incremental {
		records, err = f.Records(ctx, stackNames(bindings, envs))
		if err != nil {
			return Outcome{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	outputs := map[string]tenantplan.PlatformOutputs{}
	blocked := map[string]string{}
	if sel.TenantsOnly || sel.tenantShard() {
		f.recordedPlatformOutputs(ctx, op, envs, records, outputs, blocked)
	} else {
		out.Platform = f.runPlatforms(ctx, op, envs, sel, records)
	}
	for i, r := range out.Platform {
		env := envs[i]
		switch {
		case r.Err != nil:
			blocked[env.Name()] = "platform stack " + r.Stack + " failed"
		case r.Unchanged:
			// Its recorded outputs are what its last successful update exported for these inputs.
			po, err := tenantplan.PlatformOutputsFromMap(records[r.Stack].Outputs)
			if err != nil {
				blocked[env.Name()] = fmt.Sprintf("platform stack %s outputs: %v", r.Stack, err)
				continue
			}
			outputs[env.Name()] = po
		case op == automation.OpUp:
			po, err := tenantplan.PlatformOutputsFromMap(r.Outputs)
			if err != nil {
				blocked[env.Name()] = fmt.Sprintf("platform stack %s outputs: %v", r.Stack, err)
				continue
			}
			outputs[env.Name()] = po
		case incremental:
			// A preview of a platform stack that will change: its tenants are judged and previewed
			// against what it will export once it is up.
			outputs[env.Name()] = tenantplan.ExpectedPlatformOutputs(env)
		default:
			// preview/refresh do not change the platform: use its recorded outputs, or what it
			// will export once it exists.
			po, err := f.PlatformOutputs(ctx, env)
			if err != nil {
				blocked[env.Name()] = err.Error()
				continue
			}
			outputs[env.Name()] = po
		}
	}
	var targets []automation.Target
	reasons := map[string]string{}
	digests := map[string]string{}
	for _, b := range bindings {
		stack := tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)
		if why, ok := blocked[b.Spec.Environment]; ok {
			out.Tenants = append(out.Tenants, automation.Result{
				Stack: stack, TenantID: b.Spec.TenantID,
				Environment: b.Spec.Environment, Operation: op, Skipped: why, Err: errors.New(why), Error: why,
			})
			continue
		}
		po, ok := outputs[b.Spec.Environment]
		if !ok {
			po = tenantplan.ExpectedPlatformOutputs(f.state.Environment(b.Spec.Environment))
		}
		t, d, derr := f.tenantTarget(b, po)
		digests[stack] = d.Value
		if incremental {
			run, reason := Decide(d, derr, records[stack])
			if !run {
				out.Tenants = append(out.Tenants, unchangedResult(t, op, d, reason))
				continue
			}
			reasons[stack] = reason
		}
		targets = append(targets, t)
	}
	for _, r := range f.engine.Run(ctx, op, withRefresh(withPlans(targets, sel.PlanDir), sel.Refresh)) {
		r.Reason, r.InputsDigest = reasons[r.Stack], digests[r.Stack]
		out.Tenants = append(out.Tenants, r)
	}
	sort.SliceStable(out.Tenants, func(i, j int) bool { return out.Tenants[i].Stack < out.Tenants[j].Stack })
	return out, nil
}

// runPlatforms runs op on the platform stacks of envs, in envs' order; an incremental run leaves
// those whose inputs are unchanged alone.
func (f *Fleet) runPlatforms(ctx context.Context, op automation.Operation, envs []*isolation.Environment, sel Selection, records map[string]Recorded) []automation.Result {
	results := make([]automation.Result, len(envs))
	var targets []automation.Target
	var at []int
	reasons := map[string]string{}
	digests := map[string]string{}
	for i, env := range envs {
		t, d, derr := f.platformTarget(env)
		digests[t.Stack] = d.Value
		if records != nil {
			run, reason := Decide(d, derr, records[t.Stack])
			if !run {
				results[i] = unchangedResult(t, op, d, reason)
				continue
			}
			reasons[t.Stack] = reason
		}
		targets = append(targets, t)
		at = append(at, i)
	}
	for j, r := range f.engine.Run(ctx, op, withRefresh(withPlans(targets, sel.PlanDir), sel.Refresh)) {
		r.Reason, r.InputsDigest = reasons[r.Stack], digests[r.Stack]
		results[at[j]] = r
	}
	return results
}

func unchangedResult(t automation.Target, op automation.Operation, d tenantplan.Digest, reason string) automation.Result {
	return automation.Result{Stack: t.Stack, TenantID: t.TenantID, Environment: t.Environment, Operation: op,
		Changes: map[string]int{}, Unchanged: true, Reason: reason, InputsDigest: d.Value}
}

// stackNames are the stacks of a selection: the environments' platform stacks and the tenants'.
func stackNames(bs []*isolation.RuntimeTenantBinding, envs []*isolation.Environment) []string {
	var out []string
	for _, env := range envs {
		out = append(out, tenantplan.PlatformStackName(env.Name()))
	}
	for _, b := range bs {
		out = append(out, tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment))
	}
	return out
}

// withRefresh makes every target refresh before it runs.
func withRefresh(ts []automation.Target, on bool) []automation.Target {
	for i := range ts {
		ts[i].Refresh = on
	}
	return ts
}

// recordedPlatformOutputs fills outputs from the platform stacks' recorded outputs without running
// them; an up needs them to exist.
func (f *Fleet) recordedPlatformOutputs(ctx context.Context, op automation.Operation, envs []*isolation.Environment, records map[string]Recorded,
	outputs map[string]tenantplan.PlatformOutputs, blocked map[string]string) {
	for _, env := range envs {
		name := tenantplan.PlatformStackName(env.Name())
		var m map[string]any
		var err error
		if r, ok := records[name]; ok {
			m = r.Outputs // read with every stack's state already
		} else {
			m, err = f.engine.Outputs(ctx, name)
		}
		switch {
		case err == nil && len(m) > 0:
			po, err := tenantplan.PlatformOutputsFromMap(m)
			if err != nil {
				blocked[env.Name()] = fmt.Sprintf("platform stack %s outputs: %v", name, err)
				continue
			}
			outputs[env.Name()] = po
		case (err == nil || automation.IsNotFound(err)) && op == automation.OpUp:
			blocked[env.Name()] = "platform stack " + name + " is not provisioned; bring it up first (a platform operator, or the platform shard: up --shard 0/N)"
		case err == nil || automation.IsNotFound(err):
			outputs[env.Name()] = tenantplan.ExpectedPlatformOutputs(env)
		default:
			blocked[env.Name()] = err.Error()
		}
	}
}

// withPlans points each target at its plan file in dir (none when dir is empty).
func withPlans(ts []automation.Target, dir string) []automation.Target {
	if dir == "" {
		return ts
	}
	for i := range ts {
		ts[i].Plan = filepath.Join(dir, ts[i].Stack+".plan")
	}
	return ts
}

func (f *Fleet) platformTargets(envs []*isolation.Environment) []automation.Target {
	ts := make([]automation.Target, len(envs))
	for i, env := range envs {
		ts[i] = f.PlatformTarget(env)
	}
	return ts
}

func (f *Fleet) tenantTargets(bs []*isolation.RuntimeTenantBinding, outputs map[string]tenantplan.PlatformOutputs) []automation.Target {
	ts := make([]automation.Target, len(bs))
	for i, b := range bs {
		po, ok := outputs[b.Spec.Environment]
		if !ok {
			po = tenantplan.ExpectedPlatformOutputs(f.state.Environment(b.Spec.Environment))
		}
		ts[i] = f.TenantTarget(b, po)
	}
	return ts
}

// PlatformOutputs reads the outputs of env's platform stack that tenant programs consume: the
// recorded ones, or the expected ones (tenantplan.ExpectedPlatformOutputs) when the stack does not
// exist yet or has none.
func (f *Fleet) PlatformOutputs(ctx context.Context, env *isolation.Environment) (tenantplan.PlatformOutputs, error) {
	m, err := f.engine.Outputs(ctx, tenantplan.PlatformStackName(env.Name()))
	if automation.IsNotFound(err) || (err == nil && len(m) == 0) {
		return tenantplan.ExpectedPlatformOutputs(env), nil
	}
	if err != nil {
		return tenantplan.PlatformOutputs{}, fmt.Errorf("platform outputs of %s: %w", env.Name(), err)
	}
	po, err := tenantplan.PlatformOutputsFromMap(m)
	if err != nil {
		return tenantplan.PlatformOutputs{}, fmt.Errorf("platform outputs of %s: %w", env.Name(), err)
	}
	return po, nil
}

func failedEnvs(rs []automation.Result) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		if r.Err != nil {
			out[r.Environment] = true
		}
	}
	return out
}

func configMap(m map[string]string) auto.ConfigMap {
	out := auto.ConfigMap{}
	for k, v := range m {
		out[k] = auto.ConfigValue{Value: v}
	}
	return out
}
