package identity

import (
	"fmt"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// platformPrincipals are the identities declared to be the platform's. Kubernetes' own
// identities (every user and group named "system:...", except the ServiceAccount names and the
// groups every tenant's principals are members of) and the ServiceAccounts of platform
// namespaces are the platform's without being declared; the environment's platformPrincipals add
// operators' users and groups and agents' ServiceAccounts.
type platformPrincipals map[rbac.Subject]string

func newPlatformPrincipals(declared []isolation.PlatformPrincipal) platformPrincipals {
	p := platformPrincipals{}
	for _, d := range declared {
		reason := d.Reason
		if reason == "" {
			reason = "declared in the environment's platformPrincipals"
		}
		p[rbac.Subject{Kind: d.Kind, Name: d.Name, Namespace: d.Namespace}] = reason
	}
	return p
}

func (p platformPrincipals) declares(s rbac.Subject) bool {
	_, ok := p[s]
	return ok
}

// parties is whom a subject stands for: every tenant (a group all principals are members of),
// some tenants, and/or the platform.
type parties struct {
	all      bool
	tenants  []string
	platform bool
	// how says why, for evidence.
	how string
	// fold: the edges are folded to the platform (see foldPairs).
	fold bool
}

func (p parties) hasTenant() bool { return p.all || len(p.tenants) > 0 }

// partiesOf decides whom a binding's subject stands for.
func (w *world) partiesOf(s rbac.Subject) parties {
	if w.platform.declares(s) {
		return parties{platform: true, how: s.String() + " is a platform principal: " + w.platform[s]}
	}
	switch s.Kind {
	case rbac.KindServiceAccount:
		return w.serviceAccountParties(s.Namespace, s.Name)
	case rbac.KindUser:
		if ns, name, ok := rbac.ParseServiceAccountUser(s.Name); ok {
			return w.serviceAccountParties(ns, name)
		}
		if s.Name == rbac.AnonymousUser {
			return parties{all: true, platform: true, how: "User system:anonymous: anyone who sends no credentials, every tenant included"}
		}
	case rbac.KindGroup:
		switch {
		case s.Name == rbac.AuthenticatedGroup || s.Name == rbac.UnauthenticatedGroup:
			return parties{all: true, platform: true, how: "Group " + s.Name + ": every tenant's principals are members"}
		case s.Name == rbac.AllServiceAccountsGroup:
			return parties{all: true, platform: true, how: "Group " + s.Name + ": every tenant's ServiceAccounts are members"}
		case strings.HasPrefix(s.Name, rbac.ServiceAccountGroupPrefix):
			ns := strings.TrimPrefix(s.Name, rbac.ServiceAccountGroupPrefix)
			n := w.namespaceOf(ns)
			if n.shared {
				return parties{tenants: tenantsOnly(w.sharedOwners), platform: true,
					how: "Group " + s.Name + ": the ServiceAccounts of the shared namespace, every shared tenant's among them"}
			}
			return ownerParties(n.owner, "Group "+s.Name+": the ServiceAccounts of "+n.how)
		}
	default:
		return parties{}
	}
	if isSystem(s.Name) {
		return parties{platform: true, how: s.String() + " is one of Kubernetes' own identities"}
	}
	tenants := w.boundIn[s]
	if len(tenants) == 0 {
		return parties{how: s.String() + " is bound in no tenant's scope"}
	}
	return parties{tenants: tenants, how: fmt.Sprintf("%s is bound in the scope of %s", s, strings.Join(tenants, ", "))}
}

func (w *world) serviceAccountParties(ns, name string) parties {
	if sa := w.sas[rbac.Subject{Kind: rbac.KindServiceAccount, Namespace: ns, Name: name}]; sa != nil {
		return ownerParties(sa.owner, sa.how)
	}
	n := w.namespaceOf(ns)
	if n.shared {
		// Only the platform creates ServiceAccounts there; one that does not exist is nobody's.
		return parties{how: "ServiceAccount " + ns + "/" + name + " does not exist in the shared namespace"}
	}
	// A tenant may create the account in its own namespace at any time, so the subject is its
	// principal whether or not the account exists yet.
	return ownerParties(n.owner, "ServiceAccount "+ns+"/"+name+" (not created yet): "+n.how)
}

func ownerParties(owner, how string) parties {
	if owner == isolation.Platform {
		return parties{platform: true, how: how}
	}
	return parties{tenants: []string{owner}, how: how}
}

func tenantsOnly(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != isolation.Platform {
			out = append(out, id)
		}
	}
	return out
}

// userOf is the identity a platform subject acts as once a tenant has become it: a
// ServiceAccount with its groups, a user with system:authenticated, a group joined to an
// otherwise unprivileged name.
func userOf(s rbac.Subject) rbac.User {
	switch s.Kind {
	case rbac.KindServiceAccount:
		return rbac.ServiceAccountUser(s.Namespace, s.Name)
	case rbac.KindUser:
		if ns, name, ok := rbac.ParseServiceAccountUser(s.Name); ok {
			return rbac.ServiceAccountUser(ns, name)
		}
		return rbac.User{Name: s.Name, Groups: []string{rbac.AuthenticatedGroup}}
	}
	return rbac.User{Name: probeUserPrefix + s.Name, Groups: []string{s.Name, rbac.AuthenticatedGroup}}
}

// probeUserPrefix names the stand-in user of a group principal, for questions to the authorizer
// (a SubjectAccessReview needs a user); no binding names it.
const probeUserPrefix = "tenantctl-probe:group:"
