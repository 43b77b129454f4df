package pgcatalog

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// ScramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores for password, the form
// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802, RFC 7677). Roles are
// created with the verifier instead of the password, so a clear password never reaches the
// server, its logs or pg_stat_activity. Passwords must be printable ASCII: for other text
// PostgreSQL applies SASLprep first, which this function does not.
func ScramVerifier(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram salt: %w", err)
	}
	stored, server, err := scramKeys(password, salt, scramIterations)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(stored), b64(server)), nil
}

// ScramMatches reports whether verifier (as stored in pg_authid.rolpassword) was made from
// password. It tells a password changed out of band without ever reading a password.
func ScramMatches(verifier, password string) (bool, error) {
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok {
		return false, errors.New("not a SCRAM-SHA-256 verifier")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return false, errors.New("malformed SCRAM verifier")
	}
	iterS, saltS, ok1 := strings.Cut(params, ":")
	storedS, serverS, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return false, errors.New("malformed SCRAM verifier")
	}
	iter, err := strconv.Atoi(iterS)
	if err != nil || iter <= 0 {
		return false, errors.New("malformed SCRAM verifier iterations")
	}
	dec := base64.StdEncoding.DecodeString
	salt, err1 := dec(saltS)
	wantStored, err2 := dec(storedS)
	wantServer, err3 := dec(serverS)
	if err := errors.Join(err1, err2, err3); err != nil {
		return false, fmt.Errorf("malformed SCRAM verifier: %w", err)
	}
	stored, server, err := scramKeys(password, salt, iter)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(stored, wantStored) == 1 && subtle.ConstantTimeCompare(server, wantServer) == 1, nil
}

func scramKeys(password string, salt []byte, iter int) (stored, server []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("scram: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], hmacSHA256(salted, "Server Key"), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func checkPassword(p string) error {
	if p == "" {
		return errors.New("password is empty")
	}
	for _, r := range p {
		if r < 0x20 || r > 0x7e {
			// Never echo the password, not even a character of it.
			return errors.New("password must be printable ASCII")
		}
	}
	return nil
}
