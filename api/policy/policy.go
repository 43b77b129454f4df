// Package policy decides whether a mutation may run, by evaluating Rego policies (Open Policy
// Agent) over the principal, tenant, environment, operation and plan summary. It denies by
// default: an evaluation error, an undefined decision or a malformed one is a denial whose reason
// says so.
package policy

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Query is the rule every policy set must define: {"allow": bool, "reasons": [string]}.
const Query = "data.tenantctl.authz.decision"

//go:embed default.rego
var defaultPolicy string

// evalTimeout bounds one decision; a policy that loops is a denial, not a hung request.
const evalTimeout = 5 * time.Second

// Input is what a policy sees.
type Input struct {
	Principal   Principal   `json:"principal"`
	Tenant      Tenant      `json:"tenant"`
	Environment Environment `json:"environment"`
	Operation   string      `json:"operation"`
	// Plan is nil when no plan could be made; the default policy denies production mutations
	// without one.
	Plan    *Plan   `json:"plan"`
	Request Request `json:"request"`
}

// Principal is the caller as the policy sees it.
type Principal struct {
	Subject  string   `json:"subject"`
	Issuer   string   `json:"issuer"`
	TenantID string   `json:"tenantId,omitempty"`
	ClientID string   `json:"clientId,omitempty"`
	Scopes   []string `json:"scopes"`
}

// Tenant is the target tenant.
type Tenant struct {
	ID   string `json:"id"`
	Tier string `json:"tier,omitempty"`
}

// Environment is the target environment.
type Environment struct {
	Name       string `json:"name"`
	Production bool   `json:"production"`
}

// Plan summarises what the mutation would change.
type Plan struct {
	Changes  map[string]int `json:"changes"`
	Creates  int            `json:"creates"`
	Updates  int            `json:"updates"`
	Deletes  int            `json:"deletes"`
	Replaces int            `json:"replaces"`
	Total    int            `json:"total"`
}

// NewPlan derives the counters from per-op change counts (Pulumi's vocabulary: create, update,
// delete, replace, create-replacement, delete-replaced, same, ...).
func NewPlan(changes map[string]int) *Plan {
	p := &Plan{Changes: map[string]int{}}
	for op, n := range changes {
		p.Changes[op] += n
		switch op {
		case "create", "import":
			p.Creates += n
		case "update":
			p.Updates += n
		case "delete":
			p.Deletes += n
		case "replace":
			// create-replacement and delete-replaced are the halves of a replace; count it once.
			p.Replaces += n
		}
		if op != "same" && op != "read" {
			p.Total += n
		}
	}
	return p
}

// Request carries what the caller said about the change.
type Request struct {
	Ticket string `json:"ticket,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Decision is the verdict.
type Decision struct {
	Allowed bool     `json:"allowed"`
	Reasons []string `json:"reasons"`
	// Policy identifies the policy set that decided: its source and a digest of its modules.
	Policy string `json:"policy"`
}

// Evaluator evaluates a compiled policy set.
type Evaluator struct {
	query rego.PreparedEvalQuery
	name  string
}

// Default compiles the embedded default policy.
func Default(ctx context.Context) (*Evaluator, error) {
	return compile(ctx, "default", map[string]string{"default.rego": defaultPolicy})
}

// DefaultSource is the embedded default policy, for documentation and tests.
func DefaultSource() string { return defaultPolicy }

// LoadDir compiles every *.rego file in dir (not recursive) in place of the default policy.
func LoadDir(ctx context.Context, dir string) (*Evaluator, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy dir: %w", err)
	}
	modules := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".rego") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("policy dir: %w", err)
		}
		modules[e.Name()] = string(b)
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("policy dir %s: no .rego files", dir)
	}
	return compile(ctx, dir, modules)
}

func compile(ctx context.Context, source string, modules map[string]string) (*Evaluator, error) {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	opts := []func(*rego.Rego){rego.Query(Query), rego.StrictBuiltinErrors(true)}
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, modules[n])
		opts = append(opts, rego.Module(n, modules[n]))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policy %s: %w", source, err)
	}
	digest := hex.EncodeToString(h.Sum(nil))[:16]
	return &Evaluator{query: pq, name: source + "@sha256:" + digest}, nil
}

// Name identifies the policy set in audit records.
func (e *Evaluator) Name() string { return e.name }

// Decide evaluates the policy. It never fails open: any problem is a denial with a reason.
func (e *Evaluator) Decide(ctx context.Context, in Input) Decision {
	d := Decision{Policy: e.name}
	allowed, reasons, err := e.eval(ctx, in)
	if err != nil {
		d.Reasons = []string{"denied by default: the policy could not be evaluated: " + err.Error()}
		return d
	}
	d.Allowed, d.Reasons = allowed, reasons
	return d
}

func (e *Evaluator) eval(ctx context.Context, in Input) (bool, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	// Hand the policy plain JSON values, exactly what it would see from `opa eval -i`.
	raw, err := json.Marshal(in)
	if err != nil {
		return false, nil, err
	}
	var input any
	if err := json.Unmarshal(raw, &input); err != nil {
		return false, nil, err
	}
	rs, err := e.query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return false, nil, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return false, nil, errors.New(Query + " is undefined")
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return false, nil, errors.New(Query + " is not an object")
	}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return false, nil, errors.New(Query + ".allow is not a boolean")
	}
	var reasons []string
	switch rv := obj["reasons"].(type) {
	case []any:
		for _, r := range rv {
			s, ok := r.(string)
			if !ok {
				return false, nil, errors.New(Query + ".reasons must be strings")
			}
			reasons = append(reasons, s)
		}
	case nil:
	default:
		return false, nil, errors.New(Query + ".reasons is not an array")
	}
	if !allow && len(reasons) == 0 {
		reasons = []string{"denied by policy"}
	}
	return allow, reasons, nil
}
