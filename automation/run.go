package automation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/internal/workpool"
)

// Operation is what the engine does to a stack.
type Operation string

const (
	OpPreview Operation = "preview"
	OpUp      Operation = "up"
	OpRefresh Operation = "refresh"
	OpDestroy Operation = "destroy"
	// OpDriftPreview is `pulumi preview --refresh`: refresh in memory, then plan; changes nothing.
	OpDriftPreview Operation = "preview-refresh"
	// OpRefreshPreview is `pulumi refresh --preview-only`: what a refresh would record.
	OpRefreshPreview Operation = "refresh-preview"
)

// Mutating reports whether op changes infrastructure or state (and so is audited and gated in
// production).
func (op Operation) Mutating() bool { return op == OpUp || op == OpDestroy || op == OpRefresh }

// Target is one stack to operate on.
type Target struct {
	Stack       string
	TenantID    string // empty for platform stacks
	Environment string
	Production  bool
	// Commit is the desired-state commit the program was built from (for audit and reports).
	Commit  string
	Program pulumi.RunFunc
	Config  auto.ConfigMap
	// Plan pins an update to a preview: OpPreview saves the update plan to this file, OpUp
	// applies it and fails when the update would go beyond it (or the file is missing).
	Plan string
	// Refresh reads every resource from the provider before an up or preview (pulumi up
	// --refresh), so drift is part of what the update restores.
	Refresh bool
	// ProviderScope lets the operation run with provider plugins the engine keeps running
	// between operations of the same scope (providers.go). Set it only where every operation
	// of the scope configures its providers alike (the same cluster, the same server, the same
	// settings): a provider process keeps what it learnt about its cluster. Empty: the CLI
	// starts the plugins for this operation alone.
	ProviderScope string
}

// ResourceChange is one step the engine planned or took.
type ResourceChange struct {
	URN  string   `json:"urn"`
	Type string   `json:"type"`
	Op   string   `json:"op"`
	Keys []string `json:"diffs,omitempty"`
}

