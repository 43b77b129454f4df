package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readDocs reads the generated files (*.md, *.1) of dir by name.
func readDocs(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (run `make docs`)", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".md") || strings.HasSuffix(n, ".1") {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			out[n] = string(b)
		}
	}
	return out
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestGeneratedDocsAreCurrent regenerates the Markdown reference and the man pages into a
// temporary folder and compares them with the committed docs/cli and docs/man/man1: a command,
// flag or help text changed without `make docs` fails here.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	tmp := t.TempDir()
	md, man := filepath.Join(tmp, "cli"), filepath.Join(tmp, "man1")
	if err := generateDocs(md, man); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ generated, committed string }{
		{md, filepath.Join("..", "..", docsMarkdownDir)},
		{man, filepath.Join("..", "..", docsManDir)},
	} {
		got, want := readDocs(t, tc.generated), readDocs(t, tc.committed)
		if diff := cmp.Diff(names(got), names(want)); diff != "" {
			t.Errorf("%s: files differ from a fresh generation; run `make docs` (-generated +committed):\n%s", tc.committed, diff)
			continue
		}
		for name, content := range got {
			if content != want[name] {
				t.Errorf("%s/%s is stale; run `make docs`:\n%s", tc.committed, name, cmp.Diff(content, want[name]))
			}
		}
	}
}

// TestGeneratedDocsAreDeterministic: two generations are byte-identical, carry no date, no
// "auto generated" line and no path of the machine that generated them.
func TestGeneratedDocsAreDeterministic(t *testing.T) {
	gen := func() map[string]string {
		tmp := t.TempDir()
		if err := generateDocs(filepath.Join(tmp, "md"), filepath.Join(tmp, "man")); err != nil {
			t.Fatal(err)
		}
		all := readDocs(t, filepath.Join(tmp, "md"))
		for k, v := range readDocs(t, filepath.Join(tmp, "man")) {
			all[k] = v
		}
		return all
	}
	first, second := gen(), gen()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Fatalf("two generations differ:\n%s", diff)
	}
	home, _ := os.UserHomeDir()
	wd, _ := os.Getwd()
	for name, content := range first {
		for _, leak := range []string{"Auto generated", "auto generated", home + "/", wd} {
			if leak != "/" && strings.Contains(content, leak) {
				t.Errorf("%s contains %q", name, leak)
			}
		}
		if strings.HasSuffix(name, ".1") && !bytes.HasPrefix([]byte(content), []byte(".nh\n.TH ")) {
			t.Errorf("%s does not start like a man page: %.40q", name, content)
		}
	}
	for _, want := range []string{"tenantctl.md", "tenantctl_drift_check.md", "tenantctl_completion_bash.md", "tenantctl.1", "tenantctl-serve.1"} {
		if _, ok := first[want]; !ok {
			t.Errorf("%s was not generated", want)
		}
	}
	if _, ok := first["tenantctl_gen-docs.md"]; ok {
		t.Error("the hidden gen-docs command is documented")
	}
}
