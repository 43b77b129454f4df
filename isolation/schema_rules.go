package isolation

// The rules of the binding and environment schemas: the patterns and constraints the loader
// checks, written as JSON Schema so an editor or CI can check a document before tenantctl reads it.

import (
	"fmt"
	"strings"
)

// Patterns shared by both schemas. They are the regular expressions of the checks where the
// checks use one; the rest are written to accept exactly what the check accepts (tests compare
// them on many values).
var (
	ipv4Pattern = `(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`
	ipv6Pattern = ipv6()
	// cidrPattern is a CIDR as netip.ParsePrefix reads it; that the address has no host bits set
	// is the loader's check.
	cidrPattern = `^(?:` + ipv4Pattern + `/(?:3[0-2]|[12]?[0-9])|` + ipv6Pattern + `/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))$`
	// ipPattern is an address as netip.ParseAddr reads it (an IPv6 zone included).
	ipPattern = `^(?:` + ipv4Pattern + `|` + ipv6Pattern + `(?:%.+)?)$`
	// quantityPattern is a non-negative Kubernetes quantity (resource.ParseQuantity).
	quantityPattern = `^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$`
	// dnsSubdomainPattern is a DNS-1123 subdomain (metadata.name of a binding).
	dnsSubdomainPattern = `^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$`
	// labelKeyPattern is a Kubernetes label key: an optional DNS-1123 subdomain prefix and "/", then
	// a name of at most 63 characters.
	labelKeyPattern = `^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`
	// labelValuePattern is a Kubernetes label value: empty, or at most 63 characters.
	labelValuePattern = `^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`
	// keyVaultURIPattern is https://<vault>.<a Key Vault endpoint>, the other form of keyVaultRef.
	keyVaultURIPattern = `^https://[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]\.(?:[Vv][Aa][Uu][Ll][Tt]\.(?:[Aa][Zz][Uu][Rr][Ee]\.(?:[Nn][Ee][Tt]|[Cc][Nn])|[Uu][Ss][Gg][Oo][Vv][Cc][Ll][Oo][Uu][Dd][Aa][Pp][Ii]\.[Nn][Ee][Tt]))/?$`
)

// ipv6 builds the pattern of an IPv6 address in any of its text forms: eight groups, "::"
// standing for one or more zero groups, and an IPv4 address as the last 32 bits.
func ipv6() string {
	const h = `[0-9A-Fa-f]{1,4}`
	alts := []string{`(?:` + h + `:){7}` + h, `(?:` + h + `:){6}` + ipv4Pattern}
	// "::" with i groups before it and up to 7-i after it (up to 5-i before an IPv4 tail).
	alts = append(alts, `:(?::`+h+`){1,7}`, `::`, `:(?::`+h+`){0,5}:`+ipv4Pattern)
	for i := 1; i <= 7; i++ {
		alts = append(alts, fmt.Sprintf(`(?:%s:){%d}:`, h, i))
		if i <= 6 {
			alts = append(alts, fmt.Sprintf(`(?:%s:){%d}(?::%s){1,%d}`, h, i, h, 7-i))
		}
		if i <= 5 {
			alts = append(alts, fmt.Sprintf(`(?:%s:){%d}(?::%s){0,%d}:%s`, h, i, h, 5-i, ipv4Pattern))
		}
	}
	return `(?:` + strings.Join(alts, "|") + `)`
}

func str(pattern string) func(*schema) {
	return func(s *schema) { s.Pattern = pattern }
}

func strMax(pattern string, max int) func(*schema) {
	return func(s *schema) { s.Pattern, s.MaxLength = pattern, ptrTo(max) }
}

func enum(values ...string) func(*schema) {
	return func(s *schema) { s.Enum = values }
}

func minimum(n int) func(*schema) {
	return func(s *schema) { s.Minimum = ptrTo(n) }
}

func minItems(n int) func(*schema) {
	return func(s *schema) { s.MinItems = ptrTo(n) }
}

// quantity: Kubernetes notation as a string, or a plain positive number (the loader reads an
// unquoted 2 as "2").
var quantity = ref("quantity")

// vaultName is a Key Vault name: 3-24 letters, digits and single hyphens, starting with a letter.
var vaultNameRule = func(s *schema) {
	s.Pattern = vaultName.String()
	s.Not = &schema{Pattern: "--"}
}

