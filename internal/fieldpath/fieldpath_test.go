package fieldpath

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		in       string
		segments int
		unit     string
		parent   string
	}{
		{"spec.policyTypes", 2, "spec.policyTypes", "spec"},
		{`metadata.labels["tenantctl.io/tenant"]`, 3, `metadata.labels["tenantctl.io/tenant"]`, "metadata.labels"},
		{"spec.template.spec.containers[name=app].image", 6, "spec.template.spec.containers[name=app].image", "spec.template.spec.containers[name=app]"},
		{"spec.ports[port=80,protocol=TCP].targetPort", 4, "spec.ports[port=80,protocol=TCP].targetPort", "spec.ports[port=80,protocol=TCP]"},
		{"spec.ingress[0].from", 4, "spec.ingress", "spec.ingress[0]"},
		{`data["a\"b"]`, 2, `data["a\"b"]`, "data"},
		{`spec.labels["a[\"b"]`, 3, `spec.labels["a[\"b"]`, "spec.labels"},
		{`data["back\\slash"]`, 2, `data["back\\slash"]`, "data"},
		{`spec.volumeMounts[mountPath="/a,b"].name`, 4, `spec.volumeMounts[mountPath="/a,b"].name`, `spec.volumeMounts[mountPath="/a,b"]`},
		{"spec.env[name=].value", 4, "spec.env[name=].value", "spec.env[name=]"},
		{"spec", 1, "spec", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := []any{len(p), p.String(), p.Unit().String(), Parent(tt.in)}
			if diff := cmp.Diff([]any{tt.segments, tt.in, tt.unit, tt.parent}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{".spec", "misplaced"},
		{"spec..x", "misplaced"},
		{"spec.", "misplaced"},
		{"[0].x", "starts with a list item"},
		{"[name=a]", "starts with a list item"},
		{"spec[name", "unterminated"},
		{`data["x`, "unterminated quoted key"},
		{"spec[=x]", "want [key=value"},
		{"spec[abc]", "want [key=value"},
		{"spec[-1]", "negative list index"},
		{"spec.a/b", "needs quoting"},
		{`spec["\q"]`, "quoted key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestBuildersRender: paths built from an object (typed key values) render as reports show them.
func TestBuildersRender(t *testing.T) {
	p := Path{}.Field("spec").Field("ports").Item([]Key{{"port", int64(80)}, {"protocol", "TCP"}}).Field("targetPort")
	if got, want := p.String(), "spec.ports[port=80,protocol=TCP].targetPort"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	q := p.At(2)
	if p.String() == q.String() || len(p) != 4 {
		t.Errorf("At changed the path it extends: %q", p)
	}
	if got := (Path{}).Field("metadata").Field("labels").Field("tenantctl.io/tenant").String(); got != `metadata.labels["tenantctl.io/tenant"]` {
		t.Errorf("quoted key: %q", got)
	}
	if got := AppendField(AppendIndex("spec.secrets", 3), "name"); got != "spec.secrets[3].name" {
		t.Errorf("AppendField/AppendIndex: %q", got)
	}
	if got := AppendField("spec.labels", "app.kubernetes.io/name"); got != `spec.labels["app.kubernetes.io/name"]` {
		t.Errorf("AppendField of a dotted key: %q", got)
	}
	if !q.HasPrefix(p) || p.HasPrefix(q) || p.Last() != "targetPort" || q.Last() != "" {
		t.Errorf("HasPrefix/Last of %q and %q", p, q)
	}
}

// textual is p with every key value as its text, the form Parse returns.
func textual(p Path) Path {
	out := make(Path, len(p))
	for i, s := range p {
		out[i] = s
		if s.Keys != nil {
			out[i].Keys = make([]Key, len(s.Keys))
			for j, k := range s.Keys {
				out[i].Keys[j] = Key{Name: k.Name, Value: ScalarText(k.Value)}
			}
		}
	}
	return out
}

// FuzzParse: whatever parses renders to a canonical form that parses back to the same path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"spec.a", `m["a.b"]`, "s.c[name=app].image", "s.p[port=80,protocol=TCP]", "s.i[0].from", `d["a\"b"]`, `s.v[p="/a,b"]`, "s.e[n=]", `s[""=x]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %#v renders as %q, which does not parse: %v", s, p, p.String(), err)
		}
		if d := cmp.Diff(p, back); d != "" {
			t.Fatalf("%q → %q changed the path (-first +second):\n%s", s, p.String(), d)
		}
		if Parent(s) != p[:len(p)-1].String() {
			t.Fatalf("Parent(%q) = %q, want %q", s, Parent(s), p[:len(p)-1].String())
		}
	})
}

// FuzzRender: any path built from names and values renders to a string that parses back to it.
func FuzzRender(f *testing.F) {
	f.Add("spec", "labels", "tenantctl.io/tenant", "name", "app", 3)
	f.Add("", `a"b`, `\`, "", ",]=", -1)
	f.Add("x\ny", "[", "]", "=", `"`, 0)
	f.Fuzz(func(t *testing.T, first, field, quoted, keyName, keyValue string, index int) {
		if first == "" {
			first = "root"
		}
		p := Path{}.Field(first).Field(field).Field(quoted).Item([]Key{{keyName, keyValue}, {"n", int64(len(keyValue))}})
		if index >= 0 {
			p = p.At(index)
		}
		back, err := Parse(p.String())
		if err != nil {
			t.Fatalf("%#v renders as %q, which does not parse: %v", p, p.String(), err)
		}
		if d := cmp.Diff(textual(p), back); d != "" {
			t.Fatalf("%q does not read back (-built +parsed):\n%s", p.String(), d)
		}
	})
}
