package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
)

// maxBodyBytes bounds operation and drift request bodies; maxDocumentsBytes bounds
// bindings:validate (a folder's worth of YAML).
const (
	maxBodyBytes      = 64 << 10
	maxDocumentsBytes = 1 << 20
)

// OperationRequest is the body of POST /v1/tenants/{tenant}/operations.
type OperationRequest struct {
	// Operation is preview, up, destroy or refresh.
	Operation string `json:"operation"`
	// Environment selects the binding; optional when the tenant has exactly one.
	Environment string `json:"environment,omitempty"`
	// Ticket and Reason are handed to the policy for production mutations.
	Ticket string `json:"ticket,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RemediationRequest is the body of POST /v1/tenants/{tenant}/drift:remediate.
type RemediationRequest struct {
	// Mode is plan (what remediation would change) or apply.
	Mode        string `json:"mode"`
	Environment string `json:"environment,omitempty"`
	Ticket      string `json:"ticket,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// DriftCheckRequest is the (optional) body of POST /v1/tenants/{tenant}/drift:check.
type DriftCheckRequest struct {
	Environment string `json:"environment,omitempty"`
}

// ValidateRequest is the body of POST /v1/bindings:validate.
type ValidateRequest struct {
	// Documents is YAML text: one or more RuntimeTenantBinding documents.
	Documents string `json:"documents"`
}

var operations = map[string]bool{"preview": true, "up": true, "destroy": true, "refresh": true}

var envName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// DecodeOperationRequest decodes and checks an operation request.
func DecodeOperationRequest(r io.Reader) (OperationRequest, error) {
	var req OperationRequest
	if err := decodeStrict(r, maxBodyBytes, &req, false); err != nil {
		return req, err
	}
	if !operations[req.Operation] {
		return req, fmt.Errorf("operation: want one of preview, up, destroy, refresh")
	}
	return req, checkCommon(req.Environment, req.Ticket, req.Reason)
}

// DecodeRemediationRequest decodes and checks a remediation request.
func DecodeRemediationRequest(r io.Reader) (RemediationRequest, error) {
	var req RemediationRequest
	if err := decodeStrict(r, maxBodyBytes, &req, false); err != nil {
		return req, err
	}
	if req.Mode != "plan" && req.Mode != "apply" {
		return req, fmt.Errorf("mode: want plan or apply")
	}
	return req, checkCommon(req.Environment, req.Ticket, req.Reason)
}

// DecodeDriftCheckRequest decodes a drift check request; an empty body is allowed.
func DecodeDriftCheckRequest(r io.Reader) (DriftCheckRequest, error) {
	var req DriftCheckRequest
	if err := decodeStrict(r, maxBodyBytes, &req, true); err != nil {
		return req, err
	}
	return req, checkCommon(req.Environment, "", "")
}

// DecodeValidateRequest decodes a bindings:validate request.
func DecodeValidateRequest(r io.Reader) (ValidateRequest, error) {
	var req ValidateRequest
	if err := decodeStrict(r, maxDocumentsBytes, &req, false); err != nil {
		return req, err
	}
	if strings.TrimSpace(req.Documents) == "" {
		return req, errors.New("documents: YAML text with at least one RuntimeTenantBinding is required")
	}
	return req, nil
}

func checkCommon(env, ticket, reason string) error {
	switch {
	case env != "" && !envName.MatchString(env):
		return errors.New("environment: want a lowercase DNS label")
	case len(ticket) > 64 || !printable(ticket):
		return errors.New("ticket: at most 64 printable characters")
	case len(reason) > 1024 || !printable(reason):
		return errors.New("reason: at most 1024 printable characters")
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// decodeStrict reads one JSON object of at most limit bytes with no unknown members and nothing
// after it.
func decodeStrict(r io.Reader, limit int64, into any, emptyOK bool) error {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("body: larger than %d bytes", limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return errors.New("body: a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return errors.New("body: one JSON object expected, found more")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("body: unexpected data after the JSON object")
	}
	return nil
}

// requestHash identifies a request's content for Idempotency-Key checks: method, path and the
// decoded body (so formatting and member order do not matter).
func requestHash(method, path string, body any) string {
	b, _ := json.Marshal(body)
	h := sha256.Sum256([]byte(method + " " + path + "\n" + string(b)))
	return hex.EncodeToString(h[:])
}

// checkIdempotencyKey accepts 1–255 visible ASCII characters.
func checkIdempotencyKey(k string) error {
	if len(k) > 255 {
		return errors.New("Idempotency-Key: at most 255 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return errors.New("Idempotency-Key: visible ASCII characters only")
		}
	}
	return nil
}
