package isolation

import (
	"strings"

	"github.com/connectsoft/tenantctl/internal/fieldpath"
)

// checkData matches spec.data to the binding's data mode: a dedicated database needs its name; a
// partitioned tenant needs its own schema in the shared server; neither pool nor shared tenants
// name a database (that would be a dedicated one, which takes overrides.data: dedicated-database).
func checkData(errs *errorList, e *bindingEntry) {
	d, data := e.d, e.b.Spec.Data
	mode := e.modes[LayerData]
	switch {
	case mode == DataDedicatedDatabase && data.Database == "":
		errs.at(d, "spec.data.database", "required: the tenant's dedicated database (data layer %s)", mode)
	case mode != DataDedicatedDatabase && data.Database != "":
		errs.at(d, "spec.data.database", "%s tenants use the shared database server (data layer %s); a dedicated database needs overrides.data: %s", e.b.Spec.Tier, mode, DataDedicatedDatabase)
	case data.Database != "" && !databaseName.MatchString(data.Database):
		errs.at(d, "spec.data.database", "%s is not a database name (a letter, then letters, digits, '_' or '-'; at most 63)", shown(data.Database))
	}
	switch {
	case mode == DataPartitioned && data.Schema == "":
		errs.at(d, "spec.data.schema", "required: the tenant's partition (schema) in the shared database (data layer %s)", mode)
	case data.Schema != "" && !schemaName.MatchString(data.Schema):
		errs.at(d, "spec.data.schema", "%s is not a schema name (letters, digits and '_', not starting with a digit; at most 63)", shown(data.Schema))
	}
}

// secretValueMessage is the one thing said about a suspected secret; the value is never echoed.
const secretValueMessage = "looks like a secret value; bindings hold references only"

// checkSecrets validates the SecretBinding references and that they stay inside the tenant's
// scope: pool and shared tenants reference the environment's shared vault, with secret names
// prefixed by their tenant id ("scoped references"); a dedicated vault is never the shared one.
func checkSecrets(errs *errorList, e *bindingEntry) {
	d, b := e.d, e.b
	mode := e.modes[LayerSecrets]
	shared := ""
	if e.env != nil {
		shared = e.env.env.Spec.SharedVault.Name
	}
	names := map[string]int{}
	for i, sb := range b.Spec.Secrets {
		f := fieldpath.AppendIndex("spec.secrets", i)
		suspicious := false
		for _, v := range []struct{ field, value string }{
			{"name", sb.Name}, {"keyVaultRef", sb.KeyVaultRef}, {"secretName", sb.SecretName}, {"currentVersion", sb.CurrentVersion},
		} {
			if looksLikeSecretValue(v.value) && !kvVersion.MatchString(v.value) {
				errs.at(d, f+"."+v.field, secretValueMessage)
				suspicious = true
			}
		}
		if suspicious {
			continue // format messages would only add noise about a value that must go anyway
		}
		switch {
		case sb.Name == "":
			errs.at(d, f+".name", "required: how workloads refer to this secret")
		case !secretBindName.MatchString(sb.Name):
			errs.at(d, f+".name", "is not a secret binding name (letters, digits, '.', '_', '-'; at most 63)")
		default:
			if first, dup := names[sb.Name]; dup {
				errs.at(d, f+".name", "duplicate secret binding name; first used by spec.secrets[%d]", first)
			} else {
				names[sb.Name] = i
			}
		}
		if sb.CurrentVersion != "" && !kvVersion.MatchString(sb.CurrentVersion) {
			errs.at(d, f+".currentVersion", "must be a Key Vault secret version id (32 hex characters), or empty for the latest version")
		}
		scoped := mode != SecretsDedicatedVault
		switch {
		case sb.SecretName == "":
			errs.at(d, f+".secretName", "required: the secret's name in Key Vault")
		case !kvSecretName.MatchString(sb.SecretName):
			errs.at(d, f+".secretName", "is not a Key Vault secret name (1-127 letters, digits and hyphens)")
		case scoped && e.idOK && !strings.HasPrefix(sb.SecretName, b.Spec.TenantID+"-"):
			errs.at(d, f+".secretName", "secrets in the shared vault are scoped by tenant: the name must start with %q", b.Spec.TenantID+"-")
		}
		if sb.KeyVaultRef == "" {
			errs.at(d, f+".keyVaultRef", "required: a Key Vault name or https://<name>.vault.azure.net URI")
			continue
		}
		vault, ok := VaultName(sb.KeyVaultRef)
		switch {
		case !ok:
			errs.at(d, f+".keyVaultRef", "must be a Key Vault name or https://<name>.vault.azure.net URI")
		case shared == "":
		case scoped && !strings.EqualFold(vault, shared):
			errs.at(d, f+".keyVaultRef", "%s tenants reference the shared vault %s (secrets layer %s); a dedicated vault needs overrides.secrets: %s",
				b.Spec.Tier, shared, mode, SecretsDedicatedVault)
		case !scoped && strings.EqualFold(vault, shared):
			errs.at(d, f+".keyVaultRef", "secrets layer %s: reference the tenant's own vault, not the shared vault %s", mode, shared)
		}
		if ok && !scoped {
			v := vaultRef{name: strings.ToLower(vault), field: f + ".keyVaultRef"}
			if len(e.vaults) > 0 && e.vaults[0].name != v.name {
				errs.at(d, v.field, "secrets layer %s: a tenant has one dedicated vault, and %s already names %s; one SecretProviderClass reads one vault",
					mode, e.vaults[0].field, e.vaults[0].name)
			}
			e.vaults = append(e.vaults, v)
		}
	}
}
