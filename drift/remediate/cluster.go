package remediate

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Cluster is the Kubernetes access remediation needs.
type Cluster interface {
	// Get returns the live object; a missing object is an error matching apierrors.IsNotFound.
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	// Apply is a forced server-side apply of obj as manager. A resourceVersion in obj makes it
	// conditional: the API server answers 409 Conflict when the object moved.
	Apply(ctx context.Context, gvk schema.GroupVersionKind, obj *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error)
	// Delete deletes the object if it still has uid and resourceVersion.
	Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name, uid, resourceVersion string) error
}

// KubeCluster implements Cluster with the dynamic client; a REST mapper turns kinds into
// resources.
type KubeCluster struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

// NewKubeCluster builds a Cluster from dyn and mapper.
func NewKubeCluster(dyn dynamic.Interface, mapper meta.RESTMapper) *KubeCluster {
	return &KubeCluster{dyn: dyn, mapper: mapper}
}

// NewKubeClusterForConfig builds a Cluster for cfg, mapping kinds through discovery (cached).
func NewKubeClusterForConfig(cfg *rest.Config) (*KubeCluster, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery: %w", err)
	}
	return NewKubeCluster(dyn, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))), nil
}

func (c *KubeCluster) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("resource of %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(namespace), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// Get implements Cluster.
func (c *KubeCluster) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	r, err := c.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, name, metav1.GetOptions{})
}

// Apply implements Cluster.
func (c *KubeCluster) Apply(ctx context.Context, gvk schema.GroupVersionKind, obj *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	r, err := c.resource(gvk, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	return r.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: manager, Force: true})
}

// Delete implements Cluster.
func (c *KubeCluster) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name, uid, resourceVersion string) error {
	r, err := c.resource(gvk, namespace)
	if err != nil {
		return err
	}
	u := types.UID(uid)
	return r.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &u, ResourceVersion: &resourceVersion}})
}
