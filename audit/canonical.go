package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// The record hash is taken over the RFC 8785 (JSON Canonicalization Scheme) form of the record, so
// any language can re-verify a log: object members sorted by their UTF-16 code units, no
// insignificant whitespace, strings with only '"', '\\' and control characters escaped. Audit
// records hold no fractional numbers, so numbers are restricted to integers of at most 2^53, whose
// JCS form is their plain decimal digits; anything else is rejected rather than guessed at.
//
// The canonical form is computed from the parsed JSON document (not from Go structs), so a member
// added to a record by hand changes its hash just like an edited one. Duplicate member names are
// rejected because parsers disagree on which one wins.

// jsonObject is a parsed JSON object; values are nil, bool, json.Number, string, []any or jsonObject.
type jsonObject map[string]any

const maxNesting = 32

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,15})$`)

const maxSafeInteger = 1<<53 - 1

// writeCanonical appends the JCS form of v to buf.
func writeCanonical(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		s := string(t)
		n, err := t.Int64()
		if !integerLiteral.MatchString(s) || s == "-0" || err != nil || n > maxSafeInteger || n < -maxSafeInteger {
			return fmt.Errorf("number %s: audit records hold only integers up to 2^53", s)
		}
		buf.WriteString(s)
	case string:
		writeCanonicalString(buf, t)
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case jsonObject:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonicalString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, t[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("unsupported JSON value %T", v)
	}
	return nil
}

// compareUTF16 orders strings by UTF-16 code units, as RFC 8785 §3.2.3 requires; it differs from
// byte order only for characters above U+FFFF against U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmp.Compare(utf16Units(ra), utf16Units(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// utf16Units packs a rune's UTF-16 code units into one number that sorts like them.
func utf16Units(r rune) uint32 {
	if r < 0x10000 {
		return uint32(r) << 16
	}
	hi, lo := utf16.EncodeRune(r)
	return uint32(hi)<<16 | uint32(lo)
}

// writeCanonicalString writes s as a JSON string per RFC 8785 §3.2.2.2: the JSON short escapes
// for \b \t \n \f \r, \u00xx (lowercase) for other control characters, and everything else
// literally. Invalid UTF-8 becomes U+FFFD, as the JSON decoder already does.
func writeCanonicalString(buf *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		run := i // copy runs that need no escaping in one go
		for run < len(s) && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' && s[run] < utf8.RuneSelf {
			run++
		}
		buf.WriteString(s[i:run])
		if i = run; i == len(s) {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hexDigits[r>>4])
			buf.WriteByte(hexDigits[r&0xf])
		default:
			buf.WriteRune(r) // utf8.RuneError for invalid bytes writes U+FFFD
		}
	}
	buf.WriteByte('"')
}
