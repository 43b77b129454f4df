package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Reader lists a cluster's objects into an inventory.Snapshot.
type Reader struct {
	dyn           dynamic.Interface
	meta          metadata.Interface
	types         []ResourceType
	pageSize      int64
	parallel      int
	namespaces    []string
	allNamespaces bool
	now           func() time.Time
}

// Option configures a Reader.
type Option func(*Reader)

// WithTypes replaces DefaultTypes. Namespaces are listed whether or not they are included.
func WithTypes(types ...ResourceType) Option { return func(r *Reader) { r.types = types } }

// WithPageSize sets the LIST page size (limit); default 500, as kubectl.
func WithPageSize(n int64) Option { return func(r *Reader) { r.pageSize = n } }

// WithParallel bounds how many types are listed at once; default 4.
func WithParallel(n int) Option { return func(r *Reader) { r.parallel = n } }

// WithNamespaces adds namespaces to the scope whatever their labels (the environment's shared and
// ingress namespaces, so they stay in scope even if someone strips their labels).
func WithNamespaces(ns ...string) Option {
	return func(r *Reader) { r.namespaces = append(r.namespaces, ns...) }
}

// WithAllNamespaces keeps every namespace's objects (and every cluster-scoped object) instead of
// the tenant scopes.
func WithAllNamespaces() Option { return func(r *Reader) { r.allNamespaces = true } }

// WithClock sets the clock that stamps CollectedAt (tests).
func WithClock(now func() time.Time) Option { return func(r *Reader) { r.now = now } }

// NewReader builds a Reader for the cluster cfg points at.
func NewReader(cfg *rest.Config, opts ...Option) (*Reader, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes metadata client: %w", err)
	}
	return NewReaderFromClients(dyn, meta, opts...), nil
}

