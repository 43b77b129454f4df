package api

import (
	"net/http"
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
	state, err := s.status.DesiredState(r.Context())
	if err != nil {
		s.stateProblem(w, r, req, err)
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
	state, err := s.status.DesiredState(r.Context())
	if err != nil {
		s.stateProblem(w, r, req, err)
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

// stateProblem answers when the desired state does not load.
func (s *Server) stateProblem(w http.ResponseWriter, r *http.Request, req *request, err error) {
	s.logger(req).Error("load desired state", "error", err.Error())
	if verrs, ok := isolation.AsValidationErrors(err); ok {
		writeProblemWith(w, r, http.StatusInternalServerError, "desired state invalid",
			"the server's desired state has validation errors; nothing runs until they are fixed", map[string]any{"errors": verrs})
		return
	}
	writeProblem(w, r, http.StatusInternalServerError, "desired state unavailable", "the desired state could not be loaded")
}
