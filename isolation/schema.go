package isolation

import (
	"bytes"
	_ "embed" // the doc comments of types.go become the schema's descriptions
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strings"
)

//go:generate go run ./internal/schemagen -out ../schema

// SchemaBaseURL is where the committed schemas are published; a schema's $id is this URL and its
// file name (SchemaFile).
const SchemaBaseURL = "https://raw.githubusercontent.com/connectsoft/tenantctl/main/schema/"

// SchemaKinds lists the document kinds that have a JSON Schema.
var SchemaKinds = []string{KindBinding, KindEnvironment}

// SchemaFile is the file name of kind's schema in the repository's schema/ folder, "" for a kind
// without one.
func SchemaFile(kind string) string {
	switch kind {
	case KindBinding:
		return "runtime-tenant-binding.schema.json"
	case KindEnvironment:
		return "environment.schema.json"
	}
	return ""
}

// JSONSchema returns the JSON Schema (draft 2020-12) of the documents of kind (KindBinding or
// KindEnvironment), indented and ending in a newline.
//
// It is generated from the Go types the loader decodes into: the properties and their YAML names,
// the descriptions (the types' doc comments), and the rules of this package's checks that hold
// for one document on its own: required fields, enums, the patterns of the same regular
// expressions the checks use, bounds and the rules that follow from the tier or the target. What
// depends on other documents (the environment a binding names, overlaps, the shared vault's name)
// and a few value checks (CIDR host bits, quantities against capacity, secret-looking values)
// stay with the loader: a document the schema accepts may still fail `tenantctl validate`, but
// one the loader accepts passes the schema, except that the schema wants an optional field with
// an empty value ("" or nothing after the colon) left out, a string that looks like a number
// quoted, booleans as true or false (not yes or no) and engine names in lowercase.
func JSONSchema(kind string) ([]byte, error) {
	var (
		root  any
		rules map[string]func(*schema)
		req   map[string][]string
	)
	switch kind {
	case KindBinding:
		root, rules, req = RuntimeTenantBinding{}, bindingRules(), bindingRequired
	case KindEnvironment:
		root, rules, req = Environment{}, environmentRules(), environmentRequired
	default:
		return nil, fmt.Errorf("no JSON Schema for kind %q; want %s or %s", kind, KindBinding, KindEnvironment)
	}
	return generateSchema(kind, root, rules, req)
}

// generateSchema builds the schema of root's type with the rules and required fields of kind.
func generateSchema(kind string, root any, rules map[string]func(*schema), req map[string][]string) ([]byte, error) {
	g, err := newSchemaGenerator()
	if err != nil {
		return nil, err
	}
	g.rules, g.required = rules, req
	s := g.typeSchema(reflect.TypeOf(root), "")
	if g.err != nil {
		return nil, fmt.Errorf("schema of %s: %w", kind, g.err)
	}
	for _, p := range sortedMapKeys(g.rules) {
		if !g.used[p] {
			return nil, fmt.Errorf("schema of %s: a rule names %s, which is not a field", kind, p)
		}
	}
	for _, p := range sortedMapKeys(g.required) {
		if !g.usedRequired[p] {
			return nil, fmt.Errorf("schema of %s: required fields of %s, which is not an object", kind, p)
		}
	}
	for _, name := range sortedMapKeys(g.defs) {
		if s.Defs == nil {
			s.Defs = &properties{}
		}
		s.Defs.set(name, g.defs[name])
	}
	s.Schema = "https://json-schema.org/draft/2020-12/schema"
	s.ID = SchemaBaseURL + SchemaFile(kind)
	s.Title = kind
	s.Comment = "Generated from the Go types of github.com/connectsoft/tenantctl/isolation (make schema); do not edit. The loader (tenantctl validate) checks more: see docs/bindings.md."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("schema of %s: %w", kind, err)
	}
	return buf.Bytes(), nil
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// schema is one JSON Schema (draft 2020-12) node; fields are in the order a reader expects them.
type schema struct {
	Schema           string      `json:"$schema,omitempty"`
	ID               string      `json:"$id,omitempty"`
	Comment          string      `json:"$comment,omitempty"`
	Ref              string      `json:"$ref,omitempty"`
	Title            string      `json:"title,omitempty"`
	Description      string      `json:"description,omitempty"`
	Type             string      `json:"type,omitempty"`
	Const            string      `json:"const,omitempty"`
	Enum             []string    `json:"enum,omitempty"`
	Pattern          string      `json:"pattern,omitempty"`
	MinLength        *int        `json:"minLength,omitempty"`
	MaxLength        *int        `json:"maxLength,omitempty"`
	Minimum          *int        `json:"minimum,omitempty"`
	ExclusiveMinimum *int        `json:"exclusiveMinimum,omitempty"`
	MinItems         *int        `json:"minItems,omitempty"`
	UniqueItems      bool        `json:"uniqueItems,omitempty"`
	Items            *schema     `json:"items,omitempty"`
	Contains         *schema     `json:"contains,omitempty"`
	Required         []string    `json:"required,omitempty"`
	Properties       *properties `json:"properties,omitempty"`
	PropertyNames    *schema     `json:"propertyNames,omitempty"`
	// AdditionalProperties is the schema of a map's values, or never for a struct: the loader
	// refuses unknown fields.
	AdditionalProperties *schema     `json:"additionalProperties,omitempty"`
	AnyOf                []*schema   `json:"anyOf,omitempty"`
	AllOf                []*schema   `json:"allOf,omitempty"`
	Not                  *schema     `json:"not,omitempty"`
	If                   *schema     `json:"if,omitempty"`
	Then                 *schema     `json:"then,omitempty"`
	Else                 *schema     `json:"else,omitempty"`
	Defs                 *properties `json:"$defs,omitempty"`

	never bool // the schema false: nothing is valid
}

