package check

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// stackRef is one stack a run checks: an environment's platform or one tenant.
type stackRef struct {
	name    string
	env     *isolation.Environment
	tenant  string                          // isolation.Platform for the platform stack
	binding *isolation.RuntimeTenantBinding // nil for the platform stack
}

func platformRef(env *isolation.Environment) stackRef {
	return stackRef{name: tenantplan.PlatformStackName(env.Name()), env: env, tenant: isolation.Platform}
}

func tenantRef(env *isolation.Environment, b *isolation.RuntimeTenantBinding) stackRef {
	return stackRef{name: tenantplan.TenantStackName(b.Spec.TenantID, env.Name()), env: env, tenant: b.Spec.TenantID, binding: b}
}

// engineResult is what the slow path learned about one stack.
type engineResult struct {
	ref stackRef
	// resources are the program's planned resources (the desired state from Git).
	resources []apitype.ResourceV3
	// findings are the engine's own: refresh and plan steps, server-side apply conflicts.
	findings []finding.Finding
	// err is a failure other than field conflicts: the stack could not be checked completely.
	err error
}

// runEngine runs `preview --refresh` for refs (one environment) through the engine's pool. A
// tenant program consumes its platform's outputs: the recorded ones, or what the platform will
// export once it exists.
func (c *Checker) runEngine(ctx context.Context, f *fleet.Fleet, env *isolation.Environment, refs []stackRef) []engineResult {
	out := make([]engineResult, len(refs))
	var targets []automation.Target
	var index []int
	var po tenantplan.PlatformOutputs
	var poErr error
	poRead := false
	for i, ref := range refs {
		out[i].ref = ref
		if ref.binding == nil {
			targets = append(targets, f.PlatformTarget(env))
			index = append(index, i)
			continue
		}
		if !poRead {
			po, poErr = f.PlatformOutputs(ctx, env)
			poRead = true
		}
		if poErr != nil {
			out[i].err = poErr
			continue
		}
		targets = append(targets, f.TenantTarget(ref.binding, po))
		index = append(index, i)
	}
	results := c.engine.Run(ctx, automation.OpDriftPreview, targets)
	for j, r := range results {
		out[index[j]] = engineOutcome(refs[index[j]], r)
	}
	return out
}

// engineOutcome converts one preview --refresh result. Refresh steps (what the provider read back
// versus the recorded state) and plan steps (what the next apply would change) become engine
// findings; a failure whose every error is a server-side apply field conflict is drift
// (field-conflict findings), any other failure is an error of the stack.
func engineOutcome(ref stackRef, r automation.Result) engineResult {
	er := engineResult{ref: ref, resources: desiredFromSteps(r.Details)}
	if r.Skipped != "" && r.Err == nil {
		er.err = fmt.Errorf("preview --refresh of %s was skipped: %s", ref.name, r.Skipped)
		return er
	}
	var refresh, plan []apitype.StepEventMetadata
	for _, st := range r.Details {
		if st.Op == apitype.OpRefresh {
			refresh = append(refresh, st)
		} else {
			plan = append(plan, st)
		}
	}
	var errs []error
	for _, part := range []struct {
		source detect.StepSource
		steps  []apitype.StepEventMetadata
	}{{detect.SourceRefresh, refresh}, {detect.SourcePreview, plan}} {
		fs, err := detect.EngineFindings(ref.name, part.source, part.steps)
		if err != nil {
			errs = append(errs, err)
		}
		er.findings = append(er.findings, fs...)
	}
	if r.Err != nil {
		conflicts, rest, err := failureFindings(ref.name, plan, r.Err.Error())
		if err != nil {
			errs = append(errs, err)
		}
		if n := unplanned(refresh, plan); n > 0 {
			// The engine stops planning at the first failed resource; what it did not reach is
			// compared with its recorded state, which misses desired-state changes since then.
			note := fmt.Sprintf("the preview stopped at this conflict: %d other resource(s) were not planned and are compared with their recorded state", n)
			for i := range conflicts {
				conflicts[i].Evidence = append(conflicts[i].Evidence, note)
			}
		}
		er.findings = append(er.findings, conflicts...)
		if rest != "" {
			errs = append(errs, fmt.Errorf("preview --refresh of %s: %s", ref.name, rest))
		}
	}
	er.err = errors.Join(errs...)
	return er
}

