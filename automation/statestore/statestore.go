// Package statestore reads the last checkpoint of every stack of a project straight from a Pulumi
// DIY backend's storage: a local folder (file://) or a PostgreSQL table (postgres://, one query for
// the whole fleet). It starts no pulumi process and needs no passphrase: secret values stay the
// ciphertext the backend holds.
//
// This is the read side of the drift fast path. `pulumi stack ls` and `pulumi stack export` cost a
// CLI start each (about 0.7 CPU-s here), which for a fleet of thousands of stacks is most of the
// check; reading the same checkpoints directly costs a file read or a row each. The layout read is
// Pulumi's own (pkg/backend/diy): `.pulumi/meta.yaml` says whether stacks are project-scoped
// (version 1: `.pulumi/stacks/<project>/<stack>.json`) or legacy (`.pulumi/stacks/<stack>.json`);
// checkpoints may be gzip- or zstd-compressed; `.pulumi/locks/organization/<project>/<stack>/` holds the lock of
// an update in progress. Other backends (azblob://, the Pulumi Cloud) return ErrUnsupported and the
// caller uses the CLI.
package statestore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"
)

// ErrUnsupported says the backend cannot be read directly; use the CLI.
var ErrUnsupported = errors.New("state backend not readable directly")

// Stack is one stack's last checkpoint.
type Stack struct {
	Name string
	// Deployment is the checkpoint's latest deployment (apitype.DeploymentV3 JSON), exactly what
	// `pulumi stack export` prints, with secrets still encrypted. Empty for a stack that was
	// created but never updated.
	Deployment json.RawMessage
	// LastUpdate is the time of the last update (the deployment manifest's time); zero when never
	// updated.
	LastUpdate time.Time
	// Resources is the number of resources in the checkpoint.
	Resources int
	// Locked is true while an update holds the stack's lock.
	Locked bool
}

// Store lists objects by prefix and reads them; the two backends implement it.
type store interface {
	// list returns the keys under prefix (relative to the backend root).
	list(ctx context.Context, prefix string) ([]string, error)
	// listContaining returns the keys under prefix that contain infix.
	listContaining(ctx context.Context, prefix, infix string) ([]string, error)
	// readKeys returns the contents of the keys that exist, by key.
	readKeys(ctx context.Context, keys []string) (map[string][]byte, error)
	// readAll returns the contents of every key under prefix whose name passes keep.
	readAll(ctx context.Context, prefix string, keep func(key string) bool) (map[string][]byte, error)
	// read returns one key's contents, or os.ErrNotExist.
	read(ctx context.Context, key string) ([]byte, error)
	Close() error
}

// Reader reads the checkpoints of a backend.
type Reader struct{ s store }

// Open returns a reader for backendURL, or ErrUnsupported.
func Open(ctx context.Context, backendURL string) (*Reader, error) {
	switch {
	case strings.HasPrefix(backendURL, "file://"):
		s, err := openFile(backendURL)
		if err != nil {
			return nil, err
		}
		return &Reader{s}, nil
	case strings.HasPrefix(backendURL, "postgres://"):
		s, err := openPostgres(ctx, backendURL)
		if err != nil {
			return nil, err
		}
		return &Reader{s}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, redactURL(backendURL))
}

// Close releases the backend connection.
func (r *Reader) Close() error { return r.s.Close() }

const bookkeeping = ".pulumi"

// Stacks returns every stack of project with its last checkpoint, by name.
func (r *Reader) Stacks(ctx context.Context, project string) (map[string]Stack, error) {
	dir, err := r.stacksDir(ctx, project)
	if err != nil {
		return nil, err
	}
	blobs, err := r.s.readAll(ctx, dir+"/", func(key string) bool { return stackName(key) != "" })
	if err != nil {
		return nil, fmt.Errorf("read checkpoints under %s: %w", dir, err)
	}
	// An update holds .pulumi/locks/<stack's qualified name>/<lock>.json (pkg/backend/diy
	// stackLockDir): organization/<project>/<stack> in the project-scoped layout, the bare stack
	// name in the legacy one.
	lockRoot := path.Join(bookkeeping, "locks", "organization", project) + "/"
	if dir == path.Join(bookkeeping, "stacks") {
		lockRoot = path.Join(bookkeeping, "locks") + "/"
	}
	locks, err := r.s.list(ctx, lockRoot)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	locked := map[string]bool{}
	for _, k := range locks {
		parts := strings.Split(strings.TrimPrefix(k, lockRoot), "/")
		if len(parts) == 2 && strings.HasSuffix(parts[1], ".json") {
			locked[parts[0]] = true
		}
	}
	out := make(map[string]Stack, len(blobs))
	for key, data := range blobs {
		name := stackName(key)
		if _, dup := out[name]; dup {
			// Pulumi writes one form at a time; two mean a half-finished switch of compression.
			return nil, fmt.Errorf("stack %s has more than one checkpoint file under %s", name, dir)
		}
		s, err := decode(name, key, data)
		if err != nil {
			return nil, err
		}
		s.Locked = locked[name]
		out[name] = s
	}
	return out, nil
}

