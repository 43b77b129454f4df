package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	msifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi/fake"
	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	azurestacks "github.com/connectsoft/tenantctl/stacks/azure"
)

// fakeSubscription serves the managed identities of the examples' prod subscription with the
// SDK's own fake server (armmsi), globex's identity carrying a federated credential that trusts
// acme's ServiceAccount, and answers every other list the readers make with an empty page,
// recording what was asked.
type fakeSubscription struct {
	msi   policy.Transporter
	mu    sync.Mutex
	paths []string
}

func (f *fakeSubscription) Do(req *http.Request) (*http.Response, error) {
	p := strings.ToLower(req.URL.Path)
	f.mu.Lock()
	f.paths = append(f.paths, p)
	f.mu.Unlock()
	if strings.Contains(p, "/microsoft.managedidentity/") {
		return f.msi.Do(req)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"value": []}`)), Request: req}, nil
}

const prodIssuer = "https://westeurope.oic.prod-aks.azurenet.com/tenant/aks-shared-prod/"

func prodIdentity(tenant string) string {
	return "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-" + tenant + "-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-" + tenant + "-prod"
}

func newFakeSubscription(issuer string) *fakeSubscription {
	ids := []*armmsi.Identity{}
	for i, tenant := range []string{"acme", "globex"} {
		ids = append(ids, &armmsi.Identity{ID: to.Ptr(prodIdentity(tenant)), Name: to.Ptr("id-" + tenant + "-prod"), Type: to.Ptr(azureidentity.TypeIdentity),
			Location: to.Ptr("westeurope"), Properties: &armmsi.UserAssignedIdentityProperties{PrincipalID: to.Ptr(fmt.Sprintf("11111111-0000-0000-0000-00000000000%d", i))}})
	}
	creds := map[string][]*armmsi.FederatedIdentityCredential{"id-globex-prod": {{
		ID: to.Ptr(prodIdentity("globex") + "/federatedIdentityCredentials/partner"), Name: to.Ptr("partner"), Type: to.Ptr(azureidentity.TypeFederatedCredential),
		Properties: &armmsi.FederatedIdentityCredentialProperties{Issuer: to.Ptr(issuer), Subject: to.Ptr("system:serviceaccount:t-acme:t-acme"),
			Audiences: to.SliceOfPtrs("api://AzureADTokenExchange")}}}}
	srv := &msifake.ServerFactory{
		UserAssignedIdentitiesServer: msifake.UserAssignedIdentitiesServer{NewListBySubscriptionPager: func(*armmsi.UserAssignedIdentitiesClientListBySubscriptionOptions) (resp azfake.PagerResponder[armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse]) {
			resp.AddPage(http.StatusOK, armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse{UserAssignedIdentitiesListResult: armmsi.UserAssignedIdentitiesListResult{Value: ids}}, nil)
			return
		}},
		FederatedIdentityCredentialsServer: msifake.FederatedIdentityCredentialsServer{NewListPager: func(_, name string, _ *armmsi.FederatedIdentityCredentialsClientListOptions) (resp azfake.PagerResponder[armmsi.FederatedIdentityCredentialsClientListResponse]) {
			resp.AddPage(http.StatusOK, armmsi.FederatedIdentityCredentialsClientListResponse{FederatedIdentityCredentialsListResult: armmsi.FederatedIdentityCredentialsListResult{Value: creds[name]}}, nil)
			return
		}},
	}
	return &fakeSubscription{msi: msifake.NewServerFactoryTransport(srv)}
}

// prodState is the examples' desired state with every tenant bound in prod (azure) instead.
func prodState(t *testing.T) (*isolation.DesiredState, *isolation.Environment) {
	t.Helper()
	st, err := isolation.Load(context.Background(), examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var bs []*isolation.RuntimeTenantBinding
	for _, b := range st.BindingsIn("dev") {
		c := *b
		c.Spec.Environment = "prod"
		bs = append(bs, &c)
	}
	st.Bindings = bs
	return st, st.Environment("prod")
}

// platformState writes a file state whose platform.prod stack recorded outputs.
func platformState(t *testing.T, outputs map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	latest := map[string]any{"manifest": map[string]any{"time": "2026-03-02T10:00:00Z", "magic": "m", "version": "v3.274.1"},
		"resources": []any{map[string]any{"urn": "urn:pulumi:platform.prod::tenantctl::pulumi:pulumi:Stack::tenantctl-platform.prod",
			"type": "pulumi:pulumi:Stack", "custom": false, "outputs": outputs}}}
	cp, err := json.Marshal(map[string]any{"version": 3, "checkpoint": map[string]any{"stack": "platform.prod", "latest": latest}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ".pulumi", "stacks", "tenantctl", "platform.prod.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, cp, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".pulumi", "meta.yaml"), []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir
}

// TestAzureIdentityInTheLiveRead: an azure environment's live read lists the subscription's
// network and identity resources (SDK fakes), the platform stack's recorded oidcIssuerUrl is the
// trusted issuer, and the federated credential on globex's identity trusting acme's account is
// an unexpected federated-credential edge acme → globex; with another recorded issuer it is an
// opening to anyone instead.
func TestAzureIdentityInTheLiveRead(t *testing.T) {
	st, env := prodState(t)
	for _, tc := range []struct {
		name, recorded string
		want           []string
	}{
		{name: "recorded issuer", recorded: prodIssuer, want: []string{"edge acme→globex federated-credential unexpected"}},
		{name: "another issuer", recorded: "https://issuer.example/elsewhere/", want: []string{"exposure globex↔* federated-credential"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := newFakeSubscription(prodIssuer)
			old := azureCredential
			azureCredential = func() (azcore.TokenCredential, []azurenet.ReadOption, error) {
				return &azfake.TokenCredential{}, []azurenet.ReadOption{azurenet.WithClientOptions(arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: sub}})}, nil
			}
			t.Cleanup(func() { azureCredential = old })
			res, err := readAzure(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			for _, api := range []string{"/microsoft.network/virtualnetworks", "/microsoft.containerservice/managedclusters",
				"/microsoft.authorization/roleassignments", "/microsoft.keyvault/vaults", "/microsoft.managedidentity/userassignedidentities"} {
				if !slices.ContainsFunc(sub.paths, func(p string) bool { return strings.Contains(p, api) }) {
					t.Errorf("the live read did not list %s (asked %v)", api, sub.paths)
				}
			}
			issuers, err := trustedIssuers(context.Background(), env, isolationOptions{backend: platformState(t, map[string]any{azurestacks.OutputOIDCIssuerURL: tc.recorded})})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.recorded}, issuers); diff != "" {
				t.Fatalf("trusted issuers (-want +got):\n%s", diff)
			}
			snap, err := reach.PlannedSnapshot(env, st.BindingsIn("prod"))
			if err != nil {
				t.Fatal(err)
			}
			snap.Azure = append(snap.Azure, res...)
			g, err := reach.Analyze(context.Background(), env, st.BindingsIn("prod"), snap,
				reach.WithIdentity(identity.WithAzure(azureidentity.WithTrustedIssuers(issuers...))))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range g.Edges {
				if e.Kind.Identity() {
					got = append(got, fmt.Sprintf("edge %s→%s %s %s", e.From, e.To, e.Kind, e.Verdict))
				}
			}
			for _, x := range g.Exposures {
				if x.Kind.Identity() {
					got = append(got, fmt.Sprintf("exposure %s↔%s %s", x.Tenant, x.Peer, x.Kind))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("identity routes (-want +got):\n%s", diff)
			}
		})
	}
	// --oidc-issuer wins over the recorded output; a kubernetes environment needs none.
	if got, _ := trustedIssuers(context.Background(), env, isolationOptions{issuers: []string{"https://given/"}, backend: "file:///nonexistent"}); !slices.Equal(got, []string{"https://given/"}) {
		t.Errorf("--oidc-issuer: %v", got)
	}
	if got, err := trustedIssuers(context.Background(), st.Environment("dev"), isolationOptions{backend: "file:///nonexistent"}); err != nil || got != nil {
		t.Errorf("kubernetes environment: %v, %v", got, err)
	}
}
