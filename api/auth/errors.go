package auth

import (
	"errors"
	"fmt"
	"net/http"
)

// Reason is a machine-readable cause of an authentication failure. Reasons go into audit records
// and responses; they never quote the token.
type Reason string

const (
	ReasonMissingToken    Reason = "missing_token"
	ReasonMalformedHeader Reason = "malformed_header"
	ReasonTokenTooLarge   Reason = "token_too_large"
	ReasonMalformedToken  Reason = "malformed_token"
	ReasonUnsupportedAlg  Reason = "unsupported_alg"
	ReasonUnknownKey      Reason = "unknown_key"
	ReasonBadSignature    Reason = "bad_signature"
	ReasonExpired         Reason = "expired"
	ReasonNotYetValid     Reason = "not_yet_valid"
	ReasonIssuedInFuture  Reason = "issued_in_future"
	ReasonWrongIssuer     Reason = "wrong_issuer"
	ReasonWrongAudience   Reason = "wrong_audience"
	ReasonMissingClaim    Reason = "missing_claim"
	// ReasonInvalidClaim: a claim has the wrong type or shape (a tenant_id that is not a tenant id).
	ReasonInvalidClaim Reason = "invalid_claim"
	// ReasonWrongTokenType: the JWT is not an access token (RFC 9068 typ at+jwt), e.g. an ID token.
	ReasonWrongTokenType Reason = "wrong_token_type"
	// ReasonLifetimeTooLong: exp is further from iat (or now) than the configured maximum.
	ReasonLifetimeTooLong Reason = "lifetime_too_long"
	// ReasonKeysUnavailable: the issuer's keys could not be fetched; not the caller's fault.
	ReasonKeysUnavailable Reason = "keys_unavailable"
)

// Failure is why a request was not authenticated.
type Failure struct {
	Reason Reason
	// Detail is a human-readable explanation without token contents.
	Detail string
	// Err is an underlying cause (a fetch error), never the token.
	Err error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("%s: %s: %v", f.Reason, f.Detail, f.Err)
	}
	return fmt.Sprintf("%s: %s", f.Reason, f.Detail)
}

func (f *Failure) Unwrap() error { return f.Err }

// Status is the HTTP status for the failure: 503 when the issuer's keys are unavailable, else
// 401.
func (f *Failure) Status() int {
	if f.Reason == ReasonKeysUnavailable {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

func fail(r Reason, format string, args ...any) *Failure {
	return &Failure{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// AsFailure extracts a *Failure from err.
func AsFailure(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}
