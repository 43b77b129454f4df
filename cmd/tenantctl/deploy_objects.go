package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/connectsoft/tenantctl/drift/ignore"
	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/inventory/kube"
	"github.com/connectsoft/tenantctl/isolation"
)

var (
	typeNamespace      = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}
	typeServiceAccount = metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}
	typeConfigMap      = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	typePVC            = metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
	typeClusterRole    = metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}
	typeClusterBinding = metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}
	typeRole           = metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}
	typeRoleBinding    = metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}
	typeJob            = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
	typeCronJob        = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}
)

// baseObjects are what every deployment needs before its Jobs: the namespace, the
// ServiceAccount, its cluster-wide role (rules) and the role that lets a step read the Jobs it
// waits for (waitJobs: those names only; none: any Job of the namespace, for CronJob runs whose
// names the controller picks), the in-cluster kubeconfig, the desired state and the reports claim.
func (o *deployOptions) baseObjects(dir, component string, rules []rbacv1.PolicyRule, waitJobs []string) ([]runtime.Object, error) {
	labels := o.labels(component)
	ns := &corev1.Namespace{TypeMeta: typeNamespace, ObjectMeta: metav1.ObjectMeta{Name: o.namespace, Labels: map[string]string{
		"app.kubernetes.io/name": "tenantctl",
		// the pods run restricted: no privilege, no root, no host access
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	sa := &corev1.ServiceAccount{TypeMeta: typeServiceAccount, ObjectMeta: o.meta(o.name, component)}
	role := &rbacv1.ClusterRole{TypeMeta: typeClusterRole, ObjectMeta: metav1.ObjectMeta{Name: o.name, Labels: labels}, Rules: rules}
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: o.namespace}}
	binding := &rbacv1.ClusterRoleBinding{TypeMeta: typeClusterBinding, ObjectMeta: metav1.ObjectMeta{Name: o.name, Labels: labels},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, Subjects: subjects}
	wait := &rbacv1.Role{TypeMeta: typeRole, ObjectMeta: o.meta(o.name+"-wait", component), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}, ResourceNames: waitJobs}}}
	waitBinding := &rbacv1.RoleBinding{TypeMeta: typeRoleBinding, ObjectMeta: o.meta(o.name+"-wait", component),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: wait.Name}, Subjects: subjects}
	objs := []runtime.Object{ns, sa, role, binding, wait, waitBinding, o.kubeconfigMap(component)}
	if o.source == sourceConfigMap {
		cm, err := o.desiredStateMap(dir, component)
		if err != nil {
			return nil, err
		}
		objs = append(objs, cm)
	}
	return append(objs, o.reportsClaimObject(component)), nil
}

// kubeconfigMap is a kubeconfig for the pod's own ServiceAccount: the programs' Kubernetes
// provider and the drift readers take a kubeconfig path, and client-go reads the projected token
// file on every request, so the token's rotation is followed.
func (o *deployOptions) kubeconfigMap(component string) *corev1.ConfigMap {
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: in-cluster
  cluster:
    server: https://kubernetes.default.svc
    certificate-authority: %[1]s/ca.crt
users:
- name: service-account
  user:
    tokenFile: %[1]s/token
contexts:
- name: in-cluster
  context:
    cluster: in-cluster
    user: service-account
    namespace: %[2]s
current-context: in-cluster
`, saDir, o.namespace)
	return &corev1.ConfigMap{TypeMeta: typeConfigMap, ObjectMeta: o.meta(o.name+"-kubeconfig", component), Data: map[string]string{"config": config}}
}

func (o *deployOptions) reportsClaimObject(component string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: typePVC, ObjectMeta: o.meta(o.reportsClaim, component),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.PersistentVolumeAccessMode(o.reportsAccessMode)},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(o.reportsSize)}},
		}}
	if o.reportsStorageClass != "" {
		pvc.Spec.StorageClassName = ptr(o.reportsStorageClass)
	}
	return pvc
}

// maxConfigMapBytes leaves room under the API server's 1 MiB object limit for the keys, item
// paths and metadata.
const maxConfigMapBytes = 900 * 1024

var unsafeKeyChars = regexp.MustCompile(`[^-._a-zA-Z0-9]`)

// desiredStateMap is the ConfigMap of the -d folder: the files the loader reads (and the drift
// ignore file), each under a flat key, with the volume's items putting them back at their paths.
func (o *deployOptions) desiredStateMap(dir, component string) (*corev1.ConfigMap, error) {
	files := map[string]string{}
	var size int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || (!isolation.IsDesiredStateFile(rel) && rel != ignore.DefaultFile) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		size += len(b) + len(rel)
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--source configmap: read desired state %s: %w", dir, err))
	}
	if len(files) == 0 {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--source configmap: %s holds no desired-state file (*.yaml)", dir))
	}
	if size > maxConfigMapBytes {
		return nil, exitcode.With(exitcode.Invalid, fmt.Errorf("--source configmap: desired state %s is %d bytes, more than a ConfigMap holds (%d); use --source git", dir, size, maxConfigMapBytes))
	}
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	cm := &corev1.ConfigMap{TypeMeta: typeConfigMap, ObjectMeta: o.meta(o.name+"-desired-state", component), Data: map[string]string{}}
	o.desiredItems = nil
	for i, rel := range rels {
		// Keys cannot hold "/": number them in path order and keep the base name for readers.
		key := fmt.Sprintf("%04d.%s", i, unsafeKeyChars.ReplaceAllString(filepath.Base(rel), "_"))
		cm.Data[key] = files[rel]
		o.desiredItems = append(o.desiredItems, corev1.KeyToPath{Key: key, Path: rel})
	}
	return cm, nil
}

// readRules grants get/list/watch on exactly the resource types the inventory reader lists.
func readRules() []rbacv1.PolicyRule {
	byGroup := map[string][]string{}
	var groups []string
	for _, t := range kube.DefaultTypes() {
		g := t.GVR.Group
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], t.GVR.Resource)
	}
	rules := make([]rbacv1.PolicyRule, 0, len(groups))
	for _, g := range groups {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: byGroup[g], Verbs: []string{"get", "list", "watch"}})
	}
	return rules
}

// provisionRules grant what the kubernetes programs' provider does with exactly the types the
// programs create (deploy_rbac_test.go runs the programs and checks every type is covered):
// read, server-side apply (patch), create, update and delete. A tenant's Role grants its
// workloads rights the provisioner itself does not use, so creating and binding it needs
// escalate and bind on namespaced roles; cluster roles are never created.
func provisionRules() []rbacv1.PolicyRule {
	write := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces", "configmaps", "secrets", "serviceaccounts", "resourcequotas", "limitranges"}, Verbs: write},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: write},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: append(write, "bind", "escalate")},
		{APIGroups: []string{"scheduling.k8s.io"}, Resources: []string{"priorityclasses"}, Verbs: write},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, Verbs: write},
		{APIGroups: []string{"secrets-store.csi.x-k8s.io"}, Resources: []string{"secretproviderclasses"}, Verbs: write},
	}
}