// never is the schema false: the property may not be there.
func never() *schema { return &schema{never: true} }

func (s *schema) MarshalJSON() ([]byte, error) {
	if s.never {
		return []byte("false"), nil
	}
	type plain schema // without the method, to encode the fields
	return marshalPlain((*plain)(s))
}

// marshalPlain encodes v without escaping <, > and & (descriptions say "<tenantId>").
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// properties keeps the properties in the order of the Go fields (apiVersion, kind, metadata,
// spec), which is the order documents are written in.
type properties struct {
	names []string
	byKey map[string]*schema
}

func props(kv ...any) *properties {
	p := &properties{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.set(kv[i].(string), kv[i+1].(*schema))
	}
	return p
}

func (p *properties) set(name string, s *schema) {
	if p.byKey == nil {
		p.byKey = map[string]*schema{}
	}
	if _, ok := p.byKey[name]; !ok {
		p.names = append(p.names, name)
	}
	p.byKey[name] = s
}

func (p *properties) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, n := range p.names {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalPlain(n)
		if err != nil {
			return nil, err
		}
		v, err := marshalPlain(p.byKey[n])
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// schemaGenerator builds a schema from a Go type by reflection, the way the decoder walks it
// (yaml names, pointers as their element), then applies the rules kept by field path: "spec.tier",
// "spec.secrets[]" for the items of a list, "spec.labels.*" for the values of a map.
type schemaGenerator struct {
	docs         map[string]string // "Type" and "Type.Field" -> doc comment
	rules        map[string]func(*schema)
	required     map[string][]string
	used         map[string]bool
	usedRequired map[string]bool
	defs         map[string]*schema // the $defs the rules referred to
	err          error              // the first type or rule the generator cannot express
}

func (g *schemaGenerator) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf(format, args...)
	}
}

//go:embed types.go
var typesSource string

func newSchemaGenerator() (*schemaGenerator, error) {
	docs, err := docComments(typesSource)
	if err != nil {
		return nil, fmt.Errorf("schema: doc comments of types.go: %w", err)
	}
	return &schemaGenerator{docs: docs, used: map[string]bool{}, usedRequired: map[string]bool{}, defs: map[string]*schema{}}, nil
}

// docComments reads the doc comments of the types and struct fields declared in src.
func docComments(src string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "types.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil && len(gd.Specs) == 1 {
				doc = gd.Doc
			}
			out[ts.Name.Name] = commentText(doc)
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := commentText(field.Doc)
				if text == "" {
					text = commentText(field.Comment)
				}
				for _, n := range field.Names {
					out[ts.Name.Name+"."+n.Name] = text
				}
			}
		}
	}
	return out, nil
}

