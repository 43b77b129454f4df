package statestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"
)

// ErrStackExists says the backend already holds a checkpoint of the stack being created.
var ErrStackExists = errors.New("stack already exists")

// CreateStack records a new stack in the backend exactly as `pulumi stack init` does on a DIY
// backend (cmd/pulumi/stack CreateStack → pkg/backend/diy CreateStack): one checkpoint object
// naming the stack and holding latest — the CLI's initial deployment (a manifest and the secrets
// provider's state, no resources) — or, when latest is nil, no deployment at all (version 0, what
// the backend writes for a stack without a secrets manager). It is written only if no checkpoint
// of the stack exists in any compression, atomically and create-only (a hard link of a finished
// file, an INSERT … ON CONFLICT DO NOTHING), so of two processes creating the same stack at once
// exactly one succeeds and the other gets ErrStackExists — the 409 the CLI would give.
//
// Only a store Pulumi has already initialised in the project-scoped layout is written to (its
// meta.yaml says version 1): anything else returns ErrUnsupported, and the caller lets the CLI
// create the stack (and the store's bookkeeping) itself.
func (r *Reader) CreateStack(ctx context.Context, project, name string, latest *apitype.DeploymentV3) error {
	if project == "" || name == "" {
		return fmt.Errorf("create stack: project and stack name are required")
	}
	w, ok := r.s.(creator)
	if !ok {
		return fmt.Errorf("%w: no create-only write", ErrUnsupported)
	}
	data, err := r.s.read(ctx, path.Join(bookkeeping, "meta.yaml"))
	switch {
	case errors.Is(err, errNotExist):
		return fmt.Errorf("%w: the store has no %s/meta.yaml yet", ErrUnsupported, bookkeeping)
	case err != nil:
		return fmt.Errorf("create stack %s: %w", name, err)
	}
	var meta struct {
		Version int `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("%s/meta.yaml: %w", bookkeeping, err)
	}
	if meta.Version != 1 {
		return fmt.Errorf("%w: state store layout version %d", ErrUnsupported, meta.Version)
	}
	switch _, err := r.Stack(ctx, project, name); {
	case err == nil:
		return fmt.Errorf("%w: %s", ErrStackExists, name)
	case !errors.Is(err, ErrNoStack):
		return fmt.Errorf("create stack %s: %w", name, err)
	}
	body, err := newCheckpoint("organization/"+project+"/"+name, latest)
	if err != nil {
		return fmt.Errorf("create stack %s: %w", name, err)
	}
	created, err := w.create(ctx, path.Join(bookkeeping, "stacks", project, name+".json"), body)
	switch {
	case err != nil:
		return fmt.Errorf("create stack %s: %w", name, err)
	case !created:
		return fmt.Errorf("%w: %s", ErrStackExists, name)
	}
	return nil
}

// creator is a store that can write an object only if it does not exist yet.
type creator interface {
	// create writes data under key unless the key exists; created is false when it did.
	create(ctx context.Context, key string, data []byte) (created bool, err error)
}

// newCheckpoint is the versioned checkpoint the DIY backend writes for a new stack, in its compact
// JSON (the diy package's compactJSONMarshaler: no HTML escaping, no trailing newline): version 3 with the initial deployment (marshalled
// on its own first, as the CLI hands it over as an untyped deployment), or version 0 without one.
func newCheckpoint(qualified string, latest *apitype.DeploymentV3) ([]byte, error) {
	version := 0
	var deployment json.RawMessage
	if latest != nil {
		b, err := json.Marshal(latest)
		if err != nil {
			return nil, err
		}
		version, deployment = 3, b
	}
	inner, err := compactJSON(struct {
		Stack  string          `json:"stack,omitempty"`
		Latest json.RawMessage `json:"latest,omitempty"`
	}{qualified, deployment})
	if err != nil {
		return nil, err
	}
	return compactJSON(apitype.VersionedCheckpoint{Version: version, Checkpoint: inner})
}

func compactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
