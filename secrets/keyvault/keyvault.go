// Package keyvault reads the versions of Key Vault secrets: which exist, which are enabled, when
// they expire, and which one a reference that follows the latest resolves to. It lists version
// properties only (azsecrets NewListSecretPropertiesVersionsPager) and never reads a secret's
// value: nothing tenantctl decides needs one, so none can leak.
package keyvault

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/connectsoft/tenantctl/isolation"
)

// Version is one version of a secret, as its properties say: never its value.
type Version struct {
	ID        string     `json:"id"`
	Enabled   bool       `json:"enabled"`
	Created   time.Time  `json:"created"`
	Updated   time.Time  `json:"updated,omitzero"`
	NotBefore *time.Time `json:"notBefore,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
}

// Expired reports whether the version's expiry has passed at now.
func (v Version) Expired(now time.Time) bool { return v.Expires != nil && !now.Before(*v.Expires) }

// Usable reports whether Key Vault serves the version at now: enabled, not expired, and past its
// not-before date.
func (v Version) Usable(now time.Time) bool {
	return v.Enabled && !v.Expired(now) && (v.NotBefore == nil || !now.Before(*v.NotBefore))
}

// Current is the version a reference that follows the latest resolves to: the newest usable one
// (by creation time; the last updated, then the id, break ties so the answer is stable). ok is
// false when no version is usable.
func Current(versions []Version, now time.Time) (Version, bool) {
	var usable []Version
	for _, v := range versions {
		if v.Usable(now) {
			usable = append(usable, v)
		}
	}
	if len(usable) == 0 {
		return Version{}, false
	}
	return slices.MaxFunc(usable, func(a, b Version) int {
		return cmp.Or(a.Created.Compare(b.Created), a.Updated.Compare(b.Updated), strings.Compare(a.ID, b.ID))
	}), true
}

// Find returns the version with id (case-insensitively: ids are hex).
func Find(versions []Version, id string) (Version, bool) {
	for _, v := range versions {
		if strings.EqualFold(v.ID, id) {
			return v, true
		}
	}
	return Version{}, false
}

// Reader lists a secret's versions. vault is a keyVaultRef as bindings hold it (a vault name or
// its https URI).
type Reader interface {
	Versions(ctx context.Context, vault, secret string) ([]Version, error)
}

// ErrSecretNotFound: the vault has no secret of that name (or the caller may not see it).
var ErrSecretNotFound = errors.New("secret not found")

// Client reads vaults through azsecrets, one client per vault.
type Client struct {
	cred    azcore.TokenCredential
	options func(vaultURL string) *azsecrets.ClientOptions

	mu      sync.Mutex
	clients map[string]*azsecrets.Client
}

// Option configures a Client.
type Option func(*Client)

// WithClientOptions sets the azsecrets options of each vault's client (retries, a proxy, or a
// test server's transport), by the vault's URL.
func WithClientOptions(f func(vaultURL string) *azsecrets.ClientOptions) Option {
	return func(c *Client) { c.options = f }
}

// New reads vaults as cred.
func New(cred azcore.TokenCredential, opts ...Option) *Client {
	c := &Client{cred: cred, clients: map[string]*azsecrets.Client{}, options: func(string) *azsecrets.ClientOptions { return nil }}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewDefault reads vaults as the default Azure credential (environment, workload identity,
// managed identity, Azure CLI, …: azidentity.NewDefaultAzureCredential).
func NewDefault(opts ...Option) (*Client, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("key vault: default Azure credential: %w", err)
	}
	return New(cred, opts...), nil
}

// VaultURL is the data-plane URL of a keyVaultRef: the URI itself, or the public cloud's URL of
// a vault name.
func VaultURL(ref string) (string, error) {
	name, ok := isolation.VaultName(ref)
	if !ok {
		return "", fmt.Errorf("%q is not a Key Vault name or https://<name>.vault.azure.net URI", ref)
	}
	if u, err := url.Parse(ref); err == nil && u.Scheme == "https" && u.Host != "" {
		return "https://" + strings.ToLower(u.Hostname()) + "/", nil
	}
	return "https://" + strings.ToLower(name) + ".vault.azure.net/", nil
}

func (c *Client) client(vaultURL string) (*azsecrets.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[vaultURL]; ok {
		return cl, nil
	}
	cl, err := azsecrets.NewClient(vaultURL, c.cred, c.options(vaultURL))
	if err != nil {
		return nil, err
	}
	c.clients[vaultURL] = cl
	return cl, nil
}

// Versions lists every version of secret in vault, oldest first.
func (c *Client) Versions(ctx context.Context, vault, secret string) ([]Version, error) {
	vaultURL, err := VaultURL(vault)
	if err != nil {
		return nil, err
	}
	cl, err := c.client(vaultURL)
	if err != nil {
		return nil, fmt.Errorf("key vault %s: %w", vaultURL, err)
	}
	var out []Version
	pager := cl.NewListSecretPropertiesVersionsPager(secret, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			var re *azcore.ResponseError
			if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
				return nil, fmt.Errorf("key vault %s: secret %s: %w", vaultURL, secret, ErrSecretNotFound)
			}
			return nil, fmt.Errorf("key vault %s: list versions of %s: %w", vaultURL, secret, err)
		}
		for _, p := range page.Value {
			if p == nil || p.ID == nil {
				continue
			}
			v := Version{ID: p.ID.Version()}
			if a := p.Attributes; a != nil {
				v.Enabled = a.Enabled == nil || *a.Enabled
				v.NotBefore, v.Expires = utc(a.NotBefore), utc(a.Expires)
				if a.Created != nil {
					v.Created = a.Created.UTC()
				}
				if a.Updated != nil {
					v.Updated = a.Updated.UTC()
				}
			}
			if v.ID != "" {
				out = append(out, v)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Version) int { return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID)) })
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
