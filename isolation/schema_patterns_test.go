package isolation

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// The schema's hand-written patterns must accept exactly what the loader's parsers accept, so an
// editor never flags a value tenantctl validate takes, nor passes a malformed one. Each test
// compares a pattern with its parser on many generated values, valid and broken.

// ipv6Texts returns text forms of random IPv6 addresses: full, with leading zeros, compressed at
// a zero run, upper case, with an IPv4 tail, and broken variants of them.
func ipv6Texts(r *rand.Rand, n int) []string {
	var out []string
	for range n {
		var g [8]uint16
		for i := range g {
			g[i] = uint16(r.IntN(1 << 16))
		}
		zs, zl := r.IntN(8), r.IntN(9) // a run of zero groups to compress
		for i := zs; i < min(8, zs+zl); i++ {
			g[i] = 0
		}
		hex := func(v uint16) string {
			s := fmt.Sprintf("%x", v)
			if r.IntN(4) == 0 {
				s = strings.Repeat("0", 4-len(s)) + s
			}
			if r.IntN(3) == 0 {
				s = strings.ToUpper(s)
			}
			return s
		}
		groups := make([]string, 8)
		for i, v := range g {
			groups[i] = hex(v)
		}
		ipv4Tail := r.IntN(4) == 0
		if ipv4Tail {
			groups = append(groups[:6], fmt.Sprintf("%d.%d.%d.%d", g[6]>>8, g[6]&0xff, g[7]>>8, g[7]&0xff))
		}
		full := strings.Join(groups, ":")
		out = append(out, full)
		// Compress the zero run (within the hex groups) with "::".
		end := min(len(groups), zs+zl)
		if ipv4Tail {
			end = min(end, 6)
		}
		if zl > 0 && zs < end {
			out = append(out, strings.Join(groups[:zs], ":")+"::"+strings.Join(groups[end:], ":"))
		}
		// Broken forms.
		out = append(out,
			full+":1",                           // nine groups
			strings.Replace(full, ":", "::", 2), // two ellipses, or a group too many
			strings.Replace(full, ":", ":12345", 1),
			strings.Replace(full, ":", ":g", 1),
			strings.Join(groups[1:], ":"), // seven groups
			":"+full,
		)
	}
	return append(out, "::", "::1", "1::", "::ffff:10.1.2.3", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6::7:8",
		"1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "::1.2.3.04", "fe80::1%eth0", ":::", "1:::2", "1::2::3", "")
}

func ipv4Texts(r *rand.Rand, n int) []string {
	out := []string{"0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-1", "1..2.3", " 1.2.3.4"}
	for range n {
		a := fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		out = append(out, a, a+"0", "0"+a, strings.Replace(a, ".", "..", 1), fmt.Sprintf("%d.%d.%d.%d", r.IntN(300), r.IntN(300), r.IntN(300), r.IntN(300)))
	}
	return out
}

func TestCIDRPatternIsParsePrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	re := regexp.MustCompile(cidrPattern)
	var texts []string
	for _, a := range ipv4Texts(r, 300) {
		texts = append(texts, a+"/"+fmt.Sprint(r.IntN(34)), a+"/08", a+"/", a)
	}
	for _, a := range ipv6Texts(r, 400) {
		texts = append(texts, a+"/"+fmt.Sprint(r.IntN(131)), a+"/064", a)
	}
	texts = append(texts, "10.0.0.0/8", "10.0.0.0/-1", "10.0.0.0/+8", "::/0", "::/128", "::/129", "10.0.0.0/8/8", "fe80::/10%eth0")
	valid := map[bool]int{}
	for _, s := range texts {
		_, err := netip.ParsePrefix(s)
		valid[err == nil]++
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("cidr pattern matches %q = %v, netip.ParsePrefix accepts it = %v (%v)", s, got, want, err)
		}
	}
	// Both sides of the comparison must be well represented.
	if valid[true] < 500 || valid[false] < 500 {
		t.Errorf("corpus: %d valid, %d invalid prefixes; want at least 500 of each", valid[true], valid[false])
	}
}

func TestIPPatternIsParseAddr(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	re := regexp.MustCompile(ipPattern)
	for _, s := range append(ipv4Texts(r, 300), ipv6Texts(r, 400)...) {
		_, err := netip.ParseAddr(s)
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("ip pattern matches %q = %v, netip.ParseAddr accepts it = %v (%v)", s, got, want, err)
		}
	}
}

