package azureidentity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Option tunes Analyze.
type Option func(*options)

type options struct {
	issuers    []string
	principals map[string]string
}

// WithTrustedIssuers names the OIDC issuers federated credentials may trust: the shared
// cluster's (platform stack output oidcIssuerUrl). The issuer of a managed cluster in the
// snapshot is trusted too.
func WithTrustedIssuers(urls ...string) Option {
	return func(o *options) { o.issuers = append(o.issuers, urls...) }
}

// WithPrincipals maps principal (object) ids to their tenant, beyond what the identities in the
// snapshot say (stack outputs of identities the snapshot lacks).
func WithPrincipals(byID map[string]string) Option {
	return func(o *options) {
		if o.principals == nil {
			o.principals = map[string]string{}
		}
		for id, t := range byID {
			o.principals[strings.ToLower(id)] = t
		}
	}
}

// Kubernetes is what the analysis needs of the cluster's identities, to read federated
// credential subjects ("system:serviceaccount:<namespace>:<name>").
type Kubernetes interface {
	// ServiceAccountOwner is the tenant (or platform) whose ServiceAccount it is, "" for nobody's.
	ServiceAccountOwner(namespace, name string) string
	// OpenNamespaces lists the namespaces whose owner may create any ServiceAccount, by owner (a
	// tenant's own namespaces).
	OpenNamespaces() map[string]string
	// ServiceAccounts lists the existing ServiceAccounts of the other namespaces (the shared one,
	// where the platform creates each tenant's) as namespace, name and owner.
	ServiceAccounts() [][3]string
}

// principal is a tenant's Azure identity.
type principal struct {
	tenant, id, name, how string
}

type analysis struct {
	sc         *graph.Scope
	d          *decoded
	s          *scoper
	b          *graph.Builder
	k          Kubernetes
	o          options
	principals map[string]principal // by lower-case principal id
	identities map[string]string    // identity resource id (lower) → owner
	defs       map[string]*roleDefinition
	vaults     map[string]resource
}

