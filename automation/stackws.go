package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/connectsoft/tenantctl/automation/statestore"
)

// Every pulumi CLI process that touches a stack's secrets derives the passphrase key (PBKDF2,
// 1,000,000 rounds of SHA-256: about half a CPU-second here), and the Automation API wraps one
// `pulumi up` in up to six more CLI processes (stack select, stack init, config set-all, two
// stack output calls, stack history). Where the backend is one this engine reads itself (file://,
// postgres://), the answers those extra processes would give are read in-process from the same
// checkpoint the CLI reads and writes, so an operation costs one CLI process (plus `stack init`
// for a new stack) — see docs/benchmarks.md "CPU per stack".

// stackWorkspace is one operation's Automation API workspace. It answers SelectStack and
// StackOutputs from the backend when the engine can read it, and delegates everything else to
// the local workspace (which runs the CLI).
type stackWorkspace struct {
	auto.Workspace
	// known: the backend was read just now and holds the stack, so `pulumi stack select` (whose
	// only effect for an operation that names --stack is that check) is not run.
	known bool
	// state reads the stack's checkpoint after the operation; nil when the backend is not
	// readable in-process.
	state *statestore.Reader
	// project is the Pulumi project the stack belongs to.
	project string
}

// SelectStack skips the CLI when the backend already showed the stack exists.
func (w *stackWorkspace) SelectStack(ctx context.Context, stack string) error {
	if w.known {
		return nil
	}
	return w.Workspace.SelectStack(ctx, stack)
}

// StackOutputs reads the outputs the last update recorded from the checkpoint, with secret values
// left out (marked Secret, value nil): results never carry secrets, so nothing needs them
// decrypted (the CLI path runs `stack output` twice, once to decrypt).
func (w *stackWorkspace) StackOutputs(ctx context.Context, stack string) (auto.OutputMap, error) {
	if w.state == nil {
		return w.Workspace.StackOutputs(ctx, stack)
	}
	st, err := w.state.Stack(ctx, w.project, stack)
	if err != nil {
		return nil, fmt.Errorf("outputs of %s: %w", stack, err)
	}
	return checkpointOutputs(st.Deployment)
}

// checkpointOutputs returns the root stack resource's outputs of a deployment; a value holding a
// secret anywhere is marked Secret and carries no value.
func checkpointOutputs(deployment json.RawMessage) (auto.OutputMap, error) {
	out := auto.OutputMap{}
	if len(deployment) == 0 {
		return out, nil
	}
	var d struct {
		Resources []struct {
			Type    string         `json:"type"`
			Parent  string         `json:"parent"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(deployment, &d); err != nil {
		return nil, fmt.Errorf("read checkpoint outputs: %w", err)
	}
	for _, r := range d.Resources {
		if r.Type != string(resource.RootStackType) || r.Parent != "" {
			continue
		}
		for k, v := range r.Outputs {
			if holdsSecret(v) {
				out[k] = auto.OutputValue{Secret: true}
				continue
			}
			out[k] = auto.OutputValue{Value: v}
		}
	}
	return out, nil
}

// holdsSecret reports whether a checkpoint property value is, or contains, a secret (the
// engine's signature key marks it).
func holdsSecret(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if sig, ok := t[resource.SigKey].(string); ok && sig == resource.SecretSig {
			return true
		}
		for _, e := range t {
			if holdsSecret(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if holdsSecret(e) {
				return true
			}
		}
	}
	return false
}

// writeStackConfig puts plain config values into the stack's settings file the way `pulumi config
// set-all` does, without a CLI process; ok is false when a value is secret (it must be encrypted
// with the stack's key, which only the CLI should derive) and nothing was written.
func writeStackConfig(ctx context.Context, ws auto.Workspace, stack string, cfg auto.ConfigMap) (bool, error) {
	for _, v := range cfg {
		if v.Secret {
			return false, nil
		}
	}
	ps, err := ws.StackSettings(ctx, stack)
	switch {
	case err == nil:
	case settingsFileExists(ws.WorkDir(), stack):
		return false, fmt.Errorf("read settings of %s: %w", stack, err)
	default:
		// No settings file yet (a stack created elsewhere, or from another checkout): the CLI
		// starts one the same way.
		ps = &workspace.ProjectStack{}
	}
	if ps.Config == nil {
		ps.Config = config.Map{}
	}
	changed := false
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return false, fmt.Errorf("config key %q: %w", k, err)
		}
		if old, ok := ps.Config[key]; ok && !old.Secure() {
			if s, err := old.Value(config.NopDecrypter); err == nil && s == v.Value {
				continue
			}
		}
		ps.Config[key] = config.NewValue(v.Value)
		changed = true
	}
	if !changed {
		return true, nil
	}
	if err := ws.SaveStackSettings(ctx, stack, ps); err != nil {
		return false, fmt.Errorf("write settings of %s: %w", stack, err)
	}
	return true, nil
}

// settingsFileExists reports whether the workspace holds a Pulumi.<stack>.yaml/.yml/.json.
func settingsFileExists(dir, stack string) bool {
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi."+stack+ext)); err == nil {
			return true
		}
	}
	return false
}

