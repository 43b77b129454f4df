package audit

import (
	"bytes"
	"testing"
)

func canonicalString(t *testing.T, in string) (string, error) {
	t.Helper()
	v, err := parseJSON([]byte(in))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = writeCanonical(&buf, v)
	return buf.String(), err
}

func TestCanonicalFormFollowsRFC8785(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// RFC 8785 §3.2.3's sorting example: members ordered by UTF-16 code units, so the emoji
		// (a surrogate pair, D83D DE00) sorts before U+FB33 although its UTF-8 bytes sort after.
		{"rfc8785 sort example",
			`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"whitespace and nesting", `{ "b" : [ 1 , {"z":true,"a":null} ], "a" : "x" }`, `{"a":"x","b":[1,{"a":null,"z":true}]}`},
		{"string escapes", `"\u0041\u0007\b\t\n\f\r\"\\\/<>&\u2028"`, "\"A\\u0007\\b\\t\\n\\f\\r\\\"\\\\/<>&\u2028\""},
		{"integers", `[0,-1,9007199254740991]`, `[0,-1,9007199254740991]`},
	}
	for _, tt := range tests {
		got, err := canonicalString(t, tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCanonicalFormRejects(t *testing.T) {
	for name, in := range map[string]string{
		"duplicate member": `{"a":1,"a":2}`,
		"fraction":         `{"seq":1.5}`,
		"exponent":         `{"seq":1e3}`,
		"negative zero":    `{"seq":-0}`,
		"beyond 2^53":      `{"seq":9007199254740992}`,
		"trailing data":    `{"a":1} {"b":2}`,
		"too deep":         `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		"not json":         `{"a":`,
	} {
		if got, err := canonicalString(t, in); err == nil {
			t.Errorf("%s: canonical form of %s = %s, want an error", name, in, got)
		}
	}
}