// Analyze adds to b the identity routes of the Azure resources: role assignments, Key Vault
// access policies and federated identity credentials that cross tenants. k may be nil when the
// snapshot has no cluster.
func Analyze(ctx context.Context, sc *graph.Scope, resources []inventory.AzureResource, k Kubernetes, b *graph.Builder, opts ...Option) error {
	if len(resources) == 0 {
		return nil
	}
	d, err := decode(resources)
	if err != nil {
		return err
	}
	a := &analysis{sc: sc, d: d, s: newScoper(sc, d.tags), b: b, k: k, principals: map[string]principal{},
		identities: map[string]string{}, defs: map[string]*roleDefinition{}, vaults: map[string]resource{}}
	for _, opt := range opts {
		opt(&a.o)
	}
	a.index()
	for _, step := range []func(context.Context) error{a.assignments, a.accessPolicies, a.federated} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// index reads who owns each user-assigned identity and its principal id, and the role
// definitions by their GUID (an assignment names its definition at any scope).
func (a *analysis) index() {
	for id, t := range a.o.principals {
		a.principals[id] = principal{tenant: t, id: id, name: id, how: "principal " + id + " is " + t + "'s (stack outputs)"}
	}
	for _, r := range a.d.identities {
		owner, how := a.identityOwner(r)
		a.identities[lower(r.id)] = owner
		pid := lower(r.props.str("principalId"))
		if owner == "" || pid == "" {
			if owner == "" {
				a.b.Unresolved("%s: owner unknown (no tenant's resource group, name or tag)", r.id)
			}
			continue
		}
		if _, known := a.principals[pid]; !known {
			a.principals[pid] = principal{tenant: owner, id: r.id, name: r.name, how: how}
		}
	}
	for _, r := range a.d.definitions {
		a.defs[lower(lastSegment(r.id))] = parseDefinition(r)
	}
	for _, r := range a.d.vaults {
		a.vaults[lower(r.id)] = r
	}
}

// identityOwner: the resource group convention, the identity name id-<tenant>-<environment>,
// the platform's resource groups, then the tenant tag.
func (a *analysis) identityOwner(r resource) (string, string) {
	group := resourceGroup(r.id)
	if id := a.s.tenantByGroup(group); id != "" {
		return id, "identity " + r.name + " is in resource group " + group + " (rg-<tenant>-<environment>)"
	}
	env := a.sc.Env.Name()
	for _, id := range a.sc.TenantIDs() {
		if strings.EqualFold(r.name, "id-"+id+"-"+env) {
			return id, "identity " + r.name + " follows id-<tenant>-<environment>"
		}
	}
	if a.s.platformGroups[strings.ToLower(group)] {
		return isolation.Platform, "identity " + r.name + " is in the platform resource group " + group
	}
	if t := r.tags[TagTenant]; t != "" {
		return t, "identity " + r.name + " is tagged " + TagTenant + "=" + t
	}
	return "", ""
}

func (a *analysis) principalStep(p principal) graph.EvidenceStep {
	return graph.EvidenceStep{Kind: "principal", Resource: p.id, Detail: p.how}
}

// assignments: a tenant's identity assigned a role with write or data actions on a scope holding
// another party's resources.
func (a *analysis) assignments(ctx context.Context) error {
	for _, r := range a.d.assignments {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, ok := a.principals[lower(r.props.str("principalId"))]
		if !ok || p.tenant == isolation.Platform {
			continue // not a tenant's principal: the platform's own grants are declared by its stack
		}
		scope := r.props.str("scope")
		if scope == "" {
			var ok bool
			if scope, ok = extensionScope(r.id, "/providers/microsoft.authorization/roleassignments/"); !ok {
				a.b.Unresolved("%s: role assignment without a scope", r.id)
				continue
			}
		}
		defID := r.props.str("roleDefinitionId")
		def := a.defs[lower(lastSegment(defID))]
		o := a.s.ownersOf(scope)
		if !o.all && len(o.parties) == 0 {
			a.b.Unresolved("%s: owner of scope %s unknown", r.id, scope)
			continue
		}
		var unknown, grant string
		kind := graph.KindAzureRoleAssignment
		switch {
		case def == nil:
			unknown = "role definition " + defID + " is not in the snapshot: what it grants is unknown"
			grant = "role definition " + defID
		default:
			w, dat := def.writeAction(), def.dataAction()
			if w == "" && dat == "" {
				continue // reads control-plane metadata only
			}
			if o.above {
				if act := def.allows("Microsoft.Authorization/roleAssignments/write"); act != "" {
					kind = graph.KindIdentityEscalation
					grant = fmt.Sprintf("role %s allows Microsoft.Authorization/roleAssignments/write (action %s) at %s: it can grant itself anything anywhere", def.name, act, scope)
				}
			}
			if grant == "" {
				grant = describeGrant(def, w, dat)
			}
			if w == "" && a.accessPolicyVault(scope) {
				a.vaultDataExposure(r, p, def, dat, scope, o)
				continue
			}
		}
		if c := r.props.str("condition"); c != "" && unknown == "" {
			unknown = "the assignment has a condition, which the analysis does not evaluate: " + c
		}
		steps := []graph.EvidenceStep{
			a.principalStep(p),
			{Kind: "role-assignment", Resource: r.id, Opens: true, Detail: fmt.Sprintf("assigns %s to principal %s at scope %s", roleName(def, defID), p.name, scope),
				Ref: graph.ResourceRef{Provider: "azure", Type: TypeRoleAssignment, Name: r.name, ID: r.id, Owner: a.assignmentOwner(scope)}},
			{Kind: "role", Resource: defID, Detail: grant},
			{Kind: "target", Resource: scope, Detail: o.how},
		}
		for _, to := range a.targets(o) {
			if to != p.tenant {
				a.b.Add(graph.Path{From: p.tenant, To: to, Kind: kind, Unknown: unknown, Via: r.id, Evidence: func() []graph.EvidenceStep { return steps }})
			}
		}
	}
	return nil
}

// assignmentOwner is whose scope an assignment lives in, for remediation: the scope's single
// owner, else the platform.
func (a *analysis) assignmentOwner(scope string) string {
	if o := a.s.ownersOf(scope); !o.all && len(o.parties) == 1 {
		return o.parties[0]
	}
	return isolation.Platform
}

func roleName(def *roleDefinition, id string) string {
	if def == nil {
		return "role " + id
	}
	return "role " + def.name
}

func describeGrant(def *roleDefinition, write, data string) string {
	var parts []string
	if write != "" {
		parts = append(parts, "action "+write+" (not excluded by notActions)")
	}
	if data != "" {
		parts = append(parts, "data action "+data+" (not excluded by notDataActions)")
	}
	return "role " + def.name + " grants " + strings.Join(parts, " and ")
}

// targets lists the parties a scope's owners stand for.
func (a *analysis) targets(o owners) []string {
	if o.all {
		return append([]string{isolation.Platform}, a.sc.TenantIDs()...)
	}
	return o.parties
}

// accessPolicyVault reports whether scope is a vault (or inside one) that authorizes its data
// plane with access policies: Azure RBAC data actions do not apply there.
func (a *analysis) accessPolicyVault(scope string) bool {
	for id := scope; id != ""; id = parentID(id) {
		if v, ok := a.vaults[lower(id)]; ok {
			return !v.props.boolean("enableRbacAuthorization", false)
		}
	}
	return false
}

// vaultDataExposure records a data-only role on a vault that uses access policies: it grants
// nothing today, and switching the vault to RBAC authorization completes the route.
func (a *analysis) vaultDataExposure(r resource, p principal, def *roleDefinition, data, scope string, o owners) {
	for _, to := range a.targets(o) {
		if to == p.tenant {
			continue
		}
		a.b.Expose(graph.Exposure{Tenant: to, Peer: p.tenant, Kind: graph.KindAzureRoleAssignment,
			Resource: graph.ResourceRef{Provider: "azure", Type: TypeRoleAssignment, Name: r.name, ID: r.id, Owner: to},
			Detail: fmt.Sprintf("role %s (data action %s) for %s's principal %s at %s: the vault authorizes with access policies, so it applies once enableRbacAuthorization is turned on",
				def.name, data, p.tenant, p.name, scope),
			Evidence: []graph.EvidenceStep{a.principalStep(p), {Kind: "target", Resource: scope, Detail: o.how}}}, "")
	}
}

// accessPolicies: a vault's access policy naming another party's principal with any permission.
// Access policies apply only while the vault does not use RBAC authorization; on an RBAC vault
// the entry is an exposure (switching the vault back completes it).
func (a *analysis) accessPolicies(ctx context.Context) error {
	for _, v := range a.d.vaults {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := a.s.ownersOf(v.id)
		if !o.all && len(o.parties) == 0 {
			continue
		}
		rbacMode := v.props.boolean("enableRbacAuthorization", false)
		for _, ap := range v.props.list("accessPolicies") {
			oid := ap.str("objectId")
			p, ok := a.principals[lower(oid)]
			if !ok || p.tenant == isolation.Platform {
				continue
			}
			perms := permissionsOf(ap.obj("permissions"))
			if perms == "" {
				continue
			}
			ref := graph.ResourceRef{Provider: "azure", Type: TypeVault + "/accessPolicies", Name: oid, ID: v.id + "/accessPolicies/" + oid}
			detail := fmt.Sprintf("access policy of vault %s gives principal %s %s", v.name, p.name, perms)
			for _, to := range a.targets(o) {
				if to == p.tenant {
					continue
				}
				ref.Owner = to
				if rbacMode {
					a.b.Expose(graph.Exposure{Tenant: to, Peer: p.tenant, Kind: graph.KindKeyVaultAccessPolicy, Resource: ref,
						Detail: detail + "; ignored while the vault uses RBAC authorization, and applies as soon as it does not"}, "")
					continue
				}
				steps := []graph.EvidenceStep{a.principalStep(p),
					{Kind: "access-policy", Resource: ref.ID, Opens: true, Detail: detail, Ref: ref},
					{Kind: "target", Resource: v.id, Detail: o.how}}
				a.b.Add(graph.Path{From: p.tenant, To: to, Kind: graph.KindKeyVaultAccessPolicy, Via: ref.ID, Evidence: func() []graph.EvidenceStep { return steps }})
			}
		}
	}
	return nil
}

// permissionsOf renders the non-empty permission lists of an access policy ("secrets [get
// list]"), "" when it grants nothing.
func permissionsOf(p obj) string {
	var parts []string
	for _, k := range []string{"secrets", "keys", "certificates", "storage"} {
		if l := p.strs(k); len(l) > 0 {
			parts = append(parts, k+" "+fmt.Sprint(l))
		}
	}
	return strings.Join(parts, ", ")
}

// federated: a federated identity credential on tenant B's identity accepts tokens whose issuer
// and subject someone else controls. A subject naming a ServiceAccount of tenant A lets A's pods
// act as B's identity (edge A → B); a wildcard subject reaches every tenant whose accounts it
// matches; an issuer other than the environment's cluster is an opening to whoever holds tokens
// of that issuer.
func (a *analysis) federated(ctx context.Context) error {
	trusted := slices.Clone(a.o.issuers)
	for _, c := range a.d.clusters {
		if u := c.props.obj("oidcIssuerProfile").str("issuerURL"); u != "" {
			trusted = append(trusted, u)
		}
	}
	if len(a.d.credentials) > 0 && len(trusted) == 0 {
		a.b.Unresolved("federated identity credentials: the shared cluster's OIDC issuer is unknown (no managed cluster in the snapshot, none given), so their issuers are not checked")
	}
	for _, f := range a.d.credentials {
		if err := ctx.Err(); err != nil {
			return err
		}
		identity, ok := extensionScope(f.id, "/federatedidentitycredentials/")
		if !ok {
			a.b.Unresolved("%s: not a federated credential of an identity", f.id)
			continue
		}
		owner, known := a.identities[lower(identity)]
		if !known {
			o := a.s.ownersOf(identity)
			if len(o.parties) == 1 {
				owner = o.parties[0]
			}
		}
		if owner == "" {
			a.b.Unresolved("%s: owner of identity %s unknown", f.id, identity)
			continue
		}
		issuer, subject := f.props.str("issuer"), f.props.str("subject")
		if expr := f.props.obj("claimsMatchingExpression").str("value"); expr != "" && subject == "" {
			subject = expressionSubject(expr)
		}
		ref := graph.ResourceRef{Provider: "azure", Type: TypeFederatedCredential, Name: f.name, ID: f.id, Owner: owner}
		base := fmt.Sprintf("federated credential %s on %s's identity %s trusts issuer %s, subject %s", f.name, owner, lastSegment(identity), issuer, subject)
		if len(trusted) > 0 && (strings.Contains(issuer, "*") || !slices.Contains(trusted, issuer)) {
			a.b.Expose(graph.Exposure{Tenant: owner, Peer: graph.AnyTenant, Kind: graph.KindFederatedCredential, Resource: ref,
				Detail: base + ", which is not the environment's cluster: whoever holds a token of that issuer for the subject acts as the identity"}, "")
			continue
		}
		for _, src := range a.subjectOwners(subject) {
			if src.owner == owner {
				continue
			}
			steps := []graph.EvidenceStep{
				{Kind: "principal", Resource: src.what, Detail: src.how},
				{Kind: "federated-credential", Resource: f.id, Opens: true, Detail: base, Ref: ref},
				{Kind: "target", Resource: identity, Detail: "the identity's roles are " + owner + "'s"},
			}
			a.b.Add(graph.Path{From: src.owner, To: owner, Kind: graph.KindFederatedCredential, Via: f.id, Evidence: func() []graph.EvidenceStep { return steps }})
		}
	}
	return nil
}

type subjectOwner struct {
	owner, what, how string
}

// subjectOwners lists who controls tokens with subject: the owner of the ServiceAccount it names,
// or for a wildcard every owner of an account it matches (a tenant may create any account in its
// own namespaces).
func (a *analysis) subjectOwners(subject string) []subjectOwner {
	const prefix = "system:serviceaccount:"
	if a.k == nil || !strings.HasPrefix(subject, prefix) && !strings.HasPrefix(subject, "*") {
		return nil
	}
	if !strings.Contains(subject, "*") {
		ns, name, ok := strings.Cut(strings.TrimPrefix(subject, prefix), ":")
		if !ok {
			return nil
		}
		owner := a.k.ServiceAccountOwner(ns, name)
		if owner == "" {
			return nil
		}
		return []subjectOwner{{owner: owner, what: "ServiceAccount " + ns + "/" + name, how: "its tokens carry subject " + subject + "; it is " + owner + "'s"}}
	}
	seen := map[string]bool{}
	var out []subjectOwner
	nss := a.k.OpenNamespaces()
	names := make([]string, 0, len(nss))
	for ns := range nss {
		names = append(names, ns)
	}
	slices.Sort(names)
	for _, ns := range names {
		owner := nss[ns]
		if !seen[owner] && globIntersect(subject, prefix+ns+":*") {
			seen[owner] = true
			out = append(out, subjectOwner{owner: owner, what: "namespace " + ns, how: "wildcard subject " + subject + " matches the ServiceAccounts " + owner + " may create in " + ns})
		}
	}
	for _, sa := range a.k.ServiceAccounts() {
		if s := prefix + sa[0] + ":" + sa[1]; !seen[sa[2]] && sa[2] != "" && globMatch(subject, s) {
			seen[sa[2]] = true
			out = append(out, subjectOwner{owner: sa[2], what: "ServiceAccount " + sa[0] + "/" + sa[1], how: "wildcard subject " + subject + " matches " + s})
		}
	}
	return out
}

// expressionSubject reads the pattern of a claims-matching expression
// ("claims['sub'] matches 'system:serviceaccount:t-acme:*'").
func expressionSubject(expr string) string {
	i := strings.Index(expr, "matches")
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(expr[i+len("matches"):])
	if len(rest) < 2 || (rest[0] != '\'' && rest[0] != '"') {
		return ""
	}
	if j := strings.IndexByte(rest[1:], rest[0]); j >= 0 {
		return rest[1 : j+1]
	}
	return ""
}

// extensionScope cuts an id at its last marker ("/providers/Microsoft.Authorization/
// roleAssignments/", "/federatedIdentityCredentials/", compared in lower case): what comes before
// is the scope the resource belongs to.
func extensionScope(id, marker string) (string, bool) {
	i := strings.LastIndex(strings.ToLower(id), marker)
	if i <= 0 {
		return "", false
	}
	return id[:i], true
}