func labelsRule(reservedKeys bool) func(*schema) {
	return func(s *schema) {
		s.PropertyNames = &schema{Pattern: labelKeyPattern}
		if reservedKeys {
			s.PropertyNames.Not = &schema{AnyOf: []*schema{{Enum: []string{"tenant", "tier"}}, {Pattern: `^(?:[^/]*\.)?connectsoft\.io/`}}}
		}
		s.AdditionalProperties.Pattern = labelValuePattern
	}
}

// tenantIDRule: a DNS-1123 label that is not reserved (the environment's namespaces are the
// loader's check).
func tenantIDRule(s *schema) {
	s.Pattern, s.MaxLength = dnsLabel.String(), ptrTo(63)
	s.Not = &schema{AnyOf: []*schema{{Enum: ReservedTenantIDs}, {Pattern: "^kube-"}}}
}

var bindingRequired = map[string][]string{
	"":                       {"apiVersion", "kind", "metadata", "spec"},
	"metadata":               {"name"},
	"spec":                   {"tenantId", "environment", "tier", "quota"},
	"spec.network":           {"addressSpace", "subnets"},
	"spec.network.subnets[]": {"name", "addressPrefix"},
	"spec.quota.nodePool":    {"max"},
	"spec.secrets[]":         {"name", "keyVaultRef", "secretName"},
}

func bindingRules() map[string]func(*schema) {
	tiers := make([]string, len(Tiers))
	for i, t := range Tiers {
		tiers[i] = string(t)
	}
	return map[string]func(*schema){
		"apiVersion":                           func(s *schema) { s.Const = APIVersion },
		"kind":                                 func(s *schema) { s.Const = KindBinding },
		"metadata.name":                        strMax(dnsSubdomainPattern, 253),
		"metadata.labels":                      labelsRule(false),
		"spec":                                 bindingTierRules,
		"spec.tenantId":                        tenantIDRule,
		"spec.environment":                     strMax(dnsLabel.String(), 63),
		"spec.tier":                            enum(tiers...),
		"spec.network.addressSpace":            minItems(1),
		"spec.network.addressSpace[]":          ref("cidr"),
		"spec.network.subnets":                 func(s *schema) { s.MinItems = ptrTo(1); s.Contains = subnetWithPurpose(SubnetNodes) },
		"spec.network.subnets[].name":          str(subnetName.String()),
		"spec.network.subnets[].addressPrefix": ref("cidr"),
		"spec.network.subnets[].purpose":       enum(SubnetNodes, SubnetEndpoints, SubnetWorkloads),
		"spec.quota.cpu":                       quantity,
		"spec.quota.memory":                    quantity,
		"spec.quota.storage":                   quantity,
		"spec.quota.pods":                      minimum(0),
		"spec.quota.nodePool.min":              minimum(0),
		"spec.quota.nodePool.max":              minimum(1),
		"spec.quota.nodePool.vmSize":           str(vmSize.String()),
		"spec.data.database":                   str(databaseName.String()),
		"spec.data.schema":                     str(schemaName.String()),
		"spec.secrets[].name":                  str(secretBindName.String()),
		"spec.secrets[].keyVaultRef": func(s *schema) {
			vault := &schema{}
			vaultNameRule(vault)
			s.AnyOf = []*schema{vault, {Pattern: keyVaultURIPattern}}
		},
		"spec.secrets[].secretName":     str(kvSecretName.String()),
		"spec.secrets[].currentVersion": str(`^(?:[0-9a-fA-F]{32})?$`),
		"spec.labels":                   labelsRule(true),
		"spec.overrides":                overridesRule,
	}
}

func subnetWithPurpose(purpose string) *schema {
	return &schema{Type: "object", Required: []string{"purpose"}, Properties: props("purpose", &schema{Const: purpose})}
}

// overridesRule: only the overridable layers, each with the modes of its layer; which of them a
// tier may take is in bindingTierRules.
func overridesRule(s *schema) {
	s.Properties = &properties{}
	var layers []string
	for _, l := range Layers {
		if !Overridable(l) {
			continue
		}
		layers = append(layers, string(l))
		s.Properties.set(string(l), &schema{Type: "string", Enum: modeNames(Modes(l))})
	}
	s.PropertyNames = &schema{Enum: layers}
	s.AdditionalProperties = never()
}

