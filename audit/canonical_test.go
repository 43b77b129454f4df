package audit

import (
	"testing"
)

func canonicalString(t *testing.T, in string) (string, error) {
	t.Helper()
	out, err := canonicalize([]byte(in))
	return string(out), err
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
		// RFC 8785 §3.2.2.3: numbers in their ECMAScript form.
		{"numbers", `[1.50,1e3,-0,1E-7]`, `[1.5,1000,0,1e-7]`},
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
		"duplicate member":        `{"a":1,"a":2}`,
		"nested duplicate member": `{"a":{"b":1,"b":1}}`,
		"invalid UTF-8":           "{\"a\":\"\xff\"}",
		"trailing data":           `{"a":1} {"b":2}`,
		"not json":                `{"a":`,
	} {
		if got, err := canonicalString(t, in); err == nil {
			t.Errorf("%s: canonical form of %s = %s, want an error", name, in, got)
		}
		if _, _, err := splitObject([]byte(in), "hash"); err == nil {
			t.Errorf("%s: splitObject accepted %s", name, in)
		}
	}
}
