package tenantplan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// The inputs digest says when a stack must run: it covers everything the stack's result depends
// on, and nothing else, so `tenantctl up` skips a stack whose last successful update recorded the
// same digest. It is defined here, over the plan, because the plan is the one function from the
// desired state to what a stack creates: an environment field that no plan and no program reads
// cannot change it, and one that they read always does.
//
// A digest is made of named parts, each hashed on its own, so a changed stack can say why.

// Stack outputs every update records (automation/fleet exports them from every program).
const (
	// OutputInputsDigest is the digest of the inputs the stack was last updated from.
	OutputInputsDigest = "tenantctl:inputsDigest"
	// OutputInputsParts maps each part of the digest to its own hash (for the reason only).
	OutputInputsParts = "tenantctl:inputsParts"
)

// Parts of a digest.
const (
	// PartBinding is the tenant's binding document, canonical: its YAML layout, key order and
	// comments never count.
	PartBinding = "binding"
	// PartPlan is the stack's plan and the few environment fields the programs read beside it
	// (the target, the cluster identifier, the Azure subscription and location, whether the data
	// layer is on PostgreSQL). With the binding and the platform outputs unchanged, a change here
	// is a change of the environment that the stack reads.
	PartPlan = "plan"
	// PartPlatform is the platform outputs a tenant stack consumes.
	PartPlatform = "platform"
	// PartProgram is the build of the programs (tenantctl's version and commit, or the bytes of
	// a development build).
	PartProgram = "program"
	// PartProviders is the pulumi CLI and the provider plugin versions the engine pins.
	PartProviders = "providers"
	// PartSettings is the non-secret run-time settings the programs read from stack config (the
	// data layer's server: host, port, database, admin role, TLS mode).
	PartSettings = "settings"
)

// digestVersion changes when what the digest covers changes, so a digest of an older scheme
// never matches by accident.
const digestVersion = "tenantctl-inputs/v1"

// Build is what a digest needs beyond the desired state: what the engine runs the plan with.
type Build struct {
	// Program identifies the build of the programs.
	Program string
	// Providers maps each tool the stack runs with ("pulumi", each provider plugin) to its
	// version.
	Providers map[string]string
	// Settings are the non-secret run-time settings the programs read (never a credential).
	Settings map[string]string
}

// Digest is a stack's inputs digest.
type Digest struct {
	// Value is "sha256:<hex>" over every part.
	Value string `json:"value"`
	// Parts maps each part to "sha256:<hex>" of that part alone.
	Parts map[string]string `json:"parts"`
}

// TenantDigest is the inputs digest of in's tenant stack. It fails when the inputs cannot be
// planned (the program would refuse them too).
func TenantDigest(in Inputs, b Build) (Digest, error) {
	pl, err := ForTenant(in)
	if err != nil {
		return Digest{}, err
	}
	binding, err := canonical(in.Binding)
	if err != nil {
		return Digest{}, fmt.Errorf("binding of %s: %w", in.Binding.Spec.TenantID, err)
	}
	plan, err := canonical(struct {
		Plan *Tenant    `json:"plan"`
		Env  programEnv `json:"env"`
	}{pl, readProgramEnv(in.Env)})
	if err != nil {
		return Digest{}, fmt.Errorf("plan of %s: %w", pl.Stack, err)
	}
	po := in.Platform
	// The programs only ask whether a policy is there: the order of the list is not an input.
	po.AdmissionPolicies = slices.Sorted(slices.Values(in.Platform.AdmissionPolicies))
	platform, err := canonical(po)
	if err != nil {
		return Digest{}, err
	}
	return digest(map[string][]byte{PartBinding: binding, PartPlan: plan, PartPlatform: platform}, b)
}

// PlatformDigest is the inputs digest of env's platform stack.
func PlatformDigest(env *isolation.Environment, b Build) (Digest, error) {
	pl, err := ForPlatform(env)
	if err != nil {
		return Digest{}, err
	}
	var pg *PlatformPostgres
	if UsesPostgres(env) {
		pg = PlanPlatformPostgres(env)
	}
	plan, err := canonical(struct {
		Plan     *Platform         `json:"plan"`
		Postgres *PlatformPostgres `json:"postgres,omitempty"`
		Env      programEnv        `json:"env"`
	}{pl, pg, readProgramEnv(env)})
	if err != nil {
		return Digest{}, fmt.Errorf("plan of %s: %w", pl.Stack, err)
	}
	return digest(map[string][]byte{PartPlan: plan}, b)
}

