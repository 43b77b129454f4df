package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasRunnableExamples: every command shows examples in its help, and every example
// line names commands and flags that exist and values its flags accept.
func TestEveryCommandHasRunnableExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && c.Name() != "help" && c.Name() != "completion" && !strings.HasPrefix(c.CommandPath(), "tenantctl completion") {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s has no Example", c.CommandPath())
			}
			for _, line := range strings.Split(c.Example, "\n") {
				checkExample(t, c.CommandPath(), line)
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd())
}

// checkExample parses one example line (after any VAR=value prefix, before any pipe or
// redirection) against a fresh command tree.
func checkExample(t *testing.T, path, line string) {
	t.Helper()
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
		fields = fields[1:]
	}
	if i := strings.Index(line, "$(tenantctl"); i >= 0 {
		fields = strings.Fields(strings.TrimSuffix(line[i+2:], ")"))
	}
	if len(fields) == 0 || fields[0] != "tenantctl" {
		return
	}
	var args []string
	for _, f := range fields[1:] {
		if f == "|" || f == ">" || strings.HasPrefix(f, ">") {
			break
		}
		args = append(args, strings.Trim(f, `"`))
	}
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		t.Errorf("%s example %q: %v", path, line, err)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s example %q: %v", path, line, err)
		return
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			t.Errorf("%s example %q: arguments: %v", path, line, err)
		}
	}
}