func modeNames(ms []Mode) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// bindingTierRules adds to spec what follows from the tier, from the matrix itself: the network
// and node pool of a silo, the allocated quota of pool and shared tenants, the overrides a tier
// may take, and the data fields each resolved data mode needs.
func bindingTierRules(s *schema) {
	tierIs := func(tiers ...Tier) *schema {
		names := make([]string, len(tiers))
		for i, t := range tiers {
			names[i] = string(t)
		}
		if len(names) == 1 {
			return &schema{Required: []string{"tier"}, Properties: props("tier", &schema{Const: names[0]})}
		}
		return &schema{Required: []string{"tier"}, Properties: props("tier", &schema{Enum: names})}
	}
	var dedicated, pooled []Tier
	for _, t := range Tiers {
		if Matrix[t][LayerNetwork].Mode == NetworkDedicatedVNet {
			dedicated = append(dedicated, t)
		} else {
			pooled = append(pooled, t)
		}
	}
	s.AllOf = append(s.AllOf,
		&schema{
			Comment: "A dedicated VNet and node pool: the network and quota.nodePool are required.",
			If:      tierIs(dedicated...),
			Then: &schema{Required: []string{"network"}, Properties: props(
				"quota", &schema{Required: []string{"nodePool"}})},
		},
		&schema{
			Comment: "Pool and shared tenants run on the shared cluster: an allocated quota (cpu, memory, pods), no VNet, no node pool.",
			If:      tierIs(pooled...),
			Then: &schema{Properties: props(
				"network", never(),
				"quota", &schema{Required: []string{"cpu", "memory", "pods"}, Properties: props(
					"pods", &schema{Minimum: ptrTo(1)},
					"nodePool", never())})},
		})
	for _, t := range Tiers {
		for _, l := range Layers {
			if !Overridable(l) {
				continue
			}
			var modes []string
			for _, m := range Modes(l) {
				if ok, _ := AllowedOverride(t, l, m); ok {
					modes = append(modes, string(m))
				}
			}
			s.AllOf = append(s.AllOf, &schema{
				Comment: fmt.Sprintf("A %s tenant may only strengthen the %s layer from %s.", t, l, Matrix[t][l].Mode),
				If:      tierIs(t),
				Then:    &schema{Properties: props("overrides", &schema{Properties: props(string(l), &schema{Enum: modes})})},
			})
		}
	}
	// The data fields follow the data layer's mode: the tier's unless overrides.data changes it.
	for _, t := range Tiers {
		def := Matrix[t][LayerData].Mode
		for _, m := range Modes(LayerData) {
			if ok, _ := AllowedOverride(t, LayerData, m); !ok && m != def {
				continue
			}
			cond := tierIs(t)
			override := &schema{Required: []string{"overrides"}, Properties: props("overrides", &schema{
				Required: []string{string(LayerData)}, Properties: props(string(LayerData), &schema{Const: string(m)})})}
			if m == def {
				noOverride := &schema{Properties: props("overrides", &schema{Not: &schema{Required: []string{string(LayerData)}}})}
				cond.AllOf = []*schema{{AnyOf: []*schema{noOverride, override}}}
			} else {
				cond.AllOf = []*schema{override}
			}
			var then *schema
			switch m {
			case DataDedicatedDatabase:
				then = &schema{Required: []string{"data"}, Properties: props("data", &schema{Required: []string{"database"}})}
			case DataPartitioned:
				then = &schema{Required: []string{"data"}, Properties: props("data", &schema{Required: []string{"schema"}, Properties: props("database", never())})}
			default:
				then = &schema{Properties: props("data", &schema{Properties: props("database", never())})}
			}
			s.AllOf = append(s.AllOf, &schema{
				Comment: fmt.Sprintf("A %s tenant whose data layer is %s.", t, m),
				If:      cond,
				Then:    then,
			})
		}
	}
}

var environmentRequired = map[string][]string{
	"":                          {"apiVersion", "kind", "metadata", "spec"},
	"metadata":                  {"name"},
	"spec":                      {"target", "addressSpace", "sharedCluster", "sharedVault", "sharedDatabase", "trustedRegistries", "capacity"},
	"spec.sharedCluster":        {"name", "ingressNamespace", "sharedNamespace"},
	"spec.sharedVault":          {"name"},
	"spec.sharedDatabase":       {"server"},
	"spec.capacity":             {"cpu", "memory", "pods"},
	"spec.azure":                {"subscriptionId", "location"},
	"spec.allowedRoutes[]":      {"from", "to", "reason"},
	"spec.platformPrincipals[]": {"kind", "name"},
	"spec.workloadIdentity":     {"tenantId"},
}

