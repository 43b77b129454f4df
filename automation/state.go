package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/connectsoft/tenantctl/automation/statestore"
)

// LockInfo describes the lock another process holds on a stack (file backend only: other
// backends keep locks server-side and report them as conflicts when an operation starts).
type LockInfo struct {
	Pid      int       `json:"pid"`
	Username string    `json:"username"`
	Hostname string    `json:"hostname"`
	Time     time.Time `json:"timestamp"`
	// Stale is true when the holder ran on this host and its process is gone.
	Stale bool   `json:"stale"`
	File  string `json:"file"`
}

// Locks returns the lock files of a stack in a file:// backend.
func (e *Engine) Locks(stack string) ([]LockInfo, error) {
	root, ok, err := statestore.FileBackendDir(e.backendURL)
	if err != nil || !ok {
		return nil, err
	}
	dir := filepath.Join(root, ".pulumi", "locks", "organization", e.ProjectName(), stack)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read locks of %s: %w", stack, err)
	}
	host, _ := os.Hostname()
	var out []LockInfo
	for _, en := range entries {
		if en.IsDir() || !strings.HasSuffix(en.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, en.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var li LockInfo
		if err := json.Unmarshal(data, &li); err != nil {
			return nil, fmt.Errorf("lock file %s: %w", p, err)
		}
		li.File = p
		li.Stale = li.Hostname == host && !processAlive(li.Pid)
		out = append(out, li)
	}
	return out, nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A killed process whose parent is gone too may linger as a zombie until init reaps it (in
	// containers, possibly never); it holds nothing.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Deployment is the part of an exported stack state the engine reads.
type Deployment struct {
	Resources         []apitype.ResourceV3  `json:"resources"`
	PendingOperations []apitype.OperationV2 `json:"pending_operations,omitempty"`
}

// Export returns a stack's last recorded state without running its program.
func (e *Engine) Export(ctx context.Context, stack string) (Deployment, error) {
	s, err := e.stack(ctx, Target{Stack: stack}, false)
	if err != nil {
		return Deployment{}, err
	}
	ud, err := s.Export(ctx)
	if err != nil {
		return Deployment{}, fmt.Errorf("export %s: %w", stack, err)
	}
	var d Deployment
	if err := json.Unmarshal(ud.Deployment, &d); err != nil {
		return Deployment{}, fmt.Errorf("decode state of %s: %w", stack, err)
	}
	// The CLI exports with --show-secrets; nothing outside the engine may see those values.
	d.mask()
	return d, nil
}

// mask replaces every secret value (plaintext from an export, ciphertext from the backend) with
// SecretMask.
func (d *Deployment) mask() {
	for i := range d.Resources {
		d.Resources[i].Inputs = maskSecrets(d.Resources[i].Inputs).(map[string]any)
		d.Resources[i].Outputs = maskSecrets(d.Resources[i].Outputs).(map[string]any)
	}
	for i := range d.PendingOperations {
		d.PendingOperations[i].Resource.Inputs = maskSecrets(d.PendingOperations[i].Resource.Inputs).(map[string]any)
		d.PendingOperations[i].Resource.Outputs = maskSecrets(d.PendingOperations[i].Resource.Outputs).(map[string]any)
	}
}

// secretSig marks a secret value in Pulumi's state encoding.
const secretSig = "1b47061264138c4ac30d75fd1eb44270"

// SecretMask replaces every secret value in an exported deployment.
const SecretMask = "[secret]"

// maskSecrets returns v with every {"4dabf18193072939515e22adb298388d": secretSig, ...} object
// replaced by SecretMask. Maps stay maps (nil stays nil) so callers can keep their types.
func maskSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		if sig, _ := x["4dabf18193072939515e22adb298388d"].(string); sig == secretSig {
			return SecretMask
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskSecrets(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskSecrets(e)
		}
		return out
	}
	return v
}

// Recovery is what Recover found and did.
type Recovery struct {
	Stack            string   `json:"stack"`
	LocksCleared     int      `json:"locksCleared"`
	PendingFound     int      `json:"pendingFound"`
	Imported         []string `json:"imported,omitempty"` // URNs adopted from pending creates
	Dropped          []string `json:"dropped,omitempty"`  // pending creates with no resource behind them
	Refreshed        bool     `json:"refreshed"`
	NothingToRecover bool     `json:"nothingToRecover"`
}

// ErrLiveLock means the stack's lock belongs to a process that is still running.
var ErrLiveLock = errors.New("stack is locked by a running process")

// Recover repairs a stack left behind by a process that was killed mid-operation: it clears
// stale locks (never one whose holder still runs on this host), adopts pending creates whose
// resources exist (Kubernetes objects are found by their name and namespace), drops the others,
// and refreshes so state matches what exists. Nothing is deleted, so nothing is lost; a
// following `up` converges.
func (e *Engine) Recover(ctx context.Context, t Target) (Recovery, error) {
	unlock := e.lock(t.Stack)
	defer unlock()
	rec := Recovery{Stack: t.Stack}
	locks, err := e.Locks(t.Stack)
	if err != nil {
		return rec, err
	}
	for _, l := range locks {
		if !l.Stale && l.Hostname != "" {
			host, _ := os.Hostname()
			if l.Hostname == host {
				return rec, fmt.Errorf("recover %s: %w (pid %d since %s)", t.Stack, ErrLiveLock, l.Pid, l.Time.Format(time.RFC3339))
			}
		}
	}
	s, err := e.stack(ctx, t, false)
	if err != nil {
		return rec, fmt.Errorf("recover %s: %w", t.Stack, err)
	}
	if len(locks) > 0 {
		if err := s.Cancel(ctx); err != nil {
			return rec, fmt.Errorf("recover %s: clear lock: %w", t.Stack, err)
		}
		rec.LocksCleared = len(locks)
	}
	d, err := e.Export(ctx, t.Stack)
	if err != nil {
		return rec, fmt.Errorf("recover %s: %w", t.Stack, err)
	}
	rec.PendingFound = len(d.PendingOperations)
	if rec.PendingFound == 0 && rec.LocksCleared == 0 {
		rec.NothingToRecover = true
		return rec, nil
	}
	// Adopt pending creates by editing the state (export, fix, import): the CLI's
	// --import-pending-creates marks them "importing", which its refresh then drops.
	ud, err := s.Export(ctx)
	if err != nil {
		return rec, fmt.Errorf("recover %s: export: %w", t.Stack, err)
	}
	var dep apitype.DeploymentV3
	if err := json.Unmarshal(ud.Deployment, &dep); err != nil {
		return rec, fmt.Errorf("recover %s: decode state: %w", t.Stack, err)
	}
	var keep []apitype.OperationV2
	for _, op := range dep.PendingOperations {
		if op.Type != apitype.OperationTypeCreating {
			keep = append(keep, op) // updates and deletes of recorded resources: refresh settles them
			continue
		}
		if id, ok := kubernetesID(op.Resource); ok {
			r := op.Resource
			r.ID = resource.ID(id)
			r.Outputs = r.Inputs // provisional; the refresh below reads the real ones
			dep.Resources = append(dep.Resources, r)
			rec.Imported = append(rec.Imported, string(r.URN))
		} else {
			rec.Dropped = append(rec.Dropped, string(op.Resource.URN))
		}
	}
	dep.PendingOperations = keep
	raw, err := json.Marshal(dep)
	if err != nil {
		return rec, err
	}
	ud.Deployment = raw
	if err := s.Import(ctx, ud); err != nil {
		return rec, fmt.Errorf("recover %s: import repaired state: %w", t.Stack, err)
	}
	if _, err := s.Refresh(ctx); err != nil {
		return rec, fmt.Errorf("recover %s: refresh: %w", t.Stack, err)
	}
	rec.Refreshed = true
	return rec, nil
}

// kubernetesID derives the provider id of a Kubernetes object from its inputs: "ns/name" for
// namespaced objects, "name" otherwise. A pending create whose object was never written is
// refreshed away as missing, so guessing the id is safe.
func kubernetesID(r apitype.ResourceV3) (string, bool) {
	if !strings.HasPrefix(string(r.Type), "kubernetes:") {
		return "", false
	}
	meta, _ := r.Inputs["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return "", false
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name, true
	}
	return name, true
}

// ListStacks names the project's stacks in the backend.
func (e *Engine) ListStacks(ctx context.Context) ([]auto.StackSummary, error) {
	ws, err := e.workspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.ListStacks(ctx)
}

func (e *Engine) workspace(ctx context.Context) (auto.Workspace, error) {
	cmd, err := e.pulumiCommand()
	if err != nil {
		return nil, err
	}
	wd := filepath.Join(e.dataDir, "workspaces", e.ProjectName(), "_project")
	if err := os.MkdirAll(wd, 0o700); err != nil {
		return nil, err
	}
	return auto.NewLocalWorkspace(ctx, auto.Project(e.project), auto.WorkDir(wd),
		auto.PulumiHome(filepath.Join(e.dataDir, "pulumi-home")), auto.Pulumi(cmd), auto.EnvVars(e.env()))
}

// Outputs returns a stack's recorded outputs without running its program; secret outputs are
// masked.
func (e *Engine) Outputs(ctx context.Context, stack string) (map[string]any, error) {
	s, err := e.stack(ctx, Target{Stack: stack}, false)
	if err != nil {
		return nil, err
	}
	m, err := s.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("outputs of %s: %w", stack, err)
	}
	return plainOutputs(m), nil
}

