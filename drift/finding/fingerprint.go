package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// fingerprintVersion is hashed first so a future change of the identity fields yields new
// fingerprints instead of silently colliding with old ones.
const fingerprintVersion = "tenantctl.drift.fingerprint/v1"

// Fingerprint is the finding's stable identity: a hex sha256 over kind, environment, tenant,
// resource (provider, type, namespace, name, id), field and peer tenant. It deliberately leaves
// out everything that changes from run to run (desired and live values, message, evidence,
// severity, detector) so SARIF consumers and merges recognise the same finding across runs.
// Azure types and ids are compared case-insensitively because Azure APIs return them in
// varying case.
func (f Finding) Fingerprint() string {
	f = f.Normalize()
	return hashFields(fingerprintVersion,
		string(f.Kind), f.Environment, f.TenantID,
		string(f.Resource.Provider), f.resourceType(), f.Resource.Namespace, f.Resource.Name, f.resourceID(),
		f.Field, f.PeerTenant)
}

// CauseKey identifies the cause of a finding independently of the tenant it was found in, so the
// fleet view can say "40 tenants: same NSG rule allow-10.0.0.0/8". It covers kind, provider, type,
// name, field and manager, and leaves out tenant, environment, namespace, id and peer, which
// differ per tenant for what is one cause.
func (f Finding) CauseKey() string {
	f = f.Normalize()
	return hashFields("tenantctl.drift.cause/v1",
		string(f.Kind), string(f.Resource.Provider), f.resourceType(), f.Resource.Name, f.Field, f.Manager)
}

func (f Finding) resourceType() string {
	if f.Resource.Provider == ProviderAzure {
		return strings.ToLower(f.Resource.Type)
	}
	return f.Resource.Type
}

func (f Finding) resourceID() string {
	if f.Resource.Provider == ProviderAzure {
		return strings.ToLower(f.Resource.ID)
	}
	return f.Resource.ID
}

// hashFields length-prefixes every field so ("ab","c") and ("a","bc") hash differently.
func hashFields(fields ...string) string {
	h := sha256.New()
	for _, s := range fields {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
