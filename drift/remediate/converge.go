package remediate

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// EngineConverger runs the engine's refresh and up for one stack of a desired state; the engine
// audits those operations itself.
type EngineConverger struct {
	engine *automation.Engine
	state  *isolation.DesiredState
	fleet  *fleet.Fleet
}

// NewEngineConverger converges stacks of state with e; kubeconfig is what the programs'
// Kubernetes provider uses.
func NewEngineConverger(e *automation.Engine, state *isolation.DesiredState, kubeconfig string) *EngineConverger {
	return &EngineConverger{engine: e, state: state, fleet: fleet.New(e, state, kubeconfig)}
}

// Converge implements Converger.
func (c *EngineConverger) Converge(ctx context.Context, stack string, step EngineStep) error {
	t, err := c.target(ctx, stack)
	if err != nil {
		return err
	}
	if step == EngineRefreshUp {
		if r := c.engine.RunOne(ctx, automation.OpRefresh, t); r.Err != nil {
			return r.Err
		}
	}
	if r := c.engine.RunOne(ctx, automation.OpUp, t); r.Err != nil {
		return r.Err
	}
	return nil
}

func (c *EngineConverger) target(ctx context.Context, stack string) (automation.Target, error) {
	id, err := stacks.ParseStackName(stack)
	if err != nil {
		return automation.Target{}, err
	}
	env := c.state.Environment(id.Environment)
	if env == nil {
		return automation.Target{}, fmt.Errorf("stack %s: environment %s is not in the desired state", stack, id.Environment)
	}
	if id.Kind == stacks.StackPlatform {
		return c.fleet.PlatformTarget(env), nil
	}
	b := c.state.Binding(id.Environment, id.TenantID)
	if b == nil {
		return automation.Target{}, fmt.Errorf("stack %s: tenant %s has no binding in the desired state", stack, id.TenantID)
	}
	po, err := c.platformOutputs(ctx, env)
	if err != nil {
		return automation.Target{}, err
	}
	return c.fleet.TenantTarget(b, po), nil
}

// platformOutputs are the outputs of env's platform stack that tenant programs consume: the
// recorded ones, or the expected ones when the platform has none yet.
func (c *EngineConverger) platformOutputs(ctx context.Context, env *isolation.Environment) (stacks.PlatformOutputs, error) {
	m, err := c.engine.Outputs(ctx, stacks.PlatformStackName(env.Name()))
	if automation.IsNotFound(err) || (err == nil && len(m) == 0) {
		return fleet.ExpectedPlatformOutputs(env), nil
	}
	if err != nil {
		return stacks.PlatformOutputs{}, fmt.Errorf("platform outputs of %s: %w", env.Name(), err)
	}
	po, err := stacks.PlatformOutputsFromMap(m)
	if err != nil {
		return stacks.PlatformOutputs{}, fmt.Errorf("platform outputs of %s: %w", env.Name(), err)
	}
	return po, nil
}
