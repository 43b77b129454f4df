// Package report collects drift findings and errors of one run into a versioned Report, states the
// run's status (clean, drifted, error; cmd/tenantctl turns it into the exit code), merges shard
// reports and renders text, JSON, SARIF 2.1.0, JUnit XML and GitHub workflow annotations.
package report

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/buildinfo"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// SchemaVersion names the JSON layout of Report. Additive changes keep it; anything else bumps it,
// and Decode refuses versions it does not know.
const SchemaVersion = "tenantctl.drift/v1"

// APIVersion and Kind are the report's envelope as a tenantctl JSON document.
const (
	APIVersion = "tenantctl.io/v1"
	Kind       = "DriftReport"
)

// Status is a tenant's outcome in one run, and the run's own (Report.Status).
type Status string

const (
	StatusClean   Status = "clean"
	StatusDrifted Status = "drifted"
	// StatusError: the tenant could not be checked completely (an API was unreachable); its
	// findings, if any, are still listed, but it is never counted as clean.
	StatusError Status = "error"
)

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Shard says which slice of the fleet a report covers: Index of Count, 1-based.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s Shard) validate() error {
	if s.Count < 1 || s.Index < 1 || s.Index > s.Count {
		return fmt.Errorf("shard %s: want I/N with 1 <= I <= N", s)
	}
	return nil
}

// ParseShard parses "I/N" as given to drift check --shard, in tenantplan.ParseShard's grammar and
// with its hash deciding the tenants of a shard. The platform shard 0/N is provisioning's: a drift
// check covers the platform in the shard of tenantplan.ShardOf(isolation.Platform, N).
func ParseShard(s string) (Shard, error) {
	sh, err := tenantplan.ParseShard(s) // already marked invalid
	if err != nil {
		return Shard{}, err
	}
	if sh.Platform() {
		return Shard{}, errkind.Mark(errkind.Invalid, fmt.Errorf("shard %q: want I/N with 1 <= I <= N, e.g. 2/4 (0/N, the platform shard, is for up, preview and destroy)", s))
	}
	return Shard{Index: sh.Index, Count: sh.Count}, nil
}

// TenantResult is one checked tenant. Status, Findings and Error are derived from the report's
// findings and errors whenever it is finalized; Ignored is recorded by ApplyIgnore.
type TenantResult struct {
	Environment string `json:"environment"`
	TenantID    string `json:"tenantId"`
	Status      Status `json:"status"`
	Error       string `json:"error,omitempty"`
	Findings    int    `json:"findings"`
	Ignored     int    `json:"ignored"`
}

