package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Config configures a Verifier.
type Config struct {
	// Issuer is the authorization server's issuer URL; its discovery document and keys are
	// fetched from it.
	Issuer string
	// Audience must be one of the token's aud values (this API's resource identifier).
	Audience string
	// Algorithms pins the accepted signing algorithms (default RS256). Only asymmetric
	// algorithms are accepted: never none, never HMAC.
	Algorithms []string
	// Leeway tolerates clock skew on exp, nbf and iat (default 60s).
	Leeway time.Duration
	// KeyCacheTTL is how long fetched keys are used before they are fetched again (default 10m).
	KeyCacheTTL time.Duration
	// MinKeyRefresh spaces refetches caused by unknown key ids (default 10s).
	MinKeyRefresh time.Duration
	// HTTPClient fetches discovery and keys (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TokenTypes are the accepted JWT typ headers (default at+jwt and application/at+jwt, RFC 9068):
	// an ID token, or any other JWT the issuer signs, is not an access token.
	TokenTypes []string
	// MaxLifetime caps exp − iat (exp − now without iat); default 24h. A token valid for years is
	// a leaked credential waiting to happen.
	MaxLifetime time.Duration
}

// Verifier checks bearer access tokens.
type Verifier struct {
	cfg  Config
	keys *keyCache
	algs []jose.SignatureAlgorithm
}

// NewVerifier discovers the issuer's key set URL and returns a Verifier. It fails when the issuer
// cannot be discovered, so a misconfigured server does not start.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Audience == "" {
		return nil, errors.New("token verifier: an audience is required")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256"}
	}
	if err := checkAlgorithms(cfg.Algorithms); err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 60 * time.Second
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = 10 * time.Minute
	}
	if cfg.MinKeyRefresh == 0 {
		cfg.MinKeyRefresh = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.TokenTypes) == 0 {
		cfg.TokenTypes = []string{"at+jwt", "application/at+jwt"}
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = 24 * time.Hour
	}
	md, err := Discover(ctx, cfg.HTTPClient, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	v := &Verifier{cfg: cfg, keys: &keyCache{
		url: md.JWKSURI, client: cfg.HTTPClient, ttl: cfg.KeyCacheTTL, minRefresh: cfg.MinKeyRefresh, now: cfg.Now,
	}}
	for _, a := range cfg.Algorithms {
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	return v, nil
}

// Issuer is the configured issuer.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// tokenClaims are the claims the API reads from an access token (RFC 9068 plus tenant_id).
type tokenClaims struct {
	jwt.Claims
	TenantID string     `json:"-"`
	Scope    scopeClaim `json:"scope"`
	// Scp is the array form some issuers (Entra ID) use.
	Scp      scopeClaim `json:"scp"`
	ClientID string     `json:"client_id"`
	Azp      string     `json:"azp"`
}

// scopeClaim accepts a space-separated string or an array of strings.
type scopeClaim []string

func (s *scopeClaim) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strings.Fields(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("scope: want a string or an array of strings")
	}
	*s = many
	return nil
}

// Verify checks a token's signature against the issuer's keys with a pinned algorithm, then its
// iss, aud, exp, nbf and iat, and returns the principal. Errors are *Failure.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > MaxTokenBytes {
		return Principal{}, fail(ReasonTokenTooLarge, "token is larger than 8 KiB")
	}
	alg, typ, err := peekHeader(raw)
	if err != nil {
		return Principal{}, err
	}
	if !slices.Contains(v.algs, jose.SignatureAlgorithm(alg)) {
		return Principal{}, fail(ReasonUnsupportedAlg, "signing algorithm %q is not accepted (accepted: %s)", sanitize(alg), strings.Join(v.cfg.Algorithms, ", "))
	}
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil || len(tok.Headers) != 1 {
		return Principal{}, fail(ReasonMalformedToken, "not a signed JWT")
	}
	candidates, err := v.keys.candidates(ctx, tok.Headers[0].KeyID, alg)
	if err != nil {
		return Principal{}, err
	}
	var payload json.RawMessage
	verified := false
	for _, k := range candidates {
		if err := tok.Claims(k.Key, &payload); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Principal{}, fail(ReasonBadSignature, "the signature does not verify with the issuer's key")
	}
	// The signature is good: from here on, problems are the issuer's claims, named as such.
	if !slices.ContainsFunc(v.cfg.TokenTypes, func(t string) bool { return strings.EqualFold(t, typ) }) {
		return Principal{}, fail(ReasonWrongTokenType, "the token's typ is %q, not an access token (want %s): ID tokens are not accepted",
			sanitize(typ), strings.Join(v.cfg.TokenTypes, " or "))
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return Principal{}, err
	}
	return v.checkClaims(claims)
}

