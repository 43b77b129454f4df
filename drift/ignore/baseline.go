package ignore

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// BaselineMeta is what a baseline's header records about the run it was taken from.
type BaselineMeta struct {
	Commit      string
	Dirty       bool
	GeneratedAt time.Time
}

// Baseline writes an ignore file whose rules match exactly the current findings: one rule per
// finding identity (the fields its fingerprint covers), every value a literal. Cross-tenant
// routes get explicit tenant= and peer= rules, the only kind of rule allowed to ignore them.
// Identical findings share one rule; the output is sorted so baselines diff cleanly in Git.
func Baseline(findings []finding.Finding, meta BaselineMeta) []byte {
	type entry struct {
		f    finding.Finding
		rule string
	}
	seen := map[string]bool{}
	var entries []entry
	for _, f := range findings {
		f = f.Normalize()
		fp := f.Fingerprint()
		if seen[fp] {
			continue
		}
		seen[fp] = true
		entries = append(entries, entry{f, baselineRule(f)})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(a.f.Environment, b.f.Environment),
			cmp.Compare(a.f.TenantID, b.f.TenantID),
			cmp.Compare(a.f.Severity.Rank(), b.f.Severity.Rank()),
			cmp.Compare(a.rule, b.rule))
	})

	var b bytes.Buffer
	b.WriteString("# " + DefaultFile + " — baseline written by `tenantctl drift baseline`.\n")
	commit := cmp.Or(meta.Commit, "unknown")
	if meta.Dirty {
		commit += " (dirty working tree)"
	}
	fmt.Fprintf(&b, "# commit: %s\n", commit)
	fmt.Fprintf(&b, "# generated: %s\n", meta.GeneratedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# %d finding(s) accepted as they are. Each rule matches one finding exactly;\n", len(entries))
	b.WriteString("# delete a rule to report its finding again.\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "\n# %s %s\n%s\n", e.f.Severity, commentText(e.f.Title()), e.rule)
	}
	return b.Bytes()
}

// baselineRule names every identity component the fingerprint covers that carries information.
// The Kubernetes id is namespace/name and adds nothing; Azure ids tell resource groups apart.
func baselineRule(f finding.Finding) string {
	terms := []term{{KeyKind, literalPattern(string(f.Kind))}}
	add := func(k Key, v string, always bool) {
		if v != "" || always {
			terms = append(terms, term{k, literalPattern(v)})
		}
	}
	add(KeyEnv, f.Environment, false)
	add(KeyTenant, f.TenantID, true)
	add(KeyPeer, f.PeerTenant, f.Kind == finding.KindCrossTenantRoute)
	add(KeyType, f.Resource.Type, false)
	add(KeyNamespace, f.Resource.Namespace, false)
	add(KeyName, f.Resource.Name, false)
	if f.Resource.Provider != finding.ProviderKubernetes {
		add(KeyID, f.Resource.ID, false)
	}
	// An empty field pins the rule to "no field", so it cannot swallow a later per-field finding.
	add(KeyField, f.Field, f.Kind == finding.KindManagedDrift || f.Kind == finding.KindFieldConflict)
	return Rule{terms: terms}.String()
}

// commentText keeps a comment on one line.
func commentText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