// programEnv is what the programs read of the environment directly rather than through the plan
// (stacks/kubernetes NewProvider and NewDataServer, stacks/azure newAzureProvider).
type programEnv struct {
	Target   string `json:"target"`
	Cluster  string `json:"cluster"`
	Postgres bool   `json:"postgres"`
	// Azure is kept whole: the azure programs read its subscription and location.
	Azure *isolation.AzureSpec `json:"azure,omitempty"`
}

func readProgramEnv(env *isolation.Environment) programEnv {
	return programEnv{Target: env.Spec.Target, Cluster: env.Spec.SharedCluster.Name, Postgres: UsesPostgres(env), Azure: env.Spec.Azure}
}

func digest(parts map[string][]byte, b Build) (Digest, error) {
	var err error
	if parts[PartProgram], err = canonical(b.Program); err != nil {
		return Digest{}, err
	}
	if parts[PartProviders], err = canonical(b.Providers); err != nil {
		return Digest{}, err
	}
	if parts[PartSettings], err = canonical(b.Settings); err != nil {
		return Digest{}, err
	}
	d := Digest{Parts: make(map[string]string, len(parts))}
	total := sha256.New()
	total.Write([]byte(digestVersion + "\n"))
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		sum := sha256.Sum256(parts[name])
		d.Parts[name] = "sha256:" + hex.EncodeToString(sum[:])
		fmt.Fprintf(total, "%s=%s\n", name, d.Parts[name])
	}
	d.Value = "sha256:" + hex.EncodeToString(total.Sum(nil))
	return d, nil
}

// canonical is v's JSON: struct fields in declaration order, map keys sorted, no whitespace.
// Every input is decoded from YAML into typed structs first, so layout, key order and comments
// of the documents are gone by then.
func canonical(v any) ([]byte, error) { return json.Marshal(v) }

// Why a stack runs or does not: the reasons Compare gives.
const (
	ReasonUnchanged   = "digest matches"
	ReasonBinding     = "binding changed"
	ReasonEnvironment = "environment changed"
	ReasonPlatform    = "platform outputs changed"
	ReasonProgram     = "program version changed"
	ReasonProviders   = "provider versions changed"
	ReasonSettings    = "data server settings changed"
)

// Changed says why a stack whose last update recorded recorded must run now that its inputs
// digest is d, or nil when the two match. Parts missing from recorded (a digest of another
// scheme) count as changed.
func (d Digest) Changed(recorded Digest) []string {
	if d.Value == recorded.Value {
		return nil
	}
	differs := func(p string) bool { return recorded.Parts[p] != d.Parts[p] }
	var out []string
	if differs(PartBinding) {
		out = append(out, ReasonBinding)
	}
	if differs(PartPlatform) {
		out = append(out, ReasonPlatform)
	}
	// The plan is a function of the binding, the platform outputs, the environment and the
	// program: with the others unchanged, a changed plan is a changed environment.
	if differs(PartPlan) && len(out) == 0 && !differs(PartProgram) {
		out = append(out, ReasonEnvironment)
	}
	if differs(PartProgram) {
		out = append(out, ReasonProgram)
	}
	if differs(PartProviders) {
		out = append(out, ReasonProviders)
	}
	if differs(PartSettings) {
		out = append(out, ReasonSettings)
	}
	if len(out) == 0 {
		out = append(out, "inputs digest changed")
	}
	return out
}

// RecordedDigest reads the digest a stack's outputs recorded (OutputInputsDigest and
// OutputInputsParts, as the Automation API or a checkpoint gives them); ok is false when there is
// none.
func RecordedDigest(outputs map[string]any) (Digest, bool) {
	v, _ := outputs[OutputInputsDigest].(string)
	if !strings.HasPrefix(v, "sha256:") {
		return Digest{}, false
	}
	d := Digest{Value: v, Parts: map[string]string{}}
	switch parts := outputs[OutputInputsParts].(type) {
	case map[string]any:
		for k, p := range parts {
			if s, ok := p.(string); ok {
				d.Parts[k] = s
			}
		}
	case map[string]string:
		maps.Copy(d.Parts, parts)
	}
	return d, true
}
