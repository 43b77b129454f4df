package detect

import (
	"fmt"
	"github.com/connectsoft/tenantctl/tenantplan"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/connectsoft/tenantctl/drift/finding"
)

var (
	// kube-apiserver: `Apply failed with 1 conflict: conflict with "kubectl-label" using v1: .metadata.labels.tenant`
	oneConflict = regexp.MustCompile(`conflict with "([^"]+)"(?: using [^:\s]+)?: (\.\S+)`)
	// `Apply failed with 2 conflicts: conflicts with "kubectl" using v1:\n- .spec.a\n- .spec.b`
	manyConflicts = regexp.MustCompile(`conflicts with "([^"]+)"(?: using [^:\s]+)?:((?:\s*\n\s*- \.\S+)+)`)
	conflictItem  = regexp.MustCompile(`- (\.\S+)`)
	quotedKey     = regexp.MustCompile(`\[(\w+)="([^"]*)"\]`)
)

// ConflictFindings turns a server-side apply conflict, which fails an update or a preview with
// --refresh instead of showing as a diff, into field-conflict findings naming the manager that
// holds each field. urn is the resource whose step failed; message is the engine's diagnostic.
// A message without a conflict gives no findings.
func ConflictFindings(stack, urn, message string) ([]finding.Finding, error) {
	id, err := tenantplan.ParseStackName(stack)
	if err != nil {
		return nil, fmt.Errorf("engine findings: %w", err)
	}
	u := resource.URN(urn)
	if !u.IsValid() {
		return nil, fmt.Errorf("conflict findings: invalid URN %q", urn)
	}
	res, ok := stepResource(apitype.StepEventMetadata{URN: urn, Type: string(u.Type())})
	if !ok {
		return nil, nil
	}
	type conflict struct{ manager, field string }
	var cs []conflict
	for _, m := range manyConflicts.FindAllStringSubmatch(message, -1) {
		for _, item := range conflictItem.FindAllStringSubmatch(m[2], -1) {
			cs = append(cs, conflict{m[1], ssaFieldPath(item[1])})
		}
	}
	for _, m := range oneConflict.FindAllStringSubmatch(message, -1) {
		cs = append(cs, conflict{m[1], ssaFieldPath(m[2])})
	}
	var out []finding.Finding
	for _, c := range cs {
		out = append(out, finding.Finding{
			Kind: finding.KindFieldConflict, TenantID: id.Owner(), Environment: id.Environment, Stack: stack,
			Resource: res, Field: c.field, Manager: c.manager, Detector: finding.DetectorEngine,
			Evidence: []string{"server-side apply conflict with field manager " + c.manager},
			Message:  fmt.Sprintf("%s: %s is held by field manager %s; the stack cannot apply it", res.Ref(), c.field, c.manager),
		}.Normalize())
	}
	SortFindings(out)
	return out, nil
}

// ssaFieldPath converts the API server's path (".metadata.labels.tenant",
// `.spec.containers[name="app"].image`) into the report syntax. A label or annotation key is
// everything after the map's name, dots included.
func ssaFieldPath(s string) string {
	s = strings.TrimPrefix(s, ".")
	for _, m := range []string{"metadata.labels.", "metadata.annotations.", "data.", "spec.nodeSelector."} {
		if key, ok := strings.CutPrefix(s, m); ok && !strings.ContainsAny(key, "[]") {
			var p path
			for _, f := range strings.Split(strings.TrimSuffix(m, "."), ".") {
				p = p.Field(f)
			}
			return p.Field(key).String()
		}
	}
	return quotedKey.ReplaceAllString(s, "[$1=$2]")
}
