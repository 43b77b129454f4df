package isolation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/connectsoft/tenantctl/internal/fieldpath"
)

// document is one decoded YAML document of a known kind, with the line of every field it had so
// later checks can point at the exact line.
type document struct {
	src    Source
	kind   string
	obj    any // *RuntimeTenantBinding or *Environment
	fields fieldIndex
	// broken holds the paths whose value could not be decoded; checks stay silent about them
	// (and their children) instead of adding "required" to "must be an integer".
	broken map[string]bool
}

// isBroken reports whether path or one of its ancestors failed to decode.
func (d *document) isBroken(path string) bool {
	for len(d.broken) > 0 {
		if d.broken[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = fieldpath.Parent(path)
	}
	return false
}

// fieldIndex maps a field path ("spec.quota.cpu", "spec.secrets[0].secretName") to its line.
type fieldIndex map[string]int

// line returns the line of path or, when the field is absent, of its nearest present ancestor,
// falling back to def (the document's first line).
func (f fieldIndex) line(path string, def int) int {
	for {
		if l, ok := f[path]; ok && l > 0 {
			return l
		}
		if path == "" {
			return def
		}
		path = fieldpath.Parent(path)
	}
}

// maxFileSize bounds what Load reads from one file; desired-state files are small and a huge
// file is a mistake (or an attack on the parser).
const maxFileSize = 4 << 20

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeFile splits data into YAML documents and decodes every one. Documents of an unknown
// kind, and every field problem, become errors; the file keeps decoding after a bad document
// until the YAML itself is unreadable.
func decodeFile(file string, data []byte) ([]*document, ValidationErrors) {
	var (
		docs []*document
		errs errorList
	)
	if len(data) > maxFileSize {
		errs.add(Source{File: file}, "", "file is larger than %d bytes", maxFileSize)
		return nil, errs.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs.errs = append(errs.errs, syntaxError(file, data, err))
			break
		}
		if d := decodeDocument(file, &n, &errs); d != nil {
			docs = append(docs, d)
		}
	}
	return docs, errs.errs
}

// syntaxError turns a YAML parser error into a ValidationError at the line a person has to edit.
//
// The YAML library reports an error at the start of the enclosing construct rather than at the
// offending token: a bad indent on line 22 of a mapping that starts on line 6 says "line 6"
// (0-based at that, for parser errors), a tab in the indentation of line 23 says the line of
// the value before it. It does not expose the token's position, so problemLine finds it: the
// first line at which a prefix of the document fails with the very same error. The block's own line
// stays in the message when it differs. An unterminated quoted string keeps the reported line,
// where it opens: the line where the parser gives up (the next "---" or the end of the file) is
// not where it is fixed. Flow collections end up at the line where they open too, because that
// is where a prefix first fails the same way.
func syntaxError(file string, data []byte, err error) ValidationError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	block := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		block, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	parserProblem := false
	for _, p := range parserProblems {
		if strings.HasPrefix(msg, p) {
			parserProblem = true
			block++
			break
		}
	}
	lines := lineCount(data)
	line := block
	if !unterminatedQuote(msg) {
		if l := problemLine(data, block); l > 0 {
			line = l
		}
	}
	// An error at the end of the stream points past the last line.
	line = min(line, max(lines, 1))
	message := "invalid YAML: " + msg
	if parserProblem && block > 0 && block < line && blockProblem(msg) {
		message += fmt.Sprintf(" (inside the block that starts at line %d; check the indentation)", block)
	}
	return ValidationError{Source: Source{File: file, Line: line}, Message: message}
}

// parserProblems are the messages of the YAML parser (parserc.go), as opposed to its scanner.
var parserProblems = []string{
	"did not find expected <", "did not find expected node content", "did not find expected key",
	"did not find expected '-' indicator", "did not find expected ','", "found undefined tag handle",
	"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive",
}

// blockProblem reports the parser problems of block collections, whose reported line is the
// start of the block; the message names that line when the error is further down, since a
// mismatch with the block's indentation is the usual cause.
func blockProblem(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected key") || strings.HasPrefix(msg, "did not find expected '-' indicator") ||
		strings.HasPrefix(msg, "did not find expected node content")
}