// stackPresence is what the backend says about a stack before an operation.
type stackPresence int

const (
	presenceUnknown stackPresence = iota // backend not readable in-process: ask the CLI
	presenceMissing
	presenceEmpty   // created, holds no resources (never updated, or destroyed)
	presenceHolding // holds resources
)

// presenceOf reads the stack's checkpoint; unknown when r is nil.
func presenceOf(ctx context.Context, r *statestore.Reader, project, stack string) (stackPresence, error) {
	if r == nil {
		return presenceUnknown, nil
	}
	st, err := r.Stack(ctx, project, stack)
	switch {
	case errors.Is(err, statestore.ErrNoStack):
		return presenceMissing, nil
	case err != nil:
		return presenceUnknown, err
	case st.Resources == 0:
		return presenceEmpty, nil
	}
	return presenceHolding, nil
}

// historyCLI answers the history read-back the Automation API runs after every up, refresh and
// destroy (`pulumi stack history --json --page-size 1 --page 1`, without --show-secrets) from the
// entry the operation's CLI process has just written to the backend: the same record the CLI
// would print, in its JSON shape, without a process start. Anything else — or an entry older
// than the operation — goes to the CLI.
type historyCLI struct {
	auto.PulumiCommand
	state   *statestore.Reader
	project string
	since   time.Time // the operation's start; an older entry is not its own
}

func (c historyCLI) Run(ctx context.Context, workdir string, stdin io.Reader, out, errOut []io.Writer,
	env []string, args ...string) (string, string, int, error) {
	if stack, ok := latestHistoryQuery(args); ok && c.state != nil {
		raw, at, err := c.state.LatestEntry(ctx, c.project, stack)
		if err == nil && !at.Before(c.since) {
			if js, err := historyJSON(raw); err == nil {
				return js, "", 0, nil
			}
		}
	}
	return c.PulumiCommand.Run(ctx, workdir, stdin, out, errOut, env, args...)
}

// latestHistoryQuery recognises exactly the read-back the auto package issues.
func latestHistoryQuery(args []string) (string, bool) {
	want := []string{"stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack"}
	if len(args) != len(want)+1 {
		return "", false
	}
	for i, a := range want {
		if args[i] != a {
			return "", false
		}
	}
	return args[len(want)], args[len(want)] != ""
}

// historyJSON renders a backend history entry (backend.UpdateInfo) as `pulumi stack history
// --json` does without --show-secrets: times in the CLI's format, secret config values marked
// and not shown.
func historyJSON(raw []byte) (string, error) {
	var u struct {
		Version         int                        `json:"version"`
		Kind            string                     `json:"kind"`
		StartTime       int64                      `json:"startTime"`
		Message         string                     `json:"message"`
		Environment     map[string]string          `json:"environment"`
		Config          map[string]json.RawMessage `json:"config"`
		Result          string                     `json:"result"`
		EndTime         int64                      `json:"endTime"`
		ResourceChanges map[string]int             `json:"resourceChanges"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return "", fmt.Errorf("history entry: %w", err)
	}
	if u.Kind == "" || u.Result == "" {
		return "", fmt.Errorf("history entry without kind or result")
	}
	const cliTime = "2006-01-02T15:04:05.000Z07:00" // pkg/cmd/pulumi/cmd.FormatTime
	type value struct {
		Value       *string `json:"value,omitempty"`
		ObjectValue any     `json:"objectValue,omitempty"`
		Secret      bool    `json:"secret"`
	}
	cfg := map[string]value{}
	for k, v := range u.Config {
		var s string
		if json.Unmarshal(v, &s) == nil {
			cfg[k] = value{Value: &s}
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(v, &obj); err != nil {
			return "", fmt.Errorf("history config %s: %w", k, err)
		}
		if _, secure := obj["secure"]; secure {
			cfg[k] = value{Secret: true}
			continue
		}
		// an object value: the CLI prints it as its JSON text and as the object
		text := string(v)
		cfg[k] = value{Value: &text, ObjectValue: obj}
	}
	entry := map[string]any{
		"version":     u.Version,
		"kind":        u.Kind,
		"startTime":   time.Unix(u.StartTime, 0).UTC().Format(cliTime),
		"message":     u.Message,
		"environment": u.Environment,
		"config":      cfg,
		"result":      u.Result,
	}
	if u.Result != "in-progress" {
		rc := u.ResourceChanges
		if rc == nil {
			rc = map[string]int{}
		}
		entry["endTime"] = time.Unix(u.EndTime, 0).UTC().Format(cliTime)
		entry["resourceChanges"] = rc
	}
	b, err := json.Marshal([]any{entry})
	return string(b), err
}
