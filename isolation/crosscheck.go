package isolation

import (
	"fmt"
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"net/netip"
	"strings"
)

// validateDocuments runs the per-document checks, then the checks that span documents. Entries
// come back in document order (files sorted by path, documents in file order).
func validateDocuments(docs []*document) (map[string]*envEntry, []*bindingEntry, ValidationErrors) {
	var errs errorList
	envs := map[string]*envEntry{}
	var envOrder []*envEntry
	for _, d := range docs {
		e, ok := d.obj.(*Environment)
		if !ok {
			continue
		}
		entry := checkEnvironment(&errs, d, e)
		name := e.Name()
		if name == "" {
			continue
		}
		if first := envs[name]; first != nil {
			errs.at(d, "metadata.name", "duplicate environment %s; first declared at %s", name, first.d.src)
			continue
		}
		envs[name] = entry
		envOrder = append(envOrder, entry)
	}
	var bindings []*bindingEntry
	for _, d := range docs {
		if b, ok := d.obj.(*RuntimeTenantBinding); ok {
			bindings = append(bindings, checkBinding(&errs, d, b, envs))
		}
	}
	checkUnique(&errs, bindings)
	for _, env := range envOrder {
		in := bindingsIn(bindings, env)
		checkOverlaps(&errs, env, in)
		checkDataSharing(&errs, in)
		checkRoutes(&errs, env, in)
		checkSecretPrefixes(&errs, in)
	}
	checkVaultSharing(&errs, envOrder, bindings)
	return envs, bindings, errs.errs
}

func bindingsIn(all []*bindingEntry, env *envEntry) []*bindingEntry {
	var out []*bindingEntry
	for _, b := range all {
		if b.env == env {
			out = append(out, b)
		}
	}
	return out
}

// checkUnique refuses two bindings with one metadata.name, two bindings of one tenant in one
// environment, and two bindings whose Pulumi stacks would share a name.
func checkUnique(errs *errorList, bindings []*bindingEntry) {
	byName := map[string]*bindingEntry{}
	byTenant := map[[2]string]*bindingEntry{}
	for _, e := range bindings {
		b := e.b
		if n := b.Metadata.Name; n != "" {
			if first := byName[n]; first != nil {
				errs.at(e.d, "metadata.name", "duplicate binding name %s; first declared at %s", shown(n), first.d.src)
			} else {
				byName[n] = e
			}
		}
		if b.Spec.TenantID == "" || b.Spec.Environment == "" {
			continue
		}
		key := [2]string{b.Spec.Environment, b.Spec.TenantID}
		if first := byTenant[key]; first != nil {
			errs.at(e.d, "spec.tenantId", "duplicate binding for tenant %s in environment %s; first declared at %s",
				shown(b.Spec.TenantID), shown(b.Spec.Environment), first.d.src)
			continue
		}
		byTenant[key] = e
	}
}

// rangeOwner says where a range of an overlap check was declared.
type rangeOwner struct {
	binding *bindingEntry // nil for a platform range
	field   string
}

// checkOverlaps sweeps the silo VNets of one environment together with its platform ranges.
func checkOverlaps(errs *errorList, env *envEntry, bindings []*bindingEntry) {
	var spans []span
	var owners []rangeOwner
	for _, p := range env.platform {
		spans = append(spans, span{prefix: p.prefix, platform: true})
		owners = append(owners, rangeOwner{field: p.field})
	}
	for _, b := range bindings {
		for _, p := range b.vnet {
			spans = append(spans, span{prefix: p.prefix})
			owners = append(owners, rangeOwner{binding: b, field: fieldpath.AppendIndex("spec.network.addressSpace", p.index)})
		}
	}
	for _, o := range findOverlaps(spans) {
		at, other := o.inner, o.outer
		if owners[at].binding == nil { // a platform range inside a tenant's: the tenant must move
			at, other = other, at
		}
		b := owners[at].binding
		errs.at(b.d, owners[at].field, "%s overlaps %s", spans[at].prefix, describeRange(env, spans[other].prefix, owners[other], b))
	}
}

func describeRange(env *envEntry, p netip.Prefix, o rangeOwner, self *bindingEntry) string {
	switch {
	case o.binding == nil:
		return fmt.Sprintf("the platform range %s of environment %s (%s)", p, env.env.Name(), Source{File: env.d.src.File, Line: env.d.fields.line(o.field, env.d.src.Line)})
	case o.binding == self:
		return fmt.Sprintf("%s, another range of this VNet", p)
	default:
		d := o.binding.d
		return fmt.Sprintf("%s of tenant %s (%s)", p, o.binding.b.Spec.TenantID, Source{File: d.src.File, Line: d.fields.line(o.field, d.src.Line)})
	}
}