// unterminatedQuote reports the scanner's errors for a quoted scalar that runs into the end of
// its document or of the stream.
func unterminatedQuote(msg string) bool {
	return strings.HasPrefix(msg, "found unexpected end of stream") || strings.HasPrefix(msg, "found unexpected document indicator")
}

// lineCount is the number of lines of data, a last line without a newline included.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// problemLine returns the line (1-based) of the token the YAML error is about: the first line k
// such that the first k lines fail to parse with exactly the error the whole text gives, or 0
// when it cannot tell. block is the line the error reports, which is at or before that token.
//
// Everything the parser reads before the offending token is the same in every prefix that
// contains that token's line, so from that line on every prefix fails identically, while a
// shorter prefix ends the block early and parses (or fails differently, e.g. at an unclosed
// quote). Only the document the error is in is parsed, from its "---" on, and the search walks
// out from block in growing steps, then bisects, so it parses little more than the lines up to
// the error a few times over. A pathological file (one document of megabytes) exhausts the
// parse budget and keeps the reported line.
func problemLine(data []byte, block int) int {
	var starts []int // starts[i] is the offset of line i+1
	for off := 0; off < len(data); {
		starts = append(starts, off)
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	if len(starts) == 0 {
		return 0
	}
	// The document holding the error starts at the last marker at or before block.
	first := 1
	if block > 0 {
		for l := min(block, len(starts)); l >= 1; l-- {
			if documentMarker(data[starts[l-1]:]) {
				first = l
				break
			}
		}
	}
	seg := data[starts[first-1]:]
	lines := len(starts) - first + 1
	budget := maxFileSize // bytes parsed in all: the search costs at most about two parses of the largest file
	prefix := func(k int) []byte {
		if first-1+k < len(starts) {
			return seg[:starts[first-1+k]-starts[first-1]]
		}
		return seg
	}
	want := parseError(seg)
	budget -= len(seg) // parseError(seg) stops at the error, but count it all: it may be late
	if want == "" {
		return 0
	}
	fails := func(k int) (bool, bool) {
		p := prefix(k)
		budget -= len(p)
		if budget < 0 {
			return false, false
		}
		return parseError(p) == want, true
	}
	lo := max(1, block-first+1)
	if lo > lines {
		return 0
	}
	// Grow a window [lo, hi] until its end fails, then bisect it.
	hi, step := lo, 1
	for {
		f, ok := fails(hi)
		if !ok {
			return 0
		}
		if f {
			break
		}
		if hi == lines {
			return 0 // only the whole text fails: keep the reported line
		}
		lo, hi, step = hi+1, min(lines, hi+step), step*2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		f, ok := fails(mid)
		if !ok {
			return 0
		}
		if f {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return first - 1 + lo
}

// documentMarker reports whether line (and what follows) starts with the "---" of a new
// document.
func documentMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\n' || line[3] == '\r'
}

// parseError parses every document of data and returns the first error's text, "" when there is
// none.
func parseError(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
	}
}

func decodeDocument(file string, n *yaml.Node, errs *errorList) *document {
	root := n
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil // an empty document, e.g. a trailing "---"
	}
	src := Source{File: file, Line: root.Line}
	if root.Kind != yaml.MappingNode {
		errs.add(src, "", "document must be a mapping with apiVersion, kind, metadata and spec")
		return nil
	}
	apiVersion, apiLine := scalarField(root, "apiVersion")
	kind, kindLine := scalarField(root, "kind")
	switch {
	case apiVersion == "":
		errs.add(src, "apiVersion", "required; want %s", APIVersion)
	case apiVersion != APIVersion:
		errs.add(Source{File: file, Line: apiLine}, "apiVersion", "unsupported apiVersion %s; want %s", shown(apiVersion), APIVersion)
	}
	var obj any
	switch kind {
	case KindBinding:
		obj = &RuntimeTenantBinding{}
	case KindEnvironment:
		obj = &Environment{}
	case "":
		errs.add(src, "kind", "required; want %s or %s", KindBinding, KindEnvironment)
		return nil
	default:
		errs.add(Source{File: file, Line: kindLine}, "kind", "unknown kind %s; want %s or %s", shown(kind), KindBinding, KindEnvironment)
		return nil
	}
	w := &walker{file: file, fields: fieldIndex{}, broken: map[string]bool{}, errs: errs}
	w.value(root, reflect.ValueOf(obj).Elem(), "")
	switch o := obj.(type) {
	case *RuntimeTenantBinding:
		o.Source = src
	case *Environment:
		o.Source = src
	}
	return &document{src: src, kind: kind, obj: obj, fields: w.fields, broken: w.broken}
}

