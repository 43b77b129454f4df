package ignore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/internal/errkind"
)

// fixtures are the findings the rule tests match against, by short name.
var fixtures = map[string]finding.Finding{
	"cm-cache": {Kind: finding.KindUnmanagedResource, TenantID: "acme", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "tenant-acme", Name: "cache-7f9c"}},
	"cm-other": {Kind: finding.KindUnmanagedResource, TenantID: "acme", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "v1/ConfigMap", Namespace: "tenant-acme", Name: "settings"}},
	"replicas-acme": {Kind: finding.KindManagedDrift, TenantID: "acme", Environment: "prod", Field: "spec.replicas",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api"}},
	"replicas-globex": {Kind: finding.KindManagedDrift, TenantID: "globex", Environment: "dev", Field: "spec.replicas",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-globex", Name: "api"}},
	"annotation": {Kind: finding.KindManagedDrift, TenantID: "globex", Environment: "dev", Field: "metadata.annotations.deployed-by",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-globex", Name: "api"}},
	"route-acme-globex": {Kind: finding.KindCrossTenantRoute, TenantID: "acme", PeerTenant: "globex", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "networking.k8s.io/v1/NetworkPolicy", Namespace: "tenant-acme", Name: "allow-globex"}},
	"route-globex-acme": {Kind: finding.KindCrossTenantRoute, TenantID: "globex", PeerTenant: "acme", Environment: "prod",
		Resource: finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", Name: "to-acme",
			ID: "/subscriptions/s/resourceGroups/rg-globex/providers/Microsoft.Network/virtualNetworks/globex/virtualNetworkPeerings/to-acme"}},
	"image": {Kind: finding.KindUnpinnedImage, TenantID: "acme", Environment: "prod", Field: "spec.template.spec.containers[0].image",
		Resource: finding.Resource{Provider: finding.ProviderKubernetes, Type: "apps/v1/Deployment", Namespace: "tenant-acme", Name: "api"}},
	"nsg": {Kind: finding.KindManagedDrift, TenantID: "initech", Environment: "prod", Field: "properties.securityRules",
		Resource: finding.Resource{Provider: finding.ProviderAzure, Type: "Microsoft.Network/networkSecurityGroups", Name: "nsg-initech",
			ID: "/subscriptions/s/resourceGroups/RG-initech/providers/Microsoft.Network/networkSecurityGroups/nsg-initech"}},
}

func fixtureNames() []string {
	return []string{"cm-cache", "cm-other", "replicas-acme", "replicas-globex", "annotation", "route-acme-globex", "route-globex-acme", "image", "nsg"}
}

