package tenantplan

import (
	"errors"
	"fmt"
	"slices"

	"github.com/connectsoft/tenantctl/isolation"
)

// Inputs is everything a tenant program is a function of. The engine builds it from the desired
// state and the platform stack's outputs; a program reads nothing else but the provider config
// (ConfigKubeconfig), so a preview is reproducible from these values alone.
type Inputs struct {
	Binding  *isolation.RuntimeTenantBinding
	Env      *isolation.Environment
	Platform PlatformOutputs
}

// Validate checks what a program needs before it registers any resource. The isolation package
// validates bindings against the environment in depth; this repeats only the checks whose failure
// would make a program produce wrong names or cross-tenant references.
func (in Inputs) Validate() error {
	if in.Binding == nil {
		return errors.New("inputs: binding is nil")
	}
	if in.Env == nil {
		return errors.New("inputs: environment is nil")
	}
	id := in.Binding.Spec.TenantID
	if err := CheckDNSLabel("tenant id", id, MaxTenantIDLength); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	if id == isolation.Platform {
		return fmt.Errorf("inputs: tenant id %q is reserved for the platform", id)
	}
	if err := CheckDNSLabel("environment name", in.Env.Name(), 63); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	if in.Binding.Spec.Environment != in.Env.Name() {
		return fmt.Errorf("inputs: binding of tenant %s is for environment %q, not %q", id, in.Binding.Spec.Environment, in.Env.Name())
	}
	if _, ok := isolation.Matrix[in.Binding.Spec.Tier]; !ok {
		return fmt.Errorf("inputs: tenant %s has unknown tier %q", id, in.Binding.Spec.Tier)
	}
	if err := in.Platform.Check(in.Env); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	return nil
}

// PlatformOutputs is what a platform stack exports and tenant stacks of the same environment
// consume. The engine reads them from the platform stack (Automation API outputs) and passes them
// in Inputs, so tenant programs need no stack reference and no backend access.
type PlatformOutputs struct {
	Environment      string `json:"environment"`
	IngressNamespace string `json:"ingressNamespace"`
	SharedNamespace  string `json:"sharedNamespace"`
	// AdmissionPolicies names the ValidatingAdmissionPolicies the platform enforces; a tenant
	// program refuses to create a tier whose isolation depends on a policy that is not there.
	AdmissionPolicies []string `json:"admissionPolicies"`
}

// Platform output keys, as exported by a platform stack.
const (
	OutputEnvironment       = "environment"
	OutputIngressNamespace  = "ingressNamespace"
	OutputSharedNamespace   = "sharedNamespace"
	OutputAdmissionPolicies = "admissionPolicies"
)

// Check reports whether the outputs belong to env and agree with what it declares. A mismatch
// means the platform stack is stale (not yet updated after an environment change).
func (p PlatformOutputs) Check(env *isolation.Environment) error {
	if p.Environment != env.Name() {
		return fmt.Errorf("platform outputs are for environment %q, not %q: run the platform stack first", p.Environment, env.Name())
	}
	if want := IngressNamespace(env); p.IngressNamespace != want {
		return fmt.Errorf("platform stack of %s has ingress namespace %q, environment declares %q: update the platform stack first", env.Name(), p.IngressNamespace, want)
	}
	if want := SharedNamespace(env); p.SharedNamespace != want {
		return fmt.Errorf("platform stack of %s has shared namespace %q, environment declares %q: update the platform stack first", env.Name(), p.SharedNamespace, want)
	}
	return nil
}

// HasPolicy reports whether the platform enforces the named admission policy.
func (p PlatformOutputs) HasPolicy(name string) bool {
	return slices.Contains(p.AdmissionPolicies, name)
}

// PlatformOutputsFromMap decodes a platform stack's outputs as the Automation API returns them
// (the Value of each auto.OutputValue).
func PlatformOutputsFromMap(m map[string]any) (PlatformOutputs, error) {
	var p PlatformOutputs
	var err error
	str := func(key string) string {
		v, ok := m[key]
		if !ok {
			err = errors.Join(err, fmt.Errorf("platform output %q is missing", key))
			return ""
		}
		s, ok := v.(string)
		if !ok {
			err = errors.Join(err, fmt.Errorf("platform output %q is %T, not a string", key, v))
		}
		return s
	}
	p.Environment = str(OutputEnvironment)
	p.IngressNamespace = str(OutputIngressNamespace)
	p.SharedNamespace = str(OutputSharedNamespace)
	switch v := m[OutputAdmissionPolicies].(type) {
	case nil:
	case []string:
		p.AdmissionPolicies = slices.Clone(v)
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				err = errors.Join(err, fmt.Errorf("platform output %q[%d] is %T, not a string", OutputAdmissionPolicies, i, x))
				continue
			}
			p.AdmissionPolicies = append(p.AdmissionPolicies, s)
		}
	default:
		err = errors.Join(err, fmt.Errorf("platform output %q is %T, not a list", OutputAdmissionPolicies, v))
	}
	return p, err
}
