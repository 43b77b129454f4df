package detect

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/drift/finding"
)

func TestParseImage(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		in      string
		want    ImageRef
		wantErr string
	}{
		{in: "nginx", want: ImageRef{Registry: "docker.io", Repository: "library/nginx", Tag: "latest"}},
		{in: "nginx:1.27", want: ImageRef{Registry: "docker.io", Repository: "library/nginx", Tag: "1.27"}},
		{in: "bitnami/redis:7.2", want: ImageRef{Registry: "docker.io", Repository: "bitnami/redis", Tag: "7.2"}},
		{in: "index.docker.io/library/nginx", want: ImageRef{Registry: "docker.io", Repository: "library/nginx", Tag: "latest"}},
		{in: "docker.io/nginx@sha256:" + hex, want: ImageRef{Registry: "docker.io", Repository: "library/nginx", Digest: "sha256:" + hex}},
		{in: "connectsoft.azurecr.io/team/web:2.1@sha256:" + hex,
			want: ImageRef{Registry: "connectsoft.azurecr.io", Repository: "team/web", Tag: "2.1", Digest: "sha256:" + hex}},
		{in: "registry.local:5000/web", want: ImageRef{Registry: "registry.local:5000", Repository: "web", Tag: "latest"}},
		{in: "localhost/web:dev", want: ImageRef{Registry: "localhost", Repository: "web", Tag: "dev"}},
		{in: "localhost:5000/a/b/c:v1", want: ImageRef{Registry: "localhost:5000", Repository: "a/b/c", Tag: "v1"}},
		{in: "Connectsoft.AzureCR.io/web:1", want: ImageRef{Registry: "connectsoft.azurecr.io", Repository: "web", Tag: "1"}},
		{in: "[::1]:5000/web:1", want: ImageRef{Registry: "[::1]:5000", Repository: "web", Tag: "1"}},
		{in: "my_registry/web:1", want: ImageRef{Registry: "docker.io", Repository: "my_registry/web", Tag: "1"}},
		{in: "", wantErr: "empty"},
		{in: "nginx:1.27 ", wantErr: "whitespace"},
		{in: "Nginx:1", wantErr: "invalid repository path"},
		{in: "nginx@sha256:abc", wantErr: "digest"},
		{in: "nginx@md5:" + hex, wantErr: "digest"},
		{in: "nginx:", wantErr: "invalid tag"},
		{in: "reg.io:port/web", wantErr: "invalid registry host"},
		{in: "-bad.io/web", wantErr: "invalid registry host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseImage(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseImage(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseImage(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseImage(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestImages(t *testing.T) {
	pinned := "connectsoft.azurecr.io/web@" + digest
	workload := func(kind, apiVersion, ns, name, uid, owner, specPath string, containers string) unstructured.Unstructured {
		spec := `{"containers":` + containers + `}`
		for _, p := range strings.Split(specPath, ".") {
			spec = `{"` + p + `":` + spec + `}`
		}
		ownerRefs := ""
		if owner != "" {
			ownerRefs = `,"ownerReferences":[` + owner + `]`
		}
		return object(t, `{"apiVersion":"`+apiVersion+`","kind":"`+kind+`","metadata":{"name":"`+name+`","namespace":"`+ns+`","uid":"`+uid+`"`+ownerRefs+`},`+spec[1:])
	}
	untrustedDeploy := workload("Deployment", "apps/v1", "t-acme", "api", "u-api", "", "spec.template.spec",
		`[{"name":"app","image":"docker.io/acme/api:1.4"},{"name":"proxy","image":"`+pinned+`"}]`)
	rs := workload("ReplicaSet", "apps/v1", "t-acme", "api-7c9", "u-rs", `{"apiVersion":"apps/v1","kind":"Deployment","name":"api","uid":"u-api","controller":true}`,
		"spec.template.spec", `[{"name":"app","image":"docker.io/acme/api:1.4"},{"name":"proxy","image":"`+pinned+`"}]`)
	pod := workload("Pod", "v1", "t-acme", "api-7c9-a", "u-pod", `{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"api-7c9","uid":"u-rs","controller":true}`,
		"spec", `[{"name":"app","image":"docker.io/acme/api:1.4"},{"name":"proxy","image":"registry.local:5000/proxy:2"}]`)
	cron := workload("CronJob", "batch/v1", "t-acme", "report", "u-cron", "", "spec.jobTemplate.spec.template.spec",
		`[{"name":"run","image":"registry.local:5000/report@`+digest+`"}]`)
	shared := workload("Pod", "v1", "shared-tenants", "t-globex-worker", "u-g", "", "spec", `[{"name":"w","image":"NotAnImage"}]`)
	shared.SetLabels(map[string]string{"tenantctl.io/tenant": "globex"})
	outside := workload("Deployment", "apps/v1", "kube-system", "coredns", "u-dns", "", "spec.template.spec", `[{"name":"coredns","image":"registry.k8s.io/coredns:1.11"}]`)

	snap := snapshot(untrustedDeploy, rs, pod, cron, shared, outside)
	tests := []struct {
		name       string
		production bool
		want       []brief
	}{
		{"development", false, []brief{
			{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/api", Field: "spec.template.spec.containers[name=app].image",
				Live: `"docker.io/acme/api:1.4"`, Severity: finding.SeverityMedium},
			{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: "v1/Pod t-acme/api-7c9-a", Field: "spec.containers[name=proxy].image",
				Live: `"registry.local:5000/proxy:2"`, Severity: finding.SeverityMedium},
			{Kind: finding.KindUntrustedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/api", Field: "spec.template.spec.containers[name=app].image",
				Live: `"docker.io/acme/api:1.4"`, Severity: finding.SeverityHigh},
			{Kind: finding.KindUntrustedImage, Tenant: "globex", Resource: "v1/Pod shared-tenants/t-globex-worker", Field: "spec.containers[name=w].image",
				Live: `"NotAnImage"`, Severity: finding.SeverityHigh},
		}},
		{"production raises unpinned images to high", true, []brief{
			{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/api", Field: "spec.template.spec.containers[name=app].image",
				Live: `"docker.io/acme/api:1.4"`, Severity: finding.SeverityHigh},
			{Kind: finding.KindUnpinnedImage, Tenant: "acme", Resource: "v1/Pod t-acme/api-7c9-a", Field: "spec.containers[name=proxy].image",
				Live: `"registry.local:5000/proxy:2"`, Severity: finding.SeverityHigh},
			{Kind: finding.KindUntrustedImage, Tenant: "acme", Resource: "apps/v1/Deployment t-acme/api", Field: "spec.template.spec.containers[name=app].image",
				Live: `"docker.io/acme/api:1.4"`, Severity: finding.SeverityHigh},
			{Kind: finding.KindUntrustedImage, Tenant: "globex", Resource: "v1/Pod shared-tenants/t-globex-worker", Field: "spec.containers[name=w].image",
				Live: `"NotAnImage"`, Severity: finding.SeverityHigh},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			env.Spec.Production = tt.production
			fs, err := New(env, nil, WithChecks(CheckImages)).Check(context.Background(), snap)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, briefs(t, fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageFindingOfManagedWorkloadNamesStack(t *testing.T) {
	d := desiredOf(t, acmeStack, stateResource(t, acmeStack, "kubernetes:apps/v1:Deployment", "t-acme/web", "t-acme/web", webInputs))
	live := liveWeb(t, "2", "ghcr.io/acme/web:main", "")
	fs, err := New(testEnv(), d, WithChecks(CheckImages)).Check(context.Background(), snapshot(live))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("want an untrusted and an unpinned finding, got %+v", fs)
	}
	for _, f := range fs {
		if f.Stack != acmeStack || !strings.HasSuffix(f.Resource.URN, "::t-acme/web") {
			t.Errorf("%s: stack %q urn %q, want the managing stack", f.Title(), f.Stack, f.Resource.URN)
		}
	}
	if !strings.Contains(fs[1].Message, "ghcr.io") || fs[1].Evidence[1] != "trustedRegistries: connectsoft.azurecr.io, registry.local:5000" {
		t.Errorf("untrusted finding does not name registry and trusted list: %+v", fs[1])
	}
}
