package ignore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// Key is a rule term's key: which part of a finding the value matches.
type Key string

const (
	KeyKind      Key = "kind"
	KeySeverity  Key = "severity"
	KeyEnv       Key = "env"
	KeyTenant    Key = "tenant"
	KeyPeer      Key = "peer"
	KeyStack     Key = "stack"
	KeyProvider  Key = "provider"
	KeyType      Key = "type"
	KeyNamespace Key = "namespace"
	KeyName      Key = "name"
	KeyID        Key = "id"
	KeyField     Key = "field"
	KeyManager   Key = "manager"
)

// Keys lists the keys in the order Rule.String writes them.
var Keys = []Key{KeyKind, KeySeverity, KeyEnv, KeyTenant, KeyPeer, KeyStack, KeyProvider, KeyType,
	KeyNamespace, KeyName, KeyID, KeyField, KeyManager}

var keyAliases = map[string]Key{"environment": KeyEnv, "peerTenant": KeyPeer}

// ParseError locates an invalid rule. Upstream it is invalid input (exit 3).
type ParseError struct {
	File string
	Line int
	Rule string
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: rule %q: %s", e.File, e.Line, e.Rule, e.Msg)
}

// term is one key=value of a rule.
type term struct {
	key Key
	pat pattern
}

// maxLine bounds one rule line; longer lines are an error, not a silent truncation.
const maxLine = 64 * 1024

// parse reads rules from r; file names the source in errors and in Rule.File. It collects every
// invalid line so a person fixes the file in one pass; readErr is a failure to read, not bad input.
func parse(file string, r io.Reader) (rules []Rule, invalid, readErr error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var errs []error
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		rule, ok, err := parseLine(file, line, text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			rules = append(rules, rule)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			errs = append(errs, &ParseError{File: file, Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)})
		} else {
			return nil, nil, fmt.Errorf("read %s: %w", file, err)
		}
	}
	return rules, errors.Join(errs...), nil
}

// parseLine parses one line; ok is false for blank and comment lines.
func parseLine(file string, line int, text string) (Rule, bool, error) {
	trimmed := strings.TrimSpace(text)
	fail := func(format string, args ...any) (Rule, bool, error) {
		return Rule{}, false, &ParseError{File: file, Line: line, Rule: trimmed, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(text) {
		return fail("not valid UTF-8")
	}
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return Rule{}, false, nil
	}
	rule := Rule{File: file, Line: line}
	body := trimmed
	if strings.HasPrefix(body, "!") {
		rule.Negate = true
		body = strings.TrimLeftFunc(body[1:], unicode.IsSpace)
	}
	tokens, err := tokenize(body)
	if err != nil {
		return fail("%v", err)
	}
	if len(tokens) == 0 {
		return fail("empty rule: write at least one key=value (keys: %s)", keyList())
	}
	for _, tok := range tokens {
		t, err := parseTerm(tok)
		if err != nil {
			return fail("%v", err)
		}
		if slices.ContainsFunc(rule.terms, func(o term) bool { return o.key == t.key }) {
			return fail("key %s given twice", t.key)
		}
		rule.terms = append(rule.terms, t)
	}
	slices.SortStableFunc(rule.terms, func(a, b term) int { return slices.Index(Keys, a.key) - slices.Index(Keys, b.key) })
	if err := rule.checkRouteSafety(); err != nil {
		return fail("%v", err)
	}
	rule.Text = trimmed
	return rule, true, nil
}

// rawToken is a token with its quotes removed; escaped marks runes preceded by a backslash, which
// are always literal.
type rawToken struct {
	runes   []rune
	escaped []bool
	quoted  bool // some part was quoted, so an empty value is intended
}

// tokenize splits a rule body on whitespace outside double quotes and stops at a '#' that starts a
// token (a trailing comment).
func tokenize(s string) ([]rawToken, error) {
	var tokens []rawToken
	var cur rawToken
	inToken, inQuote, escape := false, false, false
	flush := func() {
		if inToken {
			tokens = append(tokens, cur)
		}
		cur, inToken = rawToken{}, false
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r) && r != '\t':
			return nil, fmt.Errorf("control character %U", r)
		case escape:
			cur.runes = append(cur.runes, r)
			cur.escaped = append(cur.escaped, true)
			escape = false
		case r == '\\':
			escape, inToken = true, true
		case r == '"':
			inQuote, inToken, cur.quoted = !inQuote, true, true
		case inQuote:
			cur.runes = append(cur.runes, r)
			cur.escaped = append(cur.escaped, false)
		case unicode.IsSpace(r):
			flush()
		case r == '#' && !inToken:
			flush()
			return tokens, nil
		default:
			cur.runes = append(cur.runes, r)
			cur.escaped = append(cur.escaped, false)
			inToken = true
		}
	}
	switch {
	case escape:
		return nil, errors.New(`trailing backslash escapes nothing`)
	case inQuote:
		return nil, errors.New("unterminated double quote")
	}
	flush()
	return tokens, nil
}

func parseTerm(tok rawToken) (term, error) {
	eq := -1
	for i, r := range tok.runes {
		if r == '=' && !tok.escaped[i] {
			eq = i
			break
		}
	}
	if eq < 0 {
		return term{}, fmt.Errorf("%q is not key=value (keys: %s)", string(tok.runes), keyList())
	}
	name := string(tok.runes[:eq])
	key := Key(name)
	if alias, ok := keyAliases[name]; ok {
		key = alias
	}
	if !slices.Contains(Keys, key) {
		return term{}, fmt.Errorf("unknown key %q (keys: %s)", name, keyList())
	}
	var p pattern
	for i := eq + 1; i < len(tok.runes); i++ {
		r := tok.runes[i]
		switch {
		case tok.escaped[i]:
			p.elems = append(p.elems, elem{op: opLit, r: r})
		case r == '*':
			p.elems = append(p.elems, elem{op: opStar})
		case r == '?':
			p.elems = append(p.elems, elem{op: opAny})
		default:
			p.elems = append(p.elems, elem{op: opLit, r: r})
		}
	}
	if len(p.elems) == 0 && !tok.quoted {
		return term{}, fmt.Errorf(`%s has an empty value; write %s="" to match an empty %s`, key, key, key)
	}
	if err := checkEnum(key, p); err != nil {
		return term{}, err
	}
	if key == KeyType || key == KeyID {
		// Azure returns types and ids in varying case; Kubernetes types never differ by case alone.
		p = p.withFoldCase()
	}
	return term{key: key, pat: p}, nil
}

// checkEnum rejects kind, severity and provider values that match nothing, so a typo like
// kind=managed-drfit is an error instead of a rule that silently never applies.
func checkEnum(key Key, p pattern) error {
	var values []string
	switch key {
	case KeyKind:
		for _, k := range finding.Kinds() {
			values = append(values, string(k))
		}
	case KeySeverity:
		for _, s := range finding.Severities {
			values = append(values, string(s))
		}
	case KeyProvider:
		values = []string{string(finding.ProviderKubernetes), string(finding.ProviderAzure)}
	default:
		return nil
	}
	if slices.ContainsFunc(values, p.match) {
		return nil
	}
	return fmt.Errorf("%s=%s matches none of %s", key, p, strings.Join(values, ", "))
}

func keyList() string {
	names := make([]string, len(Keys))
	for i, k := range Keys {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
