package detect

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// scope tells which tenant a live object belongs to. The tenant scopes are:
//   - a tenant namespace "t-<tenantId>" (by name, which cannot be relabelled) and everything in it;
//   - a namespace labelled tenantctl.io/tenant, and everything in it;
//   - in the environment's shared namespace, objects labelled tenantctl.io/tenant;
//   - cluster-scoped objects labelled tenantctl.io/tenant (a shared tenant's PriorityClass).
//
// The shared and ingress namespaces themselves, and unlabelled objects in them, belong to the
// platform (isolation.Platform): an object there that no stack manages sits next to every
// shared tenant, or is admitted into every tenant namespace by allow-from-ingress.
type scope struct {
	env      string
	shared   string
	platform map[string]bool
	// nsTenant maps namespaces labelled with a tenant (but not named after one) to it.
	nsTenant map[string]string
}

func newScope(env *isolation.Environment, snap *inventory.Snapshot) *scope {
	s := &scope{
		env:      env.Name(),
		shared:   tenantplan.SharedNamespace(env),
		platform: map[string]bool{tenantplan.SharedNamespace(env): true, tenantplan.IngressNamespace(env): true},
		nsTenant: map[string]string{},
	}
	for i := range snap.Kubernetes {
		u := &snap.Kubernetes[i]
		if u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1" {
			if t := u.GetLabels()[tenantplan.LabelTenant]; t != "" {
				s.nsTenant[u.GetName()] = t
			}
		}
	}
	return s
}

// tenantNamespace returns the tenant id a namespace name stands for.
func tenantNamespace(ns string) (string, bool) {
	id, ok := strings.CutPrefix(ns, tenantplan.TenantNamespace(""))
	return id, ok && id != ""
}

// namespaceTenant returns who owns the objects of namespace ns.
func (s *scope) namespaceTenant(ns string) (string, bool) {
	if id, ok := tenantNamespace(ns); ok {
		return id, true
	}
	if s.platform[ns] {
		return isolation.Platform, true
	}
	if t, ok := s.nsTenant[ns]; ok {
		return t, true
	}
	return "", false
}

// tenantOf returns the tenant (or isolation.Platform) an object belongs to; ok is false outside
// every tenant scope.
func (s *scope) tenantOf(u *unstructured.Unstructured) (string, bool) {
	label := u.GetLabels()[tenantplan.LabelTenant]
	ns := u.GetNamespace()
	switch {
	case u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1":
		return s.namespaceTenant(u.GetName())
	case ns == "":
		return label, label != ""
	case ns == s.shared && label != "":
		return label, true
	}
	return s.namespaceTenant(ns)
}
