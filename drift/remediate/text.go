package remediate

import (
	"fmt"
	"io"
	"strings"
)

// WriteText renders a plan for review: one block per action, what it changes and why.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Remediation plan (%s) for desired state %s", p.Mode, p.Commit)
	if p.Dirty {
		b.WriteString(" (dirty)")
	}
	fmt.Fprintf(&b, ": %d change(s), %d review-only, %d report(s)\n", p.Changes(), p.Reviews(), len(p.Actions)-p.Changes()-p.Reviews())
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "\n%s %s %s [%s/%s]\n", a.ID, a.Kind, a.Target.Ref(), a.Environment, a.Tenant)
		switch a.Kind {
		case ActionRestore:
			if a.Target.Absent {
				fmt.Fprintf(&b, "    recreate (absent when planned)\n")
			} else if a.Target.kubernetes() {
				fmt.Fprintf(&b, "    as %s, if resourceVersion is still %s\n", a.FieldManager, a.Target.ResourceVersion)
			}
			for _, f := range a.Fields {
				live := string(f.Live)
				if live == "" {
					live = "(absent)"
				}
				fmt.Fprintf(&b, "    %s: %s -> %s", f.Path, live, f.Desired)
				if f.Manager != "" {
					fmt.Fprintf(&b, " (held by %s)", f.Manager)
				}
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "    then %s %s\n", a.Engine, a.Stack)
		case ActionDelete:
			if a.Target.kubernetes() {
				fmt.Fprintf(&b, "    if uid %s and resourceVersion %s are unchanged\n", a.Target.UID, a.Target.ResourceVersion)
			}
		case ActionReview:
			fmt.Fprintf(&b, "    review-only: tenantctl never runs it; after review, a person runs:\n      %s\n", a.Command)
		}
		fmt.Fprintf(&b, "    findings: %s\n", joinKinds(a))
		fmt.Fprintf(&b, "    why: %s\n", a.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinKinds(a Action) string {
	ks := make([]string, len(a.FindingKinds))
	for i, k := range a.FindingKinds {
		ks[i] = string(k)
	}
	return fmt.Sprintf("%s (%d)", strings.Join(ks, ", "), len(a.Fingerprints))
}

// WriteResultText renders what applying a plan did.
func WriteResultText(w io.Writer, r *Result) error {
	var b strings.Builder
	counts := map[Outcome]int{}
	for _, a := range r.Actions {
		counts[a.Outcome]++
		fmt.Fprintf(&b, "%-4s %-14s %-11s %s", a.ID, a.Kind, a.Outcome, a.Target)
		if a.Error != "" {
			fmt.Fprintf(&b, ": %s", a.Error)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d applied, %d refused, %d failed, %d unsupported, %d review-only, %d not run, %d reported\n",
		counts[OutcomeApplied], counts[OutcomeRefused], counts[OutcomeFailed], counts[OutcomeUnsupported], counts[OutcomeReviewOnly], counts[OutcomeNotRun], counts[OutcomeReported])
	_, err := io.WriteString(w, b.String())
	return err
}
