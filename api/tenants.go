package api

import (
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// tenantRef is one binding in GET /v1/tenants.
type tenantRef struct {
	TenantID    string         `json:"tenantId"`
	Environment string         `json:"environment"`
	Tier        isolation.Tier `json:"tier"`
	Stack       string         `json:"stack"`
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, req *request) {
	state, ok := s.stateFor(w, r, req, req.principal.TenantID)
	if !ok {
		return
	}
	out := []tenantRef{}
	for _, b := range state.Bindings {
		if !req.principal.MayActOn(b.Spec.TenantID) {
			continue
		}
		out = append(out, tenantRef{TenantID: b.Spec.TenantID, Environment: b.Spec.Environment, Tier: b.Spec.Tier,
			Stack: tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"commit": state.Commit, "dirty": state.Dirty, "tenants": out})
}

// stackStatus is one binding's stack in GET /v1/tenants/{tenant}.
type stackStatus struct {
	Environment      string         `json:"environment"`
	Tier             isolation.Tier `json:"tier"`
	Production       bool           `json:"production"`
	Stack            string         `json:"stack"`
	Exists           bool           `json:"exists"`
	LastUpdate       string         `json:"lastUpdate,omitempty"`
	ResourceCount    *int           `json:"resourceCount,omitempty"`
	UpdateInProgress bool           `json:"updateInProgress"`
	Locks            []lockView     `json:"locks"`
	ActiveJob        string         `json:"activeJob,omitempty"`
}

// lockView is a lock held by another process (without the server's file paths).
type lockView struct {
	Pid      int       `json:"pid"`
	Username string    `json:"username"`
	Hostname string    `json:"hostname"`
	Since    time.Time `json:"since"`
	Stale    bool      `json:"stale"`
}

func (s *Server) tenantStatus(w http.ResponseWriter, r *http.Request, req *request) {
	tenant := r.PathValue("tenant")
	state, ok := s.stateFor(w, r, req, tenant)
	if !ok {
		return
	}
	var bindings []*isolation.RuntimeTenantBinding
	for _, b := range state.Bindings {
		if b.Spec.TenantID == tenant {
			bindings = append(bindings, b)
		}
	}
	if len(bindings) == 0 {
		writeProblem(w, r, http.StatusNotFound, "unknown tenant", "no binding for tenant "+tenant+" in the desired state")
		return
	}
	summaries, err := s.status.Stacks(r.Context())
	if err != nil {
		s.logger(req).Error("list stacks", "error", err.Error())
		writeProblem(w, r, http.StatusBadGateway, "state backend unavailable", "the stacks could not be listed")
		return
	}
	byName := make(map[string]StackSummary, len(summaries))
	for _, ss := range summaries {
		byName[ss.Name] = ss
	}
	rows := make([]stackStatus, 0, len(bindings))
	for _, b := range bindings {
		name := tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment)
		row := stackStatus{Environment: b.Spec.Environment, Tier: b.Spec.Tier, Stack: name, Locks: []lockView{}}
		if env := state.Environment(b.Spec.Environment); env != nil {
			row.Production = env.Spec.Production
		}
		if ss, ok := byName[name]; ok {
			row.Exists, row.LastUpdate, row.ResourceCount, row.UpdateInProgress = true, ss.LastUpdate, ss.ResourceCount, ss.UpdateInProgress
		}
		locks, err := s.cfg.Backend.Locks(name)
		if err != nil {
			s.logger(req).Error("read locks", "stack", name, "error", err.Error())
			writeProblem(w, r, http.StatusBadGateway, "state backend unavailable", "the locks of "+name+" could not be read")
			return
		}
		for _, l := range locks {
			row.Locks = append(row.Locks, lockView{Pid: l.Pid, Username: l.Username, Hostname: l.Hostname, Since: l.Time, Stale: l.Stale})
		}
		if id, ok := s.jobs.ActiveOn(name); ok {
			row.ActiveJob = id
		}
		rows = append(rows, row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenantId": tenant, "commit": state.Commit, "dirty": state.Dirty, "stacks": rows})
}

// stateFor is the desired state as the caller may see it. Validation errors in other tenants'
// bindings do not concern a tenant-bound caller: it gets the state with its own bindings and the
// environments, and only errors in those files (its binding, its environment) stop it, without
// their details. Operators get every error.
func (s *Server) stateFor(w http.ResponseWriter, r *http.Request, req *request, tenant string) (*isolation.DesiredState, bool) {
	state, err := s.status.DesiredState(r.Context())
	if err == nil {
		return state, true
	}
	verrs, invalid := isolation.AsValidationErrors(err)
	if !invalid || state == nil || req.principal.CrossTenant() {
		s.stateProblem(w, r, req, err)
		return nil, false
	}
	mine := map[string]bool{}
	for _, e := range state.Environments {
		mine[filepath.Clean(e.Source.File)] = true
	}
	for _, b := range state.Bindings {
		if b.Spec.TenantID == tenant {
			mine[filepath.Clean(b.Source.File)] = true
		}
	}
	for _, e := range verrs {
		if mine[filepath.Clean(e.File)] {
			s.logger(req).Error("load desired state", "error", err.Error())
			writeProblem(w, r, http.StatusInternalServerError, "desired state invalid",
				"the binding of tenant "+tenant+" or its environment has validation errors; check it with POST /v1/bindings:validate")
			return nil, false
		}
	}
	return state, true
}

// stateProblem answers when the desired state does not load: operators get the validation errors
// with paths relative to the desired-state folder.
func (s *Server) stateProblem(w http.ResponseWriter, r *http.Request, req *request, err error) {
	s.logger(req).Error("load desired state", "error", err.Error())
	if verrs, ok := isolation.AsValidationErrors(err); ok {
		if !req.principal.CrossTenant() {
			writeProblem(w, r, http.StatusInternalServerError, "desired state invalid",
				"the server's desired state has validation errors; nothing runs until they are fixed")
			return
		}
		dir := s.cfg.Backend.Dir()
		rel := make([]isolation.ValidationError, len(verrs))
		for i, e := range verrs {
			if p, err := filepath.Rel(dir, e.File); err == nil && !strings.HasPrefix(p, "..") {
				e.File = filepath.ToSlash(p)
			}
			e.Message = strings.ReplaceAll(e.Message, dir+string(filepath.Separator), "")
			rel[i] = e
		}
		writeProblemWith(w, r, http.StatusInternalServerError, "desired state invalid",
			"the server's desired state has validation errors; nothing runs until they are fixed", map[string]any{"errors": rel})
		return
	}
	writeProblem(w, r, http.StatusInternalServerError, "desired state unavailable", "the desired state could not be loaded")
}
