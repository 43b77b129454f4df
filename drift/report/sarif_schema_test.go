package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The SARIF reports are checked against the OASIS SARIF 2.1.0 schema itself (draft-04, formats
// asserted), vendored in testdata with its origin, so the check runs without network access.
const (
	sarifSchemaFile   = "testdata/sarif-schema-2.1.0.json"
	sarifSchemaSHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
)

var oasisSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sarifSchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// Registered under the id the reports name as their $schema, so the compiler never fetches
	// it (nor anything else).
	if err := c.AddResource(sarifSchema, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchema)
})

// validateSARIF returns every violation of the SARIF schema in doc (decoded JSON), one line per
// failing keyword: "<instance JSON pointer>: <keyword>: <message>", sorted.
func validateSARIF(t *testing.T, doc any) []string {
	t.Helper()
	sch, err := oasisSchema()
	if err != nil {
		t.Fatalf("SARIF schema: %v", err)
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		t.Fatalf("validate: %v", err)
	}
	var out []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		kw := u.KeywordLocation[strings.LastIndexByte(u.KeywordLocation, '/')+1:]
		out = append(out, fmt.Sprintf("%s: %s: %s", u.InstanceLocation, kw, u.Error))
	}
	slices.Sort(out)
	return out
}

func TestSARIFSchemaIsTheOASISOne(t *testing.T) {
	b, err := os.ReadFile(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != sarifSchemaSHA256 {
		t.Errorf("%s has sha256 %s, not the vendored copy's %s (see its .origin file)", sarifSchemaFile, got, sarifSchemaSHA256)
	}
	if _, err := oasisSchema(); err != nil {
		t.Fatal(err)
	}
}
