package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRuleAllows(t *testing.T) {
	core := func(verbs []string, resources ...string) Rule {
		return Rule{Verbs: verbs, APIGroups: []string{""}, Resources: resources}
	}
	get := []string{"get"}
	tests := []struct {
		name string
		rule Rule
		req  Attributes
		want bool
	}{
		{"exact", core(get, "secrets"), Attributes{Verb: "get", Resource: "secrets"}, true},
		{"other verb", core(get, "secrets"), Attributes{Verb: "list", Resource: "secrets"}, false},
		{"verb wildcard", core([]string{"*"}, "secrets"), Attributes{Verb: "delete", Resource: "secrets"}, true},
		{"verb is not a prefix", core([]string{"get"}, "secrets"), Attributes{Verb: "getx", Resource: "secrets"}, false},
		{"other group", Rule{Verbs: get, APIGroups: []string{"apps"}, Resources: []string{"secrets"}}, Attributes{Verb: "get", Resource: "secrets"}, false},
		{"group wildcard", Rule{Verbs: get, APIGroups: []string{"*"}, Resources: []string{"deployments"}}, Attributes{Verb: "get", Group: "apps", Resource: "deployments"}, true},
		{"no groups matches nothing", Rule{Verbs: get, Resources: []string{"secrets"}}, Attributes{Verb: "get", Resource: "secrets"}, false},
		{"resource wildcard", core(get, "*"), Attributes{Verb: "get", Resource: "configmaps"}, true},
		{"resource wildcard covers subresources", core([]string{"create"}, "*"), Attributes{Verb: "create", Resource: "pods", Subresource: "exec"}, true},
		{"resource does not cover its subresources", core([]string{"create"}, "pods"), Attributes{Verb: "create", Resource: "pods", Subresource: "exec"}, false},
		{"subresource exact", core([]string{"create"}, "pods/exec"), Attributes{Verb: "create", Resource: "pods", Subresource: "exec"}, true},
		{"subresource does not cover the resource", core(get, "pods/log"), Attributes{Verb: "get", Resource: "pods"}, false},
		{"*/subresource", core([]string{"create"}, "*/exec"), Attributes{Verb: "create", Resource: "pods", Subresource: "exec"}, true},
		{"*/subresource other subresource", core([]string{"create"}, "*/exec"), Attributes{Verb: "create", Resource: "pods", Subresource: "attach"}, false},
		{"*/subresource needs a subresource", core([]string{"create"}, "*/exec"), Attributes{Verb: "create", Resource: "exec"}, false},
		{"pods/* is no wildcard", core([]string{"create"}, "pods/*"), Attributes{Verb: "create", Resource: "pods", Subresource: "exec"}, false},
		{"resourceName named", Rule{Verbs: get, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, Attributes{Verb: "get", Resource: "configmaps", Name: "a"}, true},
		{"resourceName other name", Rule{Verbs: get, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, Attributes{Verb: "get", Resource: "configmaps", Name: "b"}, false},
		{"resourceName never allows unnamed (list, create)", Rule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, Attributes{Verb: "list", Resource: "configmaps"}, false},
		{"resourceName no wildcard", Rule{Verbs: get, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"*"}}, Attributes{Verb: "get", Resource: "configmaps", Name: "a"}, false},
		{"no resourceNames allows every name", core(get, "configmaps"), Attributes{Verb: "get", Resource: "configmaps", Name: "zzz"}, true},
		{"non-resource exact", Rule{Verbs: get, NonResourceURLs: []string{"/healthz"}}, Attributes{Verb: "get", Path: "/healthz"}, true},
		{"non-resource prefix", Rule{Verbs: get, NonResourceURLs: []string{"/logs/*"}}, Attributes{Verb: "get", Path: "/logs/kube.log"}, true},
		{"non-resource prefix is not the parent", Rule{Verbs: get, NonResourceURLs: []string{"/logs/*"}}, Attributes{Verb: "get", Path: "/logs"}, false},
		{"non-resource wildcard", Rule{Verbs: get, NonResourceURLs: []string{"*"}}, Attributes{Verb: "get", Path: "/anything"}, true},
		{"non-resource rule never allows resources", Rule{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}, Attributes{Verb: "get", Resource: "secrets"}, false},
		{"resource rule never allows non-resource", Rule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, Attributes{Verb: "get", Path: "/logs/"}, false},
		{"impersonate users named", Rule{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{"alice"}}, Attributes{Verb: "impersonate", Resource: "users", Name: "alice"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.Allows(tc.req); got != tc.want {
				t.Errorf("%s allows %s = %v, want %v", tc.rule.String(), tc.req, got, tc.want)
			}
		})
	}
}

func obj(apiVersion, kind, ns, name string, lbls map[string]string, fields map[string]any) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	u.SetName(name)
	if ns != "" {
		u.SetNamespace(ns)
	}
	if lbls != nil {
		u.SetLabels(lbls)
	}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

func clusterRole(name string, lbls map[string]string, rules []any, selectors ...map[string]any) unstructured.Unstructured {
	f := map[string]any{"rules": rules}
	if selectors != nil {
		sels := make([]any, len(selectors))
		for i, s := range selectors {
			sels[i] = s
		}
		f["aggregationRule"] = map[string]any{"clusterRoleSelectors": sels}
	}
	return obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", name, lbls, f)
}

func rule(verbs, groups, resources []any) map[string]any {
	return map[string]any{"verbs": verbs, "apiGroups": groups, "resources": resources}
}

func binding(kind, ns, name, roleKind, role string, subjects ...map[string]any) unstructured.Unstructured {
	subs := make([]any, len(subjects))
	for i, s := range subjects {
		subs[i] = s
	}
	return obj("rbac.authorization.k8s.io/v1", kind, ns, name, nil, map[string]any{
		"roleRef":  map[string]any{"apiGroup": Group, "kind": roleKind, "name": role},
		"subjects": subs,
	})
}

func TestAggregation(t *testing.T) {
	sel := func(k string) map[string]any { return map[string]any{"matchLabels": map[string]any{k: "true"}} }
	objs := []unstructured.Unstructured{
		// edit aggregates the two labelled roles; written is stale (a rule of the controller's
		// last run, and one rule of a part, which is attributed to that part) and is kept.
		clusterRole("edit", map[string]string{"agg-admin": "true"}, []any{rule([]any{"get"}, []any{""}, []any{"events"}), rule([]any{"get"}, []any{""}, []any{"secrets"})}, sel("agg-edit")),
		clusterRole("edit-secrets", map[string]string{"agg-edit": "true"}, []any{rule([]any{"get"}, []any{""}, []any{"secrets"})}),
		clusterRole("edit-apps", map[string]string{"agg-edit": "true"}, []any{rule([]any{"create"}, []any{"apps"}, []any{"deployments"})}),
		// admin aggregates edit (an aggregated role): transitive.
		clusterRole("admin", nil, nil, sel("agg-admin")),
		// a role selecting itself does not aggregate itself; a selector matching nothing adds nothing.
		clusterRole("self", map[string]string{"agg-self": "true"}, []any{rule([]any{"get"}, []any{""}, []any{"pods"})}, sel("agg-self")),
		clusterRole("empty", nil, nil, sel("agg-none")),
		// two aggregated roles selecting each other converge.
		clusterRole("loop-a", map[string]string{"loop": "true"}, []any{rule([]any{"get"}, []any{""}, []any{"a"})}, sel("loop")),
		clusterRole("loop-b", map[string]string{"loop": "true"}, []any{rule([]any{"get"}, []any{""}, []any{"b"})}, sel("loop")),
		// matchExpressions
		clusterRole("expr", nil, nil, map[string]any{"matchExpressions": []any{map[string]any{"key": "agg-edit", "operator": "In", "values": []any{"true"}}}}),
	}
	p, err := Parse(objs)
	if err != nil {
		t.Fatal(err)
	}
	effective := func(name string) []string {
		var out []string
		for _, r := range p.ClusterRoles[name].Rules {
			out = append(out, r.Rule.String()+" from "+r.From)
		}
		return out
	}
	tests := map[string][]string{
		"edit": {
			`verbs=[get] apiGroups=[""] resources=[events] from `,
			`verbs=[get] apiGroups=[""] resources=[secrets] from edit-secrets`,
			`verbs=[create] apiGroups=[apps] resources=[deployments] from edit-apps`,
		},
		"admin": {
			`verbs=[get] apiGroups=[""] resources=[events] from edit`,
			`verbs=[get] apiGroups=[""] resources=[secrets] from edit-secrets`,
			`verbs=[create] apiGroups=[apps] resources=[deployments] from edit-apps`,
		},
		"self":   {`verbs=[get] apiGroups=[""] resources=[pods] from `},
		"empty":  nil,
		"loop-a": {`verbs=[get] apiGroups=[""] resources=[a] from `, `verbs=[get] apiGroups=[""] resources=[b] from loop-b`},
		"loop-b": {`verbs=[get] apiGroups=[""] resources=[b] from `, `verbs=[get] apiGroups=[""] resources=[a] from loop-a`},
		"expr": {
			`verbs=[create] apiGroups=[apps] resources=[deployments] from edit-apps`,
			`verbs=[get] apiGroups=[""] resources=[secrets] from edit-secrets`,
		},
	}
	for name, want := range tests {
		if diff := cmp.Diff(want, effective(name)); diff != "" {
			t.Errorf("effective rules of %s (-want +got):\n%s", name, diff)
		}
	}
}

func TestAuthorize(t *testing.T) {
	sa := func(ns, name string) map[string]any {
		m := map[string]any{"kind": "ServiceAccount", "name": name}
		if ns != "" {
			m["namespace"] = ns
		}
		return m
	}
	objs := []unstructured.Unstructured{
		clusterRole("read-secrets", nil, []any{rule([]any{"get"}, []any{""}, []any{"secrets"})}),
		clusterRole("node-proxy", nil, []any{rule([]any{"get"}, []any{""}, []any{"nodes/proxy"})}),
		obj("rbac.authorization.k8s.io/v1", "Role", "b", "cm", nil, map[string]any{"rules": []any{rule([]any{"get"}, []any{""}, []any{"configmaps"})}}),
		// A ClusterRole bound by a RoleBinding grants in that namespace only.
		binding("RoleBinding", "b", "a-reads-b", "ClusterRole", "read-secrets", sa("a", "app")),
		// A namespace-less ServiceAccount subject of a RoleBinding is the binding's namespace.
		binding("RoleBinding", "b", "local", "Role", "cm", sa("", "local")),
		// A RoleBinding's Role comes from its own namespace: no Role "cm" in c.
		binding("RoleBinding", "c", "missing-role", "Role", "cm", sa("a", "app")),
		// A ClusterRoleBinding grants everywhere, including cluster-scoped resources.
		binding("ClusterRoleBinding", "", "group-proxy", "ClusterRole", "node-proxy", map[string]any{"kind": "Group", "name": "ops"}),
		// A namespace-less ServiceAccount subject of a ClusterRoleBinding names nobody.
		binding("ClusterRoleBinding", "", "nobody", "ClusterRole", "read-secrets", sa("", "app")),
		binding("ClusterRoleBinding", "", "dangling", "ClusterRole", "does-not-exist", map[string]any{"kind": "User", "name": "alice"}),
	}
	p, err := Parse(objs)
	if err != nil {
		t.Fatal(err)
	}
	appA := ServiceAccountUser("a", "app")
	tests := []struct {
		name string
		user User
		req  Attributes
		want string // binding that allows, "" denied, "masters"
	}{
		{"RoleBinding of a ClusterRole, its namespace", appA, Attributes{Verb: "get", Resource: "secrets", Namespace: "b"}, "RoleBinding b/a-reads-b"},
		{"RoleBinding of a ClusterRole, other namespace", appA, Attributes{Verb: "get", Resource: "secrets", Namespace: "a"}, ""},
		{"RoleBinding never grants cluster-wide", appA, Attributes{Verb: "get", Resource: "secrets"}, ""},
		{"defaulted ServiceAccount namespace", ServiceAccountUser("b", "local"), Attributes{Verb: "get", Resource: "configmaps", Namespace: "b"}, "RoleBinding b/local"},
		{"same name in another namespace", ServiceAccountUser("a", "local"), Attributes{Verb: "get", Resource: "configmaps", Namespace: "b"}, ""},
		{"Role of another namespace", appA, Attributes{Verb: "get", Resource: "configmaps", Namespace: "c"}, ""},
		{"group ClusterRoleBinding", User{Name: "bob", Groups: []string{"ops"}}, Attributes{Verb: "get", Resource: "nodes", Subresource: "proxy", Name: "n1"}, "ClusterRoleBinding group-proxy"},
		{"not in the group", User{Name: "ops"}, Attributes{Verb: "get", Resource: "nodes", Subresource: "proxy"}, ""},
		{"namespace-less ServiceAccount of a ClusterRoleBinding", appA, Attributes{Verb: "get", Resource: "secrets", Namespace: "z"}, ""},
		{"binding to a missing role", User{Name: "alice"}, Attributes{Verb: "get", Resource: "secrets", Namespace: "z"}, ""},
		{"system:masters", User{Name: "root", Groups: []string{MastersGroup}}, Attributes{Verb: "escalate", Group: Group, Resource: "clusterroles"}, "masters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Authorize(tc.user, tc.req)
			got := ""
			switch {
			case d.Masters:
				got = "masters"
			case d.Allowed:
				got = d.Binding.String()
			}
			if got != tc.want {
				t.Errorf("Authorize(%s, %s) = %q, want %q", tc.user.Name, tc.req, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		obj  unstructured.Unstructured
		want string
	}{
		{obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "x", nil, map[string]any{"rules": "all"}), "ClusterRole x: rules: not a list"},
		{obj("rbac.authorization.k8s.io/v1", "Role", "ns", "x", nil, map[string]any{"rules": []any{map[string]any{"verbs": "get"}}}), "Role ns/x: rules[0].verbs: not a list of strings"},
		{obj("rbac.authorization.k8s.io/v1", "RoleBinding", "ns", "x", nil, nil), "RoleBinding ns/x: roleRef: missing or not an object"},
		{binding("ClusterRoleBinding", "", "x", "Group", "g"), `ClusterRoleBinding x: roleRef: kind "Group" name "g": want a Role or ClusterRole by name`},
	}
	for _, tc := range tests {
		_, err := Parse([]unstructured.Unstructured{tc.obj})
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse error = %v, want %q", err, tc.want)
		}
	}
}
