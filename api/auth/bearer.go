package auth

import (
	"strings"
)

// MaxTokenBytes bounds an access token. Real access tokens are a few kilobytes; anything larger
// is refused before any parsing or key lookup, so an oversized header cannot cost CPU.
const MaxTokenBytes = 8 << 10

// ParseBearer extracts the token from an Authorization header value ("Bearer <token>", the
// scheme case-insensitive per RFC 7235). It checks the token's size and RFC 6750 token68
// alphabet only; Verify checks the rest.
func ParseBearer(header string) (string, error) {
	if header == "" {
		return "", fail(ReasonMissingToken, "no Authorization header")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fail(ReasonMalformedHeader, "Authorization header is not \"Bearer <token>\"")
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return "", fail(ReasonMalformedHeader, "Authorization header has no token")
	}
	if len(token) > MaxTokenBytes {
		return "", fail(ReasonTokenTooLarge, "token is larger than 8 KiB")
	}
	if !isToken68(token) {
		return "", fail(ReasonMalformedHeader, "token has characters outside the bearer token alphabet")
	}
	return token, nil
}

// isToken68 reports whether s matches RFC 6750's b64token: ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" followed by optional "=" padding.
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
