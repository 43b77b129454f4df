package tenantplan

import (
	"strings"
	"testing"
)

func TestPGNamesFitAndStayDistinct(t *testing.T) {
	long := strings.Repeat("a", 60) + "-bc"
	longer := strings.Repeat("a", 60) + "-bd"
	tests := []struct {
		name string
		fn   func(string) string
	}{
		{"owner", PGOwnerRole}, {"login", PGLoginRole}, {"database", PGDatabase}, {"schema", PGSchema}, {"policy", PGPolicyName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, id := range []string{"acme", "select", long} {
				got := tc.fn(id)
				if len(got) > maxPGIdent {
					t.Errorf("%s(%q) = %q: %d bytes", tc.name, id, got, len(got))
				}
				if !strings.HasPrefix(got, "t_") {
					t.Errorf("%s(%q) = %q: no tenant prefix", tc.name, id, got)
				}
			}
			if tc.fn(long) == tc.fn(longer) {
				t.Errorf("%s: two long ids collide on %q", tc.name, tc.fn(long))
			}
			if tc.fn("a-b") == tc.fn("ab") {
				t.Errorf("%s: a-b and ab collide", tc.name)
			}
		})
	}
	if got := PGLoginRole("acme-corp"); got != "t_acme_corp_app" {
		t.Errorf("PGLoginRole(acme-corp) = %q", got)
	}
}
