// Package secretversions compares the secret references of tenant bindings with their Key Vault
// versions: for each reference, the version it pins, the vault's current version, and whether the
// pin is still good. What `tenantctl secrets status` shows, what rotation acts on, and the drift
// check's stale-secret-version findings all come from here.
package secretversions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/secrets/keyvault"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// DefaultGrace is how long a pinned reference may lag the vault's current version before it is
// a finding: long enough for a rotation's pull request to be reviewed and merged.
const DefaultGrace = 7 * 24 * time.Hour

// State says how a reference's pin stands.
type State string

const (
	// StateCurrent: pinned to the vault's current version.
	StateCurrent State = "current"
	// StateLatest: not pinned; the driver mounts whatever version is current.
	StateLatest State = "latest"
	// StateLagging: a newer version is current, within the grace period.
	StateLagging State = "lagging"
	// StateStale: a newer version has been current for longer than the grace period.
	StateStale State = "stale"
	// StateDisabled, StateExpired, StateMissing: the pinned version is disabled, expired, or not
	// in the vault at all; a pod that (re)starts cannot mount it.
	StateDisabled State = "disabled"
	StateExpired  State = "expired"
	StateMissing  State = "missing"
	// StateNoUsableVersion: the vault has no version a reference could move to.
	StateNoUsableVersion State = "no-usable-version"
	// StateError: the vault could not be read.
	StateError State = "error"
)

// Finding reports whether the state is a drift finding.
func (s State) Finding() bool {
	switch s {
	case StateStale, StateDisabled, StateExpired, StateMissing, StateNoUsableVersion:
		return true
	}
	return false
}

// Reference is one SecretBinding of one tenant stack and what its vault says about it. Versions
// are ids and dates, never values.
type Reference struct {
	Stack       string `json:"stack"`
	TenantID    string `json:"tenantId"`
	Environment string `json:"environment"`
	// Name is the binding's reference name; Index its position in spec.secrets.
	Name   string `json:"name"`
	Index  int    `json:"index"`
	Vault  string `json:"vault"`
	Secret string `json:"secretName"`
	// Pinned is spec.secrets[Index].currentVersion; "" follows the latest.
	Pinned string `json:"pinned,omitempty"`
	// Current is the vault's current (newest usable) version; nil when there is none or the
	// vault could not be read.
	Current *keyvault.Version `json:"current,omitempty"`
	// PinnedVersion is the pinned version's properties; nil when unpinned or not in the vault.
	PinnedVersion *keyvault.Version `json:"pinnedVersion,omitempty"`
	State         State             `json:"state"`
	// Lag is how long the vault's current version has superseded the pinned one.
	Lag time.Duration `json:"lagNs,omitempty"`
	// Location is the binding's currentVersion line (or the reference's, when unpinned).
	Location isolation.Source `json:"location"`
	Error    string           `json:"error,omitempty"`
}

// Field is the binding field a person edits: the pin, or for an unpinned reference its secret
// name.
func (r Reference) Field() string {
	if r.Pinned == "" {
		return fieldpath.AppendIndex("spec.secrets", r.Index) + ".secretName"
	}
	return fieldpath.AppendIndex("spec.secrets", r.Index) + ".currentVersion"
}

// Key identifies the reference across runs: stack and reference name.
func (r Reference) Key() string { return r.Stack + "/" + r.Name }

// Evaluate reads the vault for every reference of bindings (each secret once) and judges each
// pin at now. A vault that cannot be read makes its references StateError, and the errors are
// also returned joined, so a caller can fail while still showing what it could read.
func Evaluate(ctx context.Context, st *isolation.DesiredState, bindings []*isolation.RuntimeTenantBinding, r keyvault.Reader, now time.Time, grace time.Duration) ([]Reference, error) {
	type secretKey struct{ vault, secret string }
	type read struct {
		versions []keyvault.Version
		err      error
	}
	cache := map[secretKey]read{}
	var out []Reference
	var errs []error
	for _, b := range bindings {
		for i, sb := range b.Spec.Secrets {
			ref := Reference{
				Stack: tenantplan.TenantStackName(b.Spec.TenantID, b.Spec.Environment), TenantID: b.Spec.TenantID, Environment: b.Spec.Environment,
				Name: sb.Name, Index: i, Vault: sb.KeyVaultRef, Secret: sb.SecretName, Pinned: strings.ToLower(sb.CurrentVersion),
			}
			if st != nil {
				ref.Location = st.FieldSource(b, ref.Field())
			} else {
				ref.Location = b.Source
			}
			vaultName, _ := isolation.VaultName(sb.KeyVaultRef)
			key := secretKey{strings.ToLower(vaultName), sb.SecretName}
			got, ok := cache[key]
			if !ok {
				got.versions, got.err = r.Versions(ctx, sb.KeyVaultRef, sb.SecretName)
				cache[key] = got
				if got.err != nil && !errors.Is(got.err, keyvault.ErrSecretNotFound) {
					errs = append(errs, fmt.Errorf("%s %s: %w", ref.Stack, ref.Name, got.err))
				}
			}
			judge(&ref, got.versions, got.err, now, grace)
			out = append(out, ref)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Stack != out[j].Stack {
			return out[i].Stack < out[j].Stack
		}
		return out[i].Index < out[j].Index
	})
	return out, errors.Join(errs...)
}

