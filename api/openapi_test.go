package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	OperationID string                `json:"operationId"`
	Security    []map[string][]string `json:"security"`
	Responses   map[string]any        `json:"responses"`
}

// TestOpenAPIMatchesRoutes: the document lists exactly the server's routes, and every protected
// route documents the scope the server checks and the 401/403 answers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := &Server{}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, rt := range s.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not documented", rt.pattern)
			continue
		}
		delete(documented, rt.pattern)
		if rt.public {
			if len(op.Security) != 0 {
				t.Errorf("%s is public but documents security", rt.pattern)
			}
			continue
		}
		var scopes []string
		for _, req := range op.Security {
			scopes = append(scopes, req["bearerAuth"]...)
		}
		if rt.scope != "" && !slices.Contains(scopes, rt.scope) {
			t.Errorf("%s: scope %s is not documented (documented %v)", rt.pattern, rt.scope, scopes)
		}
		if len(scopes) == 0 {
			t.Errorf("%s documents no scope", rt.pattern)
		}
		for _, code := range []string{"401", "403"} {
			if _, ok := op.Responses[code]; !ok {
				t.Errorf("%s does not document %s", rt.pattern, code)
			}
		}
	}
	for extra := range documented {
		t.Errorf("%s is documented but not served", extra)
	}
}
