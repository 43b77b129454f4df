package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// requireEnvelope checks that stdout is exactly one JSON document that opens with the contract's
// apiVersion and the given kind and, when revision is set, carries the desired state's commit and
// dirty flag (callers that know the commit compare it). TestJSONEnvelope covers the commands that need no engine; the integration tests call
// this on the engine-backed documents (up, preview, refresh, destroy, remediate, probe, secrets).
func requireEnvelope(t *testing.T, stdout, kind string, revision bool) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: not one JSON object: %v\n%.400s", kind, err, stdout)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document:\n%.400s", kind, stdout)
	}
	if doc["apiVersion"] != apiVersion || doc["kind"] != kind {
		t.Errorf("envelope = apiVersion %v, kind %v; want %s, %s", doc["apiVersion"], doc["kind"], apiVersion, kind)
	}
	if !strings.HasPrefix(stdout, "{\n  \"apiVersion\": ") {
		t.Errorf("%s: apiVersion is not the first field:\n%.200s", kind, stdout)
	}
	if revision { // present on every such document; commit is "" for a folder outside Git
		_, hasCommit := doc["commit"].(string)
		_, hasDirty := doc["dirty"].(bool)
		if !hasCommit || !hasDirty {
			t.Errorf("%s: no revision: commit %v, dirty %v", kind, doc["commit"], doc["dirty"])
		}
	}
	return doc
}
