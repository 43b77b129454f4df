package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
)

// ManagedInputs gives the desired inputs of managed objects: what a restore sets.
type ManagedInputs interface {
	// Lookup returns the resources stack manages (or patches) under key.
	Lookup(ctx context.Context, stack string, key inventory.Key) ([]detect.ManagedResource, error)
}

// Exporter reads a stack's recorded state (automation.Engine implements it).
type Exporter interface {
	Export(ctx context.Context, stack string) (automation.Deployment, error)
}

// StackInputs reads the desired inputs from the stacks' recorded state, exporting each stack
// once. The state's inputs are what the program declared at its last up, which is what the
// check compared against.
type StackInputs struct {
	exp   Exporter
	mu    sync.Mutex
	cache map[string]*detect.Managed
}

// NewStackInputs reads desired inputs through exp.
func NewStackInputs(exp Exporter) *StackInputs {
	return &StackInputs{exp: exp, cache: map[string]*detect.Managed{}}
}

// Lookup implements ManagedInputs.
func (s *StackInputs) Lookup(ctx context.Context, stack string, key inventory.Key) ([]detect.ManagedResource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.cache[stack]
	if !ok {
		dep, err := s.exp.Export(ctx, stack)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", stack, err)
		}
		d = detect.NewManaged()
		if err := d.AddStack(stack, dep.Resources); err != nil {
			return nil, err
		}
		s.cache[stack] = d
	}
	return d.Lookup(key), nil
}

// DesiredDigest fingerprints the content of a desired state (environments and bindings, not the
// files they came from): "sha256:<hex>". A plan records it so that applying refuses when the
// desired state changed since planning, in or outside Git.
func DesiredDigest(s *isolation.DesiredState) (string, error) {
	data, err := json.Marshal(struct {
		Environments map[string]*isolation.Environment `json:"environments"`
		Bindings     []*isolation.RuntimeTenantBinding `json:"bindings"`
	}{s.Environments, s.Bindings})
	if err != nil {
		return "", fmt.Errorf("desired state digest: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
