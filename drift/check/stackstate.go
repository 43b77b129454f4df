package check

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/internal/workpool"
)

// exported is one stack's recorded state, or why it could not be read.
type exported struct {
	resources []apitype.ResourceV3
	err       error
}

// exportAll reads the last recorded state of every stack: from states when the backend was read
// directly, otherwise through a pool of c.exportPool workers running `pulumi stack export` (no
// program runs and nothing changes either way).
func (c *Checker) exportAll(ctx context.Context, stackNames []string, states map[string]automation.StackState) map[string]exported {
	out := make(map[string]exported, len(stackNames))
	if states != nil {
		for _, name := range stackNames {
			st, ok := states[name]
			if !ok {
				out[name] = exported{err: fmt.Errorf("stack %s is not in the backend", name)}
				continue
			}
			out[name] = exported{resources: markSecrets(slices.Clone(st.Deployment.Resources))}
		}
		return out
	}
	var mu sync.Mutex
	set := func(name string, res exported) {
		mu.Lock()
		out[name] = res
		mu.Unlock()
	}
	workpool.Each(ctx, c.exportPool, len(stackNames), func(i int) {
		d, err := c.engine.Export(ctx, stackNames[i])
		set(stackNames[i], exported{resources: markSecrets(d.Resources), err: err})
	}, func(i int) { set(stackNames[i], exported{err: ctx.Err()}) })
	return out
}

// pulumiSecret is how Pulumi's state encodes a secret value: the detectors never compare one.
var pulumiSecret = map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}

// markSecrets turns the secrets automation.Export masked (automation.SecretMask strings) back
// into Pulumi's secret marker, so the live comparison skips them instead of comparing the mask
// with the live value.
func markSecrets(rs []apitype.ResourceV3) []apitype.ResourceV3 {
	for i := range rs {
		rs[i].Inputs, _ = markSecretValues(rs[i].Inputs).(map[string]any)
	}
	return rs
}

func markSecretValues(v any) any {
	switch x := v.(type) {
	case string:
		if x == automation.SecretMask {
			return maps.Clone(pulumiSecret)
		}
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = markSecretValues(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = markSecretValues(e)
		}
		return out
	}
	return v
}

// readOps are steps whose resource the program reads (Get) instead of managing.
var readOps = map[apitype.OpType]bool{apitype.OpRead: true, apitype.OpReadReplacement: true}

// goneOps are steps after which the program no longer declares the resource.
var goneOps = map[apitype.OpType]bool{apitype.OpDelete: true, apitype.OpDeleteReplaced: true,
	apitype.OpRemovePendingReplace: true, apitype.OpReadDiscard: true, apitype.OpDiscardReplaced: true}

// desiredFromSteps rebuilds the resources a program declares now from the step events of its
// `preview --refresh`: the planned (new) state of every step the plan made, and, for resources the
// plan did not reach (a preview that failed part way), the recorded state the refresh started
// from. Resources the plan deletes are left out: the program no longer declares them, and the
// engine's own finding reports them.
func desiredFromSteps(steps []apitype.StepEventMetadata) []apitype.ResourceV3 {
	planned := map[string]apitype.ResourceV3{}
	recorded := map[string]apitype.ResourceV3{}
	deleted := map[string]bool{}
	var order []string
	seen := map[string]bool{}
	note := func(urn string) {
		if !seen[urn] {
			seen[urn] = true
			order = append(order, urn)
		}
	}
	for _, st := range steps {
		switch {
		case st.Op == apitype.OpRefresh:
			if st.Old != nil {
				recorded[st.URN] = stateResource(st.Old, false)
				note(st.URN)
			}
		case goneOps[st.Op]:
			deleted[st.URN] = true
			note(st.URN)
		case st.New != nil:
			r := stateResource(st.New, readOps[st.Op])
			// A planned update may not know its outputs yet; the object's name stays that of the
			// state it updates.
			if st.Old != nil {
				if r.ID == "" {
					r.ID = resource.ID(st.Old.ID)
				}
				if len(r.Outputs) == 0 {
					r.Outputs = st.Old.Outputs
				}
			}
			planned[st.URN] = r
			note(st.URN)
		}
	}
	var out []apitype.ResourceV3
	for _, urn := range order {
		if r, ok := planned[urn]; ok {
			out = append(out, r)
			continue
		}
		if r, ok := recorded[urn]; ok && !deleted[urn] {
			out = append(out, r)
		}
	}
	return out
}

func stateResource(s *apitype.StepEventStateMetadata, external bool) apitype.ResourceV3 {
	return apitype.ResourceV3{
		URN: resource.URN(s.URN), Custom: s.Custom, Delete: s.Delete, ID: resource.ID(s.ID),
		Type: tokens.Type(s.Type), Inputs: s.Inputs, Outputs: s.Outputs, Parent: resource.URN(s.Parent),
		External: external || s.External,
	}
}
