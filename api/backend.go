package api

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/isolation"
)

// Backend is what the server asks of the engine. EngineBackend is the real one.
type Backend interface {
	// DesiredState loads the desired state. Jobs call it when they start, so a change merged in
	// Git is picked up without restarting the server. With validation errors it returns what it
	// could read together with the errors (isolation.Load's contract): status views of unaffected
	// tenants use it, nothing runs from it.
	DesiredState(ctx context.Context) (*isolation.DesiredState, error)
	// Run performs op on a selection with the fleet's semantics (platform stack first).
	Run(ctx context.Context, state *isolation.DesiredState, op automation.Operation, sel fleet.Selection) (fleet.Outcome, error)
	// Stacks lists the project's stacks in the state backend.
	Stacks(ctx context.Context) ([]StackSummary, error)
	// Locks returns the locks other processes hold on a stack.
	Locks(stack string) ([]automation.LockInfo, error)
	// Dir is the desired-state folder (bindings:validate overlays candidates on a copy of it).
	Dir() string
}

// StackSummary is one stack of the state backend.
type StackSummary struct {
	Name             string `json:"name"`
	LastUpdate       string `json:"lastUpdate,omitempty"`
	UpdateInProgress bool   `json:"updateInProgress"`
	ResourceCount    *int   `json:"resourceCount,omitempty"`
}

// EngineBackend runs the shared engine over the desired state in StateDir; Kubeconfig is the cluster
// the programs target.
type EngineBackend struct {
	Engine     *automation.Engine
	StateDir   string
	Kubeconfig string
	// Postgres is the data layer's connection file (fleet.WithPostgres); empty for none.
	Postgres string
}

// DesiredState implements Backend.
func (b EngineBackend) DesiredState(ctx context.Context) (*isolation.DesiredState, error) {
	return isolation.Load(ctx, b.StateDir)
}

// Run implements Backend.
func (b EngineBackend) Run(ctx context.Context, state *isolation.DesiredState, op automation.Operation, sel fleet.Selection) (fleet.Outcome, error) {
	return fleet.New(b.Engine, state, b.Kubeconfig, fleet.WithPostgres(b.Postgres)).Run(ctx, op, sel)
}

// Stacks implements Backend.
func (b EngineBackend) Stacks(ctx context.Context) ([]StackSummary, error) {
	ss, err := b.Engine.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	out := make([]StackSummary, len(ss))
	for i, s := range ss {
		out[i] = StackSummary{Name: s.Name, LastUpdate: s.LastUpdate, UpdateInProgress: s.UpdateInProgress, ResourceCount: s.ResourceCount}
	}
	return out, nil
}

// Locks implements Backend.
func (b EngineBackend) Locks(stack string) ([]automation.LockInfo, error) {
	return b.Engine.Locks(stack)
}

// Dir implements Backend.
func (b EngineBackend) Dir() string { return b.StateDir }
