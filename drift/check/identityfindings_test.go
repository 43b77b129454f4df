package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation/reach"
)

func rbacObject(kind, ns, name string, fields map[string]any) unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	obj := map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta}
	for k, v := range fields {
		obj[k] = v
	}
	return unstructured.Unstructured{Object: obj}
}

func ruleOf(verbs, resources []string, names ...string) map[string]any {
	r := map[string]any{"apiGroups": []any{""}, "verbs": toAny(verbs), "resources": toAny(resources)}
	if len(names) > 0 {
		r["resourceNames"] = toAny(names)
	}
	return r
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func bindingTo(roleKind, role string, subjects ...map[string]any) map[string]any {
	subs := make([]any, len(subjects))
	for i, s := range subjects {
		subs[i] = s
	}
	return map[string]any{"roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": roleKind, "name": role}, "subjects": subs}
}

func saSubject(ns, name string) map[string]any {
	return map[string]any{"kind": "ServiceAccount", "namespace": ns, "name": name}
}

// TestIdentityRouteFindings: the two routes, through the whole detection (routes and
// unmanaged objects), are one critical finding each: partner-access (a RoleBinding of edit in
// globex's namespace to acme's ServiceAccount) on globex, with the binding, the role and the
// exact rule as evidence and no unmanaged-resource beside it; acme-debug (cluster-admin to
// acme's account) once, towards the platform, whatever the number of tenants it reaches. A
// second binding opening the same edge is its own finding; the traps give nothing.
func TestIdentityRouteFindings(t *testing.T) {
	st, _ := crossTenant(t)
	env := st.Environment("dev")
	snap, err := reach.PlannedSnapshot(env, st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	snap.Kubernetes = append(snap.Kubernetes,
		rbacObject("ClusterRole", "", "edit", map[string]any{"rules": []any{ruleOf([]string{"get", "list", "create"}, []string{"secrets", "configmaps", "pods", "pods/exec"})}}),
		rbacObject("ClusterRole", "", "cluster-admin", map[string]any{"rules": []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}}}),
		rbacObject("ClusterRole", "", "nothing", nil),
		rbacObject("RoleBinding", "t-globex", "partner-access", bindingTo("ClusterRole", "edit", saSubject("t-acme", "t-acme"))),
		rbacObject("Role", "t-globex", "tokens", map[string]any{"rules": []any{ruleOf([]string{"create"}, []string{"serviceaccounts/token"})}}),
		rbacObject("RoleBinding", "t-globex", "tokens", bindingTo("Role", "tokens", saSubject("t-acme", "t-acme"))),
		rbacObject("ClusterRoleBinding", "", "acme-debug", bindingTo("ClusterRole", "cluster-admin", saSubject("t-acme", "t-acme"))),
		// an aggregated ClusterRole: the binding and the labelled part both open the route
		rbacObject("ClusterRole", "", "partner-reader", map[string]any{"aggregationRule": map[string]any{"clusterRoleSelectors": []any{
			map[string]any{"matchLabels": map[string]any{"example.com/aggregate-to-partner": "true"}}}}}),
		func() unstructured.Unstructured {
			u := rbacObject("ClusterRole", "", "partner-configmaps", map[string]any{"rules": []any{ruleOf([]string{"get"}, []string{"configmaps"})}})
			u.SetLabels(map[string]string{"example.com/aggregate-to-partner": "true"})
			return u
		}(),
		rbacObject("RoleBinding", "t-globex", "partner", bindingTo("ClusterRole", "partner-reader", saSubject("t-acme", "t-acme"))),
		// traps: a role without rules, a name that does not exist, a subject of no tenant
		rbacObject("RoleBinding", "t-globex", "nothing", bindingTo("ClusterRole", "nothing", saSubject("t-acme", "t-acme"))),
		rbacObject("Role", "t-globex", "ghost", map[string]any{"rules": []any{ruleOf([]string{"get"}, []string{"configmaps"}, "ghost")}}),
		rbacObject("RoleBinding", "t-globex", "ghost", bindingTo("Role", "ghost", saSubject("t-acme", "t-acme"))),
		rbacObject("RoleBinding", "t-globex", "strangers", bindingTo("ClusterRole", "edit", saSubject("nowhere", "x"))),
		// ConfigMaps are listed, so a name the snapshot lacks does not exist
		unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings", "namespace": "t-globex"}}},
	)
	fs, err := detect.New(env, detect.NewManaged(), detect.WithChecks(detect.CheckUnmanaged, detect.CheckRoutes),
		detect.WithRouteAnalyzer(ReachAnalyzers(env, st))).Check(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every report format carries the binding, the role and the exact rule", func(t *testing.T) {
		var routes []finding.Finding
		for _, f := range fs {
			if f.Kind == finding.KindCrossTenantRoute && f.Resource.Name == "partner-access" {
				routes = append(routes, f)
			}
		}
		r := report.New("abc123")
		r.AddTenant("dev", "globex")
		r.Add(routes...)
		for _, format := range report.Formats {
			var out strings.Builder
			if err := report.Render(&out, format, r); err != nil {
				t.Fatal(err)
			}
			text := strings.ReplaceAll(out.String(), `\"`, `"`)
			for _, want := range []string{"t-globex/partner-access", "ClusterRole edit", `verbs=[get list create]`, "acme"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s report lacks %q:\n%s", format, want, out.String())
				}
			}
		}
	})
	var got []string
	byName := map[string]finding.Finding{}
	for _, f := range fs {
		if !strings.HasPrefix(f.Resource.Type, "rbac.authorization.k8s.io/") {
			continue
		}
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s→%s %s %s", f.Kind, f.Severity, f.TenantID, f.PeerTenant, f.Resource.Ref(), f.Remediation))
		if f.Kind == finding.KindCrossTenantRoute {
			byName[f.Resource.Name] = f
		}
	}
	slices.Sort(got)
	want := []string{
		"cross-tenant-route critical acme→globex rbac.authorization.k8s.io/v1/ClusterRole partner-configmaps delete",
		"cross-tenant-route critical acme→platform rbac.authorization.k8s.io/v1/ClusterRoleBinding acme-debug delete",
		"cross-tenant-route critical globex→acme rbac.authorization.k8s.io/v1/RoleBinding t-globex/partner delete",
		"cross-tenant-route critical globex→acme rbac.authorization.k8s.io/v1/RoleBinding t-globex/partner-access delete",
		"cross-tenant-route critical globex→acme rbac.authorization.k8s.io/v1/RoleBinding t-globex/tokens delete",
		// the traps are in globex's namespace and no stack manages them: leftovers, not routes
		"unmanaged-resource low globex→ rbac.authorization.k8s.io/v1/Role t-globex/ghost report",
		"unmanaged-resource low globex→ rbac.authorization.k8s.io/v1/Role t-globex/tokens report",
		"unmanaged-resource low globex→ rbac.authorization.k8s.io/v1/RoleBinding t-globex/ghost report",
		"unmanaged-resource low globex→ rbac.authorization.k8s.io/v1/RoleBinding t-globex/nothing report",
		"unmanaged-resource low globex→ rbac.authorization.k8s.io/v1/RoleBinding t-globex/strangers report",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	pa := byName["partner-access"]
	for _, part := range []string{"identity-rbac, identity-impersonation route acme → globex", "may read Secrets: get secrets in namespace t-globex", "RoleBinding t-globex/partner-access", "ServiceAccount t-acme/t-acme", "ClusterRole edit"} {
		if !strings.Contains(pa.Message, part) {
			t.Errorf("partner-access message %q lacks %q", pa.Message, part)
		}
	}
	if strings.Contains(pa.Message, " on ") {
		t.Errorf("identity message speaks of ports: %q", pa.Message)
	}
	ev := strings.Join(pa.Evidence, "\n")
	for _, part := range []string{"binding: rbac.authorization.k8s.io/v1/RoleBinding t-globex/partner-access: grants ClusterRole edit",
		`role: rbac.authorization.k8s.io/v1/ClusterRole edit: rule verbs=[get list create]`, "get secrets in namespace t-globex", "unmanaged: no stack manages"} {
		if !strings.Contains(ev, part) {
			t.Errorf("partner-access evidence lacks %q:\n%s", part, ev)
		}
	}
	t.Logf("partner-access: %s", pa.Message)
	debug := byName["acme-debug"]
	t.Logf("acme-debug: %s", debug.Message)
	if !strings.Contains(debug.Message, "identity-escalation route acme → every tenant and the platform opened by ClusterRoleBinding acme-debug") {
		t.Errorf("acme-debug message %q", debug.Message)
	}
}
