package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/connectsoft/tenantctl/inventory"
)

// fakeAPI serves paginated LISTs of fixed objects the way kube-apiserver does: limit/continue,
// 410 Expired for a stale continue token, metadata-only lists on request.
type fakeAPI struct {
	objects map[string][]map[string]any // URL path -> items
	// expireOnce makes the first continue request of a path fail with 410 Gone.
	expireOnce map[string]bool
	// forbidden paths answer 403.
	forbidden map[string]bool

	mu       sync.Mutex
	requests []string // "path?continue=..|meta"
	limits   map[string]string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	metaOnly := strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList")
	rec := r.URL.Path + "?continue=" + q.Get("continue")
	if metaOnly {
		rec += "|meta"
	}
	f.requests = append(f.requests, rec)
	if f.limits == nil {
		f.limits = map[string]string{}
	}
	f.limits[r.URL.Path] = q.Get("limit")
	if f.forbidden[r.URL.Path] {
		status(w, http.StatusForbidden, "Forbidden", "forbidden")
		return
	}
	items, ok := f.objects[r.URL.Path]
	if !ok {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	if q.Get("continue") != "" && f.expireOnce[r.URL.Path] {
		delete(f.expireOnce, r.URL.Path)
		status(w, http.StatusGone, "Expired", "continue token expired")
		return
	}
	start, _ := strconv.Atoi(q.Get("continue"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	end := len(items)
	if limit > 0 && start+limit < end {
		end = start + limit
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	page := items[start:end]
	list := map[string]any{"metadata": map[string]any{"continue": next, "resourceVersion": "1"}}
	if metaOnly {
		list["apiVersion"], list["kind"] = "meta.k8s.io/v1", "PartialObjectMetadataList"
		var metas []any
		for _, it := range page {
			metas = append(metas, map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": it["metadata"]})
		}
		list["items"] = metas
	} else {
		list["apiVersion"], list["kind"] = "v1", "List"
		list["items"] = page
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure",
		"reason": reason, "message": msg, "code": code})
}

func item(apiVersion, kind, ns, name string, labels map[string]any, extra map[string]any) map[string]any {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	if labels != nil {
		meta["labels"] = labels
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func fixtureAPI() *fakeAPI {
	var pols []map[string]any
	for i := range 5 {
		pols = append(pols, item("networking.k8s.io/v1", "NetworkPolicy", "t-acme", fmt.Sprintf("p%d", i), nil, nil))
	}
	pols = append(pols, item("networking.k8s.io/v1", "NetworkPolicy", "kube-system", "other", nil, nil))
	return &fakeAPI{
		objects: map[string][]map[string]any{
			"/api/v1/namespaces": {
				item("v1", "Namespace", "", "kube-system", nil, nil),
				item("v1", "Namespace", "", "shared-tenants", map[string]any{"tenantctl.io/owner": "platform"}, nil),
				item("v1", "Namespace", "", "t-acme", map[string]any{"tenantctl.io/tenant": "acme"}, nil),
				item("v1", "Namespace", "", "t-rogue", nil, nil),
				item("v1", "Namespace", "", "team-x", nil, nil),
				item("v1", "Namespace", "", "unlabelled-shared", nil, nil),
			},
			"/apis/networking.k8s.io/v1/networkpolicies": pols,
			"/api/v1/configmaps": {
				item("v1", "ConfigMap", "kube-system", "coredns", nil, map[string]any{"data": map[string]any{"a": "b"}}),
				item("v1", "ConfigMap", "shared-tenants", "t-globex-secret-refs", map[string]any{"tenantctl.io/tenant": "globex"}, nil),
				item("v1", "ConfigMap", "t-acme", "cache", nil, map[string]any{"data": map[string]any{"size": "10"}}),
				item("v1", "ConfigMap", "t-rogue", "x", nil, nil),
				item("v1", "ConfigMap", "team-x", "y", nil, nil),
				item("v1", "ConfigMap", "unlabelled-shared", "z", nil, nil),
			},
			"/api/v1/secrets": {
				item("v1", "Secret", "t-acme", "db", nil, map[string]any{"type": "Opaque", "data": map[string]any{"password": "c2VjcmV0"}}),
			},
			"/apis/scheduling.k8s.io/v1/priorityclasses": {
				item("scheduling.k8s.io/v1", "PriorityClass", "", "system-cluster-critical", nil, map[string]any{"value": int64(2000000000)}),
				item("scheduling.k8s.io/v1", "PriorityClass", "", "tenantctl-shared-globex", map[string]any{"tenantctl.io/tenant": "globex"}, map[string]any{"value": int64(0)}),
			},
		},
		expireOnce: map[string]bool{"/apis/networking.k8s.io/v1/networkpolicies": true},
	}
}

func testTypes(t *testing.T, names ...string) []ResourceType {
	t.Helper()
	types, err := ParseTypes(names)
	if err != nil {
		t.Fatal(err)
	}
	return types
}

func names(s *inventory.Snapshot) []string {
	var out []string
	for i := range s.Kubernetes {
		out = append(out, inventory.KeyOf(&s.Kubernetes[i]).String())
	}
	return out
}

func TestReaderListsScopesWithPagination(t *testing.T) {
	api := fixtureAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := NewReader(&rest.Config{Host: srv.URL}, WithPageSize(2), WithParallel(2),
		WithNamespaces("unlabelled-shared"), WithClock(func() time.Time { return at }),
		WithTypes(testTypes(t, "networkpolicies", "configmaps", "secrets", "priorityclasses")...))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := []string{
		"Namespace kube-system", "Namespace shared-tenants", "Namespace t-acme", "Namespace t-rogue", "Namespace team-x", "Namespace unlabelled-shared",
		"NetworkPolicy.networking.k8s.io t-acme/p0", "NetworkPolicy.networking.k8s.io t-acme/p1", "NetworkPolicy.networking.k8s.io t-acme/p2",
		"NetworkPolicy.networking.k8s.io t-acme/p3", "NetworkPolicy.networking.k8s.io t-acme/p4",
		"ConfigMap shared-tenants/t-globex-secret-refs", "ConfigMap t-acme/cache", "ConfigMap t-rogue/x", "ConfigMap unlabelled-shared/z",
		"Secret t-acme/db",
		"PriorityClass.scheduling.k8s.io tenantctl-shared-globex",
	}
	if diff := cmp.Diff(want, names(snap)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	wantCov := &inventory.Coverage{
		Types:      []string{"v1/Namespace", "networking.k8s.io/v1/NetworkPolicy", "v1/ConfigMap", "v1/Secret", "scheduling.k8s.io/v1/PriorityClass"},
		Namespaces: []string{"shared-tenants", "t-acme", "t-rogue", "unlabelled-shared"},
	}
	if diff := cmp.Diff(wantCov, snap.Coverage); diff != "" {
		t.Errorf("coverage (-want +got):\n%s", diff)
	}
	if !snap.CollectedAt.Equal(at) {
		t.Errorf("CollectedAt = %v, want %v", snap.CollectedAt, at)
	}
	for _, u := range snap.Kubernetes {
		if u.GetKind() == "Secret" {
			if _, ok := u.Object["data"]; ok {
				t.Errorf("secret %s holds data", u.GetName())
			}
		}
	}
	// 6 policies at 2 per page: 3 pages; the first continue expired once, so the list restarted.
	var polReqs, secretReqs []string
	for _, req := range api.requests {
		switch {
		case strings.HasPrefix(req, "/apis/networking.k8s.io/v1/networkpolicies"):
			polReqs = append(polReqs, req)
		case strings.HasPrefix(req, "/api/v1/secrets"):
			secretReqs = append(secretReqs, req)
		}
	}
	wantPol := []string{"?continue=", "?continue=2", "?continue=", "?continue=2", "?continue=4"}
	for i := range wantPol {
		wantPol[i] = "/apis/networking.k8s.io/v1/networkpolicies" + wantPol[i]
	}
	if diff := cmp.Diff(wantPol, polReqs); diff != "" {
		t.Errorf("network policy requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/api/v1/secrets?continue=|meta"}, secretReqs); diff != "" {
		t.Errorf("secrets must be listed metadata-only (-want +got):\n%s", diff)
	}
	if api.limits["/api/v1/configmaps"] != "2" {
		t.Errorf("configmaps listed with limit %q, want 2", api.limits["/api/v1/configmaps"])
	}
}

func TestReaderForcesSecretsMetadataOnly(t *testing.T) {
	api := fixtureAPI()
	srv := httptest.NewServer(api)
	defer srv.Close()
	full := core("secrets", "Secret", true) // MetadataOnly deliberately false
	r, err := NewReader(&rest.Config{Host: srv.URL}, WithTypes(full))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range api.requests {
		if strings.HasPrefix(req, "/api/v1/secrets") && !strings.HasSuffix(req, "|meta") {
			t.Errorf("secrets requested with data: %s", req)
		}
	}
	if got := names(snap); !cmp.Equal(got[len(got)-1], "Secret t-acme/db") {
		t.Errorf("secret missing from %v", got)
	}
}

func TestReaderAllNamespaces(t *testing.T) {
	srv := httptest.NewServer(fixtureAPI())
	defer srv.Close()
	r, err := NewReader(&rest.Config{Host: srv.URL}, WithAllNamespaces(), WithTypes(testTypes(t, "configmaps")...))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(snap.Kubernetes); got != 12 {
		t.Errorf("got %d objects, want 6 namespaces + 6 config maps: %v", got, names(snap))
	}
	if !snap.Coverage.AllNamespaces || snap.Coverage.Namespaces != nil {
		t.Errorf("coverage = %+v, want all namespaces", snap.Coverage)
	}
}

func TestReaderErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	optionalMissing := grouped("example.com", "v1", "widgets", "Widget", true)
	optionalMissing.Optional = true
	tests := []struct {
		name    string
		host    string
		api     func(*fakeAPI)
		types   []ResourceType
		wantErr string
	}{
		{"unreachable API", closedURL, nil, DefaultTypes(), "list /v1, Resource=namespaces"},
		{"forbidden type", "", func(f *fakeAPI) { f.forbidden = map[string]bool{"/api/v1/configmaps": true} },
			testTypes(t, "configmaps"), "list /v1, Resource=configmaps: forbidden"},
		{"required type not served", "", nil, []ResourceType{grouped("example.com", "v1", "widgets", "Widget", true)},
			"list example.com/v1, Resource=widgets"},
		{"optional type not served", "", nil, []ResourceType{optionalMissing}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := fixtureAPI()
			if tt.api != nil {
				tt.api(api)
			}
			host := tt.host
			if host == "" {
				srv := httptest.NewServer(api)
				defer srv.Close()
				host = srv.URL
			}
			r, err := NewReader(&rest.Config{Host: host}, WithTypes(tt.types...))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := r.Read(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if got := snap.Coverage.Types; !cmp.Equal(got, []string{"v1/Namespace"}) {
					t.Errorf("coverage types = %v, want the missing optional type left out", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read error = %v, want %q", err, tt.wantErr)
			}
			if snap != nil {
				t.Errorf("a failed read returned a snapshot")
			}
		})
	}
}

func TestParseTypes(t *testing.T) {
	types, err := ParseTypes([]string{"configmaps", "networkpolicies.networking.k8s.io", "configmaps", "namespaces"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ty := range types {
		got = append(got, ty.GVR.Resource)
	}
	if diff := cmp.Diff([]string{"namespaces", "configmaps", "networkpolicies"}, got); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if _, err := ParseTypes([]string{"widgets"}); err == nil || !strings.Contains(err.Error(), "unknown resource type widgets") {
		t.Errorf("ParseTypes(widgets) error = %v", err)
	}
}

// TestReaderKeepsIdentityEverywhere: RBAC objects and ServiceAccounts are kept from every
// namespace and cluster-wide, labelled or not, since any binding may grant a tenant's principal
// access elsewhere; other types stay limited to the tenant scopes.
func TestReaderKeepsIdentityEverywhere(t *testing.T) {
	api := fixtureAPI()
	rb := func(ns, name string) map[string]any {
		return item("rbac.authorization.k8s.io/v1", "RoleBinding", ns, name, nil, map[string]any{
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "namespace": "t-acme", "name": "t-acme"}},
		})
	}
	api.objects["/apis/rbac.authorization.k8s.io/v1/rolebindings"] = []map[string]any{rb("kube-system", "acme-reads-system"), rb("t-acme", "own"), rb("team-x", "acme-reads-team")}
	api.objects["/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"] = []map[string]any{
		item("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "acme-debug", nil, map[string]any{
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "namespace": "t-acme", "name": "t-acme"}},
		}),
	}
	api.objects["/apis/rbac.authorization.k8s.io/v1/clusterroles"] = []map[string]any{
		item("rbac.authorization.k8s.io/v1", "ClusterRole", "", "edit", nil, map[string]any{
			"aggregationRule": map[string]any{"clusterRoleSelectors": []any{map[string]any{"matchLabels": map[string]any{"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}}},
		}),
	}
	api.objects["/api/v1/serviceaccounts"] = []map[string]any{item("v1", "ServiceAccount", "kube-system", "generic-garbage-collector", nil, nil)}
	api.objects["/api/v1/configmaps"] = api.objects["/api/v1/configmaps"][:1] // kube-system/coredns: out of scope
	srv := httptest.NewServer(api)
	defer srv.Close()
	r, err := NewReader(&rest.Config{Host: srv.URL}, WithPageSize(2),
		WithTypes(testTypes(t, "configmaps", "serviceaccounts", "rolebindings", "clusterroles", "clusterrolebindings")...))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var got []string
	for _, n := range names(snap) {
		if !strings.HasPrefix(n, "Namespace ") {
			got = append(got, n)
		}
	}
	want := []string{
		"ServiceAccount kube-system/generic-garbage-collector",
		"RoleBinding.rbac.authorization.k8s.io kube-system/acme-reads-system", "RoleBinding.rbac.authorization.k8s.io t-acme/own",
		"RoleBinding.rbac.authorization.k8s.io team-x/acme-reads-team",
		"ClusterRole.rbac.authorization.k8s.io edit",
		"ClusterRoleBinding.rbac.authorization.k8s.io acme-debug",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}
