package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/connectsoft/tenantctl/audit"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/remediate"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/authzprobe"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	"github.com/connectsoft/tenantctl/isolation/reach/identity/identitytest"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
)

// identityRoute is one injected route as the user sees it: the finding drift reports (tenant,
// peer, opening object), the edge kinds its message names, what its evidence must show, what the
// authorizer must allow, and what remediation does with it.
type identityRoute struct {
	tenant, peer string
	resource     string // finding.Resource.Ref()
	kinds        []graph.EdgeKind
	evidence     []string
	user         rbac.User
	can          rbac.Attributes
	action       remediate.ActionKind
	command      string // review actions
}

// readReport reads a drift report written with -o json --out.
func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestIdentityRoutesEndToEnd is the scenario on the local cluster with the real engine:
// the example tenants provisioned with up --all; then each identity route injected (a RoleBinding
// of edit to another tenant's ServiceAccount, a ClusterRoleBinding to cluster-admin, an
// aggregated ClusterRole filled by the controller, impersonate, serviceaccounts/token,
// pods/exec) beside three traps (a role without rules, a ConfigMap resourceName that does not
// exist, a subject of no tenant). drift check reports each route as one critical
// cross-tenant-route with its kind and evidence and nothing for the traps (exit 2); the API
// server's authorizer allows each, and the probe finds no disagreement with the analysis;
// isolation verify exits 2 and the graph draws the identity kinds; a review plan deletes each
// namespaced binding and lists the cluster-scoped ones review-only with their command; applying
// it deletes exactly those, refuses the others (exit 1) and audits all; once a person ran the
// review commands and removed the rest, drift check and isolation verify are clean (exit 0).
func TestIdentityRoutesEndToEnd(t *testing.T) {
	bed := newEngineTestbed(t, "identity-routes-test")
	cluster, work, dir, dataDir, auditLog, common := bed.cluster, bed.work, bed.dir, bed.dataDir, bed.auditLog, bed.common
	cs := testenv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	tenantctl := func(args ...string) (int, string, string) {
		t.Helper()
		return bed.tenantctl(t, ctx, args...)
	}
	verify := func(args ...string) (int, string, string) {
		t.Helper()
		return execTenantctl(t, ctx, append([]string{"isolation", "verify", "-d", dir, "--kubeconfig", cluster.Kubeconfig, "--data-dir", dataDir}, args...)...)
	}
	if code, _, stderr := tenantctl("up", "--all"); code != exitcode.OK {
		t.Fatalf("up exit %d:\n%s", code, stderr)
	}
	t.Cleanup(func() {
		if code, _, stderr := execTenantctl(t, context.Background(), append([]string{"destroy", "--all", "--include-platform"}, common...)...); code != exitcode.OK {
			t.Errorf("destroy exit %d:\n%s", code, stderr)
		}
	})
	if code, stdout, _ := verify(); code != exitcode.OK {
		t.Fatalf("isolation verify of the provisioned examples: exit %d:\n%s", code, stdout)
	}

	// The routes. Cluster-scoped names are unique: the cluster outlives this test.
	c := identitytest.Live{T: t, CS: cs}
	suffix := strings.TrimPrefix(testenv.UniqueName("x"), "x-")
	acmeSA, globexSA, initechSA := identitytest.SASubject("t-acme", "t-acme"), identitytest.SASubject("t-globex", "t-globex"), identitytest.SASubject("shared-tenants", "t-initech")
	acmeUser, globexUser, initechUser := rbac.ServiceAccountUser("t-acme", "t-acme"), rbac.ServiceAccountUser("t-globex", "t-globex"), rbac.ServiceAccountUser("shared-tenants", "t-initech")
	debug, partnerReader, partnerParts := "acme-debug-"+suffix, "partner-reader-"+suffix, "partner-configmaps-"+suffix
	aggLabel := "example.com/aggregate-to-partner-" + suffix

	c.RoleBinding("t-globex", "partner-access", "ClusterRole", "edit", acmeSA)
	c.ClusterRoleBinding(debug, "cluster-admin", acmeSA)
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: partnerReader},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{aggLabel: "true"}}}}})
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: partnerParts, Labels: map[string]string{aggLabel: "true"}},
		Rules: []rbacv1.PolicyRule{identitytest.PolicyRule([]string{"get", "list"}, []string{""}, []string{"configmaps"})}})
	c.RoleBinding("t-acme", "partner", "ClusterRole", partnerReader, globexSA)
	c.Role("t-acme", "impersonate", identitytest.PolicyRule([]string{"impersonate"}, []string{""}, []string{"serviceaccounts"}, "t-acme"))
	c.RoleBinding("t-acme", "impersonate", "Role", "impersonate", globexSA)
	c.Role("t-globex", "tokens", identitytest.PolicyRule([]string{"create"}, []string{""}, []string{"serviceaccounts/token"}))
	c.RoleBinding("t-globex", "tokens", "Role", "tokens", acmeSA)
	c.Role("t-acme", "exec", identitytest.PolicyRule([]string{"create"}, []string{""}, []string{"pods/exec"}))
	c.RoleBinding("t-acme", "exec", "Role", "exec", initechSA)

	// The traps.
	nothing := "nothing-" + suffix
	c.ClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: nothing}})
	c.RoleBinding("t-globex", "nothing", "ClusterRole", nothing, acmeSA)
	c.Role("t-globex", "ghost", identitytest.PolicyRule([]string{"get"}, []string{""}, []string{"configmaps"}, "ghost"))
	c.RoleBinding("t-globex", "ghost", "Role", "ghost", initechSA)
	c.RoleBinding("t-globex", "strangers", "ClusterRole", "edit", identitytest.SASubject("nowhere-"+suffix, "x"))

	testenv.Eventually(t, time.Minute, "aggregation of "+partnerReader, func() (bool, error) {
		r, err := cs.RbacV1().ClusterRoles().Get(ctx, partnerReader, metav1.GetOptions{})
		return err == nil && len(r.Rules) > 0, err
	})

	const rb, crb, cr = "rbac.authorization.k8s.io/v1/RoleBinding ", "rbac.authorization.k8s.io/v1/ClusterRoleBinding ", "rbac.authorization.k8s.io/v1/ClusterRole "
	routes := []identityRoute{
		{tenant: "globex", peer: "acme", resource: rb + "t-globex/partner-access", kinds: []graph.EdgeKind{graph.KindIdentityRBAC, graph.KindIdentityImpersonation},
			evidence: []string{"grants ClusterRole edit to ServiceAccount t-acme/t-acme in namespace t-globex", "get secrets in namespace t-globex", "aggregated from ClusterRole system:aggregate-to-edit"},
			user:     acmeUser, can: rbac.Attributes{Verb: "get", Resource: "secrets", Namespace: "t-globex"}, action: remediate.ActionDelete},
		{tenant: "acme", peer: isolation.Platform, resource: crb + debug, kinds: []graph.EdgeKind{graph.KindIdentityEscalation},
			evidence: []string{"grants ClusterRole cluster-admin to ServiceAccount t-acme/t-acme cluster-wide", "verbs=[*] apiGroups=[*] resources=[*]", "reaches every tenant and the platform"},
			user:     acmeUser, can: rbac.Attributes{Verb: "create", Group: rbac.Group, Resource: "clusterrolebindings"},
			action: remediate.ActionReview, command: "kubectl delete clusterrolebinding.rbac.authorization.k8s.io " + debug},
		{tenant: "acme", peer: "globex", resource: rb + "t-acme/partner", kinds: []graph.EdgeKind{graph.KindIdentityRBAC},
			evidence: []string{"grants ClusterRole " + partnerReader + " to ServiceAccount t-globex/t-globex in namespace t-acme", "aggregated from ClusterRole " + partnerParts},
			user:     globexUser, can: rbac.Attributes{Verb: "get", Resource: "configmaps", Namespace: "t-acme"}, action: remediate.ActionDelete},
		{tenant: "globex", peer: "acme", resource: cr + partnerParts, kinds: []graph.EdgeKind{graph.KindIdentityRBAC},
			evidence: []string{"aggregated: " + cr + partnerParts + ": adds the rule to ClusterRole " + partnerReader},
			user:     globexUser, can: rbac.Attributes{Verb: "list", Resource: "configmaps", Namespace: "t-acme"},
			action: remediate.ActionReview, command: "kubectl delete clusterrole.rbac.authorization.k8s.io " + partnerParts},
		{tenant: "acme", peer: "globex", resource: rb + "t-acme/impersonate", kinds: []graph.EdgeKind{graph.KindIdentityImpersonation},
			evidence: []string{`rule verbs=[impersonate] apiGroups=[""] resources=[serviceaccounts] resourceNames=[t-acme]`},
			user:     globexUser, can: rbac.Attributes{Verb: "impersonate", Resource: "serviceaccounts", Namespace: "t-acme", Name: "t-acme"}, action: remediate.ActionDelete},
		{tenant: "globex", peer: "acme", resource: rb + "t-globex/tokens", kinds: []graph.EdgeKind{graph.KindIdentityImpersonation},
			evidence: []string{`rule verbs=[create] apiGroups=[""] resources=[serviceaccounts/token]`},
			user:     acmeUser, can: rbac.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "t-globex", Name: "t-globex"}, action: remediate.ActionDelete},
		{tenant: "acme", peer: "initech", resource: rb + "t-acme/exec", kinds: []graph.EdgeKind{graph.KindIdentityImpersonation},
			evidence: []string{`rule verbs=[create] apiGroups=[""] resources=[pods/exec]`, "ServiceAccount shared-tenants/t-initech"},
			user:     initechUser, can: rbac.Attributes{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "t-acme", Name: "web"}, action: remediate.ActionDelete},
	}

	// drift check: one critical route finding per route, with its kinds and evidence; the
	// bindings are not also unmanaged resources; the traps are only unmanaged leftovers.
	first := filepath.Join(work, "check-1.json")
	if code, _, stderr := tenantctl("drift", "check", "-o", "json", "--out", first); code != exitcode.Findings {
		t.Fatalf("drift check exit %d, want 2:\n%s", code, stderr)
	}
	rep := readReport(t, first)
	if testing.Verbose() {
		var text strings.Builder
		_ = report.Text(&text, rep, report.WithExitCodes(driftExitCode))
		pa, _ := json.MarshalIndent(rep.Findings, "", "  ")
		t.Logf("drift check:\n%s\n%s", text.String(), pa)
	}
	var gotRoutes, wantRoutes []string
	byResource := map[string]finding.Finding{}
	var unmanaged []string
	for _, f := range rep.Findings {
		switch f.Kind {
		case finding.KindCrossTenantRoute:
			gotRoutes = append(gotRoutes, fmt.Sprintf("%s→%s %s %s", f.TenantID, f.PeerTenant, f.Resource.Ref(), f.Severity))
			byResource[f.Resource.Ref()] = f
		case finding.KindUnmanagedResource:
			unmanaged = append(unmanaged, f.Resource.Ref())
		default:
			t.Errorf("unexpected finding %s: %s", f.Title(), f.Message)
		}
	}
	for _, r := range routes {
		wantRoutes = append(wantRoutes, fmt.Sprintf("%s→%s %s %s", r.tenant, r.peer, r.resource, finding.SeverityCritical))
	}
	slices.Sort(gotRoutes)
	slices.Sort(wantRoutes)
	if diff := cmp.Diff(wantRoutes, gotRoutes); diff != "" {
		t.Errorf("route findings (-want +got):\n%s", diff)
	}
	slices.Sort(unmanaged)
	wantUnmanaged := []string{"rbac.authorization.k8s.io/v1/Role t-acme/exec", "rbac.authorization.k8s.io/v1/Role t-acme/impersonate",
		"rbac.authorization.k8s.io/v1/Role t-globex/ghost", "rbac.authorization.k8s.io/v1/Role t-globex/tokens",
		rb + "t-globex/ghost", rb + "t-globex/nothing", rb + "t-globex/strangers"}
	if diff := cmp.Diff(wantUnmanaged, unmanaged); diff != "" {
		t.Errorf("unmanaged findings (-want +got):\n%s", diff)
	}
	for _, r := range routes {
		f, ok := byResource[r.resource]
		if !ok {
			continue
		}
		ev := strings.Join(f.Evidence, "\n")
		for _, k := range r.kinds {
			if !strings.Contains(f.Message, string(k)) {
				t.Errorf("%s: message %q lacks kind %s", r.resource, f.Message, k)
			}
		}
		for _, want := range r.evidence {
			if !strings.Contains(ev, want) && !strings.Contains(f.Message, want) {
				t.Errorf("%s: evidence lacks %q:\n%s\n%s", r.resource, want, f.Message, ev)
			}
		}
		if strings.Contains(f.Message, " on ") {
			t.Errorf("%s: identity message speaks of ports: %q", r.resource, f.Message)
		}
		// The authorizer itself allows what the finding says.
		if !c.Allows(r.user, r.can) {
			t.Errorf("%s: the authorizer denies %s %s", r.resource, r.user.Name, r.can)
		}
	}
	if !c.Allows(initechUser, rbac.Attributes{Verb: "get", Resource: "configmaps", Namespace: "t-globex", Name: "ghost"}) {
		t.Error("the authorizer denies the ghost ConfigMap: the trap tests nothing")
	}

	// The probe asks the authorizer every question of the analysis for the pairs involved.
	snapReader, err := kube.NewReader(testenv.RESTConfig(t), kube.WithAllNamespaces())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapReader.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := isolation.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := graph.NewScope(st.Environment("dev"), st.BindingsIn("dev"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := identity.Analyze(ctx, sc, snap, graph.NewBuilder(sc))
	if err != nil {
		t.Fatal(err)
	}
	probe, err := authzprobe.Probe(ctx, cs, authzprobe.Questions(res, [2]string{"acme", "globex"}, [2]string{"globex", "acme"},
		[2]string{"initech", "acme"}, [2]string{"acme", isolation.Platform}))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probe: %d reviews, %d allowed, %d disagreements", probe.Asked, probe.Allowed, len(probe.Disagreements))
	for _, d := range probe.Disagreements {
		t.Errorf("disagreement: %s", d)
	}

	// isolation verify fails on the identity edges; the graph draws their kinds.
	code, stdout, _ := verify()
	if code != exitcode.Findings {
		t.Errorf("isolation verify exit %d, want 2:\n%s", code, stdout)
	}
	for _, want := range []string{"UNEXPECTED  acme → globex identity-rbac", "UNEXPECTED  acme → platform identity-escalation",
		"UNEXPECTED  initech → acme identity-impersonation", "← opens the route"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "not analysed") {
		t.Errorf("verify says identity is not analysed:\n%s", stdout)
	}
	dot := filepath.Join(work, "graph.dot")
	if code, _, stderr := execTenantctl(t, ctx, "isolation", "graph", "-d", dir, "--kubeconfig", cluster.Kubeconfig, "--data-dir", dataDir, "-o", "dot", "--out", dot); code != exitcode.OK {
		t.Fatalf("isolation graph exit %d:\n%s", code, stderr)
	}
	if b, err := os.ReadFile(dot); err != nil || !strings.Contains(string(b), "identity-escalation") || !strings.Contains(string(b), "identity-impersonation") {
		t.Errorf("the graph does not draw the identity kinds (err %v)", err)
	}

	// Remediation: namespaced bindings deleted in their tenant's scope, cluster-scoped ones review-only.
	planFile := filepath.Join(work, "plan.json")
	if code, stdout, stderr := tenantctl("drift", "remediate", "--mode", "review", "--plan-out", planFile); code != exitcode.OK {
		t.Fatalf("review exit %d:\n%s\n%s", code, stdout, stderr)
	}
	plan, err := remediate.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	planned := map[string]remediate.Action{}
	for _, a := range plan.Actions {
		planned[a.Target.Ref()] = a
	}
	for _, r := range routes {
		a, ok := planned[r.resource]
		if !ok || a.Kind != r.action || a.Command != r.command {
			t.Errorf("%s: planned %s %q, want %s %q", r.resource, a.Kind, a.Command, r.action, r.command)
		}
	}
	code, stdout, stderr := tenantctl("drift", "remediate", "--plan", planFile)
	if code != exitcode.Failed || !strings.Contains(stdout+stderr, "review-only") || !strings.Contains(stdout+stderr, "kubectl delete clusterrolebinding.rbac.authorization.k8s.io "+debug) {
		t.Errorf("apply: exit %d, want 1 naming the review-only actions and their command:\n%s\n%s", code, stdout, stderr)
	}
	for _, r := range routes {
		kind := r.resource[strings.LastIndexByte(r.resource[:strings.IndexByte(r.resource, ' ')], '/')+1 : strings.IndexByte(r.resource, ' ')]
		ns, name, _ := strings.Cut(r.resource[strings.IndexByte(r.resource, ' ')+1:], "/")
		if name == "" {
			ns, name = "", ns
		}
		var gerr error
		switch kind {
		case "RoleBinding":
			_, gerr = cs.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{})
		case "ClusterRoleBinding":
			_, gerr = cs.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
		case "ClusterRole":
			_, gerr = cs.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		}
		deleted := apierrors.IsNotFound(gerr)
		if deleted != (r.action == remediate.ActionDelete) {
			t.Errorf("%s: deleted %v (err %v), want deleted only when planned for deletion", r.resource, deleted, gerr)
		}
	}
	recs, err := audit.QueryFile(ctx, auditLog, audit.Filter{Type: audit.TypeDriftRemediate})
	if err != nil {
		t.Fatal(err)
	}
	var auditLines []string
	for _, r := range recs {
		auditLines = append(auditLines, r.Details["kind"]+" "+string(r.Outcome)+" "+r.Details["command"])
	}
	slices.Sort(auditLines)
	wantAudit := []string{"delete succeeded ", "delete succeeded ", "delete succeeded ", "delete succeeded ", "delete succeeded ",
		"review denied kubectl delete clusterrole.rbac.authorization.k8s.io " + partnerParts,
		"review denied kubectl delete clusterrolebinding.rbac.authorization.k8s.io " + debug}
	if diff := cmp.Diff(wantAudit, auditLines); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}

	// A person runs the review commands and removes the rest; everything is clean again.
	if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, debug, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{partnerParts, partnerReader, nothing} {
		if err := cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range [][3]string{{"t-acme", "Role", "exec"}, {"t-acme", "Role", "impersonate"}, {"t-globex", "Role", "ghost"}, {"t-globex", "Role", "tokens"},
		{"t-globex", "RoleBinding", "ghost"}, {"t-globex", "RoleBinding", "nothing"}, {"t-globex", "RoleBinding", "strangers"}} {
		var err error
		if o[1] == "Role" {
			err = cs.RbacV1().Roles(o[0]).Delete(ctx, o[2], metav1.DeleteOptions{})
		} else {
			err = cs.RbacV1().RoleBindings(o[0]).Delete(ctx, o[2], metav1.DeleteOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	last := filepath.Join(work, "check-2.json")
	if code, _, stderr := tenantctl("drift", "check", "-o", "json", "--out", last); code != exitcode.OK {
		var left []string
		for _, f := range readReport(t, last).Findings {
			left = append(left, f.Title())
		}
		t.Errorf("drift check after removing every route: exit %d, want 0: %v\n%s", code, left, stderr)
	}
	if code, stdout, _ := verify(); code != exitcode.OK {
		t.Errorf("isolation verify after removing every route: exit %d:\n%s", code, stdout)
	}
}