// scalarField returns the value and line of a top-level scalar key, "" when absent or not a
// plain scalar.
func scalarField(m *yaml.Node, key string) (string, int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == key && v.Kind == yaml.ScalarNode {
			return v.Value, v.Line
		}
	}
	return "", 0
}

// walker decodes a yaml.Node tree into a Go value by reflection, driven by the Go type. It is
// our own strict decoder: unlike yaml.v3's KnownFields it reports every unknown field, duplicate
// key and type mismatch with its line instead of stopping at the first, and it records the line
// of every field it sets.
type walker struct {
	file   string
	fields fieldIndex
	broken map[string]bool
	errs   *errorList
}

// fail reports a problem with the value at path, on the line of its key when it has one, so a
// later check of the same field lands on the same line (and is merged with this one).
func (w *walker) fail(n *yaml.Node, path, format string, args ...any) {
	line := n.Line
	if l, ok := w.fields[path]; ok && l > 0 {
		line = l
	}
	w.broken[path] = true
	w.failLine(line, path, format, args...)
}

func (w *walker) failLine(line int, path, format string, args ...any) {
	w.errs.add(Source{File: w.file, Line: line}, path, format, args...)
}

func (w *walker) value(n *yaml.Node, v reflect.Value, path string) {
	if _, seen := w.fields[path]; !seen {
		w.fields[path] = n.Line
	}
	if n.Kind == yaml.AliasNode {
		// Aliases can expand exponentially or refer to themselves; desired state is reviewed
		// text, so every value is written out.
		w.fail(n, path, "YAML aliases are not supported in desired-state files; write the value out")
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // leave the zero value; required-field checks report it if needed
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		w.value(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		w.structValue(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, path, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			w.value(c, s.Index(i), fieldpath.AppendIndex(path, i))
		}
		v.Set(s)
	case reflect.Map:
		w.mapValue(n, v, path)
	case reflect.String:
		var s string
		if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
			w.fail(n, path, "must be a string")
			return
		}
		if strongSecretPattern(s) {
			w.fail(n, path, "looks like a secret value; bindings hold references only")
		}
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			w.fail(n, path, "must be an integer")
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			w.fail(n, path, "must be true or false")
			return
		}
		v.SetBool(b)
	default:
		w.fail(n, path, "cannot decode into %s", v.Type())
	}
}

func (w *walker) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "must be a mapping")
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := w.key(k, path, seen)
		if !ok {
			continue
		}
		child := fieldpath.AppendField(path, key)
		idx, known := fields[key]
		if !known {
			w.failLine(k.Line, child, "unknown field %s", shown(key))
			continue
		}
		w.fields[child] = k.Line
		w.value(val, v.Field(idx), child)
	}
}

func (w *walker) mapValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "must be a mapping")
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		w.fail(n, path, "cannot decode into %s", t)
		return
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := w.key(k, path, seen)
		if !ok {
			continue
		}
		child := fieldpath.AppendField(path, key)
		w.fields[child] = k.Line
		ev := reflect.New(t.Elem()).Elem()
		w.value(val, ev, child)
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), ev)
	}
	v.Set(m)
}

// key validates a mapping key: a plain scalar that appears once.
func (w *walker) key(k *yaml.Node, path string, seen map[string]int) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		w.failLine(k.Line, path, "mapping keys must be plain strings")
		return "", false
	}
	if strongSecretPattern(k.Value) {
		// Not even the path may carry it.
		w.failLine(k.Line, fieldpath.AppendField(path, "(redacted)"), "a mapping key looks like a secret value; bindings hold references only")
		return "", false
	}
	if first, dup := seen[k.Value]; dup {
		w.failLine(k.Line, fieldpath.AppendField(path, k.Value), "duplicate key %s; first set at line %d", shown(k.Value), first)
		return "", false
	}
	seen[k.Value] = k.Line
	return k.Value, true
}

var fieldCache sync.Map // reflect.Type -> map[string]int

// yamlFields maps the yaml names of a struct's fields to their index.
func yamlFields(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}