func judge(ref *Reference, versions []keyvault.Version, err error, now time.Time, grace time.Duration) {
	switch {
	case errors.Is(err, keyvault.ErrSecretNotFound):
		ref.State = StateNoUsableVersion
		if ref.Pinned != "" {
			ref.State = StateMissing
		}
		ref.Error = "the vault has no secret " + ref.Secret
		return
	case err != nil:
		ref.State, ref.Error = StateError, err.Error()
		return
	}
	if cur, ok := keyvault.Current(versions, now); ok {
		ref.Current = &cur
	}
	if ref.Pinned == "" {
		ref.State = StateLatest
		if ref.Current == nil {
			ref.State = StateNoUsableVersion
		}
		return
	}
	pinned, found := keyvault.Find(versions, ref.Pinned)
	switch {
	case !found:
		ref.State = StateMissing
		return
	case !pinned.Enabled:
		ref.PinnedVersion, ref.State = &pinned, StateDisabled
	case pinned.Expired(now):
		ref.PinnedVersion, ref.State = &pinned, StateExpired
	default:
		ref.PinnedVersion = &pinned
		ref.State = StateCurrent
	}
	if ref.Current == nil {
		if ref.State == StateCurrent {
			ref.State = StateNoUsableVersion // e.g. the pinned version is not valid yet
		}
		return
	}
	if !strings.EqualFold(ref.Current.ID, pinned.ID) {
		ref.Lag = max(now.Sub(ref.Current.Created), 0)
		if ref.State == StateCurrent {
			ref.State = StateLagging
			if ref.Lag > grace {
				ref.State = StateStale
			}
		}
	}
}

// FindingType is the resource type of a stale-secret-version finding.
const FindingType = "Microsoft.KeyVault/vaults/secrets"

// Findings are the stale-secret-version findings among refs: one per reference whose pin is
// disabled, expired, missing, or stale beyond the grace period. They name versions, never values.
func Findings(refs []Reference) []finding.Finding {
	var out []finding.Finding
	for _, r := range refs {
		if !r.State.Finding() {
			continue
		}
		vaultURL, _ := keyvault.VaultURL(r.Vault)
		id := strings.TrimSuffix(vaultURL, "/") + "/secrets/" + r.Secret
		if r.Pinned != "" {
			id += "/" + r.Pinned
		}
		f := finding.Finding{
			Kind: finding.KindStaleSecretVersion, TenantID: r.TenantID, Environment: r.Environment, Stack: r.Stack,
			Resource: finding.Resource{Provider: finding.ProviderAzure, Type: FindingType, Name: r.Secret, ID: id},
			Field:    r.Field(), Detector: finding.DetectorLive, Location: finding.Location(r.Location),
			Message: r.message(), Severity: finding.SeverityHigh,
		}
		if r.State == StateStale {
			f.Severity = finding.SeverityMedium
		}
		if r.Current != nil {
			f.Evidence = append(f.Evidence, "the vault's current version is "+r.Current.ID+" (created "+r.Current.Created.Format(time.RFC3339)+")")
		}
		out = append(out, f)
	}
	return out
}

func (r Reference) message() string {
	pin := "secret " + r.Name + " (" + r.Secret + ")"
	switch r.State {
	case StateDisabled:
		return pin + " is pinned to version " + r.Pinned + ", which is disabled in the vault"
	case StateExpired:
		return pin + " is pinned to version " + r.Pinned + ", which expired " + r.PinnedVersion.Expires.Format(time.RFC3339)
	case StateMissing:
		if r.Pinned == "" {
			return pin + " names a secret the vault does not have"
		}
		return pin + " is pinned to version " + r.Pinned + ", which the vault does not have"
	case StateNoUsableVersion:
		return pin + ": the vault has no enabled, unexpired version"
	case StateStale:
		return fmt.Sprintf("%s is pinned to version %s; version %s has been current for %s", pin, r.Pinned, r.Current.ID, r.Lag.Round(time.Minute))
	}
	return pin + ": " + string(r.State)
}
