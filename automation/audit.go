package automation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/audit"
)

// AuditLog adapts an audit.Auditor to the engine: every finished mutating operation becomes one
// enveloped event carrying the per-resource changes (URNs, types, ops and changed property paths,
// never values).
type AuditLog struct {
	Auditor *audit.Auditor
	// OnError receives failures to record; the operation already happened, so the engine cannot
	// undo it, but the caller must surface the gap (the CLI exits non-zero).
	OnError func(error)
}

// OperationStarting implements Auditor: a "started" record of the operation, written (and
// fsynced) before the engine touches the stack.
func (a AuditLog) OperationStarting(ctx context.Context, principal string, t Target, op Operation) (string, error) {
	ev := audit.Event{
		Type:        intentType(op),
		TenantID:    t.TenantID,
		Principal:   principal,
		Environment: t.Environment,
		Commit:      t.Commit,
		Outcome:     audit.OutcomeStarted,
		Details:     map[string]string{"stack": t.Stack, "operation": string(op)},
	}
	rec, err := a.Auditor.Record(ctx, ev)
	if err != nil && !errors.Is(err, audit.ErrSinkFailed) {
		return "", fmt.Errorf("audit intent of %s %s: %w", op, t.Stack, err)
	}
	return rec.EventID, nil
}

func intentType(op Operation) audit.Type {
	switch op {
	case OpDestroy:
		return audit.TypeTenantDestroy
	case OpRefresh:
		return audit.TypeTenantRefresh
	}
	return audit.TypeTenantUpdate
}

// OperationFinished implements Auditor.
func (a AuditLog) OperationFinished(ctx context.Context, principal string, t Target, r Result, intent string) {
	if r.Skipped != "" && r.Err == nil && intent == "" {
		return
	}
	ev := audit.Event{
		Type:        auditType(r),
		TenantID:    t.TenantID,
		Principal:   principal,
		Environment: t.Environment,
		Commit:      t.Commit,
		Outcome:     audit.OutcomeSucceeded,
		Details:     map[string]string{"stack": t.Stack, "operation": string(r.Operation)},
	}
	if r.Err != nil {
		ev.Outcome = audit.OutcomeFailed
		ev.Error = r.Error
		if r.Conflict {
			ev.Details["conflict"] = "true"
		}
	} else if r.ChangeCount() == 0 {
		ev.Outcome = audit.OutcomeSkipped
		ev.Reason = "no changes"
		if r.Skipped != "" {
			ev.Reason = r.Skipped
		}
	}
	if intent != "" {
		ev.Details["intent"] = intent
	}
	for _, s := range r.Steps {
		if s.Op == "same" {
			continue
		}
		rc := audit.ResourceChange{URN: s.URN, Type: s.Type, Name: urnName(s.URN), Op: audit.Op(s.Op)}
		for _, k := range s.Keys {
			rc.Fields = append(rc.Fields, audit.FieldChange{Path: k})
		}
		ev.Changes = append(ev.Changes, rc)
	}
	if _, err := a.Auditor.Record(ctx, ev); err != nil && a.OnError != nil {
		a.OnError(fmt.Errorf("audit %s %s: %w", r.Operation, t.Stack, err))
	}
}

func auditType(r Result) audit.Type {
	switch r.Operation {
	case OpDestroy:
		return audit.TypeTenantDestroy
	case OpRefresh:
		return audit.TypeTenantRefresh
	}
	if r.Changes["create"] > 0 && r.Changes["update"] == 0 && r.Changes["delete"] == 0 && r.Changes["same"] == 0 {
		return audit.TypeTenantProvision
	}
	return audit.TypeTenantUpdate
}

// urnName is the last segment of a URN (the resource's logical name).
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}
