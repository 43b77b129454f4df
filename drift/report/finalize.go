package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// Finalize normalizes and redacts findings, drops duplicates (same fingerprint, keeping the most
// severe), sorts the report and derives tenant statuses, environments, summary and fleet groups.
// Renderers finalize a copy, so calling it is only needed to read the derived fields directly.
func (r *Report) Finalize() {
	for i, f := range r.Findings {
		r.Findings[i] = f.Normalize().Redacted()
	}
	r.Findings = dedupe(r.Findings)
	slices.SortStableFunc(r.Findings, compareFindings)
	for _, f := range r.Findings {
		if f.TenantID != "" {
			r.AddTenant(f.Environment, f.TenantID)
		}
	}
	// A tenant already marked as error (a hand-built or edited report) without an error entry keeps
	// failing: it becomes an entry instead of silently turning clean.
	for _, t := range r.Tenants {
		if t.Status == StatusError && !slices.ContainsFunc(r.Errors, func(e Error) bool { return e.covers(t) }) {
			msg := cmp.Or(t.Error, "tenant was reported as error without details")
			r.Errors = append(r.Errors, Error{Environment: t.Environment, TenantID: t.TenantID, API: "unknown", Message: msg})
		}
	}
	r.Errors = slices.CompactFunc(sortedErrors(r.Errors), func(a, b Error) bool { return a == b })
	slices.SortStableFunc(r.Tenants, func(a, b TenantResult) int {
		return cmp.Or(cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.TenantID, b.TenantID))
	})
	r.Tenants = compactTenants(r.Tenants)
	r.tenantIndex = nil
	counts := map[TenantRef]int{}
	for _, f := range r.Findings {
		counts[TenantRef{f.Environment, f.TenantID}]++
	}
	for i := range r.Tenants {
		r.Tenants[i] = r.deriveTenant(r.Tenants[i], counts)
	}
	r.Environments = r.environments()
	r.Summary = r.summarize()
	r.Fleet = Fleet(r.Findings)
}

// compactTenants merges duplicate entries of a sorted tenant list, adding their ignored counts.
func compactTenants(ts []TenantResult) []TenantResult {
	var out []TenantResult
	for _, t := range ts {
		if n := len(out); n > 0 && out[n-1].Environment == t.Environment && out[n-1].TenantID == t.TenantID {
			out[n-1].Ignored += t.Ignored
			continue
		}
		out = append(out, t)
	}
	return out
}

func (r *Report) deriveTenant(t TenantResult, findings map[TenantRef]int) TenantResult {
	t.Findings = findings[TenantRef{t.Environment, t.TenantID}]
	var msgs []string
	for _, e := range r.Errors {
		if e.covers(t) {
			msgs = append(msgs, e.API+": "+e.Message)
		}
	}
	t.Error = strings.Join(msgs, "; ")
	switch {
	case len(msgs) > 0:
		t.Status = StatusError
	case t.Findings > 0:
		t.Status = StatusDrifted
	default:
		t.Status = StatusClean
	}
	return t
}

func (r *Report) environments() []string {
	envs := slices.Clone(r.Environments)
	for _, t := range r.Tenants {
		envs = append(envs, t.Environment)
	}
	for _, f := range r.Findings {
		envs = append(envs, f.Environment)
	}
	for _, e := range r.Errors {
		envs = append(envs, e.Environment)
	}
	envs = slices.DeleteFunc(envs, func(e string) bool { return e == "" })
	slices.Sort(envs)
	return slices.Compact(envs)
}

func (r *Report) summarize() Summary {
	s := Summary{Tenants: len(r.Tenants), Findings: len(r.Findings), Ignored: r.Ignored, Errors: len(r.Errors),
		ByKind: map[finding.Kind]int{}, BySeverity: map[finding.Severity]int{}}
	for _, t := range r.Tenants {
		switch t.Status {
		case StatusClean:
			s.Clean++
		case StatusDrifted:
			s.Drifted++
		case StatusError:
			s.Errored++
		}
	}
	for _, f := range r.Findings {
		s.ByKind[f.Kind]++
		s.BySeverity[f.Severity]++
	}
	return s
}

func dedupe(fs []finding.Finding) []finding.Finding {
	index := map[string]int{}
	var out []finding.Finding
	for _, f := range fs {
		fp := f.Fingerprint()
		if i, ok := index[fp]; ok {
			if f.Severity.Rank() < out[i].Severity.Rank() {
				out[i] = f
			}
			continue
		}
		index[fp] = len(out)
		out = append(out, f)
	}
	return out
}

// compareFindings orders by environment, tenant, severity (critical first), kind, resource, field.
func compareFindings(a, b finding.Finding) int {
	return cmp.Or(
		cmp.Compare(a.Environment, b.Environment),
		cmp.Compare(a.TenantID, b.TenantID),
		cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Resource.Type, b.Resource.Type),
		cmp.Compare(a.Resource.Namespace, b.Resource.Namespace),
		cmp.Compare(a.Resource.Name, b.Resource.Name),
		cmp.Compare(a.Resource.ID, b.Resource.ID),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.PeerTenant, b.PeerTenant))
}

func sortedErrors(es []Error) []Error {
	es = slices.Clone(es)
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.TenantID, b.TenantID),
			cmp.Compare(a.API, b.API), cmp.Compare(a.Message, b.Message))
	})
	return es
}

// finalized returns a finalized copy for renderers. Finalize redacts again, so a report built by
// hand (or decoded from a file) cannot leak a value either.
func (r *Report) finalized() *Report {
	c := *r
	c.APIVersion, c.Kind = APIVersion, Kind
	c.tenantIndex = nil // the copy must not write positions of its own slice into r's index
	c.Tenants = slices.Clone(r.Tenants)
	c.Errors = slices.Clone(r.Errors)
	c.Environments = slices.Clone(r.Environments)
	c.Findings = slices.Clone(r.Findings)
	c.Finalize()
	return &c
}
