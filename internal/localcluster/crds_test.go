package localcluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	spcv1 "sigs.k8s.io/secrets-store-csi-driver/apis/v1"

	"github.com/connectsoft/tenantctl/internal/localcluster"
)

// TestEmbeddedCRDsAreTheModules: every embedded CRD has the SHA-256 its source notes, and is byte
// for byte the file of the driver's module that go.sum pins (the module is a dependency of these
// tests, so it is in the module cache).
func TestEmbeddedCRDsAreTheModules(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", strings.Split(localcluster.CRDModule, "@")[0]).Output()
	if err != nil {
		t.Fatalf("locate %s: %v", localcluster.CRDModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if !strings.HasSuffix(dir, localcluster.CRDModule) {
		t.Fatalf("go.mod requires %s, the CRDs come from %s: update both together", filepath.Base(dir), localcluster.CRDModule)
	}
	if len(localcluster.CRDSources) != 2 {
		t.Fatalf("%d CRDs embedded, want the driver's two", len(localcluster.CRDSources))
	}
	for _, src := range localcluster.CRDSources {
		got, err := localcluster.EmbeddedCRD(src.File)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(got)
		if hex.EncodeToString(sum[:]) != src.SHA256 {
			t.Errorf("%s: sha256 %x, noted %s", src.File, sum, src.SHA256)
		}
		want, err := os.ReadFile(filepath.Join(dir, src.Origin))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s/%s", src.File, localcluster.CRDModule, src.Origin)
		}
	}
}

// TestSecretProviderClassesAreServed: a started cluster serves SecretProviderClass as a real API
// type: a class in the driver's shape is stored and reads back typed, one that breaks the CRD's
// schema is refused by the API server, and a restart on the same state replaces the CRDs it
// already holds.
func TestSecretProviderClassesAreServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: binDir(t), StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		c.Stop()
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-acme"}}, metav1.CreateOptions{}); err != nil {
		c.Stop()
		t.Fatal(err)
	}
	spcs := spcClient(t, cfg)
	valid := &spcv1.SecretProviderClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: "secrets-store.csi.x-k8s.io/v1", Kind: "SecretProviderClass"},
		ObjectMeta: metav1.ObjectMeta{Name: "t-acme", Namespace: "t-acme"},
		Spec: spcv1.SecretProviderClassSpec{
			Provider:      "azure",
			Parameters:    map[string]string{"usePodIdentity": "false", "keyvaultName": "kv-acme-dev", "objects": "array: []\n"},
			SecretObjects: []*spcv1.SecretObject{{SecretName: "db", Type: "Opaque", Data: []*spcv1.SecretObjectData{{ObjectName: "db", Key: "value"}}}},
		},
	}
	if _, err := spcs.Namespace("t-acme").Create(ctx, toUnstructured(t, valid), metav1.CreateOptions{}); err != nil {
		c.Stop()
		t.Fatalf("create a valid class: %v", err)
	}
	got := readClass(ctx, t, spcs, "t-acme", "t-acme")
	if got.Spec.Parameters["keyvaultName"] != "kv-acme-dev" || len(got.Spec.SecretObjects) != 1 {
		t.Errorf("class read back as %+v", got.Spec)
	}
	// Parameters are strings in the driver's schema; the API server refuses a number.
	invalid := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
		"metadata": map[string]any{"name": "bad", "namespace": "t-acme"}, "spec": map[string]any{"provider": "azure", "parameters": map[string]any{"objects": int64(5)}}}}
	_, err = spcs.Namespace("t-acme").Create(ctx, invalid, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.parameters.objects") {
		t.Errorf("class with a numeric parameter: %v, want Invalid naming spec.parameters.objects", err)
	}
	c.Stop()

	// A restart finds the CRDs in etcd and replaces them; the stored class survives.
	c2, err := localcluster.Start(ctx, localcluster.Options{BinDir: binDir(t), StateDir: dir})
	if err != nil {
		t.Fatalf("restart on the same state: %v", err)
	}
	defer c2.Stop()
	cfg2, err := clientcmd.BuildConfigFromFlags("", c2.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := readClass(ctx, t, spcClient(t, cfg2), "t-acme", "t-acme"); got.Spec.Provider != "azure" {
		t.Errorf("class after restart: %+v", got.Spec)
	}
}

// secretProviderClassGVR is the class's resource.
var secretProviderClassGVR = schema.GroupVersionResource{Group: spcv1.GroupVersion.Group, Version: spcv1.GroupVersion.Version, Resource: "secretproviderclasses"}

func spcClient(t *testing.T, cfg *rest.Config) dynamic.NamespaceableResourceInterface {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dc.Resource(secretProviderClassGVR)
}

func toUnstructured(t *testing.T, v any) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// readClass reads a class and decodes it into the driver's own type.
func readClass(ctx context.Context, t *testing.T, c dynamic.NamespaceableResourceInterface, ns, name string) spcv1.SecretProviderClass {
	t.Helper()
	u, err := c.Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out spcv1.SecretProviderClass
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
