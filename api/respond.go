package api

import (
	"encoding/json"
	"net/http"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"title":"internal error","detail":"response not encodable"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// problem is an RFC 9457 problem detail with the trace id.
type problem struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Status  int    `json:"status"`
	Detail  string `json:"detail,omitempty"`
	TraceID string `json:"traceId"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	writeProblemWith(w, r, status, title, detail, nil)
}

// writeProblemWith adds extension members (reason, runningJob, errors).
func writeProblemWith(w http.ResponseWriter, r *http.Request, status int, title, detail string, ext map[string]any) {
	body := map[string]any{}
	p := problem{Type: "about:blank", Title: title, Status: status, Detail: detail, TraceID: traceIDOf(r.Context())}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &body)
	for k, v := range ext {
		body[k] = v
	}
	out, err := json.Marshal(body)
	if err != nil {
		out = b
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(out, '\n'))
}
