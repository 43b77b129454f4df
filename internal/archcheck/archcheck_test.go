package archcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages is `go list -json ./...` of the module this test belongs to.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// rel is an import path relative to Module, and whether it is in the module.
func rel(importPath string) (string, bool) {
	if importPath == Module {
		return "", true
	}
	r, ok := strings.CutPrefix(importPath, Module+"/")
	return r, ok
}

// covers reports whether the rule path p stands for package r.
func covers(p, r string) bool {
	return p == "" && r == "" || p != "" && (r == p || strings.HasPrefix(r, p+"/"))
}

// layerOf is the index of the layer of module package r and the rule path that placed it; -1
// when no layer names it.
func layerOf(r string) (int, string) {
	best, at := -1, ""
	for i, l := range Layers {
		for _, p := range l.Packages {
			if covers(p, r) && (best < 0 || len(p) > len(at)) {
				best, at = i, p
			}
		}
	}
	return best, at
}

// TestImportsPointDown fails on any import of a module package from a layer below the layer it
// belongs to, and on a module package that no layer places.
func TestImportsPointDown(t *testing.T) {
	var problems []string
	for _, p := range listPackages(t) {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		fl, _ := layerOf(from)
		if fl < 0 {
			problems = append(problems, fmt.Sprintf("%s is on no layer: add it to Layers in internal/archcheck/layers.go", p.ImportPath))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			tl, _ := layerOf(to)
			if tl > fl {
				problems = append(problems, fmt.Sprintf("%s (%s) imports %s (%s): dependencies point down the flow %s",
					p.ImportPath, Layers[fl].Name, imp, Layers[tl].Name, flow()))
			}
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestForbiddenDependencies fails on a package that depends, even transitively, on what
// Forbidden keeps away from it.
func TestForbiddenDependencies(t *testing.T) {
	for _, p := range listPackages(t) {
		r, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		for _, f := range Forbidden {
			if !slices.ContainsFunc(f.Packages, func(x string) bool { return covers(x, r) }) {
				continue
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, f.Imports) {
					t.Errorf("%s depends on %s: %s", p.ImportPath, d, f.Why)
					break
				}
			}
		}
	}
}

// restrictedImports are p's imports that Restricted keeps from it.
func restrictedImports(p pkg) []string {
	from, ok := rel(p.ImportPath)
	if !ok {
		return nil
	}
	var problems []string
	for _, imp := range p.Imports {
		to, ok := rel(imp)
		if !ok {
			continue
		}
		for _, r := range Restricted {
			if covers(r.Package, to) && !covers(r.Package, from) &&
				!slices.ContainsFunc(r.Only, func(x string) bool { return covers(x, from) }) {
				problems = append(problems, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imp, r.Why))
			}
		}
	}
	return problems
}

// TestRestrictedImports fails on a package importing what Restricted keeps from it.
func TestRestrictedImports(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, problem := range restrictedImports(p) {
			t.Error(problem)
		}
	}
}

// TestRestrictedImportsCatchAViolation: a library importing internal/exitcode is reported, the
// CLI and the package's own tests are not (go list leaves test imports out of Imports).
func TestRestrictedImportsCatchAViolation(t *testing.T) {
	exitcode := Module + "/internal/exitcode"
	tests := []struct {
		from string
		want int
	}{
		{"drift/remediate", 1},
		{"automation/fleet", 1},
		{"api", 1},
		{"internal/errkind", 1},
		{"cmdx", 1},
		{"cmd/tenantctl", 0},
		{"cmd", 0},
		{"internal/exitcode", 0},
	}
	for _, tt := range tests {
		p := pkg{ImportPath: Module + "/" + tt.from, Imports: []string{"fmt", exitcode, Module + "/internal/errkind"}}
		if got := restrictedImports(p); len(got) != tt.want {
			t.Errorf("%s importing internal/exitcode: %d problem(s) %q, want %d", tt.from, len(got), got, tt.want)
		}
	}
}

// TestRulesCatchAViolation: the check itself sees an upward import and an unplaced package.
func TestRulesCatchAViolation(t *testing.T) {
	reach, _ := layerOf("isolation/reach/netpol")
	finding, _ := layerOf("drift/finding")
	if reach >= finding {
		t.Errorf("isolation/reach (layer %d) may import drift/finding (layer %d)", reach, finding)
	}
	if l, at := layerOf("isolation"); Layers[l].Name != "bindings" || at != "isolation" {
		t.Errorf("isolation is on %s via %q", Layers[l].Name, at)
	}
	if l, _ := layerOf("isolationx"); l >= 0 {
		t.Errorf("isolationx is placed on %s by a prefix of its name", Layers[l].Name)
	}
	if l, _ := layerOf("newtoplevel/pkg"); l >= 0 {
		t.Errorf("an unknown package is placed on %s", Layers[l].Name)
	}
	if l, _ := layerOf(""); Layers[l].Name != "support" {
		t.Errorf("the root package is on %s", Layers[l].Name)
	}
}

func flow() string {
	names := make([]string, len(Layers))
	for i, l := range Layers {
		names[i] = l.Name
	}
	return strings.Join(names, " → ")
}
