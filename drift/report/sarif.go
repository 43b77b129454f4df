package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// SARIF 2.1.0 constants. The schema URI is the OASIS one code-scanning tools recognise; nothing is
// fetched from it.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// FingerprintKey names the stable finding fingerprint in a result's partialFingerprints.
	FingerprintKey = "tenantctlDriftFingerprint/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool                     sarifTool         `json:"tool"`
	Invocations              []sarifInvocation `json:"invocations"`
	VersionControlProvenance []sarifVCS        `json:"versionControlProvenance,omitempty"`
	AutomationDetails        *sarifAutomation  `json:"automationDetails,omitempty"`
	Results                  []sarifResult     `json:"results"`
	Properties               map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	Precision        string   `json:"precision"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ExitCode                   *int                `json:"exitCode,omitempty"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string            `json:"level"`
	Message    sarifText         `json:"message"`
	Properties map[string]string `json:"properties,omitempty"`
}

type sarifVCS struct {
	RepositoryURI string         `json:"repositoryUri"`
	RevisionID    string         `json:"revisionId"`
	Properties    map[string]any `json:"properties,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

// SARIFLevel maps a severity to a SARIF level: critical and high are errors, medium a warning,
// low and info notes.
func SARIFLevel(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical, finding.SeverityHigh:
		return "error"
	case finding.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score GitHub code scanning ranks security results by.
func securitySeverity(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical:
		return "9.5"
	case finding.SeverityHigh:
		return "8.0"
	case finding.SeverityMedium:
		return "5.5"
	case finding.SeverityLow:
		return "2.0"
	}
	return "0.0"
}

// SARIF writes the report as a SARIF 2.1.0 log with one run: one rule per finding kind, one result
// per finding with its stable fingerprint, the desired-state commit as version control
// provenance, and unreachable APIs as failed-invocation notifications. The invocation states the
// exit code when WithExitCodes gives one.
func SARIF(w io.Writer, r *Report, opts ...RenderOption) error {
	v := r.finalized()
	rules, index := sarifRules(v.Findings)
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: v.Tool.Name, Version: v.Tool.Version, Rules: rules}},
		Invocations: []sarifInvocation{sarifInvocationOf(v, renderConfig(opts))},
		Results:     make([]sarifResult, 0, len(v.Findings)),
		Properties: map[string]any{
			"commit": v.Commit, "dirty": v.Dirty, "schemaVersion": v.SchemaVersion,
			"environments": v.Environments, "summary": v.Summary,
		},
	}
	if v.Shard != nil {
		run.Properties["shard"] = v.Shard.String()
	}
	if v.Repository != "" {
		run.VersionControlProvenance = []sarifVCS{{RepositoryURI: v.Repository, RevisionID: v.Commit,
			Properties: map[string]any{"dirty": v.Dirty}}}
	}
	if len(v.Environments) > 0 {
		run.AutomationDetails = &sarifAutomation{ID: "tenantctl-drift/" + strings.Join(v.Environments, "+") + "/"}
	}
	for _, f := range v.Findings {
		run.Results = append(run.Results, sarifResultOf(f, index[f.Kind]))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("write SARIF report: %w", err)
	}
	return nil
}

// sarifRules declares every known kind (so rule indexes are stable across runs) plus any unknown
// kind a newer detector produced.
func sarifRules(fs []finding.Finding) ([]sarifRule, map[finding.Kind]int) {
	kinds := finding.Kinds()
	for _, f := range fs {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	index := map[finding.Kind]int{}
	rules := make([]sarifRule, len(kinds))
	for i, k := range kinds {
		info := k.Info()
		index[k] = i
		rules[i] = sarifRule{
			ID:                   string(k),
			Name:                 ruleName(k),
			ShortDescription:     sarifText{info.Title},
			FullDescription:      sarifText{info.Description},
			Help:                 sarifText{fmt.Sprintf("%s Default remediation: %s.", info.Fix, info.Remediation)},
			DefaultConfiguration: sarifRuleConfig{Level: SARIFLevel(info.Severity)},
			Properties: sarifRuleProps{Tags: []string{"security", "drift", "tenant-isolation"}, Precision: "high",
				SecuritySeverity: securitySeverity(info.Severity)},
		}
	}
	return rules, index
}

// ruleName is the kind in PascalCase ("cross-tenant-route" → "CrossTenantRoute"), SARIF's
// convention for rule names.
func ruleName(k finding.Kind) string {
	var b strings.Builder
	for part := range strings.SplitSeq(string(k), "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func sarifInvocationOf(r *Report, o renderOptions) sarifInvocation {
	inv := sarifInvocation{ExecutionSuccessful: len(r.Errors) == 0}
	if code, ok := o.exitCodeOf(r); ok {
		inv.ExitCode = &code
	}
	for _, e := range r.Errors {
		props := map[string]string{"api": e.API}
		if e.Environment != "" {
			props["environment"] = e.Environment
		}
		if e.TenantID != "" {
			props["tenantId"] = e.TenantID
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{errorText(e)}, Properties: props})
	}
	return inv
}

func errorText(e Error) string {
	scope := TenantRef{e.Environment, e.TenantID}.String()
	if e.TenantID == "" {
		scope = "all tenants"
		if e.Environment != "" {
			scope += " of " + e.Environment
		}
	}
	return fmt.Sprintf("%s could not be checked: %s: %s", scope, e.API, e.Message)
}

func sarifResultOf(f finding.Finding, ruleIndex int) sarifResult {
	loc := sarifLocation{LogicalLocations: []sarifLogical{{
		Name:               f.Resource.Name,
		FullyQualifiedName: logicalName(f.Resource),
		Kind:               "resource",
	}}}
	if f.Location.File != "" {
		loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(f.Location.File)}}
		if f.Location.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Location.Line}
		}
	}
	props := map[string]any{
		"severity": f.Severity, "tenantId": f.TenantID, "resourceType": f.Resource.Type,
		"provider": f.Resource.Provider, "remediation": f.Remediation,
		"security-severity": securitySeverity(f.Severity),
	}
	for k, val := range map[string]string{"environment": f.Environment, "stack": f.Stack, "field": f.Field,
		"manager": f.Manager, "peerTenant": f.PeerTenant, "detector": string(f.Detector), "urn": f.Resource.URN} {
		if val != "" {
			props[k] = val
		}
	}
	if len(f.Desired) > 0 {
		props["desired"] = f.Desired
	}
	if len(f.Live) > 0 {
		props["live"] = f.Live
	}
	if len(f.Evidence) > 0 {
		props["evidence"] = f.Evidence
	}
	return sarifResult{
		RuleID:              string(f.Kind),
		RuleIndex:           ruleIndex,
		Level:               SARIFLevel(f.Severity),
		Message:             sarifText{resultText(f)},
		Locations:           []sarifLocation{loc},
		PartialFingerprints: map[string]string{FingerprintKey: f.Fingerprint()},
		Properties:          props,
	}
}

// resultText is the message code-scanning UIs show: the detector's message plus what and where.
func resultText(f finding.Finding) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(f.Message, "."))
	fmt.Fprintf(&b, ". Tenant %s", TenantRef{f.Environment, f.TenantID})
	if f.PeerTenant != "" {
		fmt.Fprintf(&b, " reaches tenant %s", f.PeerTenant)
	}
	fmt.Fprintf(&b, "; resource %s", f.Resource.Ref())
	if f.Field != "" {
		fmt.Fprintf(&b, ", field %s", f.Field)
	}
	if f.Manager != "" {
		fmt.Fprintf(&b, ", owned by field manager %s", f.Manager)
	}
	fmt.Fprintf(&b, "; remediation: %s.", f.Remediation)
	return b.String()
}

func logicalName(r finding.Resource) string {
	switch {
	case r.ID != "":
		return string(r.Provider) + ":" + r.Type + ":" + r.ID
	case r.URN != "":
		return r.URN
	}
	return string(r.Provider) + ":" + r.Ref()
}

// fileURI makes a SARIF artifact URI: relative paths stay relative (to the repository root, as
// code scanning expects), absolute ones become file:// URIs.
func fileURI(p string) string {
	slashed := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // Windows drive letter
		}
		return (&url.URL{Scheme: "file", Path: slashed}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(slashed, "./")}).String()
}