// checkDataSharing refuses two tenants of one environment on one dedicated database, or a
// partition schema that another tenant also uses.
func checkDataSharing(errs *errorList, bindings []*bindingEntry) {
	databases := map[string]*bindingEntry{}
	schemas := map[string]*bindingEntry{}
	for _, e := range bindings {
		if e.modes == nil {
			continue
		}
		data := e.b.Spec.Data
		if db := strings.ToLower(data.Database); db != "" && e.modes[LayerData] == DataDedicatedDatabase {
			if first := databases[db]; first != nil && first.b.Spec.TenantID != e.b.Spec.TenantID {
				errs.at(e.d, "spec.data.database", "database %s is already the dedicated database of tenant %s (%s)", shown(data.Database), first.b.Spec.TenantID, first.d.src)
			} else if first == nil {
				databases[db] = e
			}
		}
		s := strings.ToLower(data.Schema)
		if s == "" {
			continue
		}
		first := schemas[s]
		if first == nil {
			schemas[s] = e
			continue
		}
		if first.b.Spec.TenantID != e.b.Spec.TenantID && (e.modes[LayerData] == DataPartitioned || first.modes[LayerData] == DataPartitioned) {
			errs.at(e.d, "spec.data.schema", "schema %s is also used by tenant %s (%s); a partition belongs to one tenant", shown(data.Schema), first.b.Spec.TenantID, first.d.src)
		}
	}
}

// checkVaultSharing refuses a dedicated vault referenced by two tenants, or one that is some
// environment's shared vault.
func checkVaultSharing(errs *errorList, envs []*envEntry, bindings []*bindingEntry) {
	sharedVaults := map[string]*envEntry{}
	for _, env := range envs {
		if n := strings.ToLower(env.env.Spec.SharedVault.Name); n != "" {
			sharedVaults[n] = env
		}
	}
	owner := map[string]*bindingEntry{}
	for _, e := range bindings {
		for _, v := range e.vaults {
			if env := sharedVaults[v.name]; env != nil && env != e.env {
				errs.at(e.d, v.field, "vault %s is the shared vault of environment %s; a dedicated vault belongs to one tenant", v.name, env.env.Name())
				continue
			}
			first := owner[v.name]
			if first == nil {
				owner[v.name] = e
				continue
			}
			if first.b.Spec.TenantID != e.b.Spec.TenantID {
				errs.at(e.d, v.field, "vault %s is the dedicated vault of tenant %s (%s)", v.name, first.b.Spec.TenantID, first.d.src)
			}
		}
	}
}

// checkRoutes requires every tenant an allowed route names to be bound in the environment, so a
// typo cannot silently allow nothing (or, later, the wrong tenant).
func checkRoutes(errs *errorList, env *envEntry, bindings []*bindingEntry) {
	tenants := map[string]bool{}
	for _, b := range bindings {
		tenants[b.b.Spec.TenantID] = true
	}
	for i, r := range env.env.Spec.AllowedRoutes {
		for _, end := range []struct{ name, value string }{{"from", r.From}, {"to", r.To}} {
			if end.value == "" || end.value == Platform || dnsLabelProblem(end.value) != "" || tenants[end.value] {
				continue
			}
			errs.at(env.d, fieldpath.AppendIndex("spec.allowedRoutes", i)+"."+end.name, "no binding declares tenant %s in environment %s", shown(end.value), env.env.Name())
		}
	}
}

// checkSecretPrefixes refuses a shared-vault reference that falls inside another tenant's
// prefix: tenant "acme" naming "acme-corp-db" is inside its own prefix "acme-" but also inside
// tenant "acme-corp"'s, whose grants and SecretProviderClass cover "acme-corp-*". Prefixes are how
// the shared vault is scoped, so a name must belong to exactly one tenant.
func checkSecretPrefixes(errs *errorList, bindings []*bindingEntry) {
	var tenants []string
	for _, b := range bindings {
		if b.idOK {
			tenants = append(tenants, b.b.Spec.TenantID)
		}
	}
	for _, e := range bindings {
		if e.modes == nil || e.modes[LayerSecrets] == SecretsDedicatedVault || !e.idOK {
			continue
		}
		id := e.b.Spec.TenantID
		for i, sb := range e.b.Spec.Secrets {
			for _, other := range tenants {
				if other == id || !strings.HasPrefix(other, id+"-") || !strings.HasPrefix(sb.SecretName, other+"-") {
					continue
				}
				errs.at(e.d, fieldpath.AppendIndex("spec.secrets", i)+".secretName",
					"%s is inside the prefix %q of tenant %s in the shared vault; name tenant %s's secrets so that no other tenant's prefix matches",
					shown(sb.SecretName), other+"-", other, id)
			}
		}
	}
}
