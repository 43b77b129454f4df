package isolation

import (
	"fmt"
	"strings"
	"testing"
)

// setLine replaces line n (1-based) of body, which must read old, with new: the expectations
// below name lines by number, so the test fails loudly if the fixtures move.
func setLine(t *testing.T, body string, n int, old, new string) string {
	t.Helper()
	lines := strings.Split(body, "\n")
	if n < 1 || n > len(lines) || lines[n-1] != old {
		t.Fatalf("setLine: line %d is not %q", n, old)
	}
	lines[n-1] = new
	return strings.Join(lines, "\n")
}

// TestErrorsPointAtTheRealLine: syntax and field errors deep in a file, in any document of a
// multi-document file, are reported at the line to edit, not at the start of the enclosing block
// or document.
func TestErrorsPointAtTheRealLine(t *testing.T) {
	silo := sub(t, header, "name: t-dev", "name: s-dev") + siloBody // 31 lines; line 22 is "    pods: 20"
	pool := header + poolBody                                       // 21 lines
	// all.yaml: the environment (lines 1-30), "---" (31), the silo binding (32-62), "---" (63),
	// the pool binding (64-84). Line n of the silo binding is line 31+n of the file, line n of
	// the pool binding line 63+n.
	all := func(silo, pool string) string { return devEnv + "---\n" + silo + "---\n" + pool }
	const blockHint = "(inside the block that starts at line "
	tests := []struct {
		name  string
		files map[string]string
		want  []wantErr
	}{
		{"bad indent on line 22 of a binding", map[string]string{
			"environments/dev.yaml": devEnv,
			"tenants/s.yaml":        setLine(t, silo, 22, "    pods: 20", "   pods: 20"),
		}, []wantErr{{"tenants/s.yaml", "", "invalid YAML: did not find expected key " + blockHint + "6; check the indentation)", 22}}},
		{"bad indent in the second document", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "   pods: 20"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: did not find expected key " + blockHint + "37; check the indentation)", 53}}},
		{"list item inside a mapping", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "    - pods"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: did not find expected key " + blockHint + "51;", 53}}},
		{"mis-indented key of a list item", map[string]string{
			"all.yaml": all(setLine(t, silo, 14, "        addressPrefix: 10.20.0.0/22", "       addressPrefix: 10.20.0.0/22"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: did not find expected '-' indicator " + blockHint + "44;", 45}}},
		{"tab in the indentation", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "\tpods: 20"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: found a tab character that violates indentation", 53}}},
		{"missing colon", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "    pods 20"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: could not find expected ':'", 53}}},
		{"unclosed flow sequence: the line it opens on", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "    pods: [20"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: did not find expected ',' or ']'", 53}}},
		{"unterminated quoted string: the line it opens on", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", `    pods: "20`), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: found unexpected document indicator", 53}}},
		{"unterminated quoted string at the end of the file", map[string]string{
			"all.yaml": all(silo, setLine(t, pool, 21, "    team: payments", `    team: "payments`)),
		}, []wantErr{{"all.yaml", "", "invalid YAML: found unexpected end of stream", 84}}},
		{"unknown anchor, which the library reports without a line", map[string]string{
			"all.yaml": all(setLine(t, silo, 22, "    pods: 20", "    pods: *twenty"), pool),
		}, []wantErr{{"all.yaml", "", "invalid YAML: unknown anchor 'twenty' referenced", 53}}},
		{"syntax error in the third document, after two good ones", map[string]string{
			"all.yaml": all(silo, setLine(t, pool, 18, "      secretName: t-db", "     secretName: t-db")),
		}, []wantErr{{"all.yaml", "", "invalid YAML: did not find expected '-' indicator " + blockHint + "79;", 81}}},
		{"field errors deep in a multi-document file", map[string]string{
			// maxSurge adds a line to the silo binding: the pool binding starts at line 65.
			"all.yaml": all(
				setLine(t, setLine(t, silo, 22, "    pods: 20", `    pods: "20"`), 25, "      max: 3", "      max: 3\n      maxSurge: 1"),
				setLine(t, setLine(t, pool, 8, "  tier: pool", "  tier: gold"), 19, "      currentVersion: 0123456789abcdef0123456789abcdef", "      currentVersion: [1]")),
		}, []wantErr{
			{"all.yaml", "spec.quota.pods", "must be an integer", 53},
			{"all.yaml", "spec.quota.nodePool.maxSurge", `unknown field "maxSurge"`, 57},
			{"all.yaml", "spec.tier", `unknown tier "gold"`, 72},
			{"all.yaml", "spec.secrets[0].currentVersion", "must be a string", 83},
		}},
		{"duplicate key and bad value deep in an environment", map[string]string{
			"all.yaml": setLine(t, setLine(t, all(silo, pool), 29, "    storage: 20Gi", "    memory: 16Gi"), 13, "    addressSpace: [10.16.0.0/22]", "    addressSpace: [10.16.0.1/22]"),
		}, []wantErr{
			{"all.yaml", "spec.hub.addressSpace[0]", "10.16.0.1/22 has host bits set", 13},
			{"all.yaml", "spec.capacity.memory", `duplicate key "memory"; first set at line 27`, 29},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, writeTree(t, tc.files), tc.want)
		})
	}
}

// TestSyntaxErrorLineInALargeFile: the search for the line parses only the document at fault, so
// it finds the line in a file of hundreds of documents as well.
func TestSyntaxErrorLineInALargeFile(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		b.WriteString(sub(t, header, "name: t-dev", fmt.Sprintf("name: t%d-dev", i)))
		b.WriteString(strings.ReplaceAll(poolBody, ": t", fmt.Sprintf(": t%d", i)))
		b.WriteString("---\n")
	}
	// The 301st document, 22 lines each: its pods line (the 12th) is line 300*22+12.
	body := setLine(t, b.String(), 300*22+12, "    pods: 5", "   pods: 5")
	checkErrors(t, writeTree(t, map[string]string{"environments/dev.yaml": devEnv, "all.yaml": body}), []wantErr{
		{"all.yaml", "", "invalid YAML: did not find expected key (inside the block that starts at line 6606;", 6612},
	})
}
