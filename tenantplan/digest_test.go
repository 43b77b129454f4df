package tenantplan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

var testBuild = Build{
	Program:   "v1.0.0+abc",
	Providers: map[string]string{"pulumi": "v3.274.1", "kubernetes": "4.25.0", "tenantpg": "0.1.0"},
	Settings:  map[string]string{"postgres.host": "127.0.0.1", "postgres.port": "5432"},
}

// digests of every stack of the examples (dev and prod), by stack name.
func exampleDigests(t *testing.T, st *isolation.DesiredState, b Build, platform map[string]PlatformOutputs) map[string]Digest {
	t.Helper()
	out := map[string]Digest{}
	for _, name := range []string{"dev", "prod"} {
		env := st.Environment(name)
		d, err := PlatformDigest(env, b)
		if err != nil {
			t.Fatalf("platform digest of %s: %v", name, err)
		}
		out[PlatformStackName(name)] = d
		bs := st.BindingsIn(name)
		if name == "prod" {
			// The prod tenants are copies of the dev bindings (the examples declare none there),
			// taken from unedited files so that a case edits one binding only.
			bs = prodBindings(loadExamples(t))
		}
		for _, bd := range bs {
			po, ok := platform[name]
			if !ok {
				po = ExpectedPlatformOutputs(env)
			}
			d, err := TenantDigest(Inputs{Binding: bd, Env: env, Platform: po}, b)
			if err != nil {
				t.Fatalf("digest of %s: %v", bd.Spec.TenantID, err)
			}
			out[TenantStackName(bd.Spec.TenantID, name)] = d
		}
	}
	return out
}

// changed lists the stacks whose digest differs between two runs, with the reasons Changed gives.
func changed(before, after map[string]Digest) map[string][]string {
	out := map[string][]string{}
	for stack, d := range after {
		if why := d.Changed(before[stack]); why != nil {
			out[stack] = why
		}
	}
	return out
}