// Error is a failure to check: an unreachable or failing API. An empty TenantID means every tenant
// of Environment; an empty Environment as well means every tenant of the run.
type Error struct {
	Environment string `json:"environment,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	// API names what failed: "kubernetes", "azure", "pulumi", "merge".
	API     string `json:"api"`
	Message string `json:"message"`
}

// covers reports whether e makes tenant t unverifiable.
func (e Error) covers(t TenantResult) bool {
	return (e.Environment == "" || e.Environment == t.Environment) && (e.TenantID == "" || e.TenantID == t.TenantID)
}

// Summary counts the report; it is derived, never trusted from input.
type Summary struct {
	Tenants    int                      `json:"tenants"`
	Clean      int                      `json:"clean"`
	Drifted    int                      `json:"drifted"`
	Errored    int                      `json:"errored"`
	Findings   int                      `json:"findings"`
	Ignored    int                      `json:"ignored"`
	Errors     int                      `json:"errors"`
	ByKind     map[finding.Kind]int     `json:"byKind"`
	BySeverity map[finding.Severity]int `json:"bySeverity"`
}

// Report is the result of one drift run (or of merged shard runs).
type Report struct {
	// APIVersion and Kind are the envelope every tenantctl JSON document carries
	// (docs/cli-contract.md); SchemaVersion stays the version of the report's own layout. Both
	// are set whenever the report is rendered.
	APIVersion    string    `json:"apiVersion"`
	Kind          string    `json:"kind"`
	SchemaVersion string    `json:"schemaVersion"`
	Tool          Tool      `json:"tool"`
	GeneratedAt   time.Time `json:"generatedAt"`
	// Commit is the desired-state commit the run compared against; Dirty means the working tree
	// had uncommitted changes, so the commit alone does not describe the desired state.
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
	// Repository is the desired-state repository URL, when known (SARIF versionControlProvenance).
	Repository   string   `json:"repository,omitempty"`
	Environments []string `json:"environments"`
	Shard        *Shard   `json:"shard,omitempty"`
	// Merged lists the shards a merged report was built from.
	Merged   []Shard           `json:"merged,omitempty"`
	Tenants  []TenantResult    `json:"tenants"`
	Findings []finding.Finding `json:"findings"`
	Errors   []Error           `json:"errors"`
	// Ignored is how many findings ignore rules removed.
	Ignored int          `json:"ignored"`
	Summary Summary      `json:"summary"`
	Fleet   []FleetGroup `json:"fleet,omitempty"`

	// tenantIndex maps tenants to their position in Tenants so adding findings for a fleet of
	// thousands of tenants stays linear; tenant() verifies every hit and re-indexes when stale.
	tenantIndex map[TenantRef]int
}

// Option configures New.
type Option func(*Report)

// WithDirty marks the desired state as having uncommitted changes.
func WithDirty(dirty bool) Option { return func(r *Report) { r.Dirty = dirty } }

// WithRepository records the desired-state repository URL.
func WithRepository(url string) Option { return func(r *Report) { r.Repository = url } }

// WithEnvironments records environments checked even if they have no tenants.
func WithEnvironments(envs ...string) Option {
	return func(r *Report) { r.Environments = append(r.Environments, envs...) }
}

// WithShard records that the run covered shard index of count (1-based).
func WithShard(index, count int) Option {
	return func(r *Report) { r.Shard = &Shard{Index: index, Count: count} }
}

// WithGeneratedAt sets the report time (tests, reproducible output).
func WithGeneratedAt(t time.Time) Option { return func(r *Report) { r.GeneratedAt = t } }

// WithToolVersion overrides the version read from the binary's build info.
func WithToolVersion(v string) Option { return func(r *Report) { r.Tool.Version = v } }

// New starts a report for a run against the desired state at commit.
func New(commit string, opts ...Option) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "tenantctl", Version: buildVersion()},
		GeneratedAt:   time.Now().UTC(),
		Commit:        commit,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func buildVersion() string { return buildinfo.Get().Version }

// AddTenant records that a tenant was checked. Adding it twice is harmless.
func (r *Report) AddTenant(env, tenantID string) {
	if r.tenant(env, tenantID) == nil {
		if r.tenantIndex == nil {
			r.tenantIndex = map[TenantRef]int{}
		}
		r.tenantIndex[TenantRef{env, tenantID}] = len(r.Tenants)
		r.Tenants = append(r.Tenants, TenantResult{Environment: env, TenantID: tenantID})
	}
}

func (r *Report) tenant(env, tenantID string) *TenantResult {
	ref := TenantRef{env, tenantID}
	valid := func(i int) bool {
		return i < len(r.Tenants) && r.Tenants[i].Environment == env && r.Tenants[i].TenantID == tenantID
	}
	i, ok := r.tenantIndex[ref]
	if ok && valid(i) {
		return &r.Tenants[i]
	}
	if ok || len(r.tenantIndex) != len(r.Tenants) {
		// Tenants changed behind the index (sorted, decoded, edited): rebuild it.
		r.tenantIndex = make(map[TenantRef]int, len(r.Tenants))
		for j, t := range r.Tenants {
			if _, dup := r.tenantIndex[TenantRef{t.Environment, t.TenantID}]; !dup {
				r.tenantIndex[TenantRef{t.Environment, t.TenantID}] = j
			}
		}
		if i, ok := r.tenantIndex[ref]; ok {
			return &r.Tenants[i]
		}
	}
	return nil
}

// Add records findings, normalized and redacted; their tenants count as checked.
func (r *Report) Add(fs ...finding.Finding) {
	for _, f := range fs {
		f = f.Normalize().Redacted()
		if f.TenantID != "" {
			r.AddTenant(f.Environment, f.TenantID)
		}
		r.Findings = append(r.Findings, f)
	}
}

// AddError records a failure to check. It makes the run exit 1 whatever else was found.
func (r *Report) AddError(e Error) {
	if e.TenantID != "" {
		r.AddTenant(e.Environment, e.TenantID)
	}
	r.Errors = append(r.Errors, e)
}

// Fail records err as the failure of api for a tenant ("" for the whole environment).
func (r *Report) Fail(env, tenantID, api string, err error) {
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	r.AddError(Error{Environment: env, TenantID: tenantID, API: api, Message: msg})
}

// Filter decides which findings are ignored; *ignore.Rules implements it.
type Filter interface {
	Apply([]finding.Finding) (kept, ignored []finding.Finding)
}

// ApplyIgnore removes the findings f ignores and records how many, per tenant and in total. It
// returns the ignored findings so a caller can list them (e.g. with --show-ignored).
func (r *Report) ApplyIgnore(f Filter) []finding.Finding {
	if f == nil {
		return nil
	}
	kept, ignored := f.Apply(r.Findings)
	r.Findings = kept
	r.Ignored += len(ignored)
	for _, ig := range ignored {
		if t := r.tenant(ig.Environment, ig.TenantID); t != nil {
			t.Ignored++
		}
	}
	return ignored
}

// Status is the outcome of the whole run (the CLI's exit code is chosen from it):
//
//	error    any error: an API that could not be reached means the run cannot vouch for
//	         anything, so errors win over findings;
//	drifted  otherwise, any finding left after ignore rules;
//	clean    otherwise.
//
// Invalid input never has a report: it is an error (errkind.Invalid) returned before one exists.
func (r *Report) Status() Status {
	if len(r.Errors) > 0 || slices.ContainsFunc(r.Tenants, func(t TenantResult) bool { return t.Status == StatusError }) {
		return StatusError
	}
	if len(r.Findings) > 0 {
		return StatusDrifted
	}
	return StatusClean
}

// Validate reports what makes r unusable as input (a report file given to merge).
func (r *Report) Validate() error {
	var errs []error
	if r.SchemaVersion != SchemaVersion {
		errs = append(errs, fmt.Errorf("schema version %q, this tenantctl reads %q", r.SchemaVersion, SchemaVersion))
	}
	if r.Commit == "" {
		errs = append(errs, errors.New("no desired-state commit"))
	}
	if r.Shard != nil {
		if err := r.Shard.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, t := range r.Tenants {
		if t.TenantID == "" {
			errs = append(errs, fmt.Errorf("tenant %d has no id", i))
		}
	}
	for _, f := range r.Findings {
		if err := f.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, e := range r.Errors {
		if e.Message == "" {
			errs = append(errs, fmt.Errorf("error %d has no message", i))
		}
	}
	return errors.Join(errs...)
}