// StackState is a stack's last recorded state as the backend holds it.
type StackState struct {
	Name string
	// Deployment is the last deployment with every secret masked (SecretMask), as Export returns.
	Deployment Deployment
	// LastUpdate is when the last update finished (zero: never updated).
	LastUpdate time.Time
	Resources  int
	// Locked: an update holds the stack's lock now.
	Locked bool
}

// ErrStatesUnsupported says StackStates cannot read this backend directly; use ListStacks and
// Export (the CLI).
var ErrStatesUnsupported = statestore.ErrUnsupported

// StackStates reads the last state of every stack of the project straight from the backend's
// storage (file:// and postgres://), with no CLI process and no passphrase: what ListStacks and
// Export give, for a whole fleet at the cost of one folder read or one query. Other backends
// return an error wrapping ErrStatesUnsupported.
func (e *Engine) StackStates(ctx context.Context) (map[string]StackState, error) {
	r, err := statestore.Open(ctx, e.backendURL)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	raw, err := r.Stacks(ctx, e.ProjectName())
	if err != nil {
		return nil, err
	}
	out := make(map[string]StackState, len(raw))
	for name, s := range raw {
		st := StackState{Name: name, LastUpdate: s.LastUpdate, Resources: s.Resources, Locked: s.Locked}
		if len(s.Deployment) > 0 {
			if err := json.Unmarshal(s.Deployment, &st.Deployment); err != nil {
				return nil, fmt.Errorf("decode state of %s: %w", name, err)
			}
			st.Deployment.mask()
		}
		out[name] = st
	}
	return out, nil
}

