package audit

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"sync"

	"github.com/connectsoft/tenantctl/internal/secretclass"
)

// Redacted replaces every masked value: the project's one mask (secretclass.Mask).
const Redacted = secretclass.Mask

// Redactor masks secrets in events before they are encoded: values under secret keys and paths,
// of secret resources and credentials inside text (all decided by package secretclass, as for
// drift findings), and every occurrence of a registered secret value, also in its base64 forms. It is
// safe for concurrent use; values can be registered while the log is in use (a rotation learns the
// value it must never write).
type Redactor struct {
	mu     sync.RWMutex
	values []string // longest first, so a value containing another is masked whole
}

// NewRedactor returns a Redactor that knows secretValues.
func NewRedactor(secretValues ...string) *Redactor {
	r := &Redactor{}
	r.AddSecretValues(secretValues...)
	return r
}

// AddSecretValues registers values that must never appear in the audit trail.
func (r *Redactor) AddSecretValues(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, form := range []string{
			v,
			base64.StdEncoding.EncodeToString([]byte(v)),
			base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v)),
		} {
			if !slices.Contains(r.values, form) {
				r.values = append(r.values, form)
			}
		}
	}
	slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
}

// String masks every registered secret value inside s.
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// Leaks reports whether b contains a registered secret value; the log checks every encoded line
// with it as a last line of defence and refuses to write one that leaks.
func (r *Redactor) Leaks(b []byte) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		if bytes.Contains(b, []byte(v)) {
			return true
		}
	}
	return false
}

// Event returns a copy of e with secrets masked; e itself is not modified.
func (r *Redactor) Event(e Event) Event {
	e = e.clone()
	s := r.String
	text := func(v string) string { return s(secretclass.MaskText(v)) }
	e.EventID, e.TenantID, e.Principal = s(e.EventID), s(e.TenantID), s(e.Principal)
	e.Environment, e.Commit, e.Reason, e.Error = s(e.Environment), s(e.Commit), text(e.Reason), text(e.Error)
	for i := range e.Changes {
		c := &e.Changes[i]
		c.URN, c.Type, c.Name = s(c.URN), s(c.Type), s(c.Name)
		allSecret := secretclass.IsSecretResourceType(c.Type)
		for j := range c.Fields {
			f := &c.Fields[j]
			f.Path = s(f.Path)
			if allSecret && !secretclass.VisibleFieldOfSecretResource(f.Path) || secretclass.IsSecretPath(f.Path) {
				f.Old, f.New = maskNonEmpty(f.Old), maskNonEmpty(f.New)
				continue
			}
			f.Old, f.New = text(f.Old), text(f.New)
		}
	}
	if e.Details != nil {
		details := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			if secretclass.IsSecretKey(k) {
				v = maskNonEmpty(v)
			}
			details[s(k)] = text(v)
		}
		e.Details = details
	}
	return e
}

// maskNonEmpty keeps the fact that a secret changed (or was cleared) without its value.
func maskNonEmpty(v string) string {
	if v == "" {
		return ""
	}
	return Redacted
}
