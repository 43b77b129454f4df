package ignore

import (
	"strings"
	"testing"

	"github.com/connectsoft/tenantctl/drift/finding"
)

// FuzzParse checks that no input panics the parser and that no rule it accepts can ignore a
// cross-tenant route without naming both of its tenants literally.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "# c", "kind=unmanaged-resource type=v1/ConfigMap name=cache-*", "!tenant=acme",
		"kind=cross-tenant-route tenant=acme peer=globex", `name="a b" field=x\*y # c`, "kind=*", "peer=*",
		"tenant=a*c peer=glob?x", "name=*a*a*a*a*a*a*a*a*b", "\uFEFFfield=spec.*\r\n!field=spec.replicas",
	} {
		f.Add(seed)
	}
	routes := []finding.Finding{fixtures["route-acme-globex"], fixtures["route-globex-acme"]}
	var all []finding.Finding
	for _, name := range fixtureNames() {
		all = append(all, fixtures[name])
	}
	f.Fuzz(func(t *testing.T, src string) {
		rs, err := Parse("fuzz", strings.NewReader(src))
		if err != nil {
			return
		}
		rs.Apply(all)
		for _, r := range rs.List() {
			again, err := Parse("again", strings.NewReader(r.String()))
			if err != nil || len(again.List()) != 1 {
				t.Fatalf("canonical form %q of %q does not parse back: %v", r.String(), r.Text, err)
			}
			if r.Negate {
				continue
			}
			for _, route := range routes {
				if !r.Matches(route) {
					continue
				}
				tenant, okT := r.term(KeyTenant)
				peer, okP := r.term(KeyPeer)
				if !okT || !okP || !tenant.literal() || !peer.literal() {
					t.Fatalf("rule %q ignores route %s→%s without naming both tenants", r.Text, route.TenantID, route.PeerTenant)
				}
			}
		}
	})
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "a/b.c", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "abd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"*a*a*b", "xaxab", true},
		{"ü*", "über", true},
	}
	for _, tt := range tests {
		rs, err := Parse("g", strings.NewReader("name="+tt.pat))
		if tt.pat == "" {
			rs, err = Parse("g", strings.NewReader(`name=""`))
		}
		if err != nil {
			t.Fatal(err)
		}
		p, _ := rs.List()[0].term(KeyName)
		if got := p.match(tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}
