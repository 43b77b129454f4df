package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// A sharded run splits one operation over N processes that run at once against one state
// backend. The platform stack of an environment is run by the platform shard 0/N only, never by
// a tenant shard: tenant shards run concurrently and read the platform's recorded outputs, which
// must not change under them, so the platform goes first, in a step of its own. Tenant shards
// 1/N … N/N hold the tenants tenantplan.ShardOf puts there, the same hash drift check --shard
// uses.

// tenantShard reports whether the selection is one tenant shard I/N (I >= 1).
func (s Selection) tenantShard() bool { return s.Shard != nil && !s.Shard.Platform() }

// platformShard reports whether the selection is the platform shard 0/N.
func (s Selection) platformShard() bool { return s.Shard != nil && s.Shard.Platform() }

// CheckShard refuses the shard selections that cannot mean anything for op ("" for any
// operation); Select and Run check it too, callers may check it before anything else.
func (s Selection) CheckShard(op automation.Operation) error {
	switch {
	case s.Shard == nil:
		return nil
	case s.Shard.Count < 1 || s.Shard.Index < 0 || s.Shard.Index > s.Shard.Count:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("--shard %s: want I/N with 0 <= I <= N", s.Shard))
	case s.TenantsOnly && s.Shard.Platform():
		return errkind.Mark(errkind.Invalid, fmt.Errorf("--shard %s is the platform shard, but this caller may not operate on platform stacks", s.Shard))
	case s.tenantShard() && s.IncludePlatform:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("--include-platform with --shard %s: a tenant shard never touches the platform stacks; destroy them with --shard 0/%d (after every tenant shard) or without --shard",
			s.Shard, s.Shard.Count))
	case op == automation.OpDestroy && s.platformShard() && !s.IncludePlatform:
		return errkind.Mark(errkind.Invalid, fmt.Errorf("destroy --shard %s destroys platform stacks only: add --include-platform", s.Shard))
	}
	return nil
}

// inShard keeps the bindings of the selection's shard: all of them without a shard, none for the
// platform shard.
func (s Selection) inShard(bs []*isolation.RuntimeTenantBinding) []*isolation.RuntimeTenantBinding {
	if s.Shard == nil {
		return bs
	}
	var out []*isolation.RuntimeTenantBinding
	for _, b := range bs {
		if s.Shard.Holds(b.Spec.TenantID) {
			out = append(out, b)
		}
	}
	return out
}

// destroyPlatformShard destroys the platform stacks of envs whose tenant stacks are all gone: the
// tenant shards ran before, in other processes, so what remains is read from the backend. An
// environment with a tenant stack that still holds resources keeps its platform (the tenants'
// objects live in its namespaces and read its outputs); its result is an error naming them.
func (f *Fleet) destroyPlatformShard(ctx context.Context, envs []*isolation.Environment) []automation.Result {
	results := make([]automation.Result, len(envs))
	remaining, err := f.remainingTenantStacks(ctx)
	var targets []automation.Target
	var at []int
	for i, env := range envs {
		r := automation.Result{Stack: tenantplan.PlatformStackName(env.Name()), Environment: env.Name(), Operation: automation.OpDestroy}
		switch left := remaining[env.Name()]; {
		case err != nil:
			r.Err = fmt.Errorf("read which tenant stacks remain: %w", err)
			r.Error, r.Skipped = r.Err.Error(), "the tenant stacks that remain could not be read"
		case len(left) > 0:
			why := fmt.Sprintf("%d tenant stack(s) of %s still hold resources (%s): destroy every tenant shard first", len(left), env.Name(), strings.Join(left, ", "))
			r.Err, r.Error, r.Skipped = errors.New(why), why, why
		default:
			targets = append(targets, f.PlatformTarget(env))
			at = append(at, i)
			continue
		}
		results[i] = r
	}
	for j, r := range f.engine.Run(ctx, automation.OpDestroy, targets) {
		results[at[j]] = r
	}
	return results
}

// remainingTenantStacks names, per environment, the tenant stacks in the backend that hold
// resources, whether the desired state still binds them or not.
func (f *Fleet) remainingTenantStacks(ctx context.Context) (map[string][]string, error) {
	counts := map[string]int{}
	states, err := f.engine.StackStates(ctx)
	switch {
	case errors.Is(err, automation.ErrStatesUnsupported):
		summaries, err := f.engine.ListStacks(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range summaries {
			n := 1 // a backend that does not count resources: assume the stack holds some
			if s.ResourceCount != nil {
				n = *s.ResourceCount
			}
			counts[s.Name[strings.LastIndex(s.Name, "/")+1:]] = n
		}
	case err != nil:
		return nil, err
	default:
		for name, st := range states {
			counts[name] = st.Resources
		}
	}
	out := map[string][]string{}
	for name, n := range counts {
		id, err := tenantplan.ParseStackName(name)
		if err != nil || id.Kind != tenantplan.StackTenant || n == 0 {
			continue
		}
		out[id.Environment] = append(out[id.Environment], name)
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out, nil
}
