package report

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// This file is a minimal SARIF 2.1.0 schema check written for the subset of SARIF tenantctl emits:
// the objects below, with their allowed properties (the schema sets additionalProperties: false on
// all of them), required properties, types, enums and minimums as in the OASIS schema. It runs
// without network access.

type sarifField struct {
	typ     string   // string, integer, boolean, object, array, map, bag, enum, any
	ref     string   // object spec for object/array items
	enum    []string // for enum
	min     *int     // for integer
	format  string   // uri, uri-reference
	unique  bool     // arrays: uniqueItems
	itemTyp string   // arrays of scalars
}

type sarifSpec struct {
	required []string
	fields   map[string]sarifField
}

func intp(i int) *int { return &i }

var (
	levels       = []string{"none", "note", "warning", "error"}
	bag          = sarifField{typ: "bag"}
	messageField = sarifField{typ: "object", ref: "message"}
	mfString     = sarifField{typ: "object", ref: "multiformatMessageString"}
)

var sarifSpecs = map[string]sarifSpec{
	"log": {required: []string{"version", "runs"}, fields: map[string]sarifField{
		"$schema": {typ: "string", format: "uri"}, "version": {typ: "enum", enum: []string{"2.1.0"}},
		"runs": {typ: "array", ref: "run"}, "properties": bag}},
	"run": {required: []string{"tool"}, fields: map[string]sarifField{
		"tool": {typ: "object", ref: "tool"}, "invocations": {typ: "array", ref: "invocation"},
		"versionControlProvenance": {typ: "array", ref: "versionControlDetails", unique: true},
		"automationDetails":        {typ: "object", ref: "runAutomationDetails"},
		"results":                  {typ: "array", ref: "result"}, "properties": bag}},
	"tool": {required: []string{"driver"}, fields: map[string]sarifField{
		"driver": {typ: "object", ref: "toolComponent"}, "properties": bag}},
	"toolComponent": {required: []string{"name"}, fields: map[string]sarifField{
		"name": {typ: "string"}, "version": {typ: "string"}, "semanticVersion": {typ: "string"},
		"informationUri": {typ: "string", format: "uri"}, "rules": {typ: "array", ref: "reportingDescriptor", unique: true},
		"properties": bag}},
	"reportingDescriptor": {required: []string{"id"}, fields: map[string]sarifField{
		"id": {typ: "string"}, "name": {typ: "string"}, "shortDescription": mfString, "fullDescription": mfString,
		"help": mfString, "helpUri": {typ: "string", format: "uri"},
		"defaultConfiguration": {typ: "object", ref: "reportingConfiguration"}, "properties": bag}},
	"reportingConfiguration": {fields: map[string]sarifField{
		"enabled": {typ: "boolean"}, "level": {typ: "enum", enum: levels}, "properties": bag}},
	"multiformatMessageString": {required: []string{"text"}, fields: map[string]sarifField{
		"text": {typ: "string"}, "markdown": {typ: "string"}, "properties": bag}},
	"message": {fields: map[string]sarifField{
		"text": {typ: "string"}, "markdown": {typ: "string"}, "id": {typ: "string"}, "properties": bag}},
	"invocation": {required: []string{"executionSuccessful"}, fields: map[string]sarifField{
		"executionSuccessful": {typ: "boolean"}, "exitCode": {typ: "integer"},
		"toolExecutionNotifications": {typ: "array", ref: "notification"}, "properties": bag}},
	"notification": {required: []string{"message"}, fields: map[string]sarifField{
		"message": messageField, "level": {typ: "enum", enum: levels}, "properties": bag}},
	"versionControlDetails": {required: []string{"repositoryUri"}, fields: map[string]sarifField{
		"repositoryUri": {typ: "string", format: "uri"}, "revisionId": {typ: "string"}, "branch": {typ: "string"},
		"properties": bag}},
	"runAutomationDetails": {fields: map[string]sarifField{"id": {typ: "string"}, "description": messageField, "properties": bag}},
	"result": {required: []string{"message"}, fields: map[string]sarifField{
		"ruleId": {typ: "string"}, "ruleIndex": {typ: "integer", min: intp(-1)},
		"level": {typ: "enum", enum: levels}, "message": messageField,
		"locations":           {typ: "array", ref: "location"},
		"partialFingerprints": {typ: "map"}, "fingerprints": {typ: "map"}, "properties": bag}},
	"location": {fields: map[string]sarifField{
		"physicalLocation": {typ: "object", ref: "physicalLocation"},
		"logicalLocations": {typ: "array", ref: "logicalLocation", unique: true}, "message": messageField, "properties": bag}},
	"physicalLocation": {fields: map[string]sarifField{
		"artifactLocation": {typ: "object", ref: "artifactLocation"}, "region": {typ: "object", ref: "region"}, "properties": bag}},
	"artifactLocation": {fields: map[string]sarifField{
		"uri": {typ: "string", format: "uri-reference"}, "uriBaseId": {typ: "string"}, "properties": bag}},
	"region": {fields: map[string]sarifField{
		"startLine": {typ: "integer", min: intp(1)}, "startColumn": {typ: "integer", min: intp(1)},
		"endLine": {typ: "integer", min: intp(1)}, "properties": bag}},
	"logicalLocation": {fields: map[string]sarifField{
		"name": {typ: "string"}, "fullyQualifiedName": {typ: "string"}, "kind": {typ: "string"}, "properties": bag}},
}