// tenantIDPattern is a tenant id as bindings declare it: a DNS-1123 label.
var tenantIDPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// decodeClaims decodes the payload claim by claim, so a claim of the wrong type is reported by
// name rather than as a bad token.
func decodeClaims(payload []byte) (tokenClaims, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		return tokenClaims{}, fail(ReasonMalformedToken, "the JWT payload is not a JSON object")
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		for name, raw := range members {
			if name == "tenant_id" {
				continue
			}
			probe := map[string]json.RawMessage{name: raw}
			b, _ := json.Marshal(probe)
			if json.Unmarshal(b, &tokenClaims{}) != nil {
				return tokenClaims{}, fail(ReasonInvalidClaim, "claim %s has the wrong type", sanitize(name))
			}
		}
		return tokenClaims{}, fail(ReasonInvalidClaim, "claims: %v", err)
	}
	if raw, ok := members["tenant_id"]; ok {
		var tid string
		if err := json.Unmarshal(raw, &tid); err != nil {
			return tokenClaims{}, fail(ReasonInvalidClaim, "claim tenant_id is not a string")
		}
		if !tenantIDPattern.MatchString(tid) {
			return tokenClaims{}, fail(ReasonInvalidClaim, "claim tenant_id %q is not a tenant id (a DNS-1123 label)", sanitize(tid))
		}
		c.TenantID = tid
	}
	return c, nil
}

func (v *Verifier) checkClaims(c tokenClaims) (Principal, error) {
	if c.Expiry == nil {
		return Principal{}, fail(ReasonMissingClaim, "the token has no exp claim")
	}
	if c.Subject == "" {
		return Principal{}, fail(ReasonMissingClaim, "the token has no sub claim")
	}
	err := c.Claims.ValidateWithLeeway(jwt.Expected{
		Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: v.cfg.Now(),
	}, v.cfg.Leeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return Principal{}, fail(ReasonWrongIssuer, "the token was issued by another issuer")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return Principal{}, fail(ReasonWrongAudience, "the token is not for this API's audience")
	case errors.Is(err, jwt.ErrExpired):
		return Principal{}, fail(ReasonExpired, "the token expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrNotValidYet):
		return Principal{}, fail(ReasonNotYetValid, "the token is not valid before %s", c.NotBefore.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return Principal{}, fail(ReasonIssuedInFuture, "the token was issued in the future")
	case err != nil:
		return Principal{}, fail(ReasonMalformedToken, "claims: %v", err)
	}
	lifetimeFrom := v.cfg.Now()
	if c.IssuedAt != nil {
		lifetimeFrom = c.IssuedAt.Time()
	}
	if life := c.Expiry.Time().Sub(lifetimeFrom); life > v.cfg.MaxLifetime {
		return Principal{}, fail(ReasonLifetimeTooLong, "the token is valid for %s, more than the %s this API accepts", life.Round(time.Second), v.cfg.MaxLifetime)
	}
	client := c.ClientID
	if client == "" {
		client = c.Azp
	}
	return Principal{
		Subject: c.Subject, Issuer: c.Issuer, TenantID: c.TenantID, ClientID: client,
		Scopes: normalizeScopes(append(append([]string(nil), c.Scope...), c.Scp...)),
	}, nil
}

// peekHeader reads the alg and typ of a compact JWS header before any parsing library sees the
// token, so "none" and HMAC tokens are refused with a precise reason.
func peekHeader(raw string) (alg, typ string, err error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", "", fail(ReasonMalformedToken, "a JWT has three dot-separated parts")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", "", fail(ReasonMalformedToken, "the JWT header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return "", "", fail(ReasonMalformedToken, "the JWT header is not a JSON object")
	}
	if h.Alg == "" {
		return "", "", fail(ReasonMalformedToken, "the JWT header has no alg")
	}
	return h.Alg, h.Typ, nil
}

// sanitize keeps an attacker-chosen header value printable and short in messages.
func sanitize(s string) string {
	if len(s) > 16 {
		s = s[:16] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
