package check_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/connectsoft/tenantctl/automation"
	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/check"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/internal/errkind"
	"github.com/connectsoft/tenantctl/internal/testenv"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// desiredRepo copies examples/tenants into a new Git repository with one commit, so reports name
// a real desired-state commit.
func desiredRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "tenants")
	dir = testenv.TempDir(t)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := git.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	return dir, commitAll(t, dir, "desired state")
}

// commitAll commits every file of the work tree at dir and returns the commit id.
func commitAll(t *testing.T, dir, msg string) string {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "test", Email: "test@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// brief is the identity of a finding the test compares: what "identical findings" means
// (docs/drift-detection.md): kind, environment, tenant, resource, field and peer — the finding's
// fingerprint — plus the field manager of a conflict.
type brief struct {
	Kind     finding.Kind
	Tenant   string
	Resource string
	Field    string
	Peer     string
	Manager  string
}

func briefs(r *report.Report) []brief {
	var out []brief
	for _, f := range r.Findings {
		out = append(out, brief{f.Kind, f.TenantID, f.Resource.Ref(), f.Field, f.PeerTenant, f.Manager})
	}
	slices.SortFunc(out, func(a, b brief) int { return cmpBrief(a, b) })
	return out
}

func cmpBrief(a, b brief) int {
	for _, p := range [][2]string{{string(a.Kind), string(b.Kind)}, {a.Tenant, b.Tenant}, {a.Resource, b.Resource}, {a.Field, b.Field}, {a.Peer, b.Peer}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func fingerprints(r *report.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Fingerprint())
	}
	slices.Sort(out)
	return out
}

func statuses(r *report.Report) map[string]report.Status {
	out := map[string]report.Status{}
	for _, t := range r.Tenants {
		out[t.Environment+"/"+t.TenantID] = t.Status
	}
	return out
}

// TestDriftCheckOnExampleFleet provisions the three example tenants with the real engine on the
// local cluster, checks the clean fleet in every mode, injects four out-of-band changes and checks
// that every mode reports exactly them, with the same identities, exit code 2; then checks
// offline, sharded and against an unreachable API server.
func TestDriftCheckOnExampleFleet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	cluster := testenv.Cluster(t)
	restCfg := testenv.RESTConfig(t)
	cs := testenv.Client(t)
	dir, commit := desiredRepo(t)
	state, err := isolation.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if state.Commit != commit {
		t.Fatalf("desired state commit %q, want %q", state.Commit, commit)
	}
	e, err := automation.New(
		automation.WithToolchain(testenv.Toolchain(t)),
		automation.WithDataDir(testenv.TempDir(t)),
		automation.WithParallel(2),
		automation.WithSecrets(automation.SecretsConfig{Provider: "passphrase", Passphrase: "drift-run-test"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.New(e, state, cluster.Kubeconfig, fleet.WithPostgres(testenv.PostgresConnection(t)))
	all := fleet.Selection{All: true}
	t.Cleanup(func() {
		out, err := fl.Run(context.Background(), automation.OpDestroy, fleet.Selection{All: true, IncludePlatform: true})
		if err != nil || out.Failed() || out.Conflicted() {
			t.Errorf("destroy: %v (failed %v, conflicted %v)", err, out.Failed(), out.Conflicted())
		}
	})
	up, err := fl.Run(ctx, automation.OpUp, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range up.All() {
		if r.Err != nil {
			t.Fatalf("up %s: %v", r.Stack, r.Err)
		}
	}
	checker := check.New(e, state, cluster.Kubeconfig, check.WithPostgresConnection(testenv.PostgresConnection(t)), check.WithRESTConfig(restCfg))
	allClean := map[string]report.Status{"dev/platform": report.StatusClean, "dev/acme": report.StatusClean,
		"dev/globex": report.StatusClean, "dev/initech": report.StatusClean}

	for _, mode := range check.Modes {
		t.Run("clean/"+string(mode), func(t *testing.T) {
			out, err := checker.Run(ctx, all, mode)
			if err != nil {
				t.Fatal(err)
			}
			r := out.Report
			if len(r.Findings) != 0 || len(r.Errors) != 0 {
				t.Fatalf("clean fleet: findings %+v errors %+v", briefs(r), r.Errors)
			}
			if st := r.Status(); st != report.StatusClean {
				t.Errorf("status %s, want clean", st)
			}
			if diff := cmp.Diff(allClean, statuses(r)); diff != "" {
				t.Errorf("tenant statuses (-want +got):\n%s", diff)
			}
			if r.Commit != commit || r.Dirty {
				t.Errorf("report names commit %q dirty %v, want %q clean", r.Commit, r.Dirty, commit)
			}
			wantEngine := 0
			if mode == check.ModeEngine {
				wantEngine = 4
			}
			// the state is newer than the commit and nothing drifted: confirm runs no engine
			if len(out.Engine) != wantEngine {
				t.Errorf("engine previewed %+v, want %d stacks", out.Engine, wantEngine)
			}
		})
	}

	inject(ctx, t, cs)
	const (
		netpol = "networking.k8s.io/v1/NetworkPolicy "
		deploy = "apps/v1/Deployment t-acme/web"
		image  = "spec.template.spec.containers[name=web].image"
	)
	want := []brief{
		{Kind: finding.KindCrossTenantRoute, Tenant: "globex", Resource: netpol + "t-globex/let-acme-in", Peer: "acme"},
		{Kind: finding.KindFieldConflict, Tenant: "globex", Resource: netpol + "t-globex/default-deny", Field: "spec.policyTypes", Manager: "kubectl-patch"},
		{Kind: finding.KindUnmanagedResource, Tenant: "acme", Resource: deploy},
		{Kind: finding.KindUnmanagedResource, Tenant: "globex", Resource: netpol + "t-globex/let-acme-in"},
		{Kind: finding.KindUnmanagedResource, Tenant: "globex", Resource: "v1/ConfigMap t-globex/cache"},
		{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: deploy, Field: image},
		{Kind: finding.KindUntrustedImage, Tenant: "acme", Resource: deploy, Field: image},
	}
	slices.SortFunc(want, cmpBrief)
	reports := map[check.Mode]*report.Report{}
	for _, mode := range check.Modes {
		out, err := checker.Run(ctx, all, mode)
		if err != nil {
			t.Fatal(err)
		}
		r := out.Report
		reports[mode] = r
		if testing.Verbose() {
			var text strings.Builder
			_ = report.Text(&text, r)
			t.Logf("%s report:\n%s", mode, text.String())
		}
		if diff := cmp.Diff(want, briefs(r)); diff != "" {
			t.Errorf("%s: findings (-want +got):\n%s", mode, diff)
		}
		if len(r.Errors) != 0 {
			t.Errorf("%s: errors %+v", mode, r.Errors)
		}
		if st := r.Status(); st != report.StatusDrifted {
			t.Errorf("%s: status %s, want drifted", mode, st)
		}
		// The engine saw (a) too (as a server-side apply conflict that failed its preview, and in
		// its refresh): its account joins the live finding's evidence instead of a second finding.
		var engineSaw []string
		for _, f := range r.Findings {
			if f.Kind == finding.KindFieldConflict {
				for _, ev := range f.Evidence {
					if strings.HasPrefix(ev, "engine: ") {
						engineSaw = append(engineSaw, ev)
					}
				}
			}
		}
		t.Logf("%s: engine evidence on the conflict: %q", mode, engineSaw)
		if (mode == check.ModeFast) != (len(engineSaw) == 0) {
			t.Errorf("%s: engine evidence on the conflict: %q", mode, engineSaw)
		}
		if mode == check.ModeConfirm {
			var confirmed []string
			for _, er := range out.Engine {
				confirmed = append(confirmed, er.Stack+": "+er.Reason)
			}
			wantConfirmed := []string{"tenant.acme.dev: " + check.ReasonFindings, "tenant.globex.dev: " + check.ReasonFindings}
			if diff := cmp.Diff(wantConfirmed, confirmed); diff != "" {
				t.Errorf("confirm previewed (-want +got):\n%s", diff)
			}
		}
	}
	// The slow path (preview --refresh of every stack) and the fast path agree finding by finding.
	if diff := cmp.Diff(fingerprints(reports[check.ModeFast]), fingerprints(reports[check.ModeEngine])); diff != "" {
		t.Errorf("fast vs engine-only fingerprints (-fast +engine):\n%s", diff)
	}
	if diff := cmp.Diff(fingerprints(reports[check.ModeFast]), fingerprints(reports[check.ModeConfirm])); diff != "" {
		t.Errorf("fast vs confirm fingerprints (-fast +confirm):\n%s", diff)
	}

	t.Run("offline", func(t *testing.T) {
		// the live snapshot written as `tenantctl inventory export` does, then checked offline
		snapFile := filepath.Join(testenv.TempDir(t), "snap.json")
		live, err := checker.Run(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(snapFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := inventory.Write(fh, live.Snapshot); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		offline := check.New(e, state, "", check.WithInventoryFile(snapFile))
		r, err := offline.Check(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, briefs(r)); diff != "" {
			t.Errorf("offline findings (-want +got):\n%s", diff)
		}
		if _, err := offline.Check(ctx, all, check.ModeConfirm); errkind.Of(err) != errkind.Invalid {
			t.Errorf("offline confirm: %v, want invalid input", err)
		}
	})

	t.Run("shards", func(t *testing.T) {
		var parts []*report.Report
		for i := 1; i <= 3; i++ {
			sh := check.New(e, state, cluster.Kubeconfig, check.WithPostgresConnection(testenv.PostgresConnection(t)), check.WithRESTConfig(restCfg), check.WithShard(report.Shard{Index: i, Count: 3}))
			r, err := sh.Check(ctx, all, check.ModeFast)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range r.Tenants {
				if got := tenantplan.ShardOf(tr.TenantID, 3); got != i {
					t.Errorf("shard %d reports tenant %s of shard %d", i, tr.TenantID, got)
				}
			}
			parts = append(parts, r)
		}
		merged, err := report.Merge(parts...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fingerprints(reports[check.ModeFast]), fingerprints(merged)); diff != "" {
			t.Errorf("merged shards vs one run (-one +merged):\n%s", diff)
		}
		if merged.Status() != report.StatusDrifted {
			t.Errorf("merged status %s, want drifted", merged.Status())
		}
	})

	t.Run("state not from the current inputs", func(t *testing.T) {
		// A commit after the last up lowers initech's CPU quota. The stacks' recorded inputs do
		// not know it, so the fast path cannot see it; confirm runs the engine for exactly the
		// stacks whose recorded inputs digest differs from the current one (initech's, not the
		// platform's, which the commit does not touch) and reports the quota the next apply
		// would change.
		// (initech has no other drift: a stack whose preview fails on a conflict, like globex,
		// stops planning there, and what it did not plan is compared with its recorded state.)
		p := filepath.Join(dir, "tenants", "initech.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(b), "cpu: 500m", "cpu: 400m", 1)
		if edited == string(b) {
			t.Fatal("initech fixture has no cpu: 500m to edit")
		}
		if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		commitAll(t, dir, "lower initech cpu")
		newer, err := isolation.Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		c := check.New(e, newer, cluster.Kubeconfig, check.WithPostgresConnection(testenv.PostgresConnection(t)), check.WithRESTConfig(restCfg))
		initech := func(r *report.Report) []brief {
			var out []brief
			for _, b := range briefs(r) {
				if b.Tenant == "initech" {
					out = append(out, b)
				}
			}
			return out
		}
		fast, err := c.Run(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		if got := initech(fast.Report); len(got) != 0 {
			t.Errorf("the fast path reports what the recorded state cannot know: %+v", got)
		}
		confirm, err := c.Run(ctx, all, check.ModeConfirm)
		if err != nil {
			t.Fatal(err)
		}
		got := initech(confirm.Report)
		if len(got) == 0 {
			t.Error("confirm: no finding for initech's lowered quota")
		}
		for _, b := range got {
			if b.Kind != finding.KindManagedDrift || !strings.HasPrefix(b.Resource, "v1/ResourceQuota ") {
				t.Errorf("confirm: initech finding %+v, want managed-drift of its ResourceQuota", b)
			}
		}
		reasons := map[string]string{}
		for _, er := range confirm.Engine {
			reasons[er.Stack] = er.Reason
		}
		wantReasons := map[string]string{"tenant.initech.dev": check.ReasonStale + ": " + tenantplan.ReasonBinding,
			"tenant.acme.dev": check.ReasonFindings, "tenant.globex.dev": check.ReasonFindings}
		if diff := cmp.Diff(wantReasons, reasons); diff != "" {
			t.Errorf("engine previews (-want +got):\n%s", diff)
		}
	})

	t.Run("data plane", func(t *testing.T) {
		// The up above created every tier's data objects on the package's PostgreSQL server
		// through the tenantpg provider; the check reads the same server's catalogs.
		pg := testenv.Postgres(t)
		admin := func(db string, stmts ...string) {
			t.Helper()
			cfg, err := pg.ConnConfig(db)
			if err != nil {
				t.Fatal(err)
			}
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			for _, st := range stmts {
				if _, err := c.Exec(ctx, st); err != nil {
					t.Fatalf("%s: %v", st, err)
				}
			}
		}
		// asTenant connects as a tenant's login role with the credentials its stack published in
		// the tenant's Secret, and counts the shared table's rows it can see.
		asTenant := func(namespace, secret string) int {
			t.Helper()
			sec, err := cs.CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("tenant credentials %s/%s: %v", namespace, secret, err)
			}
			d := sec.Data
			c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s dbname=%s user=%s sslmode=%s", d["PGHOST"], d["PGPORT"], d["PGDATABASE"], d["PGUSER"], d["PGSSLMODE"])+
				" password='"+strings.ReplaceAll(string(d["PGPASSWORD"]), "'", `\'`)+"'")
			if err != nil {
				t.Fatalf("connect as %s: %v", d["PGUSER"], err)
			}
			defer c.Close(ctx)
			var n int
			if err := c.QueryRow(ctx, `SELECT count(*) FROM tenant_data.orders`).Scan(&n); err != nil {
				t.Fatalf("read as %s: %v", d["PGUSER"], err)
			}
			return n
		}
		cfg, err := pg.ConnConfig("postgres")
		if err != nil {
			t.Fatal(err)
		}
		read := func(ctx context.Context, _ *isolation.Environment) ([]*pgcatalog.Catalog, error) {
			return pgcatalog.ReadServer(ctx, cfg)
		}
		data := func(r *report.Report) []finding.Finding {
			var out []finding.Finding
			for _, f := range r.Findings {
				if f.Resource.Provider == finding.ProviderPostgreSQL {
					out = append(out, f)
				}
			}
			return out
		}
		dc := check.New(e, state, cluster.Kubeconfig, check.WithPostgresConnection(testenv.PostgresConnection(t)), check.WithRESTConfig(restCfg), check.WithDataPlane(read))
		r, err := dc.Check(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		// (The Kubernetes drift the subtests above injected is still there; only the data plane
		// is asserted here.)
		if got := data(r); len(got) != 0 {
			t.Fatalf("after up: data-plane findings %+v, want none", got)
		}
		// Rows of two tenants in a shared table; initech sees only its own.
		admin("tenants", `INSERT INTO tenant_data.orders (tenant_id) VALUES ('initech'), ('initech'), ('hooli')`)
		if n := asTenant("shared-tenants", "t-initech-db"); n != 2 {
			t.Fatalf("initech sees %d rows of the shared table, want its own 2", n)
		}

		// Out of band: a grant across tenants, RLS off on a shared table, an escalation, and
		// unmanaged objects in two tenants' scopes.
		admin("tenants", `GRANT USAGE ON SCHEMA globex TO t_acme_app`, `ALTER TABLE tenant_data.orders DISABLE ROW LEVEL SECURITY`,
			`CREATE SCHEMA t_acme_scratch`)
		admin("postgres", `ALTER ROLE t_initech_app BYPASSRLS`, `CREATE ROLE t_globex_extra NOLOGIN`)
		if n := asTenant("shared-tenants", "t-initech-db"); n != 3 {
			t.Errorf("with RLS disabled initech sees %d rows, want all 3: the route is real", n)
		}
		r, err = dc.Check(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			kind   finding.Kind
			tenant string
			text   string
		}
		want := []key{
			{finding.KindCrossTenantRoute, "acme", `GRANT USAGE ON SCHEMA "globex" TO "t_acme_app"`},
			{finding.KindCrossTenantRoute, "initech", "BYPASSRLS"},
			{finding.KindManagedDrift, "platform", "orders"},
			{finding.KindUnmanagedResource, "acme", "t_acme_scratch"},
			{finding.KindUnmanagedResource, "globex", "t_globex_extra"},
		}
		got := data(r)
		for _, w := range want {
			if !slices.ContainsFunc(got, func(f finding.Finding) bool {
				blob := f.Resource.ID + " " + f.Message + " " + strings.Join(f.Evidence, " ")
				return f.Kind == w.kind && f.TenantID == w.tenant && strings.Contains(blob, w.text)
			}) {
				t.Errorf("no %s finding of %s mentioning %q in %+v", w.kind, w.tenant, w.text, got)
			}
		}
		if st := r.Status(); st != report.StatusDrifted {
			t.Errorf("status %s, want drifted", st)
		}
		only, err := dc.Check(ctx, fleet.Selection{Tenants: []string{"globex"}}, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range data(only) {
			if f.TenantID != "globex" {
				t.Errorf("a --tenant globex run reports %s's %s", f.TenantID, f.Kind)
			}
		}

		// Managed drift is repaired by the engine: refresh reads the live catalog, up converges.
		for _, op := range []automation.Operation{automation.OpRefresh, automation.OpUp} {
			out, err := fl.Run(ctx, op, all)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range out.All() {
				if res.Err != nil {
					t.Fatalf("%s %s: %v", op, res.Stack, res.Err)
				}
			}
		}
		if n := asTenant("shared-tenants", "t-initech-db"); n != 2 {
			t.Errorf("after refresh+up initech sees %d rows, want its own 2 (RLS forced again, no BYPASSRLS)", n)
		}
		// What no stack declares stays for review; revoke and drop it, and the check is clean.
		admin("tenants", `REVOKE USAGE ON SCHEMA globex FROM t_acme_app`, `DROP SCHEMA t_acme_scratch`, `DELETE FROM tenant_data.orders`)
		admin("postgres", `DROP ROLE t_globex_extra`)
		r, err = dc.Check(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		if got := data(r); len(got) != 0 {
			t.Errorf("after repair: data-plane findings %+v, want none", got)
		}

		down := check.New(e, state, cluster.Kubeconfig, check.WithRESTConfig(restCfg), check.WithDataPlane(
			func(context.Context, *isolation.Environment) ([]*pgcatalog.Catalog, error) {
				return nil, errors.New("connect: connection refused")
			}))
		dr, err := down.Check(ctx, all, check.ModeFast)
		if err != nil {
			t.Fatal(err)
		}
		if st := dr.Status(); st != report.StatusError {
			t.Errorf("unreachable data plane: status %s, want error", st)
		}
		if !slices.ContainsFunc(dr.Errors, func(e report.Error) bool { return e.API == "postgresql" }) {
			t.Errorf("errors %+v, want a postgresql error", dr.Errors)
		}
	})

	t.Run("unreachable API", func(t *testing.T) {
		bad := check.New(e, state, closedKubeconfig(t))
		r, err := bad.Check(ctx, all, check.ModeConfirm)
		if err != nil {
			t.Fatal(err)
		}
		if st := r.Status(); st != report.StatusError {
			t.Errorf("status %s, want error", st)
		}
		if len(r.Errors) != 1 || r.Errors[0].API != "kubernetes" {
			t.Errorf("errors %+v, want one kubernetes error", r.Errors)
		}
		for ref, st := range statuses(r) {
			if st != report.StatusError {
				t.Errorf("%s is %s, want error", ref, st)
			}
		}
	})
}

// inject makes the four out-of-band changes of the issue with plain client-go calls: (a) a
// merge patch of a managed NetworkPolicy's spec.policyTypes by field manager kubectl-patch, (b) a
// new NetworkPolicy in t-globex admitting t-acme, (c) an unmanaged ConfigMap, (d) a Deployment
// with an image from an untrusted registry, by tag.
func inject(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Patch(ctx, "default-deny", types.MergePatchType,
		[]byte(`{"spec":{"policyTypes":["Ingress"]}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatalf("(a) patch default-deny: %v", err)
	}
	letIn := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "let-acme-in", Namespace: "t-globex"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "t-acme"}},
			}}}},
		},
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("t-globex").Create(ctx, letIn, metav1.CreateOptions{}); err != nil {
		t.Fatalf("(b) create let-acme-in: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("t-globex").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cache"}, Data: map[string]string{"size": "10"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("(c) create cache: %v", err)
	}
	labels := map[string]string{"app": "web"}
	web := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "t-acme"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "docker.io/library/nginx:latest"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("t-acme").Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatalf("(d) create web: %v", err)
	}
}

// closedKubeconfig writes a kubeconfig whose server is a local port nobody listens on.
func closedKubeconfig(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["closed"] = &clientcmdapi.Cluster{Server: "https://" + addr, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{Token: "unused"}
	cfg.Contexts["closed"] = &clientcmdapi.Context{Cluster: "closed", AuthInfo: "nobody"}
	cfg.CurrentContext = "closed"
	p := filepath.Join(testenv.TempDir(t), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}
