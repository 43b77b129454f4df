package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keyCache holds the issuer's JSON Web Key Set. Keys are refetched when the cache is older than
// ttl, and when a token names a key id the cache does not know (the issuer rotated), at most once
// per minRefresh so random key ids cannot make the server hammer the issuer. A key the issuer
// removed stops verifying tokens at the next refetch.
type keyCache struct {
	url        string
	client     *http.Client
	ttl        time.Duration
	minRefresh time.Duration
	now        func() time.Time

	group   singleflight.Group
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
}

func (c *keyCache) snapshot() (keys []jose.JSONWebKey, fetched, tried time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys, c.fetched, c.tried
}

// refresh fetches the key set once for all concurrent callers.
func (c *keyCache) refresh(ctx context.Context) error {
	_, err, _ := c.group.Do("jwks", func() (any, error) {
		c.mu.Lock()
		c.tried = c.now()
		c.mu.Unlock()
		var set jose.JSONWebKeySet
		if err := getJSON(ctx, c.client, c.url, &set); err != nil {
			return nil, err
		}
		var keys []jose.JSONWebKey
		for _, k := range set.Keys {
			// A private key published by mistake is never used, nor kept.
			if k.Valid() && k.IsPublic() && (k.Use == "" || k.Use == "sig") {
				keys = append(keys, k)
			}
		}
		c.mu.Lock()
		c.keys, c.fetched = keys, c.now()
		c.mu.Unlock()
		return nil, nil
	})
	return err
}

// candidates returns the keys that may have signed a token with kid and alg.
func (c *keyCache) candidates(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	keys, fetched, tried := c.snapshot()
	now := c.now()
	if fetched.IsZero() || now.Sub(fetched) > c.ttl {
		if err := c.refresh(ctx); err != nil {
			if fetched.IsZero() {
				return nil, &Failure{Reason: ReasonKeysUnavailable, Detail: "the issuer's keys could not be fetched", Err: err}
			}
			// Keep verifying with the keys we have: the issuer being briefly unreachable must
			// not lock every caller out. The next request retries.
		}
		keys, _, tried = c.snapshot()
	}
	found := match(keys, kid, alg)
	if len(found) == 0 && now.Sub(tried) >= c.minRefresh {
		if err := c.refresh(ctx); err == nil {
			keys, _, _ = c.snapshot()
			found = match(keys, kid, alg)
		}
	}
	if len(found) == 0 {
		return nil, fail(ReasonUnknownKey, "no key of the issuer matches the token's key id and algorithm")
	}
	return found, nil
}

func match(keys []jose.JSONWebKey, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if (kid == "" || k.KeyID == kid) && keyFits(k, alg) {
			out = append(out, k)
		}
	}
	return out
}

// keyFits pins the algorithm to the key: a key declaring an alg is used for that alg only, and
// the key type must be the one the alg signs with, so an RSA public key can never be used as an
// HMAC secret.
func keyFits(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && pub.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		return want != nil && pub.Curve == want
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}

// asymmetric are the algorithms a verifier may be pinned to.
var asymmetric = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}

func checkAlgorithms(algs []string) error {
	if len(algs) == 0 {
		return fmt.Errorf("no signing algorithm configured")
	}
	for _, a := range algs {
		if !asymmetric[a] {
			return fmt.Errorf("signing algorithm %q is not allowed: want asymmetric algorithms (RS256, PS256, ES256, EdDSA, ...); never none or HMAC", a)
		}
	}
	return nil
}
