package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
)

// auditOp is the audit operation of an action.
func auditOp(a Action) audit.Op {
	switch {
	case a.Kind == ActionDelete || a.Kind == ActionReview:
		return audit.OpDelete
	case a.Target.Absent:
		return audit.OpCreate
	}
	return audit.OpUpdate
}

// audit records one action: who, which tenant and commit, the object and fields changed (values
// as the plan holds them: never secrets), and how it ended.
func (e *Executor) audit(ctx context.Context, plan *Plan, a Action, o Outcome, actErr error, engine string) error {
	ev := audit.Event{
		Type: audit.TypeDriftRemediate, TenantID: a.Tenant, Principal: e.principal, Environment: a.Environment,
		Commit: plan.Commit, Reason: a.Reason,
		Details: map[string]string{"action": a.ID, "kind": string(a.Kind), "mode": string(plan.Mode), "outcome": string(o),
			"fingerprints": strings.Join(a.Fingerprints, ",")},
	}
	switch o {
	case OutcomeApplied:
		ev.Outcome = audit.OutcomeSucceeded
	case OutcomeRefused:
		ev.Outcome = audit.OutcomeDenied
	case OutcomeUnsupported:
		ev.Outcome = audit.OutcomeSkipped
	case OutcomeReviewOnly:
		ev.Outcome = audit.OutcomeDenied
	default:
		ev.Outcome = audit.OutcomeFailed
	}
	if actErr != nil {
		ev.Error = actErr.Error()
	}
	for k, v := range map[string]string{"plan": e.source, "stack": a.Stack, "fieldManager": a.FieldManager,
		"resourceVersion": a.Target.ResourceVersion, "engine": engine, "command": a.Command, "sql": dataSQL(a)} {
		if v != "" {
			ev.Details[k] = v
		}
	}
	rc := audit.ResourceChange{URN: a.Target.URN, Type: a.Target.Type, Name: targetName(a.Target), Op: auditOp(a)}
	for _, f := range a.Fields {
		rc.Fields = append(rc.Fields, audit.FieldChange{Path: f.Path, Old: string(f.Live), New: string(f.Desired)})
	}
	ev.Changes = []audit.ResourceChange{rc}
	if _, err := e.recorder.Record(ctx, ev); err != nil && !errors.Is(err, audit.ErrSinkFailed) {
		return fmt.Errorf("audit %s %s: %w (remaining actions not applied)", a.ID, a.Kind, err)
	}
	return nil
}

func targetName(t Target) string {
	if t.Provider == finding.ProviderAzure || t.Name == "" {
		return t.ID
	}
	if t.Namespace != "" {
		return t.Namespace + "/" + t.Name
	}
	return t.Name
}

// dataSQL is the statement a data-plane delete runs ("" for other actions), for audit and
// progress: it names objects and roles, never values.
func dataSQL(a Action) string {
	if a.Kind != ActionDelete || a.Target.Data == nil {
		return ""
	}
	stmts, err := DataStatements(*a.Target.Data)
	if err != nil {
		return ""
	}
	return strings.Join(stmts, "; ")
}
