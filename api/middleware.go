package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/audit"
)

// request is what the middleware learned about a request, handed to route handlers.
type request struct {
	principal auth.Principal
	traceID   string
}

// logger is the request's logger: every line carries the trace id.
func (s *Server) logger(req *request) *slog.Logger {
	return s.log.With("trace_id", req.traceID)
}

type ctxKey int

const (
	traceKey ctxKey = iota
	infoKey
)

// accessInfo is filled by handlers for the access log line.
type accessInfo struct {
	route     string
	principal string
	tenant    string
}

// withTrace accepts a W3C traceparent (an invalid one is ignored, as the spec says) or starts a
// new trace, and puts the trace id where the audit log and the access log find it.
func (s *Server) withTrace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceID := ""
		if h := r.Header.Get("traceparent"); h != "" {
			if tc, err := audit.ParseTraceparent(h); err == nil {
				traceID = tc.TraceID
			}
		}
		if traceID == "" {
			traceID = audit.NewTraceID()
		}
		w.Header().Set("traceresponse", "00-"+traceID+"-"+newSpanID()+"-01")
		ctx := audit.ContextWithTraceID(r.Context(), traceID)
		ctx = context.WithValue(ctx, traceKey, traceID)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func newSpanID() string {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if b != [8]byte{} {
			return hex.EncodeToString(b[:])
		}
	}
}

func traceIDOf(ctx context.Context) string {
	id, _ := ctx.Value(traceKey).(string)
	return id
}

// statusWriter records the status for the access log; Unwrap lets http.ResponseController reach
// the connection (flushes and deadlines for Server-Sent Events).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog writes one line per request: never the Authorization header or a body.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &accessInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey, info)))
		elapsed := time.Since(start)
		if s.metrics != nil {
			s.metrics.observe(info.route, r.Method, sw.status, elapsed)
		}
		attrs := []any{"trace_id", traceIDOf(r.Context()), "method", r.Method, "route", info.route,
			"status", sw.status, "duration_ms", elapsed.Milliseconds()}
		if info.principal != "" {
			attrs = append(attrs, "principal", info.principal)
		}
		if info.tenant != "" {
			attrs = append(attrs, "tenant", info.tenant)
		}
		s.log.Info("http request", attrs...)
	})
}

func noteAccess(r *http.Request, principal, tenant string) {
	if info, ok := r.Context().Value(infoKey).(*accessInfo); ok {
		if principal != "" {
			info.principal = principal
		}
		if tenant != "" {
			info.tenant = tenant
		}
	}
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "trace_id", traceIDOf(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeProblem(w, r, http.StatusInternalServerError, "internal error", "the request failed; see the server log for this trace id")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// handle runs the checks every protected route shares, in the order the security design asks:
// authentication, then the tenant guard (the token's tenant_id must be the path's tenant unless
// the caller has the cross-tenant scope), then the route's scope.
func (s *Server) handle(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := &request{traceID: traceIDOf(r.Context())}
		if info, ok := r.Context().Value(infoKey).(*accessInfo); ok {
			info.route = rt.pattern
		}
		if !rt.public {
			tenant := r.PathValue("tenant")
			p, ok := s.authenticate(w, r, req, tenant)
			if !ok {
				return
			}
			req.principal = p
			noteAccess(r, p.Subject, tenant)
			if tenant != "" && !s.guardTenant(w, r, req, tenant) {
				return
			}
			if rt.scope != "" && !s.requireScope(w, r, req, tenant, rt.scope) {
				return
			}
		}
		rt.handler(w, r, req)
	}
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, req *request, tenant string) (auth.Principal, bool) {
	raw, err := auth.ParseBearer(r.Header.Get("Authorization"))
	if err == nil {
		var p auth.Principal
		if p, err = s.cfg.Verifier.Verify(r.Context(), raw); err == nil {
			return p, true
		}
	}
	f, ok := auth.AsFailure(err)
	if !ok {
		f = &auth.Failure{Reason: auth.ReasonMalformedToken, Detail: "token rejected"}
	}
	if f.Err != nil {
		s.logger(req).Warn("token verification could not complete", "reason", string(f.Reason), "error", f.Err.Error())
	}
	status := f.Status()
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="tenantctl", error="invalid_token", error_description=%q`, string(f.Reason)))
	}
	s.deny(w, r, req, denial{status: status, tenant: tenant, reason: string(f.Reason), detail: f.Detail})
	return auth.Principal{}, false
}

// guardTenant is the tenant guard for a target tenant.
func (s *Server) guardTenant(w http.ResponseWriter, r *http.Request, req *request, tenant string) bool {
	if req.principal.MayActOn(tenant) {
		return true
	}
	detail := fmt.Sprintf("the token's tenant %q may not act on tenant %q (platform operators need %s)", req.principal.TenantID, tenant, auth.ScopeTenantsCrossTenant)
	s.deny(w, r, req, denial{status: http.StatusForbidden, tenant: tenant, reason: "tenant_mismatch", detail: detail})
	return false
}

// requireScope checks one scope.
func (s *Server) requireScope(w http.ResponseWriter, r *http.Request, req *request, tenant, scope string) bool {
	if req.principal.Has(scope) {
		return true
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="tenantctl", error="insufficient_scope", scope=%q`, scope))
	s.deny(w, r, req, denial{status: http.StatusForbidden, tenant: tenant, reason: "missing_scope", detail: "the token lacks the scope " + scope, scope: scope})
	return false
}
