package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/api"
)

// FuzzDecodeOperationRequest: any body is either refused with an error or yields a request that
// holds only allowed values and survives a round trip; never a panic.
func FuzzDecodeOperationRequest(f *testing.F) {
	for _, s := range []string{
		`{"operation":"up"}`, `{"operation":"preview","environment":"dev"}`,
		`{"operation":"destroy","environment":"prod","ticket":"CHG-1","reason":"retire"}`,
		`{"operation":"up"} {}`, `{"operation":"up","x":1}`, `[]`, ``, `{"operation":"up","environment":"Dev"}`,
		`{"operation":"up","ticket":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := api.DecodeOperationRequest(bytes.NewReader(body))
		if err != nil {
			return
		}
		switch req.Operation {
		case "preview", "up", "destroy", "refresh":
		default:
			t.Fatalf("accepted operation %q", req.Operation)
		}
		if len(req.Ticket) > 64 || len(req.Reason) > 1024 || strings.ToLower(req.Environment) != req.Environment {
			t.Fatalf("accepted out-of-bounds request %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := api.DecodeOperationRequest(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("round trip refused: %v", err)
		}
		if diff := cmp.Diff(req, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzDecodeRemediationRequest: the same for remediation bodies.
func FuzzDecodeRemediationRequest(f *testing.F) {
	for _, s := range []string{`{"mode":"plan"}`, `{"mode":"apply","ticket":"OPS-7"}`, `{"mode":"nuke"}`, `{"mode":"plan","environment":"-x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := api.DecodeRemediationRequest(bytes.NewReader(body))
		if err != nil {
			return
		}
		if req.Mode != "plan" && req.Mode != "apply" {
			t.Fatalf("accepted mode %q", req.Mode)
		}
		if len(req.Ticket) > 64 || len(req.Reason) > 1024 {
			t.Fatalf("accepted out-of-bounds request %+v", req)
		}
	})
}
