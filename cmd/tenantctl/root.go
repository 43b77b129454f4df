package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/connectsoft/tenantctl/internal/buildinfo"
	"github.com/connectsoft/tenantctl/internal/exitcode"
)

// globalOptions are the flags every command shares. Precedence: flags > TENANTCTL_* env > config
// file (viper binds all three).
type globalOptions struct {
	dir    string // desired-state folder
	output string // text | json (| sarif | junit | github for drift)
	v      *viper.Viper
}

func newRootCmd() *cobra.Command {
	opts := &globalOptions{v: viper.New()}
	var cfgFile string
	root := &cobra.Command{
		Use:           "tenantctl",
		Short:         "Provision tenants from Git with Pulumi and keep them isolated",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return opts.load(cmd, cfgFile)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&cfgFile, "config", "", "config file (default $XDG_CONFIG_HOME/tenantctl/config.yaml)")
	pf.StringVarP(&opts.dir, "dir", "d", "examples/tenants", "desired-state folder holding environments and tenant bindings")
	pf.StringVarP(&opts.output, "output", "o", "text", "output format")

	for _, add := range commands {
		root.AddCommand(add(opts))
	}
	root.Version = buildinfo.Get().Version
	root.SetVersionTemplate("tenantctl {{.Version}}\n")
	usageErrorsAreInvalid(root)
	addExamples(root)
	addCompletions(root, opts)
	return root
}

// usageErrorsAreInvalid makes every usage error exit with exitcode.Invalid and a hint to --help:
// a flag that does not parse, wrong arguments, and an unknown subcommand. Cobra reports these as
// plain errors (exit 1) and, for a group such as `drift bogus`, only prints help and exits 0.
func usageErrorsAreInvalid(c *cobra.Command) {
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return exitcode.With(exitcode.Invalid, fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath()))
	})
	switch {
	case c.HasSubCommands() && !c.Runnable():
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			hint := ""
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				hint = fmt.Sprintf("; did you mean %q?", s[0])
			}
			return exitcode.With(exitcode.Invalid, fmt.Errorf("unknown command %q for %q%s (see '%s --help')", args[0], cmd.CommandPath(), hint, cmd.CommandPath()))
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	case c.Args != nil:
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				if strings.Contains(err.Error(), "--help") {
					return exitcode.With(exitcode.Invalid, err)
				}
				return exitcode.With(exitcode.Invalid, fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath()))
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageErrorsAreInvalid(sub)
	}
}

// commands is filled by each command's file in init, so commands live beside their own code.
var commands []func(*globalOptions) *cobra.Command

func register(f func(*globalOptions) *cobra.Command) { commands = append(commands, f) }

// load binds flags, TENANTCTL_* variables and the config file, then writes the merged values back
// into flags that the user did not set, so commands just read their flag variables.
func (o *globalOptions) load(cmd *cobra.Command, cfgFile string) error {
	v := o.v
	v.SetEnvPrefix("TENANTCTL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if cfgFile != "" {
		v.SetConfigFile(cfgFile)
	} else {
		v.SetConfigName("config")
		v.SetConfigType("yaml")
		if d, err := os.UserConfigDir(); err == nil {
			v.AddConfigPath(d + "/tenantctl")
		}
	}
	if err := v.ReadInConfig(); err != nil {
		if _, notFound := err.(viper.ConfigFileNotFoundError); !notFound || cfgFile != "" {
			return exitcode.With(exitcode.Invalid, fmt.Errorf("config %s: %w", cfgFile, err))
		}
	}
	var bindErr error
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.InheritedFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			if bindErr != nil || f.Changed || !v.IsSet(f.Name) {
				return
			}
			var err error
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				err = sv.Replace(v.GetStringSlice(f.Name))
			} else {
				err = f.Value.Set(v.GetString(f.Name))
			}
			if err != nil {
				bindErr = exitcode.With(exitcode.Invalid, fmt.Errorf("flag --%s from environment or config: %w", f.Name, err))
			}
		})
	}
	return bindErr
}