func environmentRules() map[string]func(*schema) {
	guid := str(azureGUID.String())
	return map[string]func(*schema){
		"apiVersion":                          func(s *schema) { s.Const = APIVersion },
		"kind":                                func(s *schema) { s.Const = KindEnvironment },
		"metadata.name":                       strMax(dnsLabel.String(), 63),
		"metadata.labels":                     labelsRule(false),
		"spec":                                environmentTargetRules,
		"spec.target":                         enum(TargetKubernetes, TargetAzure),
		"spec.addressSpace":                   minItems(1),
		"spec.addressSpace[]":                 ref("cidr"),
		"spec.platformAddressSpace[]":         ref("cidr"),
		"spec.hub.addressSpace[]":             ref("cidr"),
		"spec.hub.firewallIP":                 ref("ipAddress"),
		"spec.sharedCluster.ingressNamespace": strMax(dnsLabel.String(), 63),
		"spec.sharedCluster.sharedNamespace":  strMax(dnsLabel.String(), 63),
		"spec.sharedCluster.podCIDR":          ref("cidr"),
		"spec.sharedCluster.serviceCIDR":      ref("cidr"),
		"spec.sharedVault.name":               vaultNameRule,
		"spec.sharedDatabase.engine":          enum(DatabaseEngines...),
		"spec.sharedDatabase.tables":          func(s *schema) { s.UniqueItems = true },
		"spec.sharedDatabase.tables[]":        str(tableName.String()),
		"spec.sharedDatabase.entraAdmin":      str(entraAdminName.String()),
		"spec.trustedRegistries":              minItems(1),
		"spec.trustedRegistries[]":            str(registryHost.String()),
		"spec.capacity.cpu":                   quantity,
		"spec.capacity.memory":                quantity,
		"spec.capacity.storage":               quantity,
		"spec.capacity.pods":                  minimum(1),
		"spec.capacity.maxNodes":              minimum(0),
		"spec.azure.subscriptionId":           guid,
		"spec.azure.location":                 str(azureRegion.String()),
		"spec.allowedRoutes[].from":           strMax(dnsLabel.String(), 63),
		"spec.allowedRoutes[].to":             strMax(dnsLabel.String(), 63),
		"spec.labels":                         labelsRule(false),
		"spec.platformPrincipals[]":           principalRule,
		"spec.platformPrincipals[].kind":      enum(PrincipalUser, PrincipalGroup, PrincipalServiceAccount),
		"spec.platformPrincipals[].namespace": strMax(dnsLabel.String(), 63),
		"spec.workloadIdentity.tenantId":      guid,
		"spec.workloadIdentity.clientIds": func(s *schema) {
			s.PropertyNames = &schema{Pattern: dnsLabel.String(), MaxLength: ptrTo(63)}
		},
		"spec.workloadIdentity.clientIds.*": guid,
	}
}

// principalRule: a ServiceAccount has a namespace, a User or Group none.
func principalRule(s *schema) {
	s.If = &schema{Required: []string{"kind"}, Properties: props("kind", &schema{Const: PrincipalServiceAccount})}
	s.Then = &schema{Required: []string{"namespace"}}
	s.Else = &schema{Properties: props("namespace", never())}
}

// environmentTargetRules: the azure target needs its subscription, location and hub, and creates
// the workload identities itself.
func environmentTargetRules(s *schema) {
	s.AllOf = append(s.AllOf, &schema{
		Comment: "The azure target: spec.azure and the hub's vnetName and addressSpace are required; workloadIdentity is the kubernetes target's.",
		If:      &schema{Required: []string{"target"}, Properties: props("target", &schema{Const: TargetAzure})},
		Then: &schema{Required: []string{"azure", "hub"}, Properties: props(
			"hub", &schema{Required: []string{"vnetName", "addressSpace"}, Properties: props(
				"vnetName", &schema{MinLength: ptrTo(1)},
				"addressSpace", &schema{MinItems: ptrTo(1)})},
			"workloadIdentity", never())},
	})
}
