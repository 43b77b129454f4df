package identitytest

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Live creates identity objects on a real cluster for integration tests, failing the test on
// error; cluster-scoped objects and namespaces are removed at cleanup (the cluster outlives the
// test), and Allows asks the API server's authorizer.
type Live struct {
	T  *testing.T
	CS kubernetes.Interface
}

func (c Live) cleanup(del func(context.Context) error) {
	c.T.Cleanup(func() {
		if err := del(context.Background()); err != nil && !apierrors.IsNotFound(err) {
			c.T.Errorf("cleanup: %v", err)
		}
	})
}

// Namespace creates a namespace labelled as tenant's.
func (c Live) Namespace(name, tenant string) {
	c.T.Helper()
	if _, err := c.CS.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{tenantplan.LabelTenant: tenant}}}, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
	c.cleanup(func(ctx context.Context) error {
		return c.CS.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// ServiceAccount creates a ServiceAccount.
func (c Live) ServiceAccount(ns, name string) {
	c.T.Helper()
	if _, err := c.CS.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
}

// Role creates a Role.
func (c Live) Role(ns, name string, rules ...rbacv1.PolicyRule) {
	c.T.Helper()
	if _, err := c.CS.RbacV1().Roles(ns).Create(context.Background(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
}

// ClusterRole creates a ClusterRole.
func (c Live) ClusterRole(r *rbacv1.ClusterRole) {
	c.T.Helper()
	if _, err := c.CS.RbacV1().ClusterRoles().Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
	c.cleanup(func(ctx context.Context) error {
		return c.CS.RbacV1().ClusterRoles().Delete(ctx, r.Name, metav1.DeleteOptions{})
	})
}

// RoleBinding binds a Role or ClusterRole (roleKind) in ns.
func (c Live) RoleBinding(ns, name, roleKind, role string, subjects ...rbacv1.Subject) {
	c.T.Helper()
	if _, err := c.CS.RbacV1().RoleBindings(ns).Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: role}, Subjects: subjects}, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
}

// ClusterRoleBinding binds a ClusterRole cluster-wide.
func (c Live) ClusterRoleBinding(name, role string, subjects ...rbacv1.Subject) {
	c.T.Helper()
	if _, err := c.CS.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects}, metav1.CreateOptions{}); err != nil {
		c.T.Fatal(err)
	}
	c.cleanup(func(ctx context.Context) error {
		return c.CS.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// Allows asks the API server's authorizer whether u may do a (a SubjectAccessReview, as
// kubectl auth can-i).
func (c Live) Allows(u rbac.User, a rbac.Attributes) bool {
	c.T.Helper()
	sar, err := c.CS.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, Groups: u.Groups, ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name}}}, metav1.CreateOptions{})
	if err != nil {
		c.T.Fatal(err)
	}
	return sar.Status.Allowed
}

// SASubject is a ServiceAccount subject.
func SASubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

// PolicyRule is a rule of verbs on resources of groups, limited to names when given.
func PolicyRule(verbs, groups, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
}