// TestQuantityPattern: every quantity the loader accepts (positive) matches, and nothing matches
// that does not parse or is negative.
func TestQuantityPattern(t *testing.T) {
	re := regexp.MustCompile(quantityPattern)
	var texts []string
	for _, n := range []string{"0", "1", "2", "500", "1.5", "0.5", ".5", "5.", "+2", "-2", "-0.5", "1.2.3", "", ".", "1e", "e3", "0x10", " 1", "1 "} {
		for _, suffix := range []string{"", "m", "n", "u", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "E3", "e-3", "E+2", "K", "ki", "mi", "Gb", "i", "%"} {
			texts = append(texts, n+suffix)
		}
	}
	for _, s := range texts {
		q, err := resource.ParseQuantity(s)
		matches := re.MatchString(s)
		if matches && (err != nil || q.Sign() < 0) {
			t.Errorf("quantity pattern matches %q, which the loader refuses (%v)", s, err)
		}
		if !matches && err == nil && q.Sign() > 0 {
			t.Errorf("quantity pattern does not match %q, a positive quantity", s)
		}
	}
}

func TestKubernetesNamePatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "abAZ09-_./"
	word := func() string {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	texts := []string{"", "a", "app.kubernetes.io/name", "a/b/c", "/a", "a/", "-a", "a-", strings.Repeat("a", 63), strings.Repeat("a", 64), "x/" + strings.Repeat("a", 64)}
	for range 3000 {
		texts = append(texts, word())
	}
	key, value, subdomain := regexp.MustCompile(labelKeyPattern), regexp.MustCompile(labelValuePattern), regexp.MustCompile(dnsSubdomainPattern)
	for _, s := range texts {
		if got, want := key.MatchString(s), len(content.IsLabelKey(s)) == 0; got != want {
			t.Errorf("label key pattern matches %q = %v, the loader accepts it = %v", s, got, want)
		}
		if got, want := value.MatchString(s), len(content.IsLabelValue(s)) == 0; got != want {
			t.Errorf("label value pattern matches %q = %v, the loader accepts it = %v", s, got, want)
		}
		// The schema bounds the length with maxLength.
		if got, want := subdomain.MatchString(s) && len(s) <= 253, len(content.IsDNS1123Subdomain(s)) == 0; got != want {
			t.Errorf("subdomain pattern matches %q = %v, the loader accepts it = %v", s, got, want)
		}
	}
}

func TestKeyVaultRefPatterns(t *testing.T) {
	uri := regexp.MustCompile(keyVaultURIPattern)
	name := regexp.MustCompile(vaultName.String())
	for _, s := range []string{
		"kv-acme-dev", "kv", "kv--acme", "1kv", "https://kv-acme-dev.vault.azure.net", "https://kv-acme-dev.vault.azure.net/",
		"https://KV-ACME.VAULT.AZURE.NET", "https://kv-acme.vault.azure.cn", "https://kv-acme.vault.usgovcloudapi.net",
		"http://kv-acme.vault.azure.net", "https://kv-acme.vault.azure.net/secrets", "https://kv-acme.vault.azure.net:443",
		"https://kv-acme.example.com", "https://u@kv-acme.vault.azure.net",
	} {
		_, loader := VaultName(s)
		schema := (name.MatchString(s) && !strings.Contains(s, "--")) || uri.MatchString(s)
		// The loader also refuses a URI whose vault name has "--"; the schema's URI pattern does
		// not look that closely.
		if schema != loader {
			t.Errorf("keyVaultRef %q: schema accepts = %v, loader accepts = %v", s, schema, loader)
		}
	}
}

// TestSchemaRulesNameRealFields: a rule or a required field that names no field (after a rename
// in types.go, say) is an error, not a silently weaker schema.
func TestSchemaRulesNameRealFields(t *testing.T) {
	tests := []struct {
		name  string
		rules map[string]func(*schema)
		req   map[string][]string
		want  string
	}{
		{"rule for a missing field", map[string]func(*schema){"spec.tenantID": str("x")}, nil, "a rule names spec.tenantID, which is not a field"},
		{"required field that is not a property", nil, map[string][]string{"spec": {"tenantID"}}, `required field tenantID of "spec" is not a property`},
		{"required fields of a missing object", nil, map[string][]string{"spec.nope": {"x"}}, "required fields of spec.nope, which is not an object"},
		{"undefined definition", map[string]func(*schema){"spec.tier": ref("nope")}, nil, "spec.tier refers to the undefined #/$defs/nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generateSchema(KindBinding, RuntimeTenantBinding{}, tc.rules, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
