package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/connectsoft/tenantctl/api/jobs"
)

// heartbeat keeps idle event streams open through proxies.
var heartbeat = 15 * time.Second

// jobFor finds a job and applies the tenant guard and the read scope of its kind.
func (s *Server) jobFor(w http.ResponseWriter, r *http.Request, req *request) (*jobs.Job, bool) {
	// Another tenant's job is answered, and audited, exactly like a job that does not exist: a 403
	// would confirm the id and name its tenant, and so would a different audit record in the
	// caller's own audit view. Operators find the owner of a probed id by the job id.
	unknown := func() {
		id := r.PathValue("id")
		if len(id) > 64 {
			id = id[:64]
		}
		s.denials.record(r, req, denial{status: http.StatusNotFound, reason: "unknown_job",
			detail: "job requested that is unknown to the caller", extra: map[string]string{"jobId": id}})
		writeProblem(w, r, http.StatusNotFound, "unknown job", "no job "+r.PathValue("id")+" (finished jobs are kept for a bounded time)")
	}
	j, ok := s.jobs.Get(r.PathValue("id"))
	if !ok || !req.principal.MayActOn(j.TenantID) {
		unknown()
		return nil, false
	}
	noteAccess(r, "", j.TenantID)
	scopes := readScopes(j.Kind)
	for _, sc := range scopes {
		if req.principal.Has(sc) {
			return j, true
		}
	}
	s.requireScope(w, r, req, j.TenantID, scopes[0])
	return nil, false
}

// getJob is GET /v1/jobs/{id}.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request, req *request) {
	j, ok := s.jobFor(w, r, req)
	if !ok {
		return
	}
	s.writeScrubbed(w, http.StatusOK, j.View())
}

// jobEvents is GET /v1/jobs/{id}/events: Server-Sent Events. Each event has an id; a client that
// reconnects with Last-Event-ID resumes after it. The stream replays the job's events (status,
// progress, policy) and ends with a "result" event holding the finished job resource.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request, req *request) {
	j, ok := s.jobFor(w, r, req)
	if !ok {
		return
	}
	var last int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, r, http.StatusBadRequest, "bad request", "Last-Event-ID: want a non-negative integer")
			return
		}
		last = n
	}
	rc := http.NewResponseController(w)
	// The server's timeouts are for ordinary requests; a stream lasts as long as its job. The read
	// deadline is cleared as well, so a connection read timing out cannot end the stream.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		evs, changed, done := j.EventsSince(last)
		for _, e := range evs {
			// Event data is one line of JSON (encoding/json escapes newlines in strings).
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, s.scrub(string(e.Data))); err != nil {
				return
			}
			last = e.ID
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if done {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