// TestDigestChangesExactlyWhatTheStackReads: each kind of change moves the digest of exactly the
// stacks that read it, with the matching reason, and a change nothing reads moves none.
func TestDigestChangesExactlyWhatTheStackReads(t *testing.T) {
	base := loadExamples(t)
	before := exampleDigests(t, base, testBuild, nil)
	if len(before) != 8 {
		t.Fatalf("digests = %d, want 8 (2 platforms, 3 tenants in each environment)", len(before))
	}
	for _, tc := range []struct {
		name     string
		edit     func(st *isolation.DesiredState, b *Build, po map[string]PlatformOutputs)
		want     map[string][]string
		platform bool
	}{{
		name: "nothing",
		edit: func(*isolation.DesiredState, *Build, map[string]PlatformOutputs) {},
		want: map[string][]string{},
	}, {
		name: "a binding's quota",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			st.Binding("dev", "globex").Spec.Quota.Pods = 12
		},
		want: map[string][]string{"tenant.globex.dev": {ReasonBinding}},
	}, {
		name: "a binding's annotation (no plan reads it, the binding still counts)",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			st.Binding("dev", "acme").Metadata.Annotations = map[string]string{"owner": "team-a"}
		},
		want: map[string][]string{"tenant.acme.dev": {ReasonBinding}},
	}, {
		name: "an environment field one tenant's plan reads (its workload identity)",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			st.Environment("dev").Spec.WorkloadIdentity.ClientIDs["globex"] = "0a1c0000-0000-4000-8000-0000000091bf"
		},
		want: map[string][]string{"tenant.globex.dev": {ReasonEnvironment}},
	}, {
		name: "an environment field every stack of it reads (the cluster identifier)",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			st.Environment("dev").Spec.SharedCluster.Name = "aks-shared-dev-2"
		},
		want: map[string][]string{
			"platform.dev": {ReasonEnvironment}, "tenant.acme.dev": {ReasonEnvironment},
			"tenant.globex.dev": {ReasonEnvironment}, "tenant.initech.dev": {ReasonEnvironment},
		},
	}, {
		name: "environment fields no kubernetes program reads (production, allowed routes, platform principals)",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			env := st.Environment("dev")
			env.Spec.Production = true
			env.Spec.AllowedRoutes = append(env.Spec.AllowedRoutes, isolation.AllowedRoute{From: "acme", To: "globex", Reason: "integration"})
			env.Spec.PlatformPrincipals = append(env.Spec.PlatformPrincipals, isolation.PlatformPrincipal{Kind: "Group", Name: "sre"})
		},
		want: map[string][]string{},
	}, {
		name: "production on the azure target (tags carry it)",
		edit: func(st *isolation.DesiredState, _ *Build, _ map[string]PlatformOutputs) {
			st.Environment("prod").Spec.Production = false
		},
		want: map[string][]string{
			"platform.prod": {ReasonEnvironment}, "tenant.acme.prod": {ReasonEnvironment},
			"tenant.globex.prod": {ReasonEnvironment}, "tenant.initech.prod": {ReasonEnvironment},
		},
	}, {
		name: "a platform output the tenants consume",
		edit: func(st *isolation.DesiredState, _ *Build, po map[string]PlatformOutputs) {
			p := ExpectedPlatformOutputs(st.Environment("dev"))
			p.AdmissionPolicies = append(p.AdmissionPolicies, "tenantctl-extra-policy")
			po["dev"] = p
		},
		want: map[string][]string{
			"tenant.acme.dev": {ReasonPlatform}, "tenant.globex.dev": {ReasonPlatform}, "tenant.initech.dev": {ReasonPlatform},
		},
	}, {
		name: "the platform outputs in another order",
		edit: func(st *isolation.DesiredState, _ *Build, po map[string]PlatformOutputs) {
			p := ExpectedPlatformOutputs(st.Environment("dev"))
			for i, j := 0, len(p.AdmissionPolicies)-1; i < j; i, j = i+1, j-1 {
				p.AdmissionPolicies[i], p.AdmissionPolicies[j] = p.AdmissionPolicies[j], p.AdmissionPolicies[i]
			}
			po["dev"] = p
		},
		want: map[string][]string{},
	}, {
		name: "the program version",
		edit: func(_ *isolation.DesiredState, b *Build, _ map[string]PlatformOutputs) { b.Program = "v1.0.1+def" },
		want: allStacks(ReasonProgram),
	}, {
		name: "a provider version",
		edit: func(_ *isolation.DesiredState, b *Build, _ map[string]PlatformOutputs) {
			b.Providers = map[string]string{"pulumi": "v3.274.1", "kubernetes": "4.25.0", "tenantpg": "0.2.0"}
		},
		want: allStacks(ReasonProviders),
	}, {
		name: "the data server",
		edit: func(_ *isolation.DesiredState, b *Build, _ map[string]PlatformOutputs) {
			b.Settings = map[string]string{"postgres.host": "db.internal", "postgres.port": "5432"}
		},
		want: allStacks(ReasonSettings),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st := loadExamples(t)
			b := testBuild
			po := map[string]PlatformOutputs{}
			tc.edit(st, &b, po)
			if diff := cmp.Diff(tc.want, changed(before, exampleDigests(t, st, b, po))); diff != "" {
				t.Errorf("stacks whose digest changed (-want +got):\n%s", diff)
			}
		})
	}
}

func allStacks(reason string) map[string][]string {
	out := map[string][]string{}
	for _, env := range []string{"dev", "prod"} {
		out[PlatformStackName(env)] = []string{reason}
		for _, id := range []string{"acme", "globex", "initech"} {
			out[TenantStackName(id, env)] = []string{reason}
		}
	}
	return out
}

