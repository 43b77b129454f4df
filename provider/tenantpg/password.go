package tenantpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Password is a generated password that exists only in the Pulumi state, like
// random.RandomPassword: a program gets the same secret on every run, and a new one (a rotation)
// when the length or a keeper changes. No server is involved in any operation. ID: a random
// identifier that says nothing about the password.
type Password struct{}

// PasswordArgs are a password's inputs; any change replaces it.
type PasswordArgs struct {
	Length  int               `pulumi:"length,optional" provider:"replaceOnChanges"`
	Keepers map[string]string `pulumi:"keepers,optional" provider:"replaceOnChanges"`
}

// PasswordState holds the generated password.
type PasswordState struct {
	PasswordArgs
	Result string `pulumi:"result" provider:"secret"`
}

const (
	passwordMinLength = 16
	passwordMaxLength = 128
	// passwordAlphabet has no quote, backslash or other character that needs escaping in a
	// connection string, a URL or YAML.
	passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// Annotate documents the resource.
func (r *Password) Annotate(a infer.Annotator) {
	a.SetToken("index", "Password")
	a.Describe(r, "A generated password (A-Z, a-z, 0-9, at least one of each) kept only in the state as a secret, like random.RandomPassword: "+
		"it stays the same across runs and is generated anew when length or keepers change. No server is involved. It cannot be imported.")
}

// Annotate documents the inputs.
func (r *PasswordArgs) Annotate(a infer.Annotator) {
	a.Describe(&r.Length, fmt.Sprintf("Number of characters, %d to %d; default 32.", passwordMinLength, passwordMaxLength))
	a.SetDefault(&r.Length, 32)
	a.Describe(&r.Keepers, "Arbitrary values; any change generates a new password (a rotation).")
}

// Annotate documents the outputs.
func (r *PasswordState) Annotate(a infer.Annotator) {
	a.Describe(&r.Result, "The password (a secret).")
}

// WireDependencies marks the result a secret in every response, not only in the schema (which the
// generated SDKs act on).
func (*Password) WireDependencies(f infer.FieldSelector, _ *PasswordArgs, state *PasswordState) {
	f.OutputField(&state.Result).AlwaysSecret()
}

// Check validates the length.
func (*Password) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[PasswordArgs], error) {
	return validated(req, func() (PasswordArgs, []p.CheckFailure, error) {
		return infer.DefaultCheck[PasswordArgs](ctx, req.NewInputs)
	}, func(a *PasswordArgs) (string, error) {
		if a.Length < passwordMinLength || a.Length > passwordMaxLength {
			return "length", fmt.Errorf("password length %d: want %d to %d", a.Length, passwordMinLength, passwordMaxLength)
		}
		return "", nil
	})
}

// Create generates the password; a preview leaves it unknown (infer marks an output that mirrors
// no input as computed while previewing a create).
func (*Password) Create(_ context.Context, req infer.CreateRequest[PasswordArgs]) (infer.CreateResponse[PasswordState], error) {
	if req.DryRun {
		return infer.CreateResponse[PasswordState]{Output: PasswordState{PasswordArgs: req.Inputs}}, nil
	}
	pw, err := generatePassword(req.Inputs.Length)
	if err != nil {
		return infer.CreateResponse[PasswordState]{}, err
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return infer.CreateResponse[PasswordState]{ID: hex.EncodeToString(id), Output: PasswordState{PasswordArgs: req.Inputs, Result: pw}}, nil
}

// Read returns the state as it is: the password exists nowhere else.
func (*Password) Read(_ context.Context, req infer.ReadRequest[PasswordArgs, PasswordState]) (infer.ReadResponse[PasswordArgs, PasswordState], error) {
	if req.State.Result == "" {
		return infer.ReadResponse[PasswordArgs, PasswordState]{}, errors.New("a Password cannot be imported: it exists only in the state; declare a new one")
	}
	return infer.ReadResponse[PasswordArgs, PasswordState]{ID: req.ID, Inputs: req.State.PasswordArgs, State: req.State}, nil
}

// Diff: any change of length or keepers is a new password. Nothing on a server carries its name,
// so the replacement need not delete first.
func (*Password) Diff(_ context.Context, req infer.DiffRequest[PasswordArgs, PasswordState]) (infer.DiffResponse, error) {
	o, n := req.State, req.Inputs
	resp := diffFields(
		field{"length", o.Length, n.Length, true},
		field{"keepers", o.Keepers, n.Keepers, true},
	)
	resp.DeleteBeforeReplace = false
	return resp, nil
}

// Delete forgets the password: nothing to do.
func (*Password) Delete(context.Context, infer.DeleteRequest[PasswordState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}

// generatePassword draws n characters uniformly from passwordAlphabet with crypto/rand, again until
// the password has an upper-case letter, a lower-case letter and a digit (what password policies
// usually ask for; redrawing keeps every acceptable password equally likely).
func generatePassword(n int) (string, error) {
	if n < passwordMinLength || n > passwordMaxLength {
		return "", fmt.Errorf("password length %d: want %d to %d", n, passwordMinLength, passwordMaxLength)
	}
	// The largest multiple of the alphabet's size that fits a byte: bytes at or above it are
	// dropped, so that no character is more likely than another.
	limit := byte(256 - 256%len(passwordAlphabet))
	out := make([]byte, n)
	buf := make([]byte, 2*n)
	for {
		for i := 0; i < n; {
			_, _ = rand.Read(buf) // crypto/rand.Read never fails (it crashes the program instead)
			for _, b := range buf {
				if b >= limit || i == n {
					continue
				}
				out[i] = passwordAlphabet[int(b)%len(passwordAlphabet)]
				i++
			}
		}
		if hasEveryClass(out) {
			return string(out), nil
		}
	}
}

func hasEveryClass(pw []byte) bool {
	var upper, lower, digit bool
	for _, c := range pw {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	return upper && lower && digit
}
