package automation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// ErrStateFile marks a state export file that cannot be used: unreadable, not a `pulumi stack
// export` document, another project's, or a stack given twice. Callers report it as invalid input.
var ErrStateFile = errors.New("invalid state file")

// ReadStateExports reads `pulumi stack export` documents (the JSON `{"version": 3, "deployment":
// {...}}` the CLI prints) instead of a backend, as driftctl reads a tfstate: path is one such
// file, or a folder whose *.json files are each one. A stack is named by its resources' URNs
// (urn:pulumi:<stack>::<project>::...), so the file name does not matter; an export without
// resources takes its file's base name. Exports of another project than project are refused, as
// is a stack exported twice. Secret values are masked as StackStates masks them.
func ReadStateExports(path, project string) (map[string]StackState, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: %s holds no *.json stack export", ErrStateFile, path)
		}
	}
	out := map[string]StackState{}
	from := map[string]string{}
	for _, f := range files {
		s, err := readStateExport(f, project)
		if err != nil {
			return nil, err
		}
		if prev, dup := from[s.Name]; dup {
			return nil, fmt.Errorf("%w: stack %s is exported by both %s and %s", ErrStateFile, s.Name, prev, f)
		}
		from[s.Name] = f
		out[s.Name] = s
	}
	return out, nil
}

func readStateExport(path, project string) (StackState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return StackState{}, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	var doc apitype.UntypedDeployment
	if err := json.Unmarshal(data, &doc); err != nil {
		return StackState{}, fmt.Errorf("%w: %s: not a pulumi stack export: %w", ErrStateFile, path, err)
	}
	if doc.Version != 3 || len(doc.Deployment) == 0 {
		return StackState{}, fmt.Errorf("%w: %s: version: want a `pulumi stack export` document of deployment version 3, got version %d", ErrStateFile, path, doc.Version)
	}
	var head struct {
		Manifest struct {
			Time time.Time `json:"time"`
		} `json:"manifest"`
	}
	var d Deployment
	if err := json.Unmarshal(doc.Deployment, &head); err != nil {
		return StackState{}, fmt.Errorf("%w: %s: deployment: %w", ErrStateFile, path, err)
	}
	if err := json.Unmarshal(doc.Deployment, &d); err != nil {
		return StackState{}, fmt.Errorf("%w: %s: deployment: %w", ErrStateFile, path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	var names []string
	for _, r := range d.Resources {
		urn := resource.URN(r.URN)
		if !urn.IsValid() {
			return StackState{}, fmt.Errorf("%w: %s: resources: %q is not a URN", ErrStateFile, path, r.URN)
		}
		if p := string(urn.Project()); p != project {
			return StackState{}, fmt.Errorf("%w: %s: resources: %s belongs to project %q, not %q", ErrStateFile, path, r.URN, p, project)
		}
		if s := string(urn.Stack()); !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	switch len(names) {
	case 0:
	case 1:
		name = names[0]
	default:
		return StackState{}, fmt.Errorf("%w: %s: resources of more than one stack (%s)", ErrStateFile, path, strings.Join(names, ", "))
	}
	d.mask()
	return StackState{Name: name, Deployment: d, LastUpdate: head.Manifest.Time, Resources: len(d.Resources)}, nil
}
