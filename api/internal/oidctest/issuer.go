// Package oidctest runs a real OpenID Connect issuer on loopback for tests: a discovery document,
// a JWKS endpoint whose keys can be rotated, and token minting with the issuer's keys, plus the
// malformed tokens a bad-token corpus needs.
package oidctest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Key is a signing key with its key id.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// NewKey generates a 2048-bit RSA key.
func NewKey(t testing.TB, id string) *Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{ID: id, Private: k}
}

func (k *Key) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: string(jose.RS256), Use: "sig"}
}

// Issuer is an OIDC issuer on a loopback httptest server.
type Issuer struct {
	URL    string
	server *httptest.Server

	mu        sync.Mutex
	published []*Key
	signing   *Key

	// JWKSFetches counts requests to the key set.
	JWKSFetches atomic.Int64
}

// Start runs an issuer publishing one key ("key-a"), closed at cleanup.
func Start(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		iss.JWKSFetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range iss.published {
			set.Keys = append(set.Keys, k.public())
		}
		iss.mu.Unlock()
		writeJSON(w, set)
	})
	iss.server = httptest.NewServer(mux)
	iss.URL = iss.server.URL
	t.Cleanup(iss.server.Close)
	k := NewKey(t, "key-a")
	iss.published = []*Key{k}
	iss.signing = k
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Rotate publishes next and signs with it from now on; with dropOld the previous keys are no
// longer published.
func (i *Issuer) Rotate(next *Key, dropOld bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if dropOld {
		i.published = nil
	}
	i.published = append(i.published, next)
	i.signing = next
}

// SigningKey is the key tokens are signed with now.
func (i *Issuer) SigningKey() *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.signing
}

// Claims returns valid claims for audience: sub, tenant_id, scope, and a lifetime of ten minutes.
func (i *Issuer) Claims(audience, subject, tenantID string, scopes ...string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": i.URL, "aud": audience, "sub": subject, "client_id": subject,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(9)),
	}
	if tenantID != "" {
		c["tenant_id"] = tenantID
	}
	scope := ""
	for n, s := range scopes {
		if n > 0 {
			scope += " "
		}
		scope += s
	}
	c["scope"] = scope
	return c
}

// Token signs claims with the issuer's current key.
func (i *Issuer) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return Sign(t, i.SigningKey(), claims)
}

// Sign signs claims with k (RS256, typ at+jwt, kid k.ID).
func Sign(t testing.TB, k *Key, claims map[string]any) string {
	t.Helper()
	return SignTyped(t, k, "at+jwt", claims)
}

// SignTyped signs claims with k and the JWT typ header typ ("JWT" for an ID token, "" for none).
func SignTyped(t testing.TB, k *Key, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Unsigned is a token with alg none.
func Unsigned(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	return compact(t, map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, claims) + "."
}

// HMACWithPublicKey is the algorithm-confusion attack: HS256 keyed with the issuer's public key
// (its DER encoding), which a verifier that trusts the header's alg would accept.
func HMACWithPublicKey(t testing.TB, k *Key, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	input := compact(t, map[string]any{"alg": "HS256", "kid": k.ID, "typ": "at+jwt"}, claims)
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// SignRaw signs claims with an arbitrary RSA key and header, for tokens claiming another key's id.
func SignRaw(t testing.TB, priv *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	input := compact(t, map[string]any{"alg": "RS256", "kid": kid, "typ": "at+jwt"}, claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func compact(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Close stops the issuer (to test an unreachable issuer).
func (i *Issuer) Close() { i.server.Close() }
