package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

func init() { register(newValidateCmd) }

func newValidateCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Validate the desired state (environments and tenant bindings) without touching anything",
		Long: `Validate loads every environment and RuntimeTenantBinding below DIR (default: --dir) and
reports every problem in one pass as "file:line: field: message".

Exit codes: 0 valid, 3 invalid input (including a folder that does not exist or is not a directory), 1 a folder
that exists but could not be read (permissions, I/O).`,
		Args: invalidArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := opts.dir
			if len(args) == 1 {
				dir = args[0]
			}
			if opts.output != "text" && opts.output != "json" {
				return exitcode.With(exitcode.Invalid, fmt.Errorf("validate: unsupported output %q (want text or json)", opts.output))
			}
			return runValidate(cmd, dir, opts.output)
		},
	}
}

// validateReport is the JSON form of a validation run; valid is false whenever errors is
// non-empty. Commit and dirty say which desired state was checked.
type validateReport struct {
	Valid        bool                        `json:"valid"`
	Dir          string                      `json:"dir"`
	Commit       string                      `json:"commit"`
	Dirty        bool                        `json:"dirty"`
	GitRoot      string                      `json:"gitRoot,omitempty"`
	Environments int                         `json:"environments"`
	Bindings     int                         `json:"bindings"`
	Errors       []isolation.ValidationError `json:"errors"`
}

func runValidate(cmd *cobra.Command, dir, output string) error {
	state, err := isolation.Load(cmd.Context(), dir)
	verrs, invalid := isolation.AsValidationErrors(err)
	if err != nil && !invalid {
		if exitCodeOf(err) != exitcode.Invalid || output != "json" {
			return err
		}
		// The folder itself is unusable (missing, not a directory): still answer in JSON.
		verrs = isolation.ValidationErrors{{Source: isolation.Source{File: dir}, Message: err.Error()}}
	}
	r := validateReport{Valid: len(verrs) == 0, Dir: dir, Errors: verrs}
	if r.Errors == nil {
		r.Errors = []isolation.ValidationError{}
	}
	if state != nil {
		r.Commit, r.Dirty, r.GitRoot = state.Commit, state.Dirty, state.GitRoot
		r.Environments, r.Bindings = len(state.Environments), len(state.Bindings)
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		if err := writeDocument(out, kindValidation, r); err != nil {
			return fmt.Errorf("validate: write report: %w", err)
		}
	} else if err := writeValidateText(out, r, state); err != nil {
		return fmt.Errorf("validate: write report: %w", err)
	}
	if !r.Valid {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("desired state in %s is invalid: %d error(s)", dir, len(r.Errors)))
	}
	return nil
}

func writeValidateText(w io.Writer, r validateReport, state *isolation.DesiredState) error {
	for _, e := range r.Errors {
		if _, err := fmt.Fprintln(w, e.Error()); err != nil {
			return err
		}
	}
	revision := "not a git work tree"
	if state != nil {
		revision = state.Revision()
	}
	var err error
	if r.Valid {
		_, err = fmt.Fprintf(w, "%s: valid: %d environment(s), %d binding(s) (revision %s)\n", r.Dir, r.Environments, r.Bindings, revision)
	} else {
		_, err = fmt.Fprintf(w, "%s: invalid: %d error(s) (revision %s)\n", r.Dir, len(r.Errors), revision)
	}
	return err
}

// invalidArgs makes a cobra argument check fail with exit code Invalid: a wrong command line is
// invalid input, not a failed operation.
func invalidArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return exitcode.With(exitcode.Invalid, check(cmd, args))
	}
}
