package rotation

import (
	"context"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/drift/secretversions"
	"github.com/connectsoft/tenantctl/isolation"
)

// StatusRow is one reference as `tenantctl secrets status` shows it: the binding's pin, the
// vault's current version and how the pin stands, plus what rotation recorded.
type StatusRow struct {
	secretversions.Reference
	// Observed is, for an unpinned reference, the version last recorded as observed.
	Observed string `json:"observed,omitempty"`
	// Applied is the version the stack applied in the reference's last rotation.
	Applied string `json:"applied,omitempty"`
	// Pending is a rotation in Git that has not reached the stack (its up failed or was
	// interrupted); the next rotate resumes it.
	Pending *Pending `json:"pending,omitempty"`
}

// Status reads the selected references' vault versions and the journal; it changes nothing. The
// error joins what could not be read; the rows are complete either way.
func (r *Rotator) Status(ctx context.Context, sel Selection, grace time.Duration) ([]StatusRow, *isolation.DesiredState, error) {
	st, err := isolation.Load(ctx, r.dir)
	if err != nil {
		return nil, nil, err
	}
	bindings, err := sel.bindings(st)
	if err != nil {
		return nil, nil, err
	}
	refs, vaultErr := secretversions.Evaluate(ctx, st, bindings, r.reader, r.now(), grace)
	rows := make([]StatusRow, 0, len(refs))
	records := map[string]*StackRecord{}
	for _, ref := range refs {
		rec, ok := records[ref.Stack]
		if !ok {
			if rec, err = r.journal.Read(ref.Stack); err != nil {
				return nil, nil, err
			}
			records[ref.Stack] = rec
		}
		row := StatusRow{Reference: ref}
		if jr, ok := rec.References[ref.Name]; ok && jr.Vault == ref.Vault && jr.Secret == ref.Secret {
			row.Observed, row.Applied, row.Pending = jr.Observed, jr.Applied, jr.Pending
		}
		rows = append(rows, row)
	}
	return rows, st, vaultErr
}

// WouldMove counts the rows a rotation would act on: pins that differ from the vault's current
// version, and rotations waiting for their stack.
func WouldMove(rows []StatusRow) int {
	n := 0
	for _, r := range rows {
		switch {
		case r.Pinned == "" || r.Current == nil:
		case r.Pending != nil || !strings.EqualFold(r.Pinned, r.Current.ID):
			n++
		}
	}
	return n
}
