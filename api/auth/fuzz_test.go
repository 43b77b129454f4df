package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/api/auth"
	"github.com/connectsoft/tenantctl/api/internal/oidctest"
)

// FuzzParseBearer: any header either yields a token of the bearer alphabet within the size bound,
// or a *Failure; never a panic.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "Basic a", "", "Bearer ", "Bearer a==", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := auth.ParseBearer(header)
		if err != nil {
			if _, ok := auth.AsFailure(err); !ok {
				t.Fatalf("error is not a *Failure: %v", err)
			}
			return
		}
		if tok == "" || len(tok) > auth.MaxTokenBytes || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("accepted token %q", tok)
		}
	})
}

// FuzzVerify: arbitrary token strings (seeded with real, tampered and hostile tokens) are never
// accepted unless they are exactly the issuer's valid token, and never panic the verifier.
func FuzzVerify(f *testing.F) {
	iss := oidctest.Start(f)
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: iss.URL, Audience: audience})
	if err != nil {
		f.Fatal(err)
	}
	claims := iss.Claims(audience, "svc", "acme", "runtime.tenants.read")
	valid := iss.Token(f, claims)
	f.Add(valid)
	f.Add(oidctest.Unsigned(f, "key-a", claims))
	f.Add(oidctest.HMACWithPublicKey(f, iss.SigningKey(), claims))
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err == nil && tok != valid {
			// A different string may still carry the same signed content only by re-encoding
			// base64 padding bits; anything accepted must at least be the issuer's subject.
			if p.Subject != "svc" || p.Issuer != iss.URL {
				t.Fatalf("accepted a forged token: %+v", p)
			}
		}
		if err != nil {
			if _, ok := auth.AsFailure(err); !ok {
				t.Fatalf("error is not a *Failure: %v", err)
			}
		}
	})
}
