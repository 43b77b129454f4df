// Package archcheck holds the module's dependency rules as data, and its test checks every
// package's imports against them with `go list` (it runs in `make test`). Dependencies point one
// way, down the flow
//
//	bindings → plan → programs → engine → state/inventory → analysis → findings → reports →
//	drift operations → entrypoints
//
// and shared support packages sit below everything. A package may import its own layer and the
// layers below it, never one above. Tests may import upwards (an integration test drives the
// real engine), so only the imports of non-test files are checked.
package archcheck

// Module is the module path the rules are written against.
const Module = "github.com/connectsoft/tenantctl"

// Layer is one step of the flow and the package paths (relative to Module, "" for the module's
// root package) on it. A path stands for itself and every package below it; the longest path
// that matches a package decides its layer.
type Layer struct {
	Name     string
	Packages []string
}

// Layers lists the layers from the bottom up.
var Layers = []Layer{
	{"support", []string{"", "internal", "audit", "pgcatalog"}},
	{"bindings", []string{"isolation"}},
	{"plan", []string{"tenantplan"}},
	{"programs", []string{"stacks", "sdk"}},
	{"engine", []string{"automation"}},
	{"state/inventory", []string{"inventory", "secrets/keyvault"}},
	{"analysis", []string{"isolation/reach", "isolation/probe"}},
	{"findings", []string{"drift/finding", "drift/detect", "drift/ignore", "drift/secretversions", "drift/pgdrift"}},
	{"reports", []string{"drift/report"}},
	{"drift operations", []string{"drift/check", "drift/remediate", "drift/watch", "secrets/rotation"}},
	{"entrypoints", []string{"api", "cmd", "bench"}},
}

// Forbidden are imports a package may not have even transitively, whatever its layer: the plan
// and the analysis are Pulumi-free (the programs render the plan; reachability reads it), and
// only the azure programs compile the azure-native SDK, whose network package alone takes
// gigabytes of memory to build.
var Forbidden = []struct {
	Packages []string // as in Layer.Packages
	Imports  string   // an import path prefix
	Why      string
}{
	{[]string{"isolation", "tenantplan"}, "github.com/pulumi/", "the bindings and the plan are plain data that every reader shares"},
	{[]string{"pgcatalog"}, "github.com/pulumi/", "the drift fast path reads catalogs without Pulumi; the provider builds on it, not the other way"},
	{[]string{"isolation/reach", "isolation/probe"}, "github.com/pulumi/", "reachability and the probe read the plan, not the programs"},
	{[]string{"internal", "audit", "isolation", "tenantplan", "stacks/kubernetes", "inventory", "drift/finding", "drift/detect", "drift/ignore", "drift/report"},
		"github.com/pulumi/pulumi-azure-native-sdk", "only what runs the azure programs (the fleet and above) builds the azure-native SDK"},
}

// Restricted are module packages only some packages may import (directly, in non-test files),
// whatever their layers.
var Restricted = []struct {
	Package string   // as in Layer.Packages
	Only    []string // the packages that may import it, as in Layer.Packages
	Why     string
}{
	{"internal/exitcode", []string{"cmd"}, "exit codes are the CLI's contract and decided in cmd/ only (cmd/tenantctl/exitcodes.go): " +
		"a library returns an internal/errkind kind or an outcome in its own terms"},
}