// Result is the outcome of one operation on one stack.
type Result struct {
	Stack       string           `json:"stack"`
	TenantID    string           `json:"tenantId,omitempty"`
	Environment string           `json:"environment,omitempty"`
	Operation   Operation        `json:"operation"`
	Changes     map[string]int   `json:"changes"`
	Steps       []ResourceChange `json:"steps,omitempty"`
	// Details are the engine's full step events (old and new state, detailed diffs) for the
	// drift detectors; never serialised, because they hold resource outputs.
	Details  []apitype.StepEventMetadata `json:"-"`
	Outputs  map[string]any              `json:"outputs,omitempty"`
	Duration time.Duration               `json:"durationNs"`
	Conflict bool                        `json:"conflict,omitempty"`
	Skipped  string                      `json:"skipped,omitempty"`
	// Unchanged: the engine did not run the stack because its inputs digest matches the one its
	// last successful update recorded (automation/fleet, incremental runs).
	Unchanged bool `json:"unchanged,omitempty"`
	// Reason says why an incremental run ran the stack or left it alone ("digest matches",
	// "binding changed", "never provisioned", …).
	Reason string `json:"reason,omitempty"`
	// InputsDigest is the stack's inputs digest for this run (tenantplan.Digest), when known.
	InputsDigest string            `json:"inputsDigest,omitempty"`
	Err          error             `json:"-"`
	Error        string            `json:"error,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
}

// Failed reports whether the operation did not succeed.
func (r Result) Failed() bool { return r.Err != nil }

// ChangeCount is the number of steps that change something (everything but "same").
func (r Result) ChangeCount() int {
	n := 0
	for op, c := range r.Changes {
		if op != string(apitype.OpSame) && op != string(apitype.OpRead) {
			n += c
		}
	}
	return n
}

// Progress is a live event for one stack.
type Progress struct {
	Stack     string
	Operation Operation
	Phase     string // started | resource | finished
	Done      int    // resources finished so far
	Total     int    // resources planned so far
	Elapsed   time.Duration
	Result    *Result // set when Phase == finished
}

// ErrConflict marks a stack locked or being updated by another process.
var ErrConflict = errors.New("stack is locked by another update")

// Run performs op on every target through a bounded worker pool and returns one result per
// target, in the targets' order. It never stops early because one stack failed; a cancelled
// context stops queued targets and interrupts running ones (SIGINT to the CLI).
func (e *Engine) Run(ctx context.Context, op Operation, targets []Target) []Result {
	results := make([]Result, len(targets))
	workpool.Each(ctx, e.parallel, len(targets), func(i int) {
		results[i] = e.RunOne(ctx, op, targets[i])
	}, func(i int) {
		t := targets[i]
		results[i] = Result{Stack: t.Stack, TenantID: t.TenantID, Environment: t.Environment, Operation: op,
			Err: ctx.Err(), Error: "not started: " + ctx.Err().Error()}
	})
	return results
}

// RunOne performs op on one stack, serialised with other operations on the same stack in this
// process, retrying with backoff while another process holds the stack's lock (up to the
// engine's lock wait).
func (e *Engine) RunOne(ctx context.Context, op Operation, t Target) Result {
	unlock := e.lock(t.Stack)
	defer unlock()
	start := time.Now()
	e.emit(ctx, Progress{Stack: t.Stack, Operation: op, Phase: "started"})
	var intent string
	if e.auditor != nil && op.Mutating() {
		// Fail closed: a mutation whose intent is not in the audit log does not happen.
		id, err := e.auditor.OperationStarting(ctx, e.principalFor(ctx), t, op)
		if err != nil {
			res := Result{Stack: t.Stack, TenantID: t.TenantID, Environment: t.Environment, Operation: op,
				Err: fmt.Errorf("%s %s: %w: %w", op, t.Stack, ErrIntentNotRecorded, err), Duration: time.Since(start)}
			res.Error = res.Err.Error()
			r := res
			e.emit(ctx, Progress{Stack: t.Stack, Operation: op, Phase: "finished", Elapsed: res.Duration, Result: &r})
			return res
		}
		intent = id
	}
	var res Result
	deadline := start.Add(e.lockWait)
	backoff := 500 * time.Millisecond
	for {
		res = e.runOnce(ctx, op, t, start)
		if !res.Conflict || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		// jitter keeps shards that collided from retrying in lockstep
		sleep := backoff + time.Duration(rand.Int64N(int64(backoff/2)))
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
		}
		if backoff < 8*time.Second {
			backoff *= 2
		}
	}
	res.Duration = time.Since(start)
	if res.Err != nil && res.Error == "" {
		res.Error = conciseError(res.Err)
	}
	if e.auditor != nil && op.Mutating() {
		e.auditor.OperationFinished(ctx, e.principalFor(ctx), t, res, intent)
	}
	r := res
	e.emit(ctx, Progress{Stack: t.Stack, Operation: op, Phase: "finished", Elapsed: res.Duration, Result: &r,
		Done: res.ChangeCount(), Total: len(res.Steps)})
	return res
}

func (e *Engine) runOnce(ctx context.Context, op Operation, t Target, start time.Time) (res Result) {
	res = Result{Stack: t.Stack, TenantID: t.TenantID, Environment: t.Environment, Operation: op, Changes: map[string]int{}}
	create := op == OpUp || op == OpPreview || op == OpDriftPreview
	var env map[string]string
	if lease := e.providerLease(ctx, t.ProviderScope); lease != nil {
		env = lease.Env()
		// A provider of a failed or cancelled operation may be left cancelled or half
		// configured: only a success returns it to the pool.
		defer func() { lease.Release(res.Err == nil && ctx.Err() == nil) }()
	}
	s, presence, done, err := e.operationStack(ctx, t, create, env)
	defer done()
	if err != nil {
		if !create && IsNotFound(err) {
			res.Skipped = "stack does not exist"
			return res
		}
		res.Err = err
		return res
	}
	ch := make(chan events.EngineEvent)
	stopCollect := make(chan struct{})
	steps := collectSteps(ch, stopCollect, func(done, total int) {
		e.emit(ctx, Progress{Stack: t.Stack, Operation: op, Phase: "resource", Done: done, Total: total, Elapsed: time.Since(start)})
	})
	// A stack that holds no resources has nothing to refresh: its first create skips the reads.
	refresh := t.Refresh && presence != presenceMissing && presence != presenceEmpty
	switch op {
	case OpPreview:
		opts := []optpreview.Option{optpreview.EventStreams(ch), optpreview.Diff()}
		if refresh {
			opts = append(opts, optpreview.Refresh())
		}
		if t.Plan != "" {
			opts = append(opts, optpreview.Plan(t.Plan))
		}
		_, err = s.Preview(ctx, opts...)
	case OpUp:
		// ShowSecrets(false): the history read after the update then needs no decryption (one
		// passphrase derivation less); results never carry secrets anyway.
		opts := []optup.Option{optup.EventStreams(ch), optup.ShowSecrets(false)}
		if refresh {
			opts = append(opts, optup.Refresh())
		}
		if t.Plan != "" {
			if _, statErr := os.Stat(t.Plan); statErr != nil {
				close(ch)
				err = fmt.Errorf("no previewed plan to pin the update to: %w", statErr)
				break
			}
			opts = append(opts, optup.Plan(t.Plan))
		}
		var r auto.UpResult
		r, err = s.Up(ctx, opts...)
		if err == nil {
			res.Outputs = plainOutputs(r.Outputs)
		}
	case OpRefresh:
		_, err = s.Refresh(ctx, optrefresh.EventStreams(ch), optrefresh.ShowSecrets(false))
	case OpDestroy:
		_, err = s.Destroy(ctx, optdestroy.EventStreams(ch), optdestroy.ShowSecrets(false))
	case OpDriftPreview:
		_, err = s.Preview(ctx, optpreview.EventStreams(ch), optpreview.Refresh(), optpreview.Diff())
	case OpRefreshPreview:
		_, err = s.PreviewRefresh(ctx, optrefresh.EventStreams(ch))
	default:
		close(ch)
		err = fmt.Errorf("unknown operation %q", op)
	}
	// The Automation API closes the event channel when its log watcher ends, but not on every
	// early failure (e.g. a locked stack): give it a moment, then stop collecting.
	var collected collected
	select {
	case collected = <-steps:
	case <-time.After(5 * time.Second):
		close(stopCollect)
		collected = <-steps
	}
	res.Steps, res.Details = collected.steps, collected.details
	for _, st := range res.Steps {
		res.Changes[st.Op]++
	}
	if err != nil {
		if auto.IsConcurrentUpdateError(err) {
			res.Conflict = true
			err = fmt.Errorf("%s %s: %w", op, t.Stack, ErrConflict)
		} else {
			err = fmt.Errorf("%s %s: %w", op, t.Stack, err)
		}
		res.Err = err
	}
	return res
}

// collectSteps drains the engine's event stream; the auto package closes the channel when the
// operation ends.
type collected struct {
	steps   []ResourceChange
	details []apitype.StepEventMetadata
}

func collectSteps(ch <-chan events.EngineEvent, stop <-chan struct{}, progress func(done, total int)) <-chan collected {
	out := make(chan collected, 1)
	go func() {
		var steps []ResourceChange
		var details []apitype.StepEventMetadata
		index := map[string]int{}
		done := 0
	loop:
		for {
			var ev events.EngineEvent
			var ok bool
			select {
			case ev, ok = <-ch:
				if !ok {
					break loop
				}
			case <-stop:
				go func() {
					for range ch { // keep the writer from blocking if it ever sends again
					}
				}()
				break loop
			}
			switch {
			case ev.ResourcePreEvent != nil:
				m := ev.ResourcePreEvent.Metadata
				if m.Type == "pulumi:pulumi:Stack" || strings.HasPrefix(m.Type, "pulumi:providers:") {
					continue
				}
				steps = append(steps, ResourceChange{URN: m.URN, Type: m.Type, Op: string(m.Op), Keys: m.Diffs})
				index[m.URN] = len(details)
				details = append(details, m)
				progress(done, len(steps))
			case ev.ResOutputsEvent != nil:
				// The outputs event carries the step's final old and new state (for a refresh:
				// what was recorded versus what the provider read).
				if i, ok := index[ev.ResOutputsEvent.Metadata.URN]; ok {
					details[i] = ev.ResOutputsEvent.Metadata
				}
				done++
				progress(done, len(steps))
			}
		}
		sort.SliceStable(steps, func(i, j int) bool { return steps[i].URN < steps[j].URN })
		out <- collected{steps: steps, details: details}
	}()
	return out
}

// plainOutputs drops secret outputs: results are printed and stored, so secrets never appear in
// them even as values the CLI already decrypted.
func plainOutputs(m auto.OutputMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v.Secret {
			out[k] = "[secret]"
			continue
		}
		out[k] = v.Value
	}
	return out
}

// conciseError keeps the CLI's error lines, not its whole stdout. A program's error that joins
// several ("1 error occurred:" and then "* why" lines) keeps its bullets: they are the reason.
func conciseError(err error) string {
	msg := err.Error()
	var keep []string
	bullets := false
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "error:") || strings.Contains(l, "error: "):
			keep = append(keep, l)
			bullets = strings.HasSuffix(l, "occurred:")
		case bullets && strings.HasPrefix(l, "* "):
			keep = append(keep, l)
		case l != "":
			bullets = false
		}
	}
	first, _, _ := strings.Cut(msg, "\n")
	if len(keep) == 0 {
		return first
	}
	return first + ": " + strings.Join(dedupe(keep), "; ")
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Auditor records every mutating operation twice: its intent before anything changes, and its
// outcome. If OperationStarting fails, the operation is not run.
type Auditor interface {
	// OperationStarting records the intent and returns its id, which OperationFinished receives.
	OperationStarting(ctx context.Context, principal string, t Target, op Operation) (string, error)
	OperationFinished(ctx context.Context, principal string, t Target, r Result, intent string)
}

// ErrIntentNotRecorded: the audit log did not take a mutation's intent, so the mutation was not
// run.
var ErrIntentNotRecorded = errors.New("the audit log did not record the intent; nothing was changed")