// ignoredBy parses src and returns the fixture names it ignores, in fixtureNames order.
func ignoredBy(t *testing.T, src string) []string {
	t.Helper()
	rs, err := Parse("test-ignore", strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	for _, name := range fixtureNames() {
		if _, ign := rs.Match(fixtures[name]); ign {
			got = append(got, name)
		}
	}
	return got
}

func TestRulesMatch(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty file ignores nothing", "", nil},
		{"comments and blank lines", "# just a comment\n\n   \n\t# indented comment\n", nil},
		{"kind, type and name wildcard", "kind=unmanaged-resource type=v1/ConfigMap name=cache-*", []string{"cm-cache"}},
		{"field path everywhere", "field=spec.replicas", []string{"replicas-acme", "replicas-globex"}},
		{"field subtree by star", "field=metadata.annotations.*", []string{"annotation"}},
		{"tenant never reaches routes", "tenant=acme", []string{"cm-cache", "cm-other", "replicas-acme", "image"}},
		{"env and question mark", "env=d?v", []string{"replicas-globex", "annotation"}},
		{"kind wildcard that cannot match routes", "kind=un*", []string{"cm-cache", "cm-other", "image"}},
		{"negation: last match wins", "tenant=acme\n!kind=unmanaged-resource name=settings", []string{"cm-cache", "replicas-acme", "image"}},
		{"negation before rule has no effect", "!kind=unmanaged-resource name=settings\ntenant=acme", []string{"cm-cache", "cm-other", "replicas-acme", "image"}},
		{"re-ignore after negation", "tenant=acme\n!tenant=acme\nname=settings", []string{"cm-other"}},
		{"explicit route rule", "kind=cross-tenant-route tenant=acme peer=globex", []string{"route-acme-globex"}},
		{"route rule is directional", "kind=cross-tenant-route tenant=globex peer=acme", []string{"route-globex-acme"}},
		{"route rule without kind", "tenant=acme peer=globex", []string{"route-acme-globex"}},
		{"route rule narrowed by name wildcard", "kind=cross-tenant-route tenant=acme peer=globex name=allow-*", []string{"route-acme-globex"}},
		{"negated wildcard route rule un-ignores", "kind=cross-tenant-route tenant=acme peer=globex\n!kind=cross-tenant-route tenant=*", nil},
		{"azure id case-insensitive", "id=/SUBSCRIPTIONS/S/resourcegroups/rg-initech/*", []string{"nsg"}},
		{"azure type case-insensitive", "type=microsoft.network/networksecuritygroups", []string{"nsg"}},
		{"severity default from kind", "severity=low", []string{"cm-cache", "cm-other"}},
		{"provider", "provider=azure", []string{"nsg"}},
		{"trailing comment", "name=settings # keep this out of reports", []string{"cm-other"}},
		{"quoted value with spaces and hash", `name="cache-7f9c" field="" # x`, []string{"cm-cache"}},
		{"escaped star is literal", `name=cache-\*`, nil},
		{"empty quoted value matches empty field", `kind=unmanaged-resource field=""`, []string{"cm-cache", "cm-other"}},
		{"alias environment", "environment=prod kind=unpinned-image", []string{"image"}},
		{"CRLF and BOM", "\uFEFFname=settings\r\nname=api field=spec.replicas\r\n", []string{"cm-other", "replicas-acme", "replicas-globex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ignoredBy(t, tt.src)); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every error message, in order
	}{
		{"unknown key", "colour=red", []string{`f:1: rule "colour=red": unknown key "colour" (keys: kind, severity, env, tenant, peer, stack, provider, type, namespace, name, id, field, manager)`}},
		{"not key=value", "# ok\nv1/ConfigMap", []string{`f:2: rule "v1/ConfigMap": "v1/ConfigMap" is not key=value (keys: kind, severity, env, tenant, peer, stack, provider, type, namespace, name, id, field, manager)`}},
		{"empty value", "name=", []string{`f:1: rule "name=": name has an empty value; write name="" to match an empty name`}},
		{"duplicate key", "name=a name=b", []string{`f:1: rule "name=a name=b": key name given twice`}},
		{"bare negation", "!", []string{`f:1: rule "!": empty rule: write at least one key=value (keys: kind, severity, env, tenant, peer, stack, provider, type, namespace, name, id, field, manager)`}},
		{"unterminated quote", `name="abc`, []string{`f:1: rule "name=\"abc": unterminated double quote`}},
		{"trailing backslash", `name=abc\`, []string{`f:1: rule "name=abc\\": trailing backslash escapes nothing`}},
		{"kind typo", "kind=managed-drfit", []string{`f:1: rule "kind=managed-drfit": kind=managed-drfit matches none of cross-tenant-route, untrusted-image, field-conflict, missing-resource, stale-secret-version, managed-drift, unpinned-image, unmanaged-resource`}},
		{"severity typo", "severity=urgent", []string{`f:1: rule "severity=urgent": severity=urgent matches none of critical, high, medium, low, info`}},
		{"route with wildcard peer", "kind=cross-tenant-route tenant=acme peer=*", []string{routeErr("kind=cross-tenant-route tenant=acme peer=*")}},
		{"route with wildcard tenant", "kind=cross-tenant-route tenant=ac?e peer=globex", []string{routeErr("kind=cross-tenant-route tenant=ac?e peer=globex")}},
		{"route without peer", "kind=cross-tenant-route tenant=acme", []string{routeErr("kind=cross-tenant-route tenant=acme")}},
		{"kind wildcard covering routes", "kind=* tenant=acme", []string{routeErr("kind=* tenant=acme")}},
		{"kind wildcard c*", "kind=c*", []string{routeErr("kind=c*")}},
		{"peer without tenant", "peer=globex", []string{routeErr("peer=globex")}},
		{"every bad line reported", "name=\nok=1\nname=fine", []string{
			`f:1: rule "name=": name has an empty value; write name="" to match an empty name`,
			`f:2: rule "ok=1": unknown key "ok" (keys: kind, severity, env, tenant, peer, stack, provider, type, namespace, name, id, field, manager)`}},
		{"control character", "name=a\x01b", []string{`f:1: rule "name=a\x01b": control character U+0001`}},
		{"invalid utf-8", "name=\xff", []string{`f:1: rule "name=\xff": not valid UTF-8`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f", strings.NewReader(tt.src))
			if err == nil {
				t.Fatal("Parse succeeded, want error")
			}
			if kind := errkind.Of(err); kind != errkind.Invalid {
				t.Errorf("kind = %v, want %v", kind, errkind.Invalid)
			}
			var got []string
			for _, e := range unjoin(err) {
				var pe *ParseError
				if !errors.As(e, &pe) {
					t.Fatalf("error %v is not a *ParseError", e)
				}
				got = append(got, pe.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func routeErr(rule string) string {
	return `f:1: rule "` + rule + `": a rule that matches cross-tenant-route findings must name tenant= and peer= literally, without wildcards; cross-tenant routes are never ignored by wildcard`
}

// unjoin returns the errors inside errors.Join, below wrappers and the errkind mark (which
// unwraps to its kind and the error it marks).
func unjoin(err error) []error {
	for {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs := j.Unwrap()
			if len(errs) == 2 && errs[0] == errkind.Invalid {
				err = errs[1]
				continue
			}
			return errs
		}
		next := errors.Unwrap(err)
		if next == nil {
			return []error{err}
		}
		err = next
	}
}

func TestFromFlagsAndJoin(t *testing.T) {
	file, err := Parse(DefaultFile, strings.NewReader("tenant=acme\n"))
	if err != nil {
		t.Fatal(err)
	}
	flags, err := FromFlags([]string{"!name=settings", "kind=cross-tenant-route tenant=acme peer=globex"})
	if err != nil {
		t.Fatal(err)
	}
	rs := Join(file, nil, flags)
	var kept, ignored []string
	for _, name := range fixtureNames() {
		rule, ign := rs.Match(fixtures[name])
		if ign {
			ignored = append(ignored, name+"@"+rule.Where())
		} else if rule.File != "" {
			kept = append(kept, name+"@"+rule.Where())
		}
	}
	wantIgnored := []string{"cm-cache@.tenantctl-driftignore:1", "replicas-acme@.tenantctl-driftignore:1",
		"route-acme-globex@--ignore:2", "image@.tenantctl-driftignore:1"}
	if diff := cmp.Diff(wantIgnored, ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cm-other@--ignore:1"}, kept); diff != "" {
		t.Errorf("kept by negation (-want +got):\n%s", diff)
	}

	_, err = FromFlags([]string{"name=a", "peer=*", "name=b\nname=c", ""})
	want := []string{
		`--ignore:2: rule "peer=*": a rule that matches cross-tenant-route findings must name tenant= and peer= literally, without wildcards; cross-tenant routes are never ignored by wildcard`,
		`--ignore:3: rule "name=b\nname=c": one rule per --ignore, without newlines`,
		`--ignore:4: empty rule`,
	}
	var got []string
	for _, e := range unjoin(err) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flag errors (-want +got):\n%s", diff)
	}
}

func TestApplyKeepsOrder(t *testing.T) {
	rs, err := Parse("f", strings.NewReader("kind=managed-drift\n"))
	if err != nil {
		t.Fatal(err)
	}
	var in []finding.Finding
	for _, name := range fixtureNames() {
		in = append(in, fixtures[name])
	}
	kept, ignored := rs.Apply(in)
	names := func(fs []finding.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, string(f.Kind)+"/"+f.Resource.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"managed-drift/api", "managed-drift/api", "managed-drift/api", "managed-drift/nsg-initech"}, names(ignored)); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	if len(kept)+len(ignored) != len(in) {
		t.Errorf("kept %d + ignored %d != %d", len(kept), len(ignored), len(in))
	}
	var nilRules *Rules
	if k, i := nilRules.Apply(in); len(k) != len(in) || i != nil {
		t.Errorf("nil rules ignored %d findings", len(i))
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	rs, err := LoadDefault(dir)
	if err != nil || len(rs.List()) != 0 {
		t.Fatalf("LoadDefault of a folder without ignore file = %v, %v; want no rules", rs.List(), err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	path := filepath.Join(dir, DefaultFile)
	if err := os.WriteFile(path, []byte("# header\nname=settings\nkind=cross-tenant-route tenant=acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadDefault(dir)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != path || pe.Line != 3 {
		t.Fatalf("LoadDefault error = %v, want ParseError at %s:3", err, path)
	}
	if err := os.WriteFile(path, []byte("name=settings\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err = LoadDefault(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"name=settings"}, []string{rs.List()[0].Text}); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestRuleString(t *testing.T) {
	rs, err := Parse("f", strings.NewReader(`!  name="a b" kind=un*  field=x\*y type=V1/ConfigMap`))
	if err != nil {
		t.Fatal(err)
	}
	r := rs.List()[0]
	if got, want := r.String(), `!kind=un* type=v1/configmap name="a b" field=x\*y`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := r.Text, `!  name="a b" kind=un*  field=x\*y type=V1/ConfigMap`; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	again, err := Parse("f", strings.NewReader(r.String()))
	if err != nil {
		t.Fatalf("canonical form does not parse: %v", err)
	}
	if again.List()[0].String() != r.String() {
		t.Errorf("canonical form not stable: %q", again.List()[0].String())
	}
}
