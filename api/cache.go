package api

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/connectsoft/tenantctl/isolation"
)

// statusCache shares the stack listing and the desired state between the status requests of a
// short window: one CLI call and one Git read answer a burst of callers.
type statusCache struct {
	backend Backend
	ttl     time.Duration
	group   singleflight.Group

	mu       sync.Mutex
	stacks   []StackSummary
	stacksAt time.Time
	state    *isolation.DesiredState
	stateErr error
	stateAt  time.Time
}

func newStatusCache(b Backend, ttl time.Duration) *statusCache {
	return &statusCache{backend: b, ttl: ttl}
}

func (c *statusCache) Stacks(ctx context.Context) ([]StackSummary, error) {
	c.mu.Lock()
	if !c.stacksAt.IsZero() && time.Since(c.stacksAt) < c.ttl {
		defer c.mu.Unlock()
		return c.stacks, nil
	}
	c.mu.Unlock()
	v, err, _ := c.group.Do("stacks", func() (any, error) {
		// Detached from the first caller: its cancellation must not fail the others.
		ss, err := c.backend.Stacks(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.stacks, c.stacksAt = ss, time.Now()
		c.mu.Unlock()
		return ss, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]StackSummary), nil
}

// DesiredState returns the cached state; with validation errors, the partial state and the
// errors (see Backend.DesiredState).
func (c *statusCache) DesiredState(ctx context.Context) (*isolation.DesiredState, error) {
	c.mu.Lock()
	if !c.stateAt.IsZero() && time.Since(c.stateAt) < c.ttl {
		defer c.mu.Unlock()
		return c.state, c.stateErr
	}
	c.mu.Unlock()
	type loaded struct {
		s   *isolation.DesiredState
		err error
	}
	v, err, _ := c.group.Do("state", func() (any, error) {
		s, err := c.backend.DesiredState(context.WithoutCancel(ctx))
		if _, invalid := isolation.AsValidationErrors(err); err != nil && (!invalid || s == nil) {
			return nil, err
		}
		c.mu.Lock()
		c.state, c.stateErr, c.stateAt = s, err, time.Now()
		c.mu.Unlock()
		return loaded{s, err}, nil
	})
	if err != nil {
		return nil, err
	}
	l := v.(loaded)
	return l.s, l.err
}
