package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/connectsoft/tenantctl/internal/exitcode"
)

func init() { register(newGenDocsCmd) }

// The command reference is generated from the command tree (`make docs`), so help, man pages and
// the Markdown reference never disagree; TestGeneratedDocsAreCurrent fails when the committed
// files are stale.
const (
	docsMarkdownDir = "docs/cli"
	docsManDir      = "docs/man/man1"
)

func newGenDocsCmd(_ *globalOptions) *cobra.Command {
	var markdownDir, manDir string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write the Markdown command reference and the man pages (make docs)",
		Hidden: true,
		Args:   invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := generateDocs(markdownDir, manDir); err != nil {
				return exitcode.With(exitcode.Failed, fmt.Errorf("gen-docs: %w", err))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s and %s\n", markdownDir, manDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&markdownDir, "markdown-dir", docsMarkdownDir, "folder of the Markdown reference (replaced)")
	cmd.Flags().StringVar(&manDir, "man-dir", docsManDir, "folder of the section 1 man pages (replaced)")
	return cmd
}

// docsTree is the command tree as a user's shell sees it, made independent of the machine that
// generates it: the completion command cobra adds at run time, a --version flag whatever the
// build stamped, no dates or "auto generated" lines, and defaults computed from the machine
// written as the rule they follow.
func docsTree() *cobra.Command {
	root := newRootCmd()
	root.Version = "VERSION"
	root.InitDefaultCompletionCmd()
	machineDefaults := map[string]map[string]string{
		"parallel":  {strconv.Itoa(runtime.NumCPU()): "the number of CPUs"},
		"state-dir": {defaultClusterDir(): "$XDG_STATE_HOME/tenantctl/cluster"},
	}
	home, _ := os.UserHomeDir()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if rule, ok := machineDefaults[f.Name][f.DefValue]; ok {
					f.DefValue = rule
				}
				if home != "" && home != "/" && strings.Contains(f.DefValue, home) {
					f.DefValue = strings.ReplaceAll(f.DefValue, home, "$HOME")
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}

// manDate is the date field of a man page's .TH line: cobra fills it with the month of generation,
// which would make every regeneration a change. It is left empty (man prints nothing there).
var manDate = regexp.MustCompile(`(?m)^(\.TH "[^"]*" "[^"]*" )"[^"]*"`)

// generateDocs replaces markdownDir and manDir with the reference of docsTree.
func generateDocs(markdownDir, manDir string) error {
	if markdownDir == "" || manDir == "" {
		return errors.New("both folders are required")
	}
	for _, dir := range []string{markdownDir, manDir} {
		if err := resetDocsDir(dir); err != nil {
			return err
		}
	}
	root := docsTree()
	header := doc.GenManHeader{Section: "1", Source: "tenantctl", Manual: "tenantctl Manual"}
	var walkErr error
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if walkErr != nil || !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			return
		}
		var md, man bytes.Buffer
		if err := doc.GenMarkdown(c, &md); err != nil {
			walkErr = fmt.Errorf("markdown of %s: %w", c.CommandPath(), err)
			return
		}
		h := header
		h.Title = strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "\\-"))
		if err := doc.GenMan(c, &h, &man); err != nil {
			walkErr = fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
			return
		}
		// The file names are cobra's (GenMarkdownTree, GenManTree): the pages link to each other
		// by them.
		files := map[string][]byte{
			filepath.Join(markdownDir, strings.ReplaceAll(c.CommandPath(), " ", "_")+".md"): md.Bytes(),
			filepath.Join(manDir, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"):       manDate.ReplaceAll(man.Bytes(), []byte(`$1""`)),
		}
		for path, data := range files {
			// Shared: the reference is committed and installed for every user.
			if err := writeFileAtomic(path, sharedFile, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				walkErr = err
				return
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return walkErr
}

// resetDocsDir empties dir of generated files (and creates it), so a removed command's page goes
// away too. Only *.md and *.1 files are removed: a stray path never costs other files.
func resetDocsDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".md") || strings.HasSuffix(n, ".1")) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}
