package main

import (
	"slices"
	"sort"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/render"
)

// Shell completion beyond command and flag names (cobra's `completion` command writes the
// scripts; they call the hidden `__complete` command, which runs the functions registered here):
// -o/--output offers the formats of the command at hand, --env the environments and --tenant the
// tenants of the desired state (-d, TENANTCTL_DIR or the config file).

// outputFormats are the values -o/--output takes, by command path, first the default. It must
// list what each command's RunE accepts (outputFormat, report.ParseFormat, ...);
// TestOutputCompletionMatchesCommands checks the paths against the tree and, for the commands
// that check -o before doing anything, the formats against their error for a bad -o. Commands not
// listed write no format of their own: -o completes nothing there.
var outputFormats = map[string][]string{
	"tenantctl audit head":       {"text", "json"},
	"tenantctl audit query":      {"text", "json"},
	"tenantctl audit verify":     {"text", "json"},
	"tenantctl destroy":          {"text", "json"},
	"tenantctl drift baseline":   {"text", "json"},
	"tenantctl drift check":      reportFormats(),
	"tenantctl drift merge":      reportFormats(),
	"tenantctl drift remediate":  {"text", "json"},
	"tenantctl inventory export": {"json", "yaml"},
	"tenantctl isolation graph":  {"html", "svg", "dot"},
	"tenantctl isolation probe":  {"text", "json"},
	"tenantctl isolation verify": {"text", "json"},
	"tenantctl list":             {"text", "json"},
	"tenantctl outputs":          {"text", "json"},
	"tenantctl preview":          {"text", "json"},
	"tenantctl refresh":          {"text", "json"},
	"tenantctl schema":           {"json"},
	"tenantctl secrets rotate":   {"text", "json"},
	"tenantctl secrets status":   {"text", "json"},
	"tenantctl secrets watch":    {"text", "json"},
	"tenantctl status":           {"text", "json"},
	"tenantctl tiers":            {"text", "json"},
	"tenantctl up":               {"text", "json"},
	"tenantctl validate":         {"text", "json"},
	"tenantctl version":          {"text", "json"},
}

// formatHelp is what the shell shows beside each format (zsh, fish and PowerShell show it).
var formatHelp = map[string]string{
	"text":   "for people",
	"json":   "one JSON document (apiVersion tenantctl.io/v1)",
	"yaml":   "YAML",
	"sarif":  "SARIF 2.1.0 for code scanning",
	"junit":  "JUnit XML for test report viewers",
	"github": "GitHub Actions annotations",
	"html":   "self-contained interactive page",
	"svg":    "picture",
	"dot":    "Graphviz source",
}

func reportFormats() []string {
	out := make([]string, len(report.Formats))
	for i, f := range report.Formats {
		out[i] = string(f)
	}
	return out
}

// addCompletions registers the value completions on the whole tree. It runs after every command
// was added, so commands need not register them one by one: a new command with --env or
// --tenant completes them as soon as it exists.
func addCompletions(root *cobra.Command, g *globalOptions) {
	_ = root.RegisterFlagCompletionFunc("output", completeOutput)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// Registering twice is an error cobra returns; a command that registered its own
		// function keeps it.
		if c.LocalNonPersistentFlags().Lookup("env") != nil {
			_ = c.RegisterFlagCompletionFunc("env", completeEnvironments(g))
		}
		if c.LocalNonPersistentFlags().Lookup("tenant") != nil {
			_ = c.RegisterFlagCompletionFunc("tenant", completeTenants(g))
		}
		if c.LocalNonPersistentFlags().Lookup("view") != nil && c.CommandPath() == "tenantctl isolation graph" {
			var views []string
			for _, v := range render.Views {
				views = append(views, string(v))
			}
			_ = c.RegisterFlagCompletionFunc("view", cobra.FixedCompletions(views, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeOutput offers the formats of the command being completed.
func completeOutput(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, f := range outputFormats[cmd.CommandPath()] {
		if h := formatHelp[f]; h != "" {
			f += "\t" + h
		}
		out = append(out, f)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionState loads the desired state the command would use. Completion runs without the
// root's PersistentPreRunE, so TENANTCTL_* variables and the config file are applied here; a
// broken folder still offers what could be read (the bindings of a state with errors).
func completionState(cmd *cobra.Command, g *globalOptions) *isolation.DesiredState {
	cfg := ""
	if f := cmd.Flag("config"); f != nil {
		cfg = f.Value.String()
	}
	_ = g.load(cmd, cfg)
	s, err := isolation.Load(cmd.Context(), g.dir)
	if s == nil || err != nil && s.Bindings == nil && s.Environments == nil {
		return nil
	}
	return s
}

// completeEnvironments completes --env with the environments of the desired state, leaving out
// those already given (--env is repeatable).
func completeEnvironments(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		s := completionState(cmd, g)
		if s == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		given := flagValues(cmd.Flags(), "env")
		var names []string
		for name := range s.Environments {
			if !slices.Contains(given, name) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTenants completes --tenant with the tenant ids of the desired state: once each, sorted,
// only those bound in the environments --env names (when given), and not those already given.
func completeTenants(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		s := completionState(cmd, g)
		if s == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		envs, given := flagValues(cmd.Flags(), "env"), flagValues(cmd.Flags(), "tenant")
		var ids []string
		for _, b := range s.Bindings {
			id := b.Spec.TenantID
			if len(envs) > 0 && !slices.Contains(envs, b.Spec.Environment) || slices.Contains(given, id) || slices.Contains(ids, id) {
				continue
			}
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return ids, cobra.ShellCompDirectiveNoFileComp
	}
}

// flagValues is what a string or string-slice flag holds (nothing when the command lacks it).
func flagValues(fs *pflag.FlagSet, name string) []string {
	f := fs.Lookup(name)
	if f == nil || !f.Changed {
		return nil
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return []string{f.Value.String()}
}
