package report

import (
	"errors"
	"fmt"
	"slices"

	"github.com/connectsoft/tenantctl/internal/errkind"
)

// Merge combines shard reports (or reports of separate environments) of one desired-state commit
// into one report with the same exit-code semantics: tenants are united, findings deduplicated by
// fingerprint, errors kept. Reports of different commits, schema versions or shard counts, and a
// shard given twice, are invalid input (exit 3). A shard missing from a complete I/N set becomes
// an error in the merged report (exit 1): its tenants were never checked, so the merge cannot be
// clean.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, errkind.Mark(errkind.Invalid, errors.New("merge: no reports"))
	}
	for i, r := range reports {
		if r == nil {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("merge: report %d is missing", i+1))
		}
		if err := r.Validate(); err != nil {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("merge: report %d: %w", i+1, err))
		}
	}
	first := reports[0]
	for i, r := range reports[1:] {
		if r.Commit != first.Commit {
			return nil, errkind.Mark(errkind.Invalid, fmt.Errorf(
				"merge: report %d is for commit %s but report 1 is for commit %s; merge reports of one desired-state commit only",
				i+2, r.Commit, first.Commit))
		}
	}
	shards, err := shardSet(reports)
	if err != nil {
		return nil, errkind.Mark(errkind.Invalid, fmt.Errorf("merge: %w", err))
	}

	out := &Report{SchemaVersion: SchemaVersion, Tool: first.Tool, Commit: first.Commit, Merged: shards}
	for _, r := range reports {
		if r.GeneratedAt.After(out.GeneratedAt) {
			out.GeneratedAt = r.GeneratedAt
		}
		out.Dirty = out.Dirty || r.Dirty
		if out.Repository == "" {
			out.Repository = r.Repository
		}
		out.Environments = append(out.Environments, r.Environments...)
		for _, t := range r.Tenants {
			if existing := out.tenant(t.Environment, t.TenantID); existing != nil {
				existing.Ignored += t.Ignored
				continue
			}
			out.Tenants = append(out.Tenants, TenantResult{Environment: t.Environment, TenantID: t.TenantID, Ignored: t.Ignored})
		}
		out.Findings = append(out.Findings, r.Findings...)
		out.Errors = append(out.Errors, r.Errors...)
		out.Ignored += r.Ignored
	}
	if len(shards) > 0 {
		count := shards[0].Count
		for i := 1; i <= count; i++ {
			if !slices.ContainsFunc(shards, func(s Shard) bool { return s.Index == i }) {
				out.AddError(Error{API: "merge", Message: fmt.Sprintf("shard %d/%d is missing from the merge; its tenants were not checked", i, count)})
			}
		}
	}
	out.Finalize()
	return out, nil
}

// shardSet checks that the reports are all unsharded, or distinct shards of one I/N split.
func shardSet(reports []*Report) ([]Shard, error) {
	var shards []Shard
	for i, r := range reports {
		if (r.Shard == nil) != (reports[0].Shard == nil) {
			return nil, fmt.Errorf("report %d is %s but report 1 is %s; do not mix sharded and unsharded reports",
				i+1, shardWord(r.Shard), shardWord(reports[0].Shard))
		}
		if r.Shard == nil {
			continue
		}
		if r.Shard.Count != reports[0].Shard.Count {
			return nil, fmt.Errorf("report %d is shard %s but report 1 is shard %s; shard counts differ", i+1, r.Shard, reports[0].Shard)
		}
		if slices.Contains(shards, *r.Shard) {
			return nil, fmt.Errorf("shard %s given twice (report %d)", r.Shard, i+1)
		}
		shards = append(shards, *r.Shard)
	}
	slices.SortFunc(shards, func(a, b Shard) int { return a.Index - b.Index })
	return shards, nil
}

func shardWord(s *Shard) string {
	if s == nil {
		return "unsharded"
	}
	return "shard " + s.String()
}