// TestDigestIgnoresDocumentLayout: key order, indentation, comments and quoting of the YAML never
// change a digest; the documents' content does.
func TestDigestIgnoresDocumentLayout(t *testing.T) {
	before := exampleDigests(t, loadExamples(t), testBuild, nil)
	dir := t.TempDir()
	copyTree(t, "../examples/tenants", dir)
	rewrite(t, filepath.Join(dir, "tenants", "globex.yaml"), `# reordered, re-indented and commented
kind: RuntimeTenantBinding
apiVersion: "runtime.connectsoft.io/v1alpha1"
spec:
    labels: {cost-center: "cc-2002"}
    secrets:
        -   secretName: globex-db-connection   # same secret
            name: db-connection
            keyVaultRef: kv-connectsoft-dev
    data: {schema: globex}
    quota: {pods: 10, memory: 2Gi, cpu: "1"}
    tier: pool
    environment: dev
    tenantId: globex
metadata:
    name: globex-dev
`)
	envPath := filepath.Join(dir, "environments", "dev.yaml")
	b, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	// The workload identity's map in the other order, and no comments at all.
	env := strings.Replace(string(b), `      acme: 0a1c0000-0000-4000-8000-00000000ac3e
      globex: 0a1c0000-0000-4000-8000-0000000091be
      initech: 0a1c0000-0000-4000-8000-000000001bec`, `      initech: "0a1c0000-0000-4000-8000-000000001bec"
      globex:   0a1c0000-0000-4000-8000-0000000091be
      acme: 0a1c0000-0000-4000-8000-00000000ac3e`, 1)
	if env == string(b) {
		t.Fatal("dev.yaml has no workload identity map to reorder")
	}
	var lines []string
	for _, l := range strings.Split(env, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	rewrite(t, envPath, strings.Join(lines, "\n"))
	st, err := isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{}, changed(before, exampleDigests(t, st, testBuild, nil))); diff != "" {
		t.Errorf("layout-only edits changed digests (-want +got):\n%s", diff)
	}

	// The same document with one value changed does move it.
	rewrite(t, filepath.Join(dir, "tenants", "globex.yaml"), strings.Replace(readFile(t, filepath.Join(dir, "tenants", "globex.yaml")), "pods: 10", "pods: 11", 1))
	st, err = isolation.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"tenant.globex.dev": {ReasonBinding}}, changed(before, exampleDigests(t, st, testBuild, nil))); diff != "" {
		t.Errorf("after a quota edit (-want +got):\n%s", diff)
	}
}

// TestDigestIsStable: the same inputs give the same digest (across runs of the same build: no map
// order, pointer or time leaks in), and its parts are what Changed compares.
func TestDigestIsStable(t *testing.T) {
	st := loadExamples(t)
	a, b := exampleDigests(t, st, testBuild, nil), exampleDigests(t, loadExamples(t), testBuild, nil)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("digests of the same inputs differ:\n%s", diff)
	}
	d := a["tenant.globex.dev"]
	if !strings.HasPrefix(d.Value, "sha256:") || len(d.Value) != len("sha256:")+64 {
		t.Errorf("digest %q is not sha256:<64 hex>", d.Value)
	}
	want := []string{PartBinding, PartPlan, PartPlatform, PartProgram, PartProviders, PartSettings}
	for _, p := range want {
		if d.Parts[p] == "" {
			t.Errorf("tenant digest has no part %s: %v", p, d.Parts)
		}
	}
	if _, ok := a["platform.dev"].Parts[PartBinding]; ok {
		t.Error("a platform digest has a binding part")
	}
}

func TestRecordedDigest(t *testing.T) {
	d := exampleDigests(t, loadExamples(t), testBuild, nil)["tenant.acme.dev"]
	parts := map[string]any{}
	for k, v := range d.Parts {
		parts[k] = v
	}
	for _, tc := range []struct {
		name    string
		outputs map[string]any
		want    Digest
		ok      bool
	}{
		{"as the checkpoint holds it", map[string]any{OutputInputsDigest: d.Value, OutputInputsParts: parts, "namespace": "t-acme"}, d, true},
		{"digest without parts", map[string]any{OutputInputsDigest: d.Value}, Digest{Value: d.Value, Parts: map[string]string{}}, true},
		{"no digest", map[string]any{"namespace": "t-acme"}, Digest{}, false},
		{"a secret in its place", map[string]any{OutputInputsDigest: "[secret]"}, Digest{}, false},
		{"nil outputs", nil, Digest{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RecordedDigest(tc.outputs)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("recorded digest (-want +got):\n%s", diff)
			}
		})
	}
	// A digest recorded without its parts still matches, and a different one says it changed.
	if why := d.Changed(Digest{Value: d.Value}); why != nil {
		t.Errorf("same value without parts: changed %v", why)
	}
	if diff := cmp.Diff([]string{ReasonBinding, ReasonPlatform, ReasonProgram, ReasonProviders, ReasonSettings},
		d.Changed(Digest{Value: "sha256:other"})); diff != "" {
		t.Errorf("a digest of another scheme (-want +got):\n%s", diff)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rewrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