// validateSARIF returns every violation of the schema subset in doc (decoded JSON).
func validateSARIF(doc any) []string {
	var errs []string
	checkObject(doc, "log", "$", &errs)
	return errs
}

func checkObject(v any, spec, path string, errs *[]string) {
	obj, ok := v.(map[string]any)
	if !ok {
		*errs = append(*errs, fmt.Sprintf("%s: want object (%s)", path, spec))
		return
	}
	s := sarifSpecs[spec]
	for _, req := range s.required {
		if _, ok := obj[req]; !ok {
			*errs = append(*errs, fmt.Sprintf("%s: missing required %q (%s)", path, req, spec))
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := s.fields[k]
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: property %q not allowed in %s", path, k, spec))
			continue
		}
		checkField(obj[k], f, path+"."+k, errs)
	}
}

func checkField(v any, f sarifField, path string, errs *[]string) {
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	switch f.typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want string")
			return
		}
		switch f.format {
		case "uri":
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				bad("%q is not an absolute URI", s)
			}
		case "uri-reference":
			if _, err := url.Parse(s); err != nil || strings.ContainsAny(s, " \\") {
				bad("%q is not a URI reference", s)
			}
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int(n)) {
			bad("want integer")
			return
		}
		if f.min != nil && int(n) < *f.min {
			bad("%d below minimum %d", int(n), *f.min)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want boolean")
		}
	case "enum":
		s, _ := v.(string)
		if !slices.Contains(f.enum, s) {
			bad("%v not one of %v", v, f.enum)
		}
	case "object":
		checkObject(v, f.ref, path, errs)
	case "array":
		items, ok := v.([]any)
		if !ok {
			bad("want array")
			return
		}
		seen := map[string]bool{}
		for i, item := range items {
			if f.unique {
				key := fmt.Sprint(item)
				if seen[key] {
					bad("item %d duplicates an earlier item (uniqueItems)", i)
				}
				seen[key] = true
			}
			checkObject(item, f.ref, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want object of strings")
			return
		}
		for k, val := range m {
			if _, ok := val.(string); !ok {
				bad("%q: want string", k)
			}
		}
	case "bag":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want property bag object")
			return
		}
		if tags, ok := m["tags"]; ok {
			list, ok := tags.([]any)
			if !ok {
				bad("tags: want array")
				return
			}
			seen := map[any]bool{}
			for _, t := range list {
				if _, ok := t.(string); !ok || seen[t] {
					bad("tags: want distinct strings")
				}
				seen[t] = true
			}
		}
	}
}