// stacksDir is where the project's checkpoints live: project-scoped unless meta.yaml says the
// store is of the legacy layout.
func (r *Reader) stacksDir(ctx context.Context, project string) (string, error) {
	data, err := r.s.read(ctx, path.Join(bookkeeping, "meta.yaml"))
	version := 0
	switch {
	case err == nil:
		var meta struct {
			Version int `yaml:"version"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			return "", fmt.Errorf("%s/meta.yaml: %w", bookkeeping, err)
		}
		version = meta.Version
	case errors.Is(err, errNotExist):
		// A store Pulumi has never written to: nothing to read, and new stores are project-scoped.
		version = 1
	default:
		return "", err
	}
	switch version {
	case 0:
		return path.Join(bookkeeping, "stacks"), nil
	case 1:
		return path.Join(bookkeeping, "stacks", project), nil
	}
	return "", fmt.Errorf("%s/meta.yaml: state store version %d is newer than this reader knows (1)", bookkeeping, version)
}

var errNotExist = errors.New("not found")

// stackName is the stack a checkpoint key belongs to ("" for anything else: backups, history).
func stackName(key string) string {
	base := path.Base(key)
	for _, ext := range []string{".json", ".json.gz", ".json.zst"} {
		if name, ok := strings.CutSuffix(base, ext); ok && name != "" && !strings.Contains(name, ".bak") {
			return name
		}
	}
	return ""
}

// decode reads a (possibly compressed) versioned checkpoint.
func decode(name, key string, data []byte) (Stack, error) {
	s := Stack{Name: name}
	data, err := decompress(key, data)
	if err != nil {
		return s, fmt.Errorf("checkpoint of %s: %w", name, err)
	}
	var vcp apitype.VersionedCheckpoint
	if err := json.Unmarshal(data, &vcp); err != nil {
		return s, fmt.Errorf("checkpoint of %s: %w", name, err)
	}
	if vcp.Version > 3 || vcp.Version < 0 {
		return s, fmt.Errorf("checkpoint of %s: version %d, this reader knows 3", name, vcp.Version)
	}
	var cp struct {
		Latest json.RawMessage `json:"latest"`
	}
	if err := json.Unmarshal(vcp.Checkpoint, &cp); err != nil {
		return s, fmt.Errorf("checkpoint of %s: %w", name, err)
	}
	if len(cp.Latest) == 0 || string(cp.Latest) == "null" {
		// `pulumi stack init` writes version 0 with no deployment: a stack never updated.
		return s, nil
	}
	if vcp.Version != 3 {
		// An older deployment format would need Pulumi's migration; no current CLI writes one.
		return s, fmt.Errorf("checkpoint of %s: deployment of version %d, this reader knows 3", name, vcp.Version)
	}
	var head struct {
		Manifest  apitype.ManifestV1 `json:"manifest"`
		Resources []json.RawMessage  `json:"resources"`
	}
	if err := json.Unmarshal(cp.Latest, &head); err != nil {
		return s, fmt.Errorf("checkpoint of %s: %w", name, err)
	}
	s.Deployment, s.LastUpdate, s.Resources = cp.Latest, head.Manifest.Time, len(head.Resources)
	return s, nil
}

// decompress undoes the compression the key's extension names (Pulumi's .gz and .zst forms).
func decompress(key string, data []byte) ([]byte, error) {
	var err error
	switch {
	case strings.HasSuffix(key, ".gz"):
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(data)); err == nil {
			data, err = io.ReadAll(zr)
		}
	case strings.HasSuffix(key, ".zst"):
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(bytes.NewReader(data)); err == nil {
			data, err = io.ReadAll(zr)
			zr.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", path.Base(key), err)
	}
	return data, nil
}

// redactURL keeps credentials out of errors.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			return u[:i+3] + "***@" + rest[at+1:]
		}
	}
	return u
}

// ErrNoStack says the backend holds no checkpoint of the stack asked for.
var ErrNoStack = errors.New("no such stack")

// Stack returns one stack's last checkpoint (for a reader that needs one stack's outputs, not
// the fleet's); an error wrapping ErrNoStack when the backend holds none.
func (r *Reader) Stack(ctx context.Context, project, name string) (Stack, error) {
	dir, err := r.stacksDir(ctx, project)
	if err != nil {
		return Stack{}, err
	}
	for _, ext := range []string{".json", ".json.gz", ".json.zst"} {
		key := dir + "/" + name + ext
		data, err := r.s.read(ctx, key)
		switch {
		case errors.Is(err, errNotExist):
			continue
		case err != nil:
			return Stack{}, fmt.Errorf("read checkpoint of %s: %w", name, err)
		}
		return decode(name, key, data)
	}
	return Stack{}, fmt.Errorf("%w: %s", ErrNoStack, name)
}
