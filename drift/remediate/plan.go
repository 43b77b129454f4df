// Package remediate turns drift findings into a remediation plan and applies it. A plan lists
// exactly what will change: fields of managed Kubernetes objects restored to their desired values
// (a forced server-side apply as the stack's own field manager, then the engine's `up`),
// unmanaged cross-tenant routes deleted inside the offending tenant's own scope, and everything
// else reported. Every object acted on carries the resourceVersion seen when planning, so
// applying a plan refuses when live state moved since (the API server enforces it too). Every
// applied action is audited.
package remediate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// SchemaVersion names the plan file layout; Decode refuses any other.
const SchemaVersion = "tenantctl.remediation/v1"

// Mode is how `drift remediate` treats findings.
type Mode string

const (
	// ModeWarn reports what a remediation would do and changes nothing.
	ModeWarn Mode = "warn"
	// ModeAuto plans from a fresh check and applies the plan at once.
	ModeAuto Mode = "auto"
	// ModeReview writes the plan for a person to review; `--plan FILE` applies it later.
	ModeReview Mode = "review"
)

// Modes lists every mode.
var Modes = []Mode{ModeWarn, ModeAuto, ModeReview}

// ParseMode validates a --mode value.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", errkind.Mark(errkind.Invalid, fmt.Errorf("mode %q: want warn, auto or review", s))
}

// ActionKind says what an action does.
type ActionKind string

const (
	// ActionRestore sets drifted fields of a managed object back to their desired values, then
	// runs the engine's up for the stack.
	ActionRestore ActionKind = "restore-fields"
	// ActionDelete deletes (Kubernetes) or removes (Azure) an unmanaged cross-tenant route.
	ActionDelete ActionKind = "delete"
	// ActionImport adopts an unmanaged object into a stack. Reserved: this version never plans
	// it and refuses plans that hold it (see docs/drift-detection.md, Remediation).
	ActionImport ActionKind = "import"
	// ActionReport changes nothing; a person decides.
	ActionReport ActionKind = "report"
	// ActionReview is an identity grant that opens a cross-tenant route outside every tenant's
	// own scope (a ClusterRoleBinding or ClusterRole, a binding in another tenant's or the
	// platform's namespace, an Azure role assignment, access policy or federated credential):
	// tenantctl never removes it; Command is what a person runs after reviewing it. Applying a
	// plan refuses it (outcome review-only, audited).
	ActionReview ActionKind = "review"
)

// EngineStep is what the engine runs for a stack after a restore.
type EngineStep string

const (
	// EngineUp runs `up`: it converges whatever the engine itself sees.
	EngineUp EngineStep = "up"
	// EngineRefreshUp runs `refresh` then `up`: for objects the stack's state still records
	// but that are gone (recreated) and for Azure resources, whose drift `up` alone does not see.
	EngineRefreshUp EngineStep = "refresh-up"
)

// Plan is a reviewed list of actions, written by `drift remediate --mode review` and applied by
// `drift remediate --plan FILE`.
type Plan struct {
	APIVersion string `json:"apiVersion"`
	// Commit is the desired-state revision the findings were checked against (the report's).
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty,omitempty"`
	// DesiredDigest fingerprints the loaded desired state (DesiredDigest): applying refuses
	// when it differs, because the engine's up would then apply more than the plan says.
	DesiredDigest string    `json:"desiredDigest"`
	CreatedAt     time.Time `json:"createdAt"`
	Mode          Mode      `json:"mode"`
	Actions       []Action  `json:"actions"`
}

// Action is one thing the plan does (or reports).
type Action struct {
	// ID is the action's number in the plan ("A1"), for people and audit records.
	ID          string     `json:"id"`
	Kind        ActionKind `json:"kind"`
	Tenant      string     `json:"tenant"`
	Environment string     `json:"environment"`
	// Stack is the stack a restore converges.
	Stack string `json:"stack,omitempty"`
	// Fingerprints are the findings the action resolves (finding.Fingerprint).
	Fingerprints []string       `json:"fingerprints"`
	FindingKinds []finding.Kind `json:"findingKinds"`
	Target       Target         `json:"target"`
	// FieldManager is the stack's server-side apply manager the restore applies as, so the
	// restored fields are owned by the stack again.
	FieldManager string        `json:"fieldManager,omitempty"`
	Fields       []FieldChange `json:"fields,omitempty"`
	Engine       EngineStep    `json:"engine,omitempty"`
	// Command is what a person runs to carry out a review action (ReviewCommand of the target).
	Command string `json:"command,omitempty"`
	Reason  string `json:"reason"`
}

