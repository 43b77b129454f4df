package probe

import (
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Edge is one query that reached another tenant: From's login role ran SQL in Database and the
// server answered Returned.
type Edge struct {
	From string         `json:"from"`
	To   string         `json:"to"`
	Kind graph.EdgeKind `json:"kind"`
	// Role is the login role the query ran as.
	Role     string `json:"role"`
	Database string `json:"database"`
	// SQL is the statements that succeeded, in order, each probe in its own
	// BEGIN READ ONLY … ROLLBACK with SET LOCAL statement_timeout.
	SQL      string `json:"sql"`
	Returned string `json:"returned"`
	// Note says what the success proves when the query alone does not.
	Note string `json:"note,omitempty"`
}

// Undecided is a probe that neither succeeded nor was refused (a timeout, a lost connection): no
// proof either way.
type Undecided struct {
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	Database string `json:"database"`
	SQL      string `json:"sql"`
	Error    string `json:"error"`
}

// Failure is a tenant the run could not probe: its credentials are missing or unusable, or it
// cannot log in to its own database.
type Failure struct {
	Tenant string `json:"tenant"`
	// Stage is credentials, connect or catalog.
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// TenantReport is what one probing tenant did.
type TenantReport struct {
	Tenant string `json:"tenant"`
	Role   string `json:"role,omitempty"`
	// Server is where it logged in (no password).
	Server string `json:"server,omitempty"`
	// Databases are the databases it could connect to.
	Databases []string `json:"databases,omitempty"`
	// Queries is how many probes it ran.
	Queries int  `json:"queries"`
	Edges   int  `json:"edges"`
	Failed  bool `json:"failed,omitempty"`
}

// Result is a run's outcome.
type Result struct {
	Environment string         `json:"environment"`
	Tenants     []TenantReport `json:"tenants"`
	Edges       []Edge         `json:"edges"`
	Undecided   []Undecided    `json:"undecided,omitempty"`
	Failures    []Failure      `json:"failures,omitempty"`
}

// Clean says the run proved every probing tenant isolated: no edge, nothing undecided, no failure.
func (r *Result) Clean() bool {
	return len(r.Edges) == 0 && len(r.Undecided) == 0 && len(r.Failures) == 0
}
