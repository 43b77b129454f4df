package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fromStdlib converts encoding/json's generic decoding to the parser's shapes.
func fromStdlib(v any) any {
	switch t := v.(type) {
	case map[string]any:
		obj := jsonObject{}
		for k, e := range t {
			obj[k] = fromStdlib(e)
		}
		return obj
	case []any:
		for i := range t {
			t[i] = fromStdlib(t[i])
		}
		return t
	}
	return v
}

// compareWithStdlib checks parseJSON against encoding/json on one input: whatever parseJSON
// accepts, encoding/json accepts with the same meaning; what it rejects, encoding/json rejects
// too, unless the reason is one only this parser enforces (duplicates, nesting).
func compareWithStdlib(t *testing.T, in []byte) {
	t.Helper()
	ours, err := parseJSON(in)
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var std any
	stdErr := dec.Decode(&std)
	if stdErr == nil && !json.Valid(in) {
		stdErr = errors.New("trailing data")
	}
	if err != nil {
		if stdErr == nil && !strings.Contains(err.Error(), "duplicate member") && !strings.Contains(err.Error(), "nested deeper") {
			t.Errorf("parseJSON(%q) = %v, but encoding/json accepts it", in, err)
		}
		return
	}
	if stdErr != nil {
		t.Errorf("parseJSON(%q) accepted what encoding/json rejects: %v", in, stdErr)
		return
	}
	var a, b bytes.Buffer
	errA, errB := writeCanonical(&a, ours), writeCanonical(&b, fromStdlib(std))
	if (errA == nil) != (errB == nil) || a.String() != b.String() {
		t.Errorf("parseJSON(%q) means %s (%v), encoding/json %s (%v)", in, a.String(), errA, b.String(), errB)
	}
}

var parserCorpus = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1e5`, `-1.25E-3`, `true`, `false`, `null`, ` { "a" : [ 1 , 2 ] } `,
	`{"seq":1,"hash":"ab","nested":{"x":[true,false,null,"s"]}}`,
	`"plain ascii"`, `"tab\there"`, `"quote\" backslash\\ slash\/"`, `"\b\f\n\r\t"`,
	`"\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`, `"\ud800\ud800"`,
	"\"caf\xc3\xa9\"", "\"bad \xff utf8\"", "\"\xed\xa0\x80\"",
	`{"a":1,"a":2}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`, `"unterminated`, `"ctrl` + "\x01" + `"`,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `{"a":1} x`, `[1] [2]`, `"\x"`, `"\u12"`, `"\u12zz"`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, ``, ` `,
}

func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range parserCorpus {
		compareWithStdlib(t, []byte(in))
	}
	// And every line the log itself writes.
	_, lines := writeFixture(t, 3)
	for _, l := range lines {
		compareWithStdlib(t, bytes.TrimSuffix(l, []byte("\n")))
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, in := range parserCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(compareWithStdlib)
}
