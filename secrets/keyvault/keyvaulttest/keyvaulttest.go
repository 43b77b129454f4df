// Package keyvaulttest serves in-memory vaults to keyvault.Client through the Azure SDK's own
// fake server (azsecrets/fake): the client, its pipeline and the SDK's response handling are the
// real ones, only the transport answers from memory. Tests add versions, disable or expire them,
// make a listing fail, and count every read of a value (tenantctl must never make one).
package keyvaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"

	"github.com/connectsoft/tenantctl/secrets/keyvault"
)

// Vaults holds the vaults, by lowercase name.
type Vaults struct {
	mu         sync.Mutex
	secrets    map[string]map[string][]*version // vault -> secret -> versions
	failures   map[string]int                   // "vault/secret" -> HTTP status of the next listings
	valueReads int
	clock      time.Time
}

type version struct {
	keyvault.Version
	value string
}

// New returns empty vaults whose version clock starts at start: each new version is created one
// minute after the previous one unless Created says otherwise.
func New(start time.Time) *Vaults {
	return &Vaults{secrets: map[string]map[string][]*version{}, failures: map[string]int{}, clock: start.UTC()}
}

// VersionOption sets an attribute of a new version.
type VersionOption func(*keyvault.Version)

// Disabled creates the version disabled.
func Disabled() VersionOption { return func(v *keyvault.Version) { v.Enabled = false } }

// Expires sets the version's expiry.
func Expires(t time.Time) VersionOption {
	return func(v *keyvault.Version) { u := t.UTC(); v.Expires = &u }
}

// ID gives the version a chosen id (32 hex digits) instead of a random one.
func ID(id string) VersionOption { return func(v *keyvault.Version) { v.ID = id } }

// Created sets the version's creation time.
func Created(t time.Time) VersionOption { return func(v *keyvault.Version) { v.Created = t.UTC() } }

// Put adds a new version holding value to secret in vault and returns its id.
func (f *Vaults) Put(vault, secret, value string, opts ...VersionOption) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(time.Minute)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	v := &version{Version: keyvault.Version{ID: hex.EncodeToString(b), Enabled: true, Created: f.clock, Updated: f.clock}, value: value}
	for _, o := range opts {
		o(&v.Version)
	}
	vault = strings.ToLower(vault)
	if f.secrets[vault] == nil {
		f.secrets[vault] = map[string][]*version{}
	}
	f.secrets[vault][secret] = append(f.secrets[vault][secret], v)
	return v.ID
}

// SetEnabled enables or disables a version.
func (f *Vaults) SetEnabled(vault, secret, id string, enabled bool) {
	f.update(vault, secret, id, func(v *keyvault.Version) { v.Enabled = enabled })
}

// SetExpires sets a version's expiry.
func (f *Vaults) SetExpires(vault, secret, id string, t time.Time) {
	f.update(vault, secret, id, func(v *keyvault.Version) { u := t.UTC(); v.Expires = &u })
}

func (f *Vaults) update(vault, secret, id string, set func(*keyvault.Version)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[strings.ToLower(vault)][secret] {
		if v.ID == id {
			set(&v.Version)
			return
		}
	}
	panic(fmt.Sprintf("keyvaulttest: no version %s of %s/%s", id, vault, secret))
}

// Fail makes listing secret's versions answer status (e.g. 403, 503) until Fail is called with
// 0.
func (f *Vaults) Fail(vault, secret string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(vault) + "/" + secret
	if status == 0 {
		delete(f.failures, key)
		return
	}
	f.failures[key] = status
}

// ValueReads counts the reads of a secret's value (GetSecret) the vaults served.
func (f *Vaults) ValueReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.valueReads
}

// Client is a keyvault.Client whose requests the vaults answer.
func (f *Vaults) Client() *keyvault.Client {
	return keyvault.New(&azfake.TokenCredential{}, keyvault.WithClientOptions(func(vaultURL string) *azsecrets.ClientOptions {
		return &azsecrets.ClientOptions{ClientOptions: azcoreOptions(fake.NewServerTransport(f.server(vaultURL)))}
	}))
}

func vaultOf(vaultURL string) string {
	u, err := url.Parse(vaultURL)
	if err != nil {
		return vaultURL
	}
	return strings.ToLower(strings.SplitN(u.Hostname(), ".", 2)[0])
}

// server is the fake server of one vault.
func (f *Vaults) server(vaultURL string) *fake.Server {
	vault := vaultOf(vaultURL)
	id := func(secret, ver string) *azsecrets.ID {
		s := azsecrets.ID(strings.TrimSuffix(vaultURL, "/") + "/secrets/" + secret + "/" + ver)
		return &s
	}
	return &fake.Server{
		NewListSecretPropertiesVersionsPager: func(name string, _ *azsecrets.ListSecretPropertiesVersionsOptions) (resp azfake.PagerResponder[azsecrets.ListSecretPropertiesVersionsResponse]) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if status, ok := f.failures[vault+"/"+name]; ok {
				resp.AddResponseError(status, http.StatusText(status))
				return
			}
			versions, ok := f.secrets[vault][name]
			if !ok {
				resp.AddResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			// Two pages when there is more than one version, so paging is exercised.
			for start := 0; start < len(versions); start += 2 {
				page := azsecrets.ListSecretPropertiesVersionsResponse{}
				for _, v := range versions[start:min(start+2, len(versions))] {
					page.Value = append(page.Value, &azsecrets.SecretProperties{ID: id(name, v.ID), Attributes: attributes(v.Version)})
				}
				resp.AddPage(http.StatusOK, page, nil)
			}
			return
		},
		GetSecret: func(_ context.Context, name, ver string, _ *azsecrets.GetSecretOptions) (resp azfake.Responder[azsecrets.GetSecretResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.valueReads++
			for _, v := range f.secrets[vault][name] {
				if v.ID == ver || ver == "" {
					value := v.value
					resp.SetResponse(http.StatusOK, azsecrets.GetSecretResponse{Secret: azsecrets.Secret{ID: id(name, v.ID), Value: &value, Attributes: attributes(v.Version)}}, nil)
					return
				}
			}
			errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
			return
		},
	}
}

func attributes(v keyvault.Version) *azsecrets.SecretAttributes {
	enabled, created, updated := v.Enabled, v.Created, v.Updated
	return &azsecrets.SecretAttributes{Enabled: &enabled, Created: &created, Updated: &updated, Expires: v.Expires, NotBefore: v.NotBefore}
}

// azcoreOptions sends requests to transport and does not retry, so a failure the test asks for
// surfaces at once.
func azcoreOptions(transport policy.Transporter) azcore.ClientOptions {
	return azcore.ClientOptions{Transport: transport, Retry: policy.RetryOptions{MaxRetries: -1}}
}
