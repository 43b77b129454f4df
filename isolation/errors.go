package isolation

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ValidationError is one problem in the desired state, located at the file, line and field a
// person has to edit. Messages never repeat a value that could be a secret.
type ValidationError struct {
	Source
	// Field is the YAML path of the offending field, e.g. "spec.network.addressSpace[1]"; empty
	// when the problem concerns the whole document or file.
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String renders the source as "file:line" ("file" when the line is unknown).
func (s Source) String() string {
	if s.Line > 0 {
		return s.File + ":" + strconv.Itoa(s.Line)
	}
	return s.File
}

// Error renders the error as "file:line: field: message", the form editors and CI annotate.
func (e ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source.String())
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ValidationErrors is every problem Load found in one pass. Load marks it errkind.Invalid;
// retrieve it with errors.As.
type ValidationErrors []ValidationError

func (es ValidationErrors) Error() string {
	switch len(es) {
	case 0:
		return "no validation errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d validation errors:", len(es))
	for _, e := range es {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// sorted returns the errors ordered by file, line, field and message, with exact duplicates
// removed (two checks may reach the same conclusion about one field).
func (es ValidationErrors) sorted() ValidationErrors {
	out := append(ValidationErrors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	dedup := out[:0]
	for i, e := range out {
		if i > 0 && e == out[i-1] {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}

// errorList collects errors while a check runs.
type errorList struct{ errs ValidationErrors }

func (l *errorList) add(src Source, field, format string, args ...any) {
	l.errs = append(l.errs, ValidationError{Source: src, Field: field, Message: fmt.Sprintf(format, args...)})
}

// at records an error against a field of a decoded document, at the line of the field or, when
// the field is absent, of its nearest present ancestor. Fields that failed to decode were
// reported already and get no second error.
func (l *errorList) at(d *document, field, format string, args ...any) {
	if d.isBroken(field) {
		return
	}
	l.add(Source{File: d.src.File, Line: d.fields.line(field, d.src.Line)}, field, format, args...)
}

// shown quotes a user-supplied value for an error message, unless it could be a secret, and
// truncates it so a garbage document cannot flood the output.
func shown(s string) string {
	if looksLikeSecretValue(s) {
		return "(value not shown)"
	}
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