// unplanned counts the resources the refresh read that the plan never reached.
func unplanned(refresh, plan []apitype.StepEventMetadata) int {
	planned := map[string]bool{}
	for _, st := range plan {
		planned[st.URN] = true
	}
	n := 0
	for _, st := range refresh {
		if !planned[st.URN] {
			n++
		}
	}
	return n
}

// failureFindings splits the error of a failed preview into field-conflict findings and the rest.
// The CLI lists one error per resource ("* the Kubernetes API server reported that "ns/name" ...
// conflict with "kubectl-patch" using v1: .spec.x"); each is matched to the planned step of the
// object it names. rest holds the errors that are not conflicts ("" when there are none).
func failureFindings(stack string, plan []apitype.StepEventMetadata, message string) (fs []finding.Finding, rest string, err error) {
	var others []string
	for _, item := range errorItems(message) {
		urn := failedURN(plan, item)
		if urn == "" {
			others = append(others, item)
			continue
		}
		conflicts, cerr := detect.ConflictFindings(stack, urn, item)
		if cerr != nil {
			return fs, "", fmt.Errorf("field conflicts of %s: %w", stack, cerr)
		}
		if len(conflicts) == 0 {
			others = append(others, item)
			continue
		}
		fs = append(fs, conflicts...)
	}
	for i, o := range others {
		others[i] = strings.Join(strings.Fields(o), " ")
	}
	return fs, strings.Join(others, "; "), nil
}

// errorItems extracts the CLI's error items from a failed run: the bullets of "N error(s)
// occurred:" on stderr, else its "error:" lines, else the first line of the message.
func errorItems(message string) []string {
	text := message
	if i := strings.LastIndex(text, "\nstderr: "); i >= 0 {
		text = text[i+len("\nstderr: "):]
	}
	var items []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			items = append(items, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	inBullet := false
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "* "):
			flush()
			cur = append(cur, strings.TrimPrefix(t, "* "))
			inBullet = true
		case t == "" || strings.HasPrefix(t, "error:"):
			flush()
			inBullet = false
		case inBullet:
			cur = append(cur, t)
		}
	}
	flush()
	if len(items) > 0 {
		return items
	}
	for _, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "error:") && !strings.Contains(t, "failed: ") {
			items = append(items, strings.TrimSpace(strings.TrimPrefix(t, "error:")))
		}
	}
	if len(items) == 0 {
		first, _, _ := strings.Cut(message, "\n")
		items = append(items, first)
	}
	return items
}

// failedURN finds the planned step an error item is about: the one whose object id the item
// quotes ("t-globex/default-deny"), else the only planned change of the preview.
func failedURN(plan []apitype.StepEventMetadata, item string) string {
	var changes []apitype.StepEventMetadata
	for _, st := range plan {
		switch st.Op {
		case apitype.OpSame, apitype.OpRead, apitype.OpRefresh:
			continue
		}
		changes = append(changes, st)
		for _, id := range stepIDs(st) {
			if strings.Contains(item, `"`+id+`"`) {
				return st.URN
			}
		}
	}
	if len(changes) == 1 && strings.Contains(item, "conflict") {
		return changes[0].URN
	}
	return ""
}

// stepIDs are the ways an error can name a step's object: its provider id and namespace/name.
func stepIDs(st apitype.StepEventMetadata) []string {
	var ids []string
	for _, s := range []*apitype.StepEventStateMetadata{st.New, st.Old} {
		if s == nil {
			continue
		}
		if s.ID != "" {
			ids = append(ids, s.ID)
		}
		for _, props := range []map[string]any{s.Inputs, s.Outputs} {
			meta, _ := props["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			if name == "" {
				continue
			}
			if ns, _ := meta["namespace"].(string); ns != "" {
				name = ns + "/" + name
			}
			ids = append(ids, name)
		}
	}
	return ids
}
