package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/connectsoft/tenantctl/audit"
)

const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// queryAudit is GET /v1/audit. Callers without the cross-tenant scope see their own tenant's
// records only; asking for another tenant is a tenant-guard denial.
func (s *Server) queryAudit(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	f, err := auditFilter(q.Get("tenant"), q.Get("type"), q.Get("traceId"), q.Get("since"), q.Get("until"), q.Get("after"), q.Get("limit"), time.Now())
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "bad request", err.Error())
		return
	}
	if !req.principal.CrossTenant() {
		if f.TenantID != "" && !s.guardTenant(w, r, req, f.TenantID) {
			return
		}
		if req.principal.TenantID == "" {
			s.guardTenant(w, r, req, "")
			return
		}
		f.TenantID = req.principal.TenantID
	}
	recs, err := audit.QueryFile(r.Context(), s.cfg.Auditor.Log().Path(), f)
	if err != nil {
		s.logger(req).Error("query audit log", "error", err.Error())
		writeProblem(w, r, http.StatusInternalServerError, "audit log unreadable", "the audit log could not be queried")
		return
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	body := map[string]any{"records": recs}
	if len(recs) == f.Limit {
		body["next"] = strconv.FormatUint(recs[len(recs)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, body)
}

// auditFilter parses the query parameters. since/until take RFC 3339 times or a duration back
// from now ("24h").
func auditFilter(tenant, typ, trace, since, until, after, limit string, now time.Time) (audit.Filter, error) {
	f := audit.Filter{TenantID: tenant, Type: audit.Type(typ), TraceID: trace, Limit: defaultAuditLimit}
	var err error
	if f.Since, err = parseTime("since", since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseTime("until", until, now); err != nil {
		return f, err
	}
	if after != "" {
		if f.AfterSeq, err = strconv.ParseUint(after, 10, 64); err != nil {
			return f, badParam("after", "want a record sequence number")
		}
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxAuditLimit {
			return f, badParam("limit", "want 1 to "+strconv.Itoa(maxAuditLimit))
		}
		f.Limit = n
	}
	if trace != "" && !audit.ValidTraceID(trace) {
		return f, badParam("traceId", "want 32 lowercase hex digits")
	}
	return f, nil
}

func parseTime(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badParam(name, "want an RFC 3339 time or a duration such as 24h")
}

type paramError struct{ name, want string }

func (e paramError) Error() string { return e.name + ": " + e.want }

func badParam(name, want string) error { return paramError{name, want} }
