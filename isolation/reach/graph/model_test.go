package graph

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

func ports(t *testing.T, specs ...string) PortSet {
	t.Helper()
	var rs []PortRange
	for _, s := range specs {
		r, err := ParsePortRange(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return Ports(rs...)
}

func TestPortSetAlgebra(t *testing.T) {
	tests := []struct {
		name         string
		a, b         []string
		union, inter string
	}{
		{"all absorbs", []string{"*"}, []string{"TCP/80"}, "*", "TCP/80"},
		{"disjoint ports", []string{"TCP/80"}, []string{"TCP/443"}, "TCP/80, TCP/443", "none"},
		{"protocols differ", []string{"TCP/53"}, []string{"UDP/53"}, "TCP/53, UDP/53", "none"},
		{"ranges overlap", []string{"TCP/8000-8100"}, []string{"TCP/8050-9000"}, "TCP/8000-9000", "TCP/8050-8100"},
		{"adjacent ranges merge", []string{"TCP/1-10"}, []string{"TCP/11-20"}, "TCP/1-20", "none"},
		{"any protocol meets TCP", []string{"*/443"}, []string{"TCP/*"}, "*/443, TCP/*", "TCP/443"},
		{"named port meets a range as the name", []string{"TCP/http"}, []string{"TCP/1-1024"}, "TCP/1-1024, TCP/http", "TCP/http"},
		{"every TCP port absorbs TCP ranges", []string{"TCP/*"}, []string{"TCP/22", "UDP/53"}, "TCP/*, UDP/53", "TCP/22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := ports(t, tc.a...), ports(t, tc.b...)
			if got := a.Union(b).String(); got != tc.union {
				t.Errorf("union = %q, want %q", got, tc.union)
			}
			if got := a.Intersect(b).String(); got != tc.inter {
				t.Errorf("intersection = %q, want %q", got, tc.inter)
			}
			if got := b.Intersect(a).String(); got != tc.inter {
				t.Errorf("intersection is not symmetric: %q", got)
			}
		})
	}
}

func TestPortSetJSON(t *testing.T) {
	in := ports(t, "TCP/53", "UDP/53", "TCP/8000-8080")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["TCP/53","TCP/8000-8080","UDP/53"]` {
		t.Errorf("json = %s", b)
	}
	var out PortSet
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	for _, bad := range []string{"80", "TCP/0", "TCP/9-1", "TCP/1-x"} {
		if _, err := ParsePortRange(bad); err == nil {
			t.Errorf("ParsePortRange(%q) accepted", bad)
		}
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestTrieQueries(t *testing.T) {
	var tr Trie[string]
	for _, e := range []struct{ p, v string }{
		{"10.0.0.0/8", "agg"}, {"10.16.0.0/16", "platform"}, {"10.20.0.0/16", "acme"}, {"10.20.8.0/24", "acme-endpoints"}, {"fd00::/8", "v6"},
	} {
		tr.Insert(pfx(e.p), e.v)
	}
	collect := func(q func(netip.Prefix, func(netip.Prefix, string) bool), p string) []string {
		var out []string
		q(pfx(p), func(_ netip.Prefix, v string) bool { out = append(out, v); return true })
		return out
	}
	if diff := cmp.Diff([]string{"agg", "acme"}, collect(tr.Covering, "10.20.1.0/24")); diff != "" {
		t.Errorf("covering (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"acme", "acme-endpoints"}, collect(tr.Within, "10.20.0.0/16")); diff != "" {
		t.Errorf("within (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"agg", "platform", "acme", "acme-endpoints"}, collect(tr.Overlapping, "10.16.0.0/12")); diff != "" {
		t.Errorf("overlapping (-want +got):\n%s", diff)
	}
	if _, v, ok := tr.Longest(pfx("10.20.8.7/32")); !ok || v[0] != "acme-endpoints" {
		t.Errorf("longest = %v", v)
	}
	if got := collect(tr.Covering, "192.168.0.0/16"); got != nil {
		t.Errorf("covering outside = %v", got)
	}
	if got := collect(tr.Covering, "fd00:1::/32"); !slices.Equal(got, []string{"v6"}) {
		t.Errorf("IPv6 covering = %v", got)
	}
}

func strs(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestAddressSetOperations(t *testing.T) {
	got := Subtract(pfx("10.0.0.0/24"), []netip.Prefix{pfx("10.0.0.0/26"), pfx("10.0.0.128/25")})
	if diff := cmp.Diff([]string{"10.0.0.64/26"}, strs(got)); diff != "" {
		t.Errorf("subtract (-want +got):\n%s", diff)
	}
	if got := Subtract(pfx("10.0.0.0/24"), []netip.Prefix{pfx("10.0.0.0/8")}); got != nil {
		t.Errorf("subtracting a covering range leaves %v", got)
	}
	for _, tc := range []struct {
		p   string
		set []string
		c   Coverage
	}{
		{"10.20.0.0/16", []string{"10.0.0.0/8"}, CoverFull},
		{"10.20.0.0/16", []string{"10.20.0.0/17", "10.20.128.0/17"}, CoverFull},
		{"10.20.0.0/16", []string{"10.20.0.0/17"}, CoverPartial},
		{"10.20.0.0/16", []string{"10.30.0.0/16"}, CoverNone},
		{"10.20.0.0/16", []string{"fd00::/8"}, CoverNone},
	} {
		var set []netip.Prefix
		for _, s := range tc.set {
			set = append(set, pfx(s))
		}
		if got := Cover(pfx(tc.p), set); got != tc.c {
			t.Errorf("Cover(%s, %v) = %v, want %v", tc.p, tc.set, got, tc.c)
		}
	}
	r := RangePrefixes(netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.20"))
	want := []string{"10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29", "10.0.0.16/30", "10.0.0.20/32"}
	if diff := cmp.Diff(want, strs(r)); diff != "" {
		t.Errorf("range prefixes (-want +got):\n%s", diff)
	}
}

func TestScopeOwnership(t *testing.T) {
	env := &isolation.Environment{Metadata: isolation.ObjectMeta{Name: "dev"}, Spec: isolation.EnvironmentSpec{
		PlatformAddressSpace: []string{"10.16.0.0/16"},
		Hub:                  isolation.HubSpec{AddressSpace: []string{"10.16.0.0/22"}},
		AllowedRoutes:        []isolation.AllowedRoute{{From: "acme", To: "globex", Reason: "export"}},
	}}
	acme := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: "acme", Environment: "dev", Tier: isolation.TierSilo,
		Network: &isolation.NetworkSpec{AddressSpace: []string{"10.20.0.0/16"}},
		Secrets: []isolation.SecretBinding{{Name: "db", KeyVaultRef: "https://kv-acme-dev.vault.azure.net", SecretName: "db"}}}}
	pool := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: "globex", Environment: "dev", Tier: isolation.TierPool}}
	other := &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: "hooli", Environment: "prod", Tier: isolation.TierPool}}
	s, err := NewScope(env, []*isolation.RuntimeTenantBinding{acme, pool, other})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme", "globex"}, s.TenantIDs()); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	for p, want := range map[string]string{"10.20.1.0/24": "acme", "10.16.0.0/24": isolation.Platform, "10.30.0.0/16": "", "10.0.0.0/8": ""} {
		if got := s.OwnerOf(pfx(p)); got != want {
			t.Errorf("OwnerOf(%s) = %q, want %q", p, got, want)
		}
	}
	if id, ok := s.DeclaredNamespace("t-globex"); !ok || id != "globex" {
		t.Errorf("t-globex declared for %q", id)
	}
	if id, ok := s.VaultOwner("KV-ACME-DEV"); !ok || id != "acme" {
		t.Errorf("vault owner %q", id)
	}
	if _, ok := s.Allowed("acme", "globex"); !ok {
		t.Error("declared route not allowed")
	}
	if _, ok := s.Allowed("globex", "acme"); ok {
		t.Error("routes are directed: the reverse is not declared")
	}
}

// TestTableMatchesTrie checks the list form of a Table answers as a Trie, before and after it
// grows into one.
func TestTableMatchesTrie(t *testing.T) {
	for _, n := range []int{5, smallTable + 10} {
		var tab Table[int]
		var tr Trie[int]
		for i := range n {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)
			tab.Insert(p, i)
			tr.Insert(p, i)
		}
		tab.Insert(pfx("10.0.0.0/8"), -1)
		tr.Insert(pfx("10.0.0.0/8"), -1)
		for _, q := range []string{"10.3.1.0/24", "10.0.0.0/8", "10.200.0.0/16", "192.168.0.0/16"} {
			var a, b []int
			tab.Covering(pfx(q), func(_ netip.Prefix, v int) bool { a = append(a, v); return true })
			tr.Covering(pfx(q), func(_ netip.Prefix, v int) bool { b = append(b, v); return true })
			if !slices.Equal(a, b) {
				t.Errorf("n=%d covering %s: table %v, trie %v", n, q, a, b)
			}
			a, b = nil, nil
			tab.Within(pfx(q), func(_ netip.Prefix, v int) bool { a = append(a, v); return true })
			tr.Within(pfx(q), func(_ netip.Prefix, v int) bool { b = append(b, v); return true })
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("n=%d within %s: table %v, trie %v", n, q, a, b)
			}
			lp, lv, lok := tab.Longest(pfx(q))
			tp, tv, tok := tr.Longest(pfx(q))
			if lp != tp || lok != tok || !slices.Equal(lv, tv) {
				t.Errorf("n=%d longest %s: table %v %v, trie %v %v", n, q, lp, lv, tp, tv)
			}
		}
	}
}
