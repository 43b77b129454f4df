package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/internal/oidctest"
)

const audience = "api://tenantctl"

func newVerifier(t *testing.T, iss *oidctest.Issuer, edit func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{Issuer: iss.URL, Audience: audience, MinKeyRefresh: time.Nanosecond}
	if edit != nil {
		edit(&cfg)
	}
	v, err := auth.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyValidToken(t *testing.T) {
	iss := oidctest.Start(t)
	v := newVerifier(t, iss, nil)
	c := iss.Claims(audience, "svc-devops", "acme", "runtime.tenants.read runtime.deployments.write")
	p, err := v.Verify(context.Background(), iss.Token(t, c))
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{Subject: "svc-devops", Issuer: iss.URL, TenantID: "acme", ClientID: "svc-devops",
		Scopes: []string{"runtime.deployments.write", "runtime.tenants.read"}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if !p.MayActOn("acme") || p.MayActOn("globex") || p.CrossTenant() {
		t.Errorf("tenant guard wrong for %+v", p)
	}
}

// TestVerifyRejects is the verifier's half of the bad-token corpus: every token is refused with
// its precise reason.
func TestVerifyRejects(t *testing.T) {
	iss := oidctest.Start(t)
	v := newVerifier(t, iss, nil)
	good := func() map[string]any { return iss.Claims(audience, "svc", "acme", "runtime.tenants.read") }
	with := func(k string, val any) map[string]any {
		c := good()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	with2 := func(c map[string]any, k string, val any) map[string]any { c[k] = val; return c }
	stranger := oidctest.NewKey(t, "key-a") // same kid as the issuer's key, different key material
	now := time.Now()
	tests := []struct {
		name  string
		token string
		want  auth.Reason
	}{
		{"alg none", oidctest.Unsigned(t, "key-a", good()), auth.ReasonUnsupportedAlg},
		{"HMAC keyed with the public key", oidctest.HMACWithPublicKey(t, iss.SigningKey(), good()), auth.ReasonUnsupportedAlg},
		{"wrong key, same kid", oidctest.Sign(t, stranger, good()), auth.ReasonBadSignature},
		{"unknown kid", oidctest.Sign(t, oidctest.NewKey(t, "key-x"), good()), auth.ReasonUnknownKey},
		{"expired", iss.Token(t, with("exp", now.Add(-5*time.Minute).Unix())), auth.ReasonExpired},
		{"future nbf", iss.Token(t, with("nbf", now.Add(time.Hour).Unix())), auth.ReasonNotYetValid},
		{"issued in the future", iss.Token(t, with("iat", now.Add(time.Hour).Unix())), auth.ReasonIssuedInFuture},
		{"wrong audience", iss.Token(t, with("aud", "api://other")), auth.ReasonWrongAudience},
		{"wrong issuer", iss.Token(t, with("iss", "https://evil.example")), auth.ReasonWrongIssuer},
		{"no exp", iss.Token(t, with("exp", nil)), auth.ReasonMissingClaim},
		{"no sub", iss.Token(t, with("sub", nil)), auth.ReasonMissingClaim},
		{"two parts", "abc.def", auth.ReasonMalformedToken},
		{"header not base64", "!!!.e30.sig", auth.ReasonMalformedToken},
		{"header not json", "bm90IGpzb24.e30.c2ln", auth.ReasonMalformedToken},
		{"payload tampered", tamper(iss.Token(t, good())), auth.ReasonBadSignature},
		{"oversized", strings.Repeat("a", auth.MaxTokenBytes+1), auth.ReasonTokenTooLarge},
		// Issue 14.11: ID tokens, lifetimes beyond the cap, malformed tenant_id claims.
		{"ID token (typ JWT)", oidctest.SignTyped(t, iss.SigningKey(), "JWT", good()), auth.ReasonWrongTokenType},
		{"no typ header", oidctest.SignTyped(t, iss.SigningKey(), "", good()), auth.ReasonWrongTokenType},
		{"exp ten years out", iss.Token(t, with("exp", now.AddDate(10, 0, 0).Unix())), auth.ReasonLifetimeTooLong},
		{"25h lifetime without iat", iss.Token(t, with2(with("iat", nil), "exp", now.Add(25*time.Hour).Unix())), auth.ReasonLifetimeTooLong},
		{"tenant_id a number", iss.Token(t, with("tenant_id", 42)), auth.ReasonInvalidClaim},
		{"tenant_id an array", iss.Token(t, with("tenant_id", []string{"acme", "globex"})), auth.ReasonInvalidClaim},
		{"tenant_id a path", iss.Token(t, with("tenant_id", "../acme")), auth.ReasonInvalidClaim},
		{"tenant_id uppercase", iss.Token(t, with("tenant_id", "ACME")), auth.ReasonInvalidClaim},
		{"scope a number", iss.Token(t, with("scope", 7)), auth.ReasonInvalidClaim},
		{"exp a string", iss.Token(t, with("exp", "tomorrow")), auth.ReasonInvalidClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			f, ok := auth.AsFailure(err)
			if !ok {
				t.Fatalf("err = %v, want a *Failure", err)
			}
			if f.Reason != tc.want {
				t.Errorf("reason = %s (%v), want %s", f.Reason, f, tc.want)
			}
			if strings.Contains(f.Error(), tc.token) && len(tc.token) > 20 {
				t.Errorf("failure quotes the token: %v", f)
			}
		})
	}
}

// tamper changes the payload of a signed token (its scope widened) keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = strings.TrimSuffix(parts[1], parts[1][len(parts[1])-2:]) + "xx"
	return strings.Join(parts, ".")
}

// TestKeyRotation: tokens of a new key are accepted once the cache refetches (unknown kid), and
// tokens of a removed key are refused from then on.
func TestKeyRotation(t *testing.T) {
	iss := oidctest.Start(t)
	v := newVerifier(t, iss, nil)
	ctx := context.Background()
	claims := iss.Claims(audience, "svc", "acme", "runtime.tenants.read")
	tokA := iss.Token(t, claims)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatalf("key A before rotation: %v", err)
	}
	fetches := iss.JWKSFetches.Load()
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatalf("key A again: %v", err)
	}
	if got := iss.JWKSFetches.Load(); got != fetches {
		t.Errorf("cached keys were refetched: %d fetches, want %d", got, fetches)
	}

	iss.Rotate(oidctest.NewKey(t, "key-b"), true)
	tokB := iss.Token(t, claims)
	if _, err := v.Verify(ctx, tokB); err != nil {
		t.Fatalf("key B after rotation: %v", err)
	}
	if iss.JWKSFetches.Load() != fetches+1 {
		t.Errorf("rotation did not refetch the key set once: %d fetches", iss.JWKSFetches.Load())
	}
	_, err := v.Verify(ctx, tokA)
	if f, ok := auth.AsFailure(err); !ok || f.Reason != auth.ReasonUnknownKey {
		t.Fatalf("key A after its removal: err = %v, want unknown_key", err)
	}
}