// LastOperation is the latest operation (update, refresh, destroy, import) a stack's history
// records, previews excluded.
type LastOperation = statestore.Update

// LastOperations reads the latest history entry of every stack of the project straight from the
// backend's storage (file:// and postgres://), with no CLI process: what `pulumi stack history`
// shows first, for a whole fleet. Stacks never updated are absent. Other backends return an error
// wrapping ErrStatesUnsupported; LastOperationOf asks the CLI for one stack.
func (e *Engine) LastOperations(ctx context.Context) (map[string]LastOperation, error) {
	r, err := statestore.Open(ctx, e.backendURL)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.LastUpdates(ctx, e.ProjectName())
}

// LastOperationOf is a stack's latest history entry through the CLI (`pulumi stack history`);
// ok is false for a stack with no history. A stack that does not exist is an error IsNotFound
// recognises.
func (e *Engine) LastOperationOf(ctx context.Context, stack string) (LastOperation, bool, error) {
	s, err := e.stack(ctx, Target{Stack: stack}, false)
	if err != nil {
		return LastOperation{}, false, err
	}
	// Only the kind and result are read: the config it lists stays encrypted.
	hist, err := s.History(ctx, 1, 1, opthistory.ShowSecrets(false))
	if err != nil {
		return LastOperation{}, false, fmt.Errorf("history of %s: %w", stack, err)
	}
	if len(hist) == 0 {
		return LastOperation{}, false, nil
	}
	h := hist[0]
	op := LastOperation{Kind: h.Kind, Result: h.Result}
	if h.EndTime != nil {
		if t, err := time.Parse(time.RFC3339, *h.EndTime); err == nil {
			op.End = t.UTC()
		}
	}
	return op, true, nil
}
