package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxMetadataBytes bounds discovery documents and key sets read from the issuer.
const maxMetadataBytes = 1 << 20

// Metadata is the part of an issuer's OpenID Provider Metadata the verifier uses.
type Metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// Discover reads issuer/.well-known/openid-configuration (OpenID Connect Discovery 1.0) and checks
// that the document names the same issuer, so a document served from elsewhere cannot redirect
// key lookups.
func Discover(ctx context.Context, client *http.Client, issuer string) (Metadata, error) {
	if err := checkURL("issuer", issuer); err != nil {
		return Metadata{}, err
	}
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var md Metadata
	if err := getJSON(ctx, client, u, &md); err != nil {
		return Metadata{}, fmt.Errorf("discover %s: %w", issuer, err)
	}
	if md.Issuer != issuer {
		return Metadata{}, fmt.Errorf("discover %s: the document names issuer %q", issuer, md.Issuer)
	}
	if err := checkURL("jwks_uri", md.JWKSURI); err != nil {
		return Metadata{}, fmt.Errorf("discover %s: %w", issuer, err)
	}
	return md, nil
}

// checkURL requires https, except on loopback addresses (local development and tests).
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q: not an absolute URL", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%s %q: must be https (plain http only on loopback)", what, raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func getJSON(ctx context.Context, client *http.Client, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxMetadataBytes {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxMetadataBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