// TestKeyCacheTTL: a removed key stops verifying once the cache is older than its TTL, even
// without a token of the new key forcing a refetch.
func TestKeyCacheTTL(t *testing.T) {
	iss := oidctest.Start(t)
	now := time.Now()
	clock := func() time.Time { return now }
	v := newVerifier(t, iss, func(c *auth.Config) { c.KeyCacheTTL = time.Minute; c.MinKeyRefresh = time.Hour; c.Now = clock })
	ctx := context.Background()
	claims := iss.Claims(audience, "svc", "acme")
	claims["exp"] = now.Add(time.Hour).Unix()
	tokA := iss.Token(t, claims)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatal(err)
	}
	iss.Rotate(oidctest.NewKey(t, "key-b"), true)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatalf("within the TTL the cached key still verifies: %v", err)
	}
	now = now.Add(2 * time.Minute)
	_, err := v.Verify(ctx, tokA)
	if f, ok := auth.AsFailure(err); !ok || f.Reason != auth.ReasonUnknownKey {
		t.Fatalf("after the TTL: err = %v, want unknown_key", err)
	}
}

func TestKeysUnavailable(t *testing.T) {
	iss := oidctest.Start(t)
	v := newVerifier(t, iss, nil)
	tok := iss.Token(t, iss.Claims(audience, "svc", "acme"))
	iss.Close()
	_, err := v.Verify(context.Background(), tok)
	f, ok := auth.AsFailure(err)
	if !ok || f.Reason != auth.ReasonKeysUnavailable || f.Status() != 503 {
		t.Fatalf("err = %v, want keys_unavailable with status 503", err)
	}
}

func TestNewVerifierRejectsConfig(t *testing.T) {
	iss := oidctest.Start(t)
	tests := []struct {
		name string
		cfg  auth.Config
		want string
	}{
		{"no audience", auth.Config{Issuer: iss.URL}, "audience is required"},
		{"HMAC", auth.Config{Issuer: iss.URL, Audience: audience, Algorithms: []string{"HS256"}}, "never none or HMAC"},
		{"none", auth.Config{Issuer: iss.URL, Audience: audience, Algorithms: []string{"none"}}, "never none or HMAC"},
		{"plain http off loopback", auth.Config{Issuer: "http://issuer.example", Audience: audience}, "must be https"},
		{"issuer mismatch", auth.Config{Issuer: iss.URL + "/", Audience: audience}, "the document names issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewVerifier(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
