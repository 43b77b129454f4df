// Package stackstest is the Pulumi mocks harness the unit tests of the stack programs
// (stacks/kubernetes, stacks/azure) share: a mocked run with stack config, the registrations a
// mock monitor keeps, and readers of the inputs it recorded. It is an ordinary package rather
// than a _test file so that the tests of both targets can import it; only tests should.
package stackstest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// Record is one registration as a target's mock monitor keeps it. Each target records what its
// tests check (ARM ids, parents, versions), so the harness knows a record only by its key.
type Record interface {
	// Key is the resource's type token and logical name, the pair tests look it up by.
	Key() (typ, name string)
}

// Records keeps the registrations of a mocked run in order; a mock monitor embeds it. The Pulumi
// SDK registers resources from several goroutines, so Add locks. Read the records after the run.
type Records[R Record] struct {
	mu  sync.Mutex
	res []R
}

// Add keeps one registration.
func (r *Records[R]) Add(x R) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res = append(r.res, x)
}

// All is every registration, in the order the program made them.
func (r *Records[R]) All() []R { return r.res }

// Pairs is the sorted "type name" of every registration, for comparing a whole stack at once.
func (r *Records[R]) Pairs() []string {
	out := make([]string, 0, len(r.res))
	for _, x := range r.res {
		typ, name := x.Key()
		out = append(out, typ+" "+name)
	}
	sort.Strings(out)
	return out
}

// OfType is the registrations of one type token, in order.
func (r *Records[R]) OfType(typ string) []R {
	var out []R
	for _, x := range r.res {
		if t, _ := x.Key(); t == typ {
			out = append(out, x)
		}
	}
	return out
}

// Get is the registration of typ and name; the test fails, listing what there is, without one.
func (r *Records[R]) Get(t testing.TB, typ, name string) R {
	t.Helper()
	for _, x := range r.res {
		if xt, xn := x.Key(); xt == typ && xn == name {
			return x
		}
	}
	t.Fatalf("no resource %s %s; have %v", typ, name, r.Pairs())
	var zero R
	return zero
}

// Run runs prog as stack of the tenantctl project against the mock monitor m, with cfg as the
// stack config.
func Run(prog pulumi.RunFunc, stack string, m pulumi.MockResourceMonitor, cfg map[string]string) error {
	return pulumi.RunErr(prog, pulumi.WithMocks(tenantplan.ProjectName, stack, m), withConfig(cfg))
}

// withConfig sets stack config the way the engine passes it to an inline program.
func withConfig(cfg map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) { info.Config = cfg }
}

// Strings collects every string inside v (map keys included), to search inputs for references.
func Strings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			Strings(e, out)
		}
	case []any:
		for _, e := range x {
			Strings(e, out)
		}
	case nil, bool, float64:
	default:
		*out = append(*out, fmt.Sprint(x))
	}
}

// Path reads a nested value from resource inputs ("spec.podSelector"); nil where there is none.
func Path(v any, p string) any {
	for _, k := range strings.Split(p, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// StringMap reads a map of strings from resource inputs; a value that is not a string reads as "".
func StringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, x := range m {
		s, _ := x.(string)
		out[k] = s
	}
	return out
}

// StringSlice reads a list of strings from resource inputs; an item that is not a string reads as "".
func StringSlice(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
