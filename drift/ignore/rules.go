// Package ignore reads .tenantctl-driftignore files and --ignore rules (gitignore-like: comments,
// negation with !, last match wins; key=value glob terms), applies them to drift findings, and
// writes baselines that accept exactly the current findings. A cross-tenant route is only ever
// ignored by a rule naming both of its tenants literally. Grammar: docs/drift-reports.md.
package ignore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

// DefaultFile is the ignore file tenantctl reads from the desired-state folder.
const DefaultFile = ".tenantctl-driftignore"

// FlagSource is the file name rules given with --ignore report in errors and matches.
const FlagSource = "--ignore"

// Rule is one parsed line: every term must match (AND); Negate un-ignores what earlier rules
// ignored.
type Rule struct {
	Negate bool
	File   string
	Line   int
	// Text is the line as written, without surrounding whitespace.
	Text  string
	terms []term
}

// Where is "file:line", for messages that say which rule ignored a finding.
func (r Rule) Where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// String is the rule in canonical form: terms in Keys order, values escaped.
func (r Rule) String() string {
	var b strings.Builder
	if r.Negate {
		b.WriteByte('!')
	}
	for i, t := range r.terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(t.key))
		b.WriteByte('=')
		b.WriteString(t.pat.String())
	}
	return b.String()
}

func (r Rule) term(k Key) (pattern, bool) {
	for _, t := range r.terms {
		if t.key == k {
			return t.pat, true
		}
	}
	return pattern{}, false
}

// namesRoute reports whether the rule names a tenant and a peer literally, the only way an ignore
// rule may reach a cross-tenant route.
func (r Rule) namesRoute() bool {
	tenant, okT := r.term(KeyTenant)
	peer, okP := r.term(KeyPeer)
	return okT && okP && tenant.literal() && peer.literal()
}

// checkRouteSafety rejects an ignoring rule that asks for cross-tenant routes (its kind matches
// cross-tenant-route, or it has a peer) without naming both tenants literally. Negated rules may use
// wildcards: they only make more findings visible.
func (r Rule) checkRouteSafety() error {
	if r.Negate || r.namesRoute() {
		return nil
	}
	kind, hasKind := r.term(KeyKind)
	_, hasPeer := r.term(KeyPeer)
	if (hasKind && kind.match(string(finding.KindCrossTenantRoute))) || hasPeer {
		return errors.New("a rule that matches cross-tenant-route findings must name tenant= and peer= literally, without wildcards; cross-tenant routes are never ignored by wildcard")
	}
	return nil
}

// Matches reports whether every term of the rule matches f. An ignoring rule matches a
// cross-tenant route only when it names both tenants literally.
func (r Rule) Matches(f finding.Finding) bool { return r.matches(f.Normalize()) }

// matches is Matches for an already normalized finding.
func (r Rule) matches(f finding.Finding) bool {
	if f.Kind == finding.KindCrossTenantRoute && !r.Negate && !r.namesRoute() {
		return false
	}
	for _, t := range r.terms {
		if !t.pat.match(value(f, t.key)) {
			return false
		}
	}
	return true
}

func value(f finding.Finding, k Key) string {
	switch k {
	case KeyKind:
		return string(f.Kind)
	case KeySeverity:
		return string(f.Severity)
	case KeyEnv:
		return f.Environment
	case KeyTenant:
		return f.TenantID
	case KeyPeer:
		return f.PeerTenant
	case KeyStack:
		return f.Stack
	case KeyProvider:
		return string(f.Resource.Provider)
	case KeyType:
		return f.Resource.Type
	case KeyNamespace:
		return f.Resource.Namespace
	case KeyName:
		return f.Resource.Name
	case KeyID:
		return f.Resource.ID
	case KeyField:
		return f.Field
	case KeyManager:
		return f.Manager
	}
	return ""
}

// Rules is an ordered rule list; the last rule that matches a finding decides (gitignore-like).
// A nil *Rules ignores nothing.
type Rules struct {
	rules []Rule
}

// Parse reads rules from r. name is the file name used in errors. An invalid rule is a
// *ParseError wrapped as invalid input (exit 3); all invalid lines are reported together.
func Parse(name string, r io.Reader) (*Rules, error) {
	rules, invalid, err := parse(name, r)
	if err != nil {
		return nil, err
	}
	if invalid != nil {
		return nil, errkind.Mark(errkind.Invalid, invalid)
	}
	return &Rules{rules: rules}, nil
}

// Load parses the ignore file at path. A missing file is an error (wrapping fs.ErrNotExist);
// use LoadDefault for the optional file of a desired-state folder.
func Load(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open ignore file: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// LoadDefault parses dir/.tenantctl-driftignore and returns no rules when it does not exist.
func LoadDefault(dir string) (*Rules, error) {
	rs, err := Load(filepath.Join(dir, DefaultFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Rules{}, nil
	}
	return rs, err
}

// FromFlags parses --ignore values, one rule each; errors name "--ignore:N" for the N-th value.
func FromFlags(values []string) (*Rules, error) {
	var rules []Rule
	var errs []error
	for i, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			errs = append(errs, &ParseError{File: FlagSource, Line: i + 1, Rule: v, Msg: "one rule per --ignore, without newlines"})
			continue
		}
		rule, ok, err := parseLine(FlagSource, i+1, v)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			errs = append(errs, &ParseError{File: FlagSource, Line: i + 1, Rule: v, Msg: "empty rule"})
		default:
			rules = append(rules, rule)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errkind.Mark(errkind.Invalid, err)
	}
	return &Rules{rules: rules}, nil
}

// Join concatenates rule lists in order; later lists win (pass the file first, then --ignore).
func Join(sets ...*Rules) *Rules {
	out := &Rules{}
	for _, s := range sets {
		if s != nil {
			out.rules = append(out.rules, s.rules...)
		}
	}
	return out
}

// List returns the rules in order.
func (rs *Rules) List() []Rule {
	if rs == nil {
		return nil
	}
	return append([]Rule(nil), rs.rules...)
}

// Match returns the last rule matching f and whether f is ignored (that rule is not negated).
func (rs *Rules) Match(f finding.Finding) (Rule, bool) {
	if rs == nil {
		return Rule{}, false
	}
	f = f.Normalize()
	for i := len(rs.rules) - 1; i >= 0; i-- {
		if rs.rules[i].matches(f) {
			return rs.rules[i], !rs.rules[i].Negate
		}
	}
	return Rule{}, false
}

// Apply splits findings into those still reported and those ignored, keeping their order.
func (rs *Rules) Apply(findings []finding.Finding) (kept, ignored []finding.Finding) {
	for _, f := range findings {
		if _, ign := rs.Match(f); ign {
			ignored = append(ignored, f)
		} else {
			kept = append(kept, f)
		}
	}
	return kept, ignored
}
