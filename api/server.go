// Package api is tenantctl's HTTP API (`tenantctl serve`): the engine's operations for DevOps
// services, with the CLI's semantics, as REST + JSON. Every route authenticates an OAuth2 / OIDC
// bearer token, applies the tenant guard and then the route's runtime.{resource}.{action} scope;
// operations run as asynchronous jobs with progress over Server-Sent Events; production mutations
// need an allowing policy decision; denials and decisions are audited with the request's trace id.
// See docs/api.md and the OpenAPI document served at /openapi.json.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/jobs"
	"github.com/connectsoft/tenantctl/api/policy"
	"github.com/connectsoft/tenantctl/audit"
)

// TokenVerifier authenticates bearer tokens (*auth.Verifier).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Principal, error)
}

// Config wires a Server.
type Config struct {
	Verifier TokenVerifier
	Backend  Backend
	// Drift runs drift checks and remediation; nil answers those routes with 501.
	Drift DriftRunner
	// Secrets rotates secret references; nil answers the rotation route with 501.
	Secrets SecretsRotator
	Policy  *policy.Evaluator
	Auditor *audit.Auditor
	Logger  *slog.Logger
	Jobs    jobs.Options
	// StatusCacheTTL is how long stack listings and the desired state are reused by the status
	// routes (default 2s), so bursts of status calls do not each start the Pulumi CLI.
	StatusCacheTTL time.Duration
	// DenialAuditRate bounds authz.denied records per second for unauthenticated requests
	// (default 20, burst 100) so anonymous traffic cannot flood the audit log; suppressed
	// denials are counted into the next record.
	DenialAuditRate float64
	// PrincipalDenialRate bounds authz.denied records per second for each authenticated principal
	// (default 1, burst PrincipalDenialBurst, default 10); the rest are counted and aggregated.
	PrincipalDenialRate  float64
	PrincipalDenialBurst int
}

// Server is the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	jobs    *jobs.Store
	status  *statusCache
	denials *denialAuditor
	metrics *serverMetrics
	mux     *http.ServeMux
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Verifier == nil:
		return nil, errors.New("api: a token verifier is required")
	case cfg.Backend == nil:
		return nil, errors.New("api: a backend is required")
	case cfg.Policy == nil:
		return nil, errors.New("api: a policy evaluator is required")
	case cfg.Auditor == nil:
		return nil, errors.New("api: an auditor is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StatusCacheTTL == 0 {
		cfg.StatusCacheTTL = 2 * time.Second
	}
	if cfg.DenialAuditRate == 0 {
		cfg.DenialAuditRate = 20
	}
	if cfg.PrincipalDenialRate == 0 {
		cfg.PrincipalDenialRate = 1
	}
	if cfg.PrincipalDenialBurst == 0 {
		cfg.PrincipalDenialBurst = 10
	}
	cfg.Logger = slog.New(redactingHandler{next: cfg.Logger.Handler(), scrub: scrubber(cfg.Auditor)})
	if cfg.Jobs.Scrub == nil {
		cfg.Jobs.Scrub = scrubber(cfg.Auditor)
	}
	store, err := jobs.Open(cfg.Jobs)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		jobs:    store,
		status:  newStatusCache(cfg.Backend, cfg.StatusCacheTTL),
		denials: newDenialAuditor(cfg.Auditor, cfg.DenialAuditRate, cfg.PrincipalDenialRate, cfg.PrincipalDenialBurst, cfg.Logger),
		metrics: newServerMetrics(store),
	}
	// Every denial is counted, also those the audit log's rate limit keeps out of the log.
	s.denials.counted = s.metrics.denied
	s.mux = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.withTrace(s.withAccessLog(s.withRecover(s.mux))) }

// FlushDenials writes the aggregate records of denials the rate limit kept out of the audit log
// (Drain does it too).
func (s *Server) FlushDenials(ctx context.Context) { s.denials.Flush(ctx) }

// Jobs is the server's job store.
func (s *Server) Jobs() *jobs.Store { return s.jobs }

// Drain stops accepting jobs and waits for the running ones until ctx is done, then cancels them
// and waits up to grace. Reads keep being served meanwhile; stop the HTTP server afterwards.
func (s *Server) Drain(ctx context.Context, grace time.Duration) error {
	s.log.Info("draining jobs")
	defer s.denials.Flush(context.WithoutCancel(ctx))
	if err := s.jobs.Drain(ctx, grace); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// route is one API route: its pattern, its handler and the scope it needs (documented in the
// OpenAPI file; routes with a scope that depends on the request check it themselves).
type route struct {
	pattern string
	scope   string
	public  bool
	handler func(http.ResponseWriter, *http.Request, *request)
}

func (s *Server) routeTable() []route {
	return []route{
		{pattern: "GET /healthz", public: true, handler: s.healthz},
		{pattern: "GET /readyz", public: true, handler: s.readyz},
		{pattern: "GET /openapi.json", public: true, handler: serveOpenAPI},
		// Public like /healthz: scrapers need no OIDC client, and the series name no tenant,
		// principal, job or raw path (see metrics.go and docs/api.md).
		{pattern: "GET /metrics", public: true, handler: s.serveMetrics},
		{pattern: "POST /v1/bindings:validate", scope: auth.ScopeBindingsRead, handler: s.validateBindings},
		{pattern: "GET /v1/tenants", scope: auth.ScopeTenantsRead, handler: s.listTenants},
		{pattern: "GET /v1/tenants/{tenant}", scope: auth.ScopeTenantsRead, handler: s.tenantStatus},
		{pattern: "POST /v1/tenants/{tenant}/operations", handler: s.submitOperation},
		{pattern: "POST /v1/tenants/{tenant}/drift:check", scope: auth.ScopeDriftRead, handler: s.submitDriftCheck},
		{pattern: "POST /v1/tenants/{tenant}/drift:remediate", scope: auth.ScopeDriftRemediate, handler: s.submitRemediation},
		{pattern: "POST /v1/tenants/{tenant}/secrets:rotate", scope: auth.ScopeSecretsRotate, handler: s.submitRotation},
		{pattern: "GET /v1/jobs/{id}", handler: s.getJob},
		{pattern: "GET /v1/jobs/{id}/events", handler: s.jobEvents},
		{pattern: "GET /v1/audit", scope: auth.ScopeAuditRead, handler: s.queryAudit},
	}
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.HandleFunc(rt.pattern, s.handle(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow, route := allowedMethods(mux, r); len(allow) > 0 {
			// Counted under the path's route template, so a scraper or client hitting a known
			// path with the wrong method shows up where it belongs.
			if info, ok := r.Context().Value(infoKey).(*accessInfo); ok {
				info.route = route
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, r, http.StatusMethodNotAllowed, "method not allowed", r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
			return
		}
		writeProblem(w, r, http.StatusNotFound, "not found", "no route for "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// allowedMethods lists the methods a known path answers to, and the path's route template: the
// catch-all route takes every request the method patterns refuse, so without it a wrong method on
// a known path reads as 404.
func allowedMethods(mux *http.ServeMux, r *http.Request) ([]string, string) {
	var out []string
	route := ""
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			out = append(out, m)
			if _, path, ok := strings.Cut(pattern, " "); ok {
				route = path
			}
		}
	}
	return out, route
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz fails while draining so load balancers stop sending new work.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *request) {
	if s.jobs.Draining() {
		writeProblem(w, r, http.StatusServiceUnavailable, "draining", "the server is shutting down")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
