package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// The record hash is taken over the RFC 8785 (JSON Canonicalization Scheme) form of the record, so
// any language can re-verify a log. The canonical form is computed from the parsed JSON document
// (not from Go structs), so a member added to a record by hand changes its hash just like an
// edited one. jsontext does the parsing and the canonicalisation; its defaults reject duplicate
// member names (parsers disagree on which one wins) and invalid UTF-8, which is what the audit
// contract needs.

// canonicalize returns the RFC 8785 form of one JSON value, rejecting duplicate names, invalid
// UTF-8 and trailing data.
func canonicalize(raw []byte) ([]byte, error) {
	v := jsontext.Value(bytes.Clone(raw))
	if err := v.Canonicalize(); err != nil {
		return nil, err
	}
	return v, nil
}

// splitObject parses a JSON object strictly and returns the canonical form of the object without
// the members named in drop, and the raw values of the dropped members that were present.
func splitObject(raw []byte, drop ...string) ([]byte, map[string]jsontext.Value, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, nil, err
	}
	if tok.Kind() != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var buf bytes.Buffer
	enc := jsontext.NewEncoder(&buf)
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return nil, nil, err
	}
	dropped := map[string]jsontext.Value{}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, err
		}
		name := tok.String() // the token is only valid until the next read
		val, err := dec.ReadValue()
		if err != nil {
			return nil, nil, err
		}
		if isDropped(name, drop) {
			dropped[name] = bytes.Clone(val)
			continue
		}
		if err := enc.WriteToken(jsontext.String(name)); err != nil {
			return nil, nil, err
		}
		if err := enc.WriteValue(val); err != nil {
			return nil, nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("trailing data after the JSON object")
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, nil, err
	}
	canon, err := canonicalize(buf.Bytes())
	if err != nil {
		return nil, nil, err
	}
	return canon, dropped, nil
}

func isDropped(name string, drop []string) bool {
	for _, d := range drop {
		if name == d {
			return true
		}
	}
	return false
}