// Target is the object an action is about.
type Target struct {
	Provider   finding.Provider `json:"provider"`
	APIVersion string           `json:"apiVersion,omitempty"`
	Kind       string           `json:"kind,omitempty"`
	// Type is the finding's resource type ("networking.k8s.io/v1/NetworkPolicy", an Azure type).
	Type      string `json:"type"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// ID is the Azure resource id, or namespace/name.
	ID  string `json:"id,omitempty"`
	URN string `json:"urn,omitempty"`
	// UID and ResourceVersion are the live object's when planning; an action refuses to run
	// when they changed.
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Absent: the object did not exist when planning (a missing managed resource to recreate).
	Absent bool `json:"absent,omitempty"`
	// Data is a PostgreSQL object a delete or review action changes; the statement is derived
	// from it (DataStatements), never read from the plan.
	Data *DataTarget `json:"data,omitempty"`
}

// Ref is the short human form: "networking.k8s.io/v1/NetworkPolicy t-acme/x".
func (t Target) Ref() string {
	return finding.Resource{Provider: t.Provider, Type: t.Type, Namespace: t.Namespace, Name: t.Name, ID: t.ID}.Ref()
}

func (t Target) kubernetes() bool { return t.Provider == finding.ProviderKubernetes }

// FieldChange is one field a restore sets.
type FieldChange struct {
	Path string `json:"path"`
	// Desired is the value applied. Secret values are never planned (such fields are reported).
	Desired json.RawMessage `json:"desired"`
	// Live is the value found when checking (redacted), for the reviewer.
	Live json.RawMessage `json:"live,omitempty"`
	// Manager is the field manager that held the field, if another one did.
	Manager string `json:"manager,omitempty"`
}

// Changes counts the actions applying the plan carries out (restores and deletes).
func (p *Plan) Changes() int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == ActionRestore || a.Kind == ActionDelete {
			n++
		}
	}
	return n
}

// Reviews counts the review-only actions: what a person must remove.
func (p *Plan) Reviews() int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == ActionReview {
			n++
		}
	}
	return n
}

// serverFields are fields a restore never sets: identity, server-set metadata and status.
var serverFields = map[string]bool{
	"apiVersion": true, "kind": true, "status": true,
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true, "metadata.resourceVersion": true,
	"metadata.generation": true, "metadata.managedFields": true, "metadata.creationTimestamp": true,
	"metadata.deletionTimestamp": true, "metadata.deletionGracePeriodSeconds": true, "metadata.ownerReferences": true,
	"metadata.selfLink": true, "metadata.finalizers": true,
}

// Validate reports everything that makes p unfit to apply.
func (p *Plan) Validate() error {
	var errs []error
	if p.APIVersion != SchemaVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q, this tenantctl reads %q", p.APIVersion, SchemaVersion))
	}
	if p.Commit == "" {
		errs = append(errs, errors.New("commit is empty"))
	}
	if p.DesiredDigest == "" {
		errs = append(errs, errors.New("desiredDigest is empty"))
	}
	if _, err := ParseMode(string(p.Mode)); err != nil {
		errs = append(errs, err)
	}
	ids := map[string]bool{}
	targets := map[string]string{}
	for i, a := range p.Actions {
		where := fmt.Sprintf("action %d (%s)", i+1, a.ID)
		if a.ID == "" || ids[a.ID] {
			errs = append(errs, fmt.Errorf("%s: id is empty or repeated", where))
		}
		ids[a.ID] = true
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if a.Kind == ActionReport || a.Kind == ActionReview {
			continue
		}
		key := targetKey(a.Target)
		if other, dup := targets[key]; dup {
			errs = append(errs, fmt.Errorf("%s: %s is also changed by %s", where, a.Target.Ref(), other))
		}
		targets[key] = a.ID
	}
	return errors.Join(errs...)
}

func targetKey(t Target) string {
	key := []string{string(t.Provider), t.Type, t.Namespace, t.Name, strings.ToLower(t.ID)}
	if t.Data != nil {
		key = append(key, string(t.Data.Op), t.Data.Database, t.Data.Schema, t.Data.Object, t.Data.Role, t.Data.Granted)
	}
	return strings.Join(key, "\x00")
}

func (a Action) validate() error {
	var errs []error
	if a.Environment == "" || (a.Tenant == "" && a.Kind != ActionReport) {
		errs = append(errs, errors.New("tenant and environment are required"))
	}
	if len(a.Fingerprints) == 0 {
		errs = append(errs, errors.New("no finding fingerprints"))
	}
	if a.Reason == "" {
		errs = append(errs, errors.New("reason is empty"))
	}
	switch a.Target.Provider {
	case finding.ProviderKubernetes, finding.ProviderAzure, finding.ProviderPostgreSQL:
	default:
		errs = append(errs, fmt.Errorf("target provider %q is not kubernetes, azure or postgresql", a.Target.Provider))
	}
	switch a.Kind {
	case ActionReport:
	case ActionRestore:
		errs = append(errs, a.validateRestore()...)
	case ActionDelete:
		errs = append(errs, a.validateDelete()...)
	case ActionImport:
		errs = append(errs, errors.New("import actions are not supported by this tenantctl: adopt the object by declaring it in the desired state"))
	case ActionReview:
		switch want := ReviewCommand(a.Target); {
		case want == "":
			errs = append(errs, fmt.Errorf("%s is not an identity grant a review action can name", a.Target.Ref()))
		case a.Command != want:
			errs = append(errs, fmt.Errorf("command %q is not the one for %s (%q)", a.Command, a.Target.Ref(), want))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown kind %q", a.Kind))
	}
	return errors.Join(errs...)
}

func (a Action) validateRestore() []error {
	var errs []error
	id, err := tenantplan.ParseStackName(a.Stack)
	switch {
	case err != nil:
		errs = append(errs, err)
	case id.Environment != a.Environment || (id.Kind == tenantplan.StackTenant && id.TenantID != a.Tenant):
		errs = append(errs, fmt.Errorf("stack %s is not tenant %s's in %s", a.Stack, a.Tenant, a.Environment))
	}
	if a.Engine != EngineUp && a.Engine != EngineRefreshUp {
		errs = append(errs, fmt.Errorf("engine step %q: want up or refresh-up", a.Engine))
	}
	if !a.Target.kubernetes() {
		if len(a.Fields) > 0 {
			errs = append(errs, errors.New("fields can only be restored on Kubernetes objects; Azure resources are restored by the engine"))
		}
		return errs
	}
	if a.Target.APIVersion == "" || a.Target.Kind == "" || a.Target.Name == "" {
		errs = append(errs, errors.New("target needs apiVersion, kind and name"))
	}
	if a.Target.Absent {
		if len(a.Fields) > 0 {
			errs = append(errs, errors.New("an absent object has no fields to restore"))
		}
		return errs
	}
	if a.Target.ResourceVersion == "" {
		errs = append(errs, errors.New("target has no resourceVersion"))
	}
	if len(a.Fields) == 0 {
		errs = append(errs, errors.New("no fields to restore"))
	}
	if a.FieldManager == "" {
		errs = append(errs, errors.New("fieldManager is empty"))
	}
	for _, f := range a.Fields {
		if err := f.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func (f FieldChange) validate() error {
	p, err := parseField(f.Path)
	if err != nil {
		return err
	}
	if len(p.Unit()) != len(p) {
		return fmt.Errorf("field %s: a positional item cannot be applied alone; restore the whole list", f.Path)
	}
	for n := 1; n <= len(p); n++ {
		if serverFields[p[:n].String()] {
			return fmt.Errorf("field %s: a restore never sets %s", f.Path, p[:n])
		}
	}
	if len(bytes.TrimSpace(f.Desired)) == 0 || !json.Valid(f.Desired) {
		return fmt.Errorf("field %s: desired value is missing or not JSON", f.Path)
	}
	if bytes.Contains(f.Desired, []byte(finding.Redacted)) {
		return fmt.Errorf("field %s: desired value is redacted", f.Path)
	}
	return nil
}

func (a Action) validateDelete() []error {
	var errs []error
	t := a.Target
	if t.Provider == finding.ProviderPostgreSQL {
		switch {
		case t.Data == nil:
			errs = append(errs, errors.New("a PostgreSQL target needs its data object"))
		case !t.Data.executable():
			errs = append(errs, fmt.Errorf("%s on %s is review-only: tenantctl never carries it out", t.Data.Op, t.Ref()))
		default:
			if _, err := DataStatements(*t.Data); err != nil {
				errs = append(errs, err)
			}
		}
		return errs
	}
	if t.Provider == finding.ProviderAzure {
		if t.ID == "" {
			errs = append(errs, errors.New("Azure target needs its resource id"))
		}
		return errs
	}
	if t.APIVersion == "" || t.Kind == "" || t.Name == "" {
		errs = append(errs, errors.New("target needs apiVersion, kind and name"))
	}
	if t.Namespace == "" {
		errs = append(errs, errors.New("cluster-scoped objects are never deleted"))
	}
	if t.UID == "" || t.ResourceVersion == "" {
		errs = append(errs, errors.New("target needs the uid and resourceVersion seen when planning"))
	}
	return errs
}

// Encode writes p as indented JSON.
func Encode(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// WriteFile writes p to path atomically (mode 0600: a plan names objects of every tenant).
func WriteFile(path string, p *Plan) error {
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".plan-*.json")
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return nil
}

// maxPlanSize bounds a plan file; a fleet-wide plan stays far below it.
const maxPlanSize = 64 << 20

// Decode reads and validates a plan. Anything wrong with it is invalid input (exit 3).
func Decode(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPlanSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(data) > maxPlanSize {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("plan larger than %d bytes", maxPlanSize))
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("plan is not JSON: %w", err))
	}
	if head.APIVersion != SchemaVersion {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("plan apiVersion %q is not supported; this tenantctl reads %q", head.APIVersion, SchemaVersion))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("decode plan: %w", err))
	}
	if err := p.Validate(); err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("invalid plan: %w", err))
	}
	compactValues(&p)
	return &p, nil
}

// compactValues undoes the indentation Encode gives the field values.
func compactValues(p *Plan) {
	for i := range p.Actions {
		for j := range p.Actions[i].Fields {
			f := &p.Actions[i].Fields[j]
			for _, v := range []*json.RawMessage{&f.Desired, &f.Live} {
				var buf bytes.Buffer
				if len(*v) > 0 && json.Compact(&buf, *v) == nil {
					*v = buf.Bytes()
				}
			}
		}
	}
}

// ReadFile reads and validates the plan at path.
func ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("plan: %w", err))
	}
	defer f.Close()
	p, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}
