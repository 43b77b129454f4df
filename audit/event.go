// Package audit is tenantctl's tamper-evident audit trail. Every mutating operation (provision,
// update, destroy, drift remediation, secret bind/rotate) and every policy decision becomes an
// enveloped Event; the Log appends it to a hash-chained JSON Lines file that is the source of truth,
// and the Auditor forwards the resulting Record to pluggable sinks (stdout, webhook to Governance).
// Verify proves a log file was not edited, truncated or reordered; Query reads it back.
//
// Secret values never reach the log: a Redactor masks values under secret-looking keys and every
// value registered as a known secret before anything is encoded. See docs/audit.md.
package audit

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"time"
)

// Type names what happened. Types are dotted lowercase words; the constants are the ones tenantctl
// emits, and callers may add their own that follow the same shape.
type Type string

const (
	TypeTenantProvision Type = "tenant.provision"
	TypeTenantUpdate    Type = "tenant.update"
	TypeTenantDestroy   Type = "tenant.destroy"
	TypeTenantRefresh   Type = "tenant.refresh"
	// TypeTenantPurge is one statement of `destroy --purge-data`: data a destroy retained, dropped.
	TypeTenantPurge    Type = "tenant.purge"
	TypeDriftDetected  Type = "drift.detected"
	TypeDriftRemediate Type = "drift.remediate"
	TypeSecretBind     Type = "secret.bind"
	TypeSecretRotate   Type = "secret.rotate"
	TypeConfigPublish  Type = "config.publish"
	TypeAuthzDenied    Type = "authz.denied"
	TypePolicyDecision Type = "policy.decision"
)

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$`)

// Outcome is how the operation ended.
type Outcome string

const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
	// OutcomeDenied: authorization or a policy refused the operation; nothing was changed.
	OutcomeDenied Outcome = "denied"
	// OutcomeAllowed: a policy decision that permitted the operation (the operation itself is
	// recorded by its own event).
	OutcomeAllowed Outcome = "allowed"
	// OutcomeSkipped: nothing to do (no changes, or a dry run).
	OutcomeSkipped Outcome = "skipped"
	// OutcomeStarted marks the beginning of a long operation whose end is a second event with the
	// same trace id.
	OutcomeStarted Outcome = "started"
)

var outcomes = map[Outcome]bool{
	OutcomeSucceeded: true, OutcomeFailed: true, OutcomeDenied: true,
	OutcomeAllowed: true, OutcomeSkipped: true, OutcomeStarted: true,
}

// Op is what happened to one resource, in Pulumi's vocabulary.
type Op string

const (
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete"
	OpReplace Op = "replace"
	OpSame    Op = "same"
	OpRead    Op = "read"
	OpImport  Op = "import"
)

var opPattern = regexp.MustCompile(`^[a-z][a-z-]*$`)

// Event is the envelope of one audited operation. Fields left empty are filled by Log.Append:
// EventID (a fresh UUIDv7), Time (now) and TraceID (from the context, else a fresh one).
type Event struct {
	// EventID is the idempotency key: appending an event whose id is already in the log returns
	// the existing record instead of writing a second one.
	EventID string `json:"eventId"`
	Type    Type   `json:"type"`
	// Time is when the operation happened, in UTC; encoded as RFC 3339 with nanoseconds.
	Time time.Time `json:"time"`
	// TraceID is a W3C trace-id (32 lowercase hex digits) correlating the events, logs and drift
	// signals of one operation.
	TraceID  string `json:"traceId"`
	TenantID string `json:"tenantId,omitempty"`
	// Principal is the authenticated caller: an OIDC subject, a managed identity, or
	// "local:<user>" for a person running the CLI (see LocalPrincipal).
	Principal   string `json:"principal,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Commit is the desired-state Git commit the operation applied.
	Commit  string  `json:"commit,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Reason says why (a policy decision's reason, why remediation ran); Error is the failure.
	Reason  string           `json:"reason,omitempty"`
	Error   string           `json:"error,omitempty"`
	Changes []ResourceChange `json:"changes,omitempty"`
	// Details holds structured context such as a policy decision's policy and rule. Values under
	// secret-looking keys are masked.
	Details map[string]string `json:"details,omitempty"`
}

// ResourceChange is what an operation did to one resource.
type ResourceChange struct {
	URN  string `json:"urn,omitempty"`
	Type string `json:"type,omitempty"`
	Name string `json:"name,omitempty"`
	Op   Op     `json:"op"`
	// Fields are the changed property paths. Old/New are optional rendered values; under a
	// secret-looking path they are masked.
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one changed property of a resource.
type FieldChange struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// maxEventIDLen bounds caller-chosen idempotency keys so the index stays small.
const maxEventIDLen = 128

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]+$`)

// Validate reports the first thing that makes e unfit to append. It expects the defaults
// (EventID, Time, TraceID) to be filled already.
func (e *Event) Validate() error {
	switch {
	case e.EventID == "":
		return fmt.Errorf("event id is empty")
	case len(e.EventID) > maxEventIDLen || !eventIDPattern.MatchString(e.EventID):
		return fmt.Errorf("event id %q: want at most %d characters of [A-Za-z0-9._:/@+-]", e.EventID, maxEventIDLen)
	case !typePattern.MatchString(string(e.Type)):
		return fmt.Errorf("event type %q: want dotted lowercase words such as %q", e.Type, TypeTenantProvision)
	case !outcomes[e.Outcome]:
		return fmt.Errorf("event %s: outcome %q is not one of succeeded, failed, denied, allowed, skipped, started", e.Type, e.Outcome)
	case e.Time.IsZero():
		return fmt.Errorf("event %s: time is zero", e.Type)
	case !ValidTraceID(e.TraceID):
		return fmt.Errorf("event %s: trace id %q is not a W3C trace-id (32 lowercase hex digits, not all zero)", e.Type, e.TraceID)
	}
	for i, c := range e.Changes {
		if !opPattern.MatchString(string(c.Op)) {
			return fmt.Errorf("event %s: change %d (%s): op %q is not a lowercase word", e.Type, i, c.Name, c.Op)
		}
	}
	return nil
}

// clone deep-copies the slices and maps so redaction never writes into the caller's event.
func (e Event) clone() Event {
	if e.Changes != nil {
		changes := make([]ResourceChange, len(e.Changes))
		for i, c := range e.Changes {
			if c.Fields != nil {
				c.Fields = append([]FieldChange(nil), c.Fields...)
			}
			changes[i] = c
		}
		e.Changes = changes
	}
	if e.Details != nil {
		details := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			details[k] = v
		}
		e.Details = details
	}
	return e
}

// PolicyDecision builds the event recording a policy engine's verdict on an action, with its
// reason: the seed requires production-affecting mutations to carry an explicit, recorded decision.
func PolicyDecision(tenantID, principal, action string, allowed bool, reason string, details map[string]string) Event {
	d := make(map[string]string, len(details)+1)
	for k, v := range details {
		d[k] = v
	}
	d["action"] = action
	outcome := OutcomeDenied
	if allowed {
		outcome = OutcomeAllowed
	}
	return Event{
		Type: TypePolicyDecision, TenantID: tenantID, Principal: principal,
		Outcome: outcome, Reason: reason, Details: d,
	}
}

// LocalPrincipal names the person running tenantctl on this machine, for operations started from
// the CLI rather than through the authenticated API.
func LocalPrincipal() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "local:" + u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return "local:" + name
	}
	return fmt.Sprintf("local:uid-%d", os.Getuid())
}
