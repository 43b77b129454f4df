package netpol

import "testing"

func TestCalicoSelector(t *testing.T) {
	labels := map[string]string{"tenantctl.io/tenant": "acme", "zone": "a", "pool": "silo-acme"}
	tests := []struct {
		expr string
		want bool
		bad  bool
	}{
		{expr: "all()", want: true},
		{expr: "has(zone)", want: true},
		{expr: "!has(zone)", want: false},
		{expr: "tenantctl.io/tenant == 'acme'", want: true},
		{expr: `tenantctl.io/tenant == "globex"`, want: false},
		{expr: "tenantctl.io/tenant != 'globex'", want: true},
		{expr: "missing != 'x'", want: true},
		{expr: "zone in {'a', 'b'}", want: true},
		{expr: "zone not in {'a'}", want: false},
		{expr: "missing in {'a'}", want: false},
		{expr: "pool starts with 'silo-' && pool ends with 'acme' && pool contains 'o-a'", want: true},
		{expr: "(zone == 'b' || zone == 'a') && !(tenantctl.io/tenant == 'globex')", want: true},
		{expr: "zone == 'b' || has(nothing)", want: false},
		{expr: "zone ==", bad: true},
		{expr: "zone = 'a'", bad: true},
		{expr: "(zone == 'a'", bad: true},
		{expr: "zone in {'a'", bad: true},
		{expr: "zone == 'a' garbage", bad: true},
	}
	for _, tc := range tests {
		sel, err := parseCalicoSelector(tc.expr)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: parsed, want an error", tc.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := sel.matches(labels); got != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
