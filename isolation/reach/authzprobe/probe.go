// Package authzprobe checks the identity analysis against the API server's own authorizer: for
// each question (a principal of one tenant, an exposing permission over another's scope) it
// creates a SubjectAccessReview — the answer `kubectl auth can-i` gets — and reports every
// question where the authorizer and the analysis disagree. A disagreement is a defect of the
// analysis (or a snapshot older than the cluster), never a finding about tenants.
package authzprobe

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/connectsoft/tenantctl/isolation/reach/identity"
)

// Option tunes Probe.
type Option func(*prober)

// WithParallel bounds how many reviews are in flight; default 8.
func WithParallel(n int) Option {
	return func(p *prober) {
		if n > 0 {
			p.parallel = n
		}
	}
}

type prober struct {
	parallel int
}

// Disagreement is a question the authorizer answered differently from the analysis.
type Disagreement struct {
	identity.Question
	// Authorizer is the API server's answer; Reason is its explanation (which binding allowed
	// it, or why it was denied).
	Authorizer bool   `json:"authorizer"`
	Reason     string `json:"reason,omitempty"`
}

// String renders "acme→globex ServiceAccount t-acme/t-acme: get secrets in namespace t-globex:
// authorizer allows (reason), analysis denies".
func (d Disagreement) String() string {
	verdict := func(b bool) string {
		if b {
			return "allows"
		}
		return "denies"
	}
	s := fmt.Sprintf("%s→%s %s: authorizer %s", d.From, d.To, d.Question.String(), verdict(d.Authorizer))
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	s += ", analysis " + verdict(d.Expect)
	if d.Grant != "" {
		s += " (" + d.Grant + ")"
	}
	return s
}

// Report is what a probe found.
type Report struct {
	// Asked counts the reviews; Allowed how many the authorizer allowed.
	Asked, Allowed int
	Disagreements  []Disagreement
}

// Agrees reports whether the authorizer confirmed every answer of the analysis.
func (r *Report) Agrees() bool { return len(r.Disagreements) == 0 }

// Probe asks the API server every question and compares. An API error (unreachable, forbidden
// to create reviews) fails the probe: a question not asked is not an agreement.
func Probe(ctx context.Context, client kubernetes.Interface, questions []identity.Question, opts ...Option) (*Report, error) {
	p := &prober{parallel: 8}
	for _, o := range opts {
		o(p)
	}
	answers := make([]authorizationv1.SubjectAccessReviewStatus, len(questions))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.parallel)
	for i, q := range questions {
		g.Go(func() error {
			st, err := review(gctx, client, q)
			if err != nil {
				return fmt.Errorf("subject access review for %s: %w", q, err)
			}
			answers[i] = st
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r := &Report{Asked: len(questions)}
	for i, q := range questions {
		st := answers[i]
		if st.Allowed {
			r.Allowed++
		}
		if st.Allowed != q.Expect {
			reason := st.Reason
			if st.EvaluationError != "" {
				reason += "; evaluation error: " + st.EvaluationError
			}
			r.Disagreements = append(r.Disagreements, Disagreement{Question: q, Authorizer: st.Allowed, Reason: reason})
		}
	}
	return r, nil
}

// review asks the authorizer one question as the principal itself would be asked about: its user
// name and groups, the request's attributes.
func review(ctx context.Context, client kubernetes.Interface, q identity.Question) (authorizationv1.SubjectAccessReviewStatus, error) {
	a := q.Attributes
	spec := authorizationv1.SubjectAccessReviewSpec{User: q.User.Name, Groups: q.User.Groups}
	if a.ResourceRequest() {
		spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: a.Verb, Group: a.Group,
			Resource: a.Resource, Subresource: a.Subresource, Name: a.Name}
	} else {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.Path, Verb: a.Verb}
	}
	sar, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, err
	}
	return sar.Status, nil
}

// Questions gathers the analysis' questions for the given ordered pairs (every pair when none
// is given).
func Questions(res *identity.Result, pairs ...[2]string) []identity.Question {
	if len(pairs) == 0 {
		pairs = res.Pairs()
	}
	var out []identity.Question
	for _, p := range pairs {
		out = append(out, res.Questions(p[0], p[1])...)
	}
	return out
}
