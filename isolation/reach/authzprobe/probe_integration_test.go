package authzprobe_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/authzprobe"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	"github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestIdentityRoutesOnARealCluster injects each identity route into real namespaces labelled as
// tenants, reads the cluster with the inventory reader, and requires each route to be found with
// its kind and evidence and confirmed by the API server's authorizer; the traps produce nothing;
// and the probe finds no disagreement between the analysis and the authorizer.
func TestIdentityRoutesOnARealCluster(t *testing.T) {
	cs := testenv.Client(t)
	c := identitytest.Live{T: t, CS: cs}
	ctx := context.Background()
	suffix := strings.TrimPrefix(testenv.UniqueName("x"), "x-")
	a, b, trap := "a"+suffix, "b"+suffix, "c"+suffix
	nsA, nsB, nsC := tenantplan.TenantNamespace(a), tenantplan.TenantNamespace(b), tenantplan.TenantNamespace(trap)
	for _, p := range [][2]string{{nsA, a}, {nsB, b}, {nsC, trap}} {
		c.Namespace(p[0], p[1])
		c.ServiceAccount(p[0], tenantplan.TenantObjectName(p[1]))
	}
	for _, name := range []string{"editor", "admin", "aggregated", "impersonator", "minter", "execer", "trapped"} {
		c.ServiceAccount(nsA, name)
	}
	c.ServiceAccount(nsB, "worker")
	if _, err := cs.CoreV1().ConfigMaps(nsB).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(nsB).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "canary-identity-5e1f"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The routes.
	c.RoleBinding(nsB, "partner-access", "ClusterRole", "edit", identitytest.SASubject(nsA, "editor"))
	c.ClusterRoleBinding("debug-"+suffix, "cluster-admin", identitytest.SASubject(nsA, "admin"))
	aggLabel := "example.com/aggregate-to-partner-" + suffix
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "partner-" + suffix},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{aggLabel: "true"}}}}})
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "partner-configmaps-" + suffix, Labels: map[string]string{aggLabel: "true"}},
		Rules: []rbacv1.PolicyRule{identitytest.PolicyRule([]string{"get", "list"}, []string{""}, []string{"configmaps"})}})
	c.RoleBinding(nsB, "partner-aggregated", "ClusterRole", "partner-"+suffix, identitytest.SASubject(nsA, "aggregated"))
	c.Role(nsB, "impersonate", identitytest.PolicyRule([]string{"impersonate"}, []string{""}, []string{"serviceaccounts"}, "worker"))
	c.RoleBinding(nsB, "impersonate", "Role", "impersonate", identitytest.SASubject(nsA, "impersonator"))
	c.Role(nsB, "tokens", identitytest.PolicyRule([]string{"create"}, []string{""}, []string{"serviceaccounts/token"}))
	c.RoleBinding(nsB, "tokens", "Role", "tokens", identitytest.SASubject(nsA, "minter"))
	c.Role(nsB, "exec", identitytest.PolicyRule([]string{"create"}, []string{""}, []string{"pods/exec"}))
	c.RoleBinding(nsB, "exec", "Role", "exec", identitytest.SASubject(nsA, "execer"))

	// The traps.
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "nothing-" + suffix}})
	c.RoleBinding(nsC, "nothing", "ClusterRole", "nothing-"+suffix, identitytest.SASubject(nsA, "trapped"))
	c.Role(nsC, "ghost", identitytest.PolicyRule([]string{"get"}, []string{""}, []string{"configmaps"}, "ghost"))
	c.RoleBinding(nsC, "ghost", "Role", "ghost", identitytest.SASubject(nsA, "trapped"))
	c.RoleBinding(nsC, "strangers", "ClusterRole", "edit", identitytest.SASubject("nowhere-"+suffix, "x"))
	c.ClusterRoleBinding("contractors-"+suffix, "view", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "contractors-" + suffix})

	// The aggregation controller fills the aggregated role; the authorizer reads what it wrote.
	testenv.Eventually(t, time.Minute, "aggregation of partner-"+suffix, func() (bool, error) {
		r, err := cs.RbacV1().ClusterRoles().Get(ctx, "partner-"+suffix, metav1.GetOptions{})
		return err == nil && len(r.Rules) > 0, err
	})

	reader, err := kube.NewReader(testenv.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := reader.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := identitytest.Env()
	sc, err := graph.NewScope(env, []*isolation.RuntimeTenantBinding{
		identitytest.Binding(a, isolation.TierPool), identitytest.Binding(b, isolation.TierPool), identitytest.Binding(trap, isolation.TierPool)})
	if err != nil {
		t.Fatal(err)
	}
	builder := graph.NewBuilder(sc)
	res, err := identity.Analyze(ctx, sc, snap, builder)
	if err != nil {
		t.Fatal(err)
	}
	g := builder.Graph("snapshot")
	if out, err := json.Marshal(g); err != nil || strings.Contains(string(out), "canary-identity-5e1f") {
		t.Errorf("the graph holds the Secret's value (or cannot be written: %v)", err)
	}

	type route struct {
		account, binding, check, to string
		kind                        graph.EdgeKind
		attrs                       rbac.Attributes
		ruleFrom                    string // the aggregated part the rule comes from
	}
	routes := []route{
		{account: "editor", binding: "RoleBinding " + nsB + "/partner-access", check: "get secrets", to: b, kind: graph.KindIdentityRBAC,
			attrs: rbac.Attributes{Verb: "get", Resource: "secrets", Namespace: nsB}, ruleFrom: "system:aggregate-to-edit"},
		{account: "admin", binding: "ClusterRoleBinding debug-" + suffix, check: "create clusterrolebindings.rbac.authorization.k8s.io", to: "*", kind: graph.KindIdentityEscalation,
			attrs: rbac.Attributes{Verb: "create", Group: rbac.Group, Resource: "clusterrolebindings"}},
		{account: "aggregated", binding: "RoleBinding " + nsB + "/partner-aggregated", check: "get configmaps", to: b, kind: graph.KindIdentityRBAC,
			attrs: rbac.Attributes{Verb: "get", Resource: "configmaps", Namespace: nsB}, ruleFrom: "partner-configmaps-" + suffix},
		{account: "impersonator", binding: "RoleBinding " + nsB + "/impersonate", check: "impersonate serviceaccounts", to: b, kind: graph.KindIdentityImpersonation,
			attrs: rbac.Attributes{Verb: "impersonate", Resource: "serviceaccounts", Namespace: nsB, Name: "worker"}},
		{account: "minter", binding: "RoleBinding " + nsB + "/tokens", check: "create serviceaccounts/token", to: b, kind: graph.KindIdentityImpersonation,
			attrs: rbac.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: nsB, Name: tenantplan.TenantObjectName(b)}},
		{account: "execer", binding: "RoleBinding " + nsB + "/exec", check: "create pods/exec", to: b, kind: graph.KindIdentityImpersonation,
			attrs: rbac.Attributes{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: nsB, Name: "web"}},
	}
	for _, r := range routes {
		subject := rbac.Subject{Kind: rbac.KindServiceAccount, Namespace: nsA, Name: r.account}
		i := slices.IndexFunc(res.Grants, func(gr identity.Grant) bool {
			return gr.Subject == subject && gr.Binding().String() == r.binding && gr.Check() == r.check && gr.To() == r.to && gr.Kind() == r.kind
		})
		if i < 0 {
			t.Errorf("%s: no %s grant %q to %s through %s", r.account, r.kind, r.check, r.to, r.binding)
			continue
		}
		if from := res.Grants[i].Rule().From; from != r.ruleFrom {
			t.Errorf("%s: rule aggregated from %q, want %q", r.account, from, r.ruleFrom)
		}
		to := r.to
		if to == "*" {
			to = b
		}
		if !slices.ContainsFunc(g.Edges, func(e graph.Edge) bool {
			return e.From == a && e.To == to && e.Kind == r.kind && e.Verdict == graph.VerdictUnexpected
		}) {
			t.Errorf("%s: no unexpected %s edge %s → %s", r.account, r.kind, a, to)
		}
		if !c.Allows(rbac.ServiceAccountUser(nsA, r.account), r.attrs) {
			t.Errorf("%s: the authorizer denies %s, which the analysis found", r.account, r.attrs)
		}
	}
	// Nothing reaches the trap tenant but the cluster-admin binding, which reaches everyone.
	traps := []string{"RoleBinding " + nsC + "/nothing", "RoleBinding " + nsC + "/ghost", "RoleBinding " + nsC + "/strangers", "ClusterRoleBinding contractors-" + suffix}
	for _, gr := range res.Grants {
		if slices.Contains(traps, gr.Binding().String()) {
			t.Errorf("trap %s produced grant %s %s → %s", gr.Binding(), gr.Subject, gr.Check(), gr.To())
		}
	}
	for _, e := range g.Edges {
		if e.To == trap && !slices.ContainsFunc(e.Evidence, func(st graph.EvidenceStep) bool {
			return st.Kind == identity.StepBinding && st.Ref.Name == "debug-"+suffix
		}) || e.From == trap {
			t.Errorf("trap produced edge %s → %s %s: %v", e.From, e.To, e.Kind, e.Evidence)
		}
	}
	// The ghost ConfigMap is a real grant of the authorizer, but names nothing that exists.
	if !c.Allows(rbac.ServiceAccountUser(nsA, "trapped"), rbac.Attributes{Verb: "get", Resource: "configmaps", Namespace: nsC, Name: "ghost"}) {
		t.Error("the authorizer denies the ghost ConfigMap: the trap tests nothing")
	}

	questions := authzprobe.Questions(res, [2]string{a, b}, [2]string{a, trap}, [2]string{a, isolation.Platform}, [2]string{b, a})
	report, err := authzprobe.Probe(ctx, cs, questions)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probe: %d reviews, %d allowed, %d disagreements", report.Asked, report.Allowed, len(report.Disagreements))
	for _, d := range report.Disagreements {
		t.Errorf("disagreement: %s", d)
	}
	if report.Allowed == 0 || report.Asked == report.Allowed {
		t.Errorf("probe asked %d, allowed %d: want both answers among the questions", report.Asked, report.Allowed)
	}

	// An analysis that misses a route, or invents one, is caught.
	i := slices.IndexFunc(questions, func(q identity.Question) bool { return q.Expect && q.Principal == "ServiceAccount "+nsA+"/execer" })
	j := slices.IndexFunc(questions, func(q identity.Question) bool { return !q.Expect && q.Principal == "ServiceAccount "+nsA+"/trapped" })
	if i < 0 || j < 0 {
		t.Fatalf("no question to falsify (%d, %d)", i, j)
	}
	wrong := []identity.Question{questions[i], questions[j]}
	wrong[0].Expect, wrong[1].Expect = false, true
	report, err = authzprobe.Probe(ctx, cs, wrong, authzprobe.WithParallel(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Disagreements) != 2 || !report.Disagreements[0].Authorizer || report.Disagreements[1].Authorizer {
		t.Errorf("falsified answers: disagreements %v, want both reported", report.Disagreements)
	}
}