// commentText joins the lines of each paragraph of a comment: descriptions are reflowed by the
// editor showing them.
func commentText(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(cg.Text()), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n\n")
}

func (g *schemaGenerator) typeSchema(t reflect.Type, path string) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s *schema
	switch t.Kind() {
	case reflect.Struct:
		s = &schema{Type: "object", Properties: &properties{}, AdditionalProperties: never()}
		for name, idx := range orderedYAMLFields(t) {
			f := t.Field(idx)
			child := name
			if path != "" {
				child = path + "." + name
			}
			fs := g.typeSchema(f.Type, child)
			if d := g.docs[t.Name()+"."+f.Name]; d != "" {
				fs.Description = d
			}
			s.Properties.set(name, fs)
		}
		if req, ok := g.required[path]; ok {
			g.usedRequired[path] = true
			g.require(s, path, req...)
		}
	case reflect.Slice:
		s = &schema{Type: "array", Items: g.typeSchema(t.Elem(), path+"[]")}
	case reflect.Map:
		s = &schema{Type: "object", AdditionalProperties: g.typeSchema(t.Elem(), path+".*")}
	case reflect.String:
		s = &schema{Type: "string"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = &schema{Type: "integer"}
	case reflect.Bool:
		s = &schema{Type: "boolean"}
	default:
		g.fail("no JSON Schema for Go type %s at %s", t, path)
		s = &schema{}
	}
	if t.Name() != "" && t.PkgPath() == reflect.TypeOf(Source{}).PkgPath() {
		s.Description = g.docs[t.Name()]
	}
	if r, ok := g.rules[path]; ok {
		g.used[path] = true
		r(s)
	}
	if strings.HasPrefix(s.Ref, "#/$defs/") {
		name := strings.TrimPrefix(s.Ref, "#/$defs/")
		if def, ok := definitions[name]; ok {
			g.defs[name] = def()
		} else {
			g.fail("%s refers to the undefined %s", path, s.Ref)
		}
	}
	return s
}

// definitions are the schemas that several fields share, kept once under $defs so that the
// long patterns are not repeated (and an editor's message names the definition).
var definitions = map[string]func() *schema{
	"cidr": func() *schema {
		return &schema{
			Description: "An IPv4 or IPv6 network in CIDR notation, e.g. 10.20.0.0/16. The address must be the network's own (no host bits set), which tenantctl validate checks.",
			Type:        "string", Pattern: cidrPattern,
		}
	},
	"ipAddress": func() *schema {
		return &schema{Description: "An IPv4 or IPv6 address.", Type: "string", Pattern: ipPattern}
	},
	"quantity": func() *schema {
		return &schema{
			Description: "A positive quantity in Kubernetes notation (500m, 2, 4Gi), or a plain number. tenantctl validate also refuses zero and compares it with the environment's capacity.",
			AnyOf:       []*schema{{Type: "string", Pattern: quantityPattern}, {Type: "number", ExclusiveMinimum: ptrTo(0)}},
		}
	},
}

// ref makes a field use one of the definitions.
func ref(name string) func(*schema) {
	return func(s *schema) { s.Type, s.Ref = "", "#/$defs/"+name }
}

// require marks properties of an object required; a required string with no other constraint
// must not be empty, since the loader treats "" as missing.
func (g *schemaGenerator) require(s *schema, path string, names ...string) {
	for _, n := range names {
		p := s.Properties.byKey[n]
		if p == nil {
			g.fail("required field %s of %q is not a property", n, path)
			continue
		}
		if p.Type == "string" && p.Pattern == "" && p.Enum == nil && p.Const == "" {
			p.MinLength = ptrTo(1)
		}
	}
	s.Required = append(s.Required, names...)
}

// orderedYAMLFields yields the yaml names of t's fields in declaration order.
func orderedYAMLFields(t reflect.Type) func(yield func(string, int) bool) {
	return func(yield func(string, int) bool) {
		byIndex := map[int]string{}
		for name, idx := range yamlFields(t) {
			byIndex[idx] = name
		}
		for i := 0; i < t.NumField(); i++ {
			if name, ok := byIndex[i]; ok && !yield(name, i) {
				return
			}
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