// NewReaderFromClients builds a Reader on existing clients.
func NewReaderFromClients(dyn dynamic.Interface, meta metadata.Interface, opts ...Option) *Reader {
	r := &Reader{dyn: dyn, meta: meta, types: DefaultTypes(), pageSize: 500, parallel: 4, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	if r.pageSize < 1 {
		r.pageSize = 500
	}
	if r.parallel < 1 {
		r.parallel = 1
	}
	return r
}

// InScope reports whether a namespace is a tenant scope by itself: named like a tenant
// namespace ("t-<tenantId>"), or labelled by tenantctl (a tenant, the platform owner, or
// app.kubernetes.io/managed-by=tenantctl). A namespace named "t-..." is in scope even without
// labels, so an out-of-band "tenant" namespace is inventoried too.
func InScope(ns *unstructured.Unstructured) bool {
	if strings.HasPrefix(ns.GetName(), tenantplan.TenantNamespace("")) {
		return true
	}
	return labelledByTenantctl(ns.GetLabels())
}

func labelledByTenantctl(l map[string]string) bool {
	return l[tenantplan.LabelTenant] != "" || l[tenantplan.LabelOwner] != "" || l[tenantplan.LabelManagedBy] == tenantplan.ManagedBy
}

// Read lists every configured type across all namespaces and returns the objects in the tenant
// scopes: every Namespace, namespaced objects in scope namespaces, cluster-scoped objects
// labelled by tenantctl, and every object of the identity types (ResourceType.EveryScope). Any failed LIST fails the whole read: an unreachable or refusing API
// never yields an empty or partial snapshot.
func (r *Reader) Read(ctx context.Context) (*inventory.Snapshot, error) {
	namespaces, err := r.list(ctx, NamespaceType)
	if err != nil {
		return nil, err
	}
	scope := map[string]bool{}
	for _, ns := range r.namespaces {
		scope[ns] = true
	}
	for i := range namespaces {
		if InScope(&namespaces[i]) {
			scope[namespaces[i].GetName()] = true
		}
	}
	types := r.listedTypes()
	results := make([][]unstructured.Unstructured, len(types))
	var (
		mu      sync.Mutex
		skipped = map[int]bool{}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.parallel)
	for i, t := range types {
		g.Go(func() error {
			objs, err := r.list(gctx, t)
			if err != nil {
				if t.Optional && apierrors.IsNotFound(err) {
					mu.Lock()
					skipped[i] = true
					mu.Unlock()
					return nil
				}
				return err
			}
			results[i] = r.keep(t, objs, scope)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	snap := &inventory.Snapshot{Kubernetes: namespaces, Coverage: &inventory.Coverage{
		Types: []string{inventory.TypeString(NamespaceType.GVK())}, AllNamespaces: r.allNamespaces,
	}}
	for i, t := range types {
		if skipped[i] {
			continue
		}
		snap.Coverage.Types = append(snap.Coverage.Types, inventory.TypeString(t.GVK()))
		snap.Kubernetes = append(snap.Kubernetes, results[i]...)
	}
	if !r.allNamespaces {
		snap.Coverage.Namespaces = slices.Sorted(func(yield func(string) bool) {
			for ns := range scope {
				if !yield(ns) {
					return
				}
			}
		})
	}
	snap.CollectedAt = r.now().UTC()
	return snap, nil
}

// listedTypes are the configured types without Namespace (listed first, separately).
func (r *Reader) listedTypes() []ResourceType {
	var out []ResourceType
	for _, t := range r.types {
		if t.GVR == NamespaceType.GVR {
			continue
		}
		if t.isSecret() {
			t.MetadataOnly = true
		}
		out = append(out, t)
	}
	return out
}

func (r *Reader) keep(t ResourceType, objs []unstructured.Unstructured, scope map[string]bool) []unstructured.Unstructured {
	if r.allNamespaces {
		return objs
	}
	kept := objs[:0]
	for _, o := range objs {
		if t.EveryScope || t.Namespaced && scope[o.GetNamespace()] || !t.Namespaced && labelledByTenantctl(o.GetLabels()) {
			kept = append(kept, o)
		}
	}
	return kept
}

// maxRestarts bounds how often a list restarts after its continue token expired (410 Gone):
// each restart is a fresh, consistent list.
const maxRestarts = 3

// list reads all pages of one type across all namespaces.
func (r *Reader) list(ctx context.Context, t ResourceType) ([]unstructured.Unstructured, error) {
	for attempt := 0; ; attempt++ {
		objs, err := r.listPages(ctx, t)
		if err == nil {
			sortObjects(objs)
			return objs, nil
		}
		var expired *expiredError
		if errors.As(err, &expired) && attempt < maxRestarts {
			continue
		}
		return nil, fmt.Errorf("list %s: %w", t.GVR.String(), err)
	}
}

// expiredError marks a continue token the server no longer honours.
type expiredError struct{ err error }

func (e *expiredError) Error() string { return e.err.Error() }
func (e *expiredError) Unwrap() error { return e.err }

func (r *Reader) listPages(ctx context.Context, t ResourceType) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{Limit: r.pageSize}
	for {
		items, next, err := r.page(ctx, t, opts)
		if err != nil {
			if opts.Continue != "" && apierrors.IsResourceExpired(err) {
				return nil, &expiredError{err}
			}
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		opts.Continue = next
	}
}

func (r *Reader) page(ctx context.Context, t ResourceType, opts metav1.ListOptions) ([]unstructured.Unstructured, string, error) {
	if t.MetadataOnly {
		list, err := r.meta.Resource(t.GVR).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		items := make([]unstructured.Unstructured, 0, len(list.Items))
		for i := range list.Items {
			u, err := fromMetadata(t, &list.Items[i])
			if err != nil {
				return nil, "", err
			}
			items = append(items, *u)
		}
		return items, list.Continue, nil
	}
	list, err := r.dyn.Resource(t.GVR).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	for i := range list.Items {
		u := &list.Items[i]
		if u.GetKind() == "" {
			u.SetAPIVersion(t.GVR.GroupVersion().String())
			u.SetKind(t.Kind)
		}
		inventory.Sanitize(u)
	}
	return list.Items, list.GetContinue(), nil
}

// fromMetadata turns a PartialObjectMetadata into an object of t holding metadata only.
func fromMetadata(t ResourceType, m *metav1.PartialObjectMetadata) (*unstructured.Unstructured, error) {
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&m.ObjectMeta)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s metadata: %w", t.Kind, m.Namespace, m.Name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": meta}}
	u.SetAPIVersion(t.GVR.GroupVersion().String())
	u.SetKind(t.Kind)
	inventory.Sanitize(u)
	return u, nil
}

func sortObjects(objs []unstructured.Unstructured) {
	slices.SortFunc(objs, func(a, b unstructured.Unstructured) int {
		return cmp.Or(strings.Compare(a.GetNamespace(), b.GetNamespace()), strings.Compare(a.GetName(), b.GetName()))
	})
}
