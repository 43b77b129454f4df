package remediate

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
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
func NewEngineConverger(e *automation.Engine, state *isolation.DesiredState, kubeconfig string, opts ...fleet.Option) *EngineConverger {
	return &EngineConverger{engine: e, state: state, fleet: fleet.New(e, state, kubeconfig, opts...)}
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
	id, err := tenantplan.ParseStackName(stack)
	if err != nil {
		return automation.Target{}, err
	}
	env := c.state.Environment(id.Environment)
	if env == nil {
		return automation.Target{}, fmt.Errorf("stack %s: environment %s is not in the desired state", stack, id.Environment)
	}
	if id.Kind == tenantplan.StackPlatform {
		return c.fleet.PlatformTarget(env), nil
	}
	b := c.state.Binding(id.Environment, id.TenantID)
	if b == nil {
		return automation.Target{}, fmt.Errorf("stack %s: tenant %s has no binding in the desired state", stack, id.TenantID)
	}
	po, err := c.fleet.PlatformOutputs(ctx, env)
	if err != nil {
		return automation.Target{}, err
	}
	return c.fleet.TenantTarget(b, po), nil
}
